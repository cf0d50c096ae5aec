"""If-Match and expected_version: where a disagreement between them is reported, and weak
entity tags, which never match (RFC 9110 If-Match uses the strong comparison)."""

from __future__ import annotations

import pytest

from api.auth import Role
from api.problems import ApiProblem
from api.versions import parse_if_match
from tests.api import world
from tests.api.conftest import Api


def test_if_match_disagreeing_with_the_query_version_names_the_header(world_api: Api) -> None:
    """Tests that a withdrawal whose If-Match and expected_version query parameter disagree
    is a 422 naming the If-Match header, with nothing placed in a body the request has not
    got, and that the lawyer stays on the case."""
    assert world_api.assign("C3", "L1", version=1).status_code == 201
    r = world_api.delete(
        "/v1/cases/C3/assignment",
        params={"reason": "other", "expected_version": 3},
        headers={"If-Match": '"2"'},
        role=Role.CASE_SYSTEM,
    )
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [(e["field"], e["in"]) for e in errors] == [("If-Match", "header")]
    assert "expected_version" in errors[0]["message"]
    assert world_api.get("/v1/cases/C3/assignment").json()["lawyer_id"] == "L1"


def test_if_match_disagreeing_with_the_body_version_names_the_header(world_api: Api) -> None:
    """Tests that an assignment whose If-Match and body expected_version disagree is a 422
    naming the If-Match header, like the withdrawal."""
    r = world_api.put(
        "/v1/cases/C3/assignment",
        json={"lawyer_id": "L1", "expected_version": 2},
        headers={"If-Match": '"1"'},
        role=Role.CASE_SYSTEM,
    )
    assert r.status_code == 422, r.text
    assert [(e["field"], e["in"]) for e in r.json()["errors"]] == [("If-Match", "header")]


def test_weak_if_match_never_matches(world_api: Api) -> None:
    """Tests that If-Match with a weak tag of the current version is refused like a stale
    version (409, here with reason weak_etag) on an assignment, a withdrawal and a firm
    replace, and that nothing changes."""
    weak = world_api.put(
        "/v1/cases/C3/assignment",
        json={"lawyer_id": "L1"},
        headers={"If-Match": 'W/"1"'},
        role=Role.CASE_SYSTEM,
    )
    assert weak.status_code == 409, weak.text
    body = weak.json()
    assert body["reason"] == "weak_etag"
    assert "weak" in body["detail"]
    assert world_api.get("/v1/cases/C3").json()["assignment"] is None

    assert world_api.assign("C3", "L1", version=1).status_code == 201
    withdraw = world_api.delete(
        "/v1/cases/C3/assignment",
        params={"reason": "other"},
        headers={"If-Match": 'W/"2"'},
        role=Role.CASE_SYSTEM,
    )
    assert withdraw.status_code == 409, withdraw.text
    assert world_api.get("/v1/cases/C3/assignment").json()["lawyer_id"] == "L1"

    firm = {**world.firms()[2], "name": "Hill & Partners"}
    replace = world_api.put("/v1/firms/F3", json=firm, headers={"If-Match": 'W/"1"'})
    assert replace.status_code == 409, replace.text
    assert replace.json()["reason"] == "weak_etag"
    assert world_api.get("/v1/firms/F3").json()["name"] == "Hill Partners"


def test_strong_and_any_if_match_still_match(world_api: Api) -> None:
    """Tests that a strong tag of the current version and ``*`` are still accepted."""
    firm = world.firms()[2]
    strong = world_api.put(
        "/v1/firms/F3", json={**firm, "name": "Hill & Partners"}, headers={"If-Match": ' "1" '}
    )
    assert strong.status_code == 200, strong.text
    assert strong.headers["ETag"] == '"2"'
    anything = world_api.put("/v1/firms/F3", json=firm, headers={"If-Match": "*"})
    assert anything.status_code == 200, anything.text
    assert world_api.get("/v1/firms/F3").json()["name"] == "Hill Partners"


def test_if_match_with_a_digit_that_is_no_number_is_a_422() -> None:
    """Tests that an If-Match whose tag is a Unicode digit Python cannot read as a number
    ("²", which a server may get as Latin-1) is a 422 naming the header, not a server error."""
    with pytest.raises(ApiProblem) as raised:
        parse_if_match('"\u00b2"')
    assert raised.value.status == 422
    assert [e["field"] for e in raised.value.extensions["errors"]] == ["If-Match"]


def test_if_match_any_needs_the_record_to_exist(world_api: Api) -> None:
    """Tests that ``If-Match: *`` (RFC 9110: the record must exist, at any version) replaces
    an existing firm but does not create a missing one (404, nothing written), and that an
    assignment, which must name the version it saw, still asks for one (428)."""
    new = {**world.firms()[2], "id": "F9", "name": "New Firm"}
    r = world_api.put("/v1/firms/F9", json=new, headers={"If-Match": "*"})
    assert r.status_code == 404, r.text
    assert world_api.get("/v1/firms/F9").status_code == 404
    r = world_api.put(
        "/v1/cases/C3/assignment",
        json={"lawyer_id": "L2"},
        headers={"If-Match": "*"},
        role=Role.CASE_SYSTEM,
    )
    assert r.status_code == 428, r.text
