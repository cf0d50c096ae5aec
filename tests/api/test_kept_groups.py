"""Group rules between the cases that must stay with their lawyers: a case PUT or import row
that links such cases, or puts them in one matter as co-defendants, and a mark that makes a
case stay beside a linked case of the same lawyer are refused, so that no batch or rebalance
job refuses the caseload for them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from api.auth import Role
from api.db import Database
from api.models import CaseRow
from tests.api import world
from tests.api.conftest import Api
from tests.api.test_held_cases import _case_doc, _jobs_accept_the_caseload


def _put_cases(api: Api, *ids: str) -> None:
    for case_id in ids:
        r = api.put(f"/v1/cases/{case_id}", json=world.case(case_id), role=Role.CASE_SYSTEM)
        assert r.status_code == 201, r.text


def _held_by_l2(api: Api, *ids: str, started: bool = True) -> None:
    for case_id in ids:
        assert api.assign(case_id, "L2").status_code == 201
        if started:
            assert api.mark(case_id, started=True).status_code == 200


def _put(api: Api, case_id: str, **changes: Any) -> Any:
    doc = {**_case_doc(api, case_id), **changes}
    version = api.get(f"/v1/cases/{case_id}").json()["version"]
    return api.put(
        f"/v1/cases/{case_id}",
        json=doc,
        headers={"If-Match": f'"{version}"'},
        role=Role.CASE_SYSTEM,
    )


def test_linking_two_started_cases_of_one_lawyer_is_refused(world_api: Api) -> None:
    """Tests that with K1 and K2 both started with L2, a PUT of K2 linking K1 is a 409
    kept_groups naming both cases, the lawyer and the rule; nothing is written; with K1 only
    assigned (not started) the same PUT is accepted."""
    _put_cases(world_api, "K1", "K2")
    _held_by_l2(world_api, "K1", "K2")
    r = _put(world_api, "K2", linked_case_ids=["K1"])
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["reason"] == "kept_groups"
    [breach] = body["breaches"]
    assert breach["case_ids"] == ["K1", "K2"]
    assert breach["rule"] == "linked_cases_same_lawyer"
    assert "share lawyer L2" in breach["detail"]
    assert world_api.get("/v1/cases/K2").json()["linked_case_ids"] == []
    _jobs_accept_the_caseload(world_api)
    assert world_api.mark("K1", started=False).status_code == 200
    assert _put(world_api, "K2", linked_case_ids=["K1"]).status_code == 200


def test_a_new_case_linking_two_started_cases_of_one_lawyer_is_refused(world_api: Api) -> None:
    """Tests that a new case K3 linking K1 and K2 (both started with L2) joins them in one
    clique of linked cases: its PUT is refused, and K3 is not created."""
    _put_cases(world_api, "K1", "K2")
    _held_by_l2(world_api, "K1", "K2")
    doc = world.case("K3", linked_case_ids=["K1", "K2"])
    r = world_api.put("/v1/cases/K3", json=doc, role=Role.CASE_SYSTEM)
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "kept_groups"
    assert world_api.get("/v1/cases/K3").status_code == 404


def test_marking_a_case_linked_to_a_started_case_of_its_lawyer_is_refused(
    world_api: Api,
) -> None:
    """Tests that with K1 started with L2 and K2 only assigned to L2 and linked to K1 (a job
    may still move it), marking K2 started or pinned is a 409 kept_groups; the marks stay
    off."""
    _put_cases(world_api, "K1", "K2")
    _held_by_l2(world_api, "K1", "K2", started=False)
    assert world_api.mark("K1", started=True).status_code == 200
    assert _put(world_api, "K2", linked_case_ids=["K1"]).status_code == 200
    for flags in ({"started": True}, {"pinned": True}):
        r = world_api.mark("K2", **flags)
        assert r.status_code == 409, r.text
        assert r.json()["reason"] == "kept_groups"
    assignment = world_api.get("/v1/cases/K2/assignment").json()
    assert (assignment["started"], assignment["pinned"]) == (False, False)
    _jobs_accept_the_caseload(world_api)


def test_import_rows_putting_started_cases_in_one_matter_reject_the_later_row(
    world_api: Api,
) -> None:
    """Tests that an import whose rows make K1 and K2 (both started with L2) co-defendants of
    one matter rejects the second row only, naming both cases and the rule; the first row is
    written, and the jobs accept the caseload."""
    _put_cases(world_api, "K1", "K2")
    _held_by_l2(world_api, "K1", "K2")
    rows = [
        {**_case_doc(world_api, "K1"), "matter_id": "M9", "side": "defendant"},
        {**_case_doc(world_api, "K2"), "matter_id": "M9", "side": "defendant"},
    ]
    r = world_api.post("/v1/cases/import", json=rows, role=Role.CASE_SYSTEM)
    assert r.status_code == 200, r.text
    report = r.json()
    [rejected] = report["rejected"]
    assert (rejected["row"], rejected["id"]) == (2, "K2")
    [error] = rejected["errors"]
    assert error["record"] == "cases K1, K2"
    assert "co_defendants_same_lawyer" in error["message"]
    assert world_api.get("/v1/cases/K1").json()["matter_id"] == "M9"
    assert world_api.get("/v1/cases/K2").json()["matter_id"] is None
    _jobs_accept_the_caseload(world_api)


def test_a_lawyer_moving_to_the_firm_acting_for_the_other_side_is_refused(
    world_api: Api,
) -> None:
    """Tests that with K1 (a defendant of M9) started with L2 at F2 and K2 (the victim of M9)
    started with L6 at F3, moving L2 to F3 (by PUT or import row) is refused: one firm would
    act on both sides of the matter (Conduct Norms Art 51); nothing is written."""
    for case_id, extra in (
        ("K1", {"matter_id": "M9", "side": "defendant"}),
        ("K2", {"matter_id": "M9", "side": "victim", "case_type": "victim_representation"}),
    ):
        doc = world.case(case_id, **extra)
        assert (
            world_api.put(f"/v1/cases/{case_id}", json=doc, role=Role.CASE_SYSTEM).status_code
            == 201
        )
    victims = [{"area": "criminal_victim", "level": 4, "years": 6}]
    assert (
        world_api.put(
            "/v1/lawyers/L6", json=world.lawyer("L6", "F3", practice_areas=victims)
        ).status_code
        == 201
    )
    for case_id, lawyer_id in (("K1", "L2"), ("K2", "L6")):
        r = world_api.assign(case_id, lawyer_id)
        assert r.status_code == 201, r.text
        assert world_api.mark(case_id, started=True).status_code == 200
    moved = {**next(lw for lw in world.lawyers() if lw["id"] == "L2"), "firm_id": "F3"}
    r = world_api.put("/v1/lawyers/L2", json=moved)
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["reason"], body["lawyer_id"]) == ("kept_groups", "L2")
    [breach] = body["breaches"]
    assert (breach["rule"], breach["case_ids"]) == ("opposing_sides_same_firm", ["K1", "K2"])
    r = world_api.post("/v1/lawyers/import", json=[moved])
    assert r.status_code == 200, r.text
    [rejected] = r.json()["rejected"]
    assert rejected["id"] == "L2"
    assert "opposing_sides_same_firm" in rejected["errors"][0]["message"]
    assert world_api.get("/v1/lawyers/L2").json()["firm_id"] == "F2"
    _jobs_accept_the_caseload(world_api)


def _store_as_codefendants(api: Api, *ids: str) -> None:
    """Write the cases into one matter as defendants past the checks, as a database from
    before them could hold it (the breach already stored)."""
    db: Database = api.client.app.state.services.db  # type: ignore[union-attr]
    with db.transaction(write=True) as session:
        for case_id in ids:
            row = session.get(CaseRow, case_id)
            assert row is not None
            doc = {**row.document, "matter_id": "M9", "side": "defendant"}
            session.execute(
                update(CaseRow).where(CaseRow.id == case_id).values(document=doc, matter_id="M9")
            )


def test_taking_a_case_out_of_a_stored_breach_is_accepted(world_api: Api) -> None:
    """Tests that with K1, K2 and K3 started with L2 and stored as co-defendants of M9 (a
    breach from before the checks), a PUT of K3 leaving the matter is accepted: what is left
    (K1 and K2) broke the rule before and is not the edit's doing."""
    _put_cases(world_api, "K1", "K2", "K3")
    _held_by_l2(world_api, "K1", "K2", "K3")
    _store_as_codefendants(world_api, "K1", "K2", "K3")
    r = _put(world_api, "K3", matter_id=None)
    assert r.status_code == 200, r.text
    assert world_api.get("/v1/cases/K3").json()["matter_id"] is None


def test_a_row_rejected_for_another_reason_breaks_no_group(world_api: Api) -> None:
    """Tests that in an import whose first row (K1 into M9) is rejected for an unknown lawyer,
    the second (K2 into M9), which would break the rule only beside the first, is written."""
    _put_cases(world_api, "K1", "K2")
    _held_by_l2(world_api, "K1", "K2")
    rows = [
        {**_case_doc(world_api, "K1"), "matter_id": "M9", "excluded_lawyer_ids": ["NOPE"]},
        {**_case_doc(world_api, "K2"), "matter_id": "M9"},
    ]
    r = world_api.post("/v1/cases/import", json=rows, role=Role.CASE_SYSTEM)
    assert r.status_code == 200, r.text
    [rejected] = r.json()["rejected"]
    assert rejected["id"] == "K1"
    assert "kept" not in str(rejected["errors"])
    assert world_api.get("/v1/cases/K2").json()["matter_id"] == "M9"


def test_a_stale_case_put_is_a_stale_version_before_the_group_check(world_api: Api) -> None:
    """Tests that a PUT at an old version that would also link two started cases of one
    lawyer answers stale_version (read it again) rather than kept_groups."""
    _put_cases(world_api, "K1", "K2")
    _held_by_l2(world_api, "K1", "K2")
    doc = {**_case_doc(world_api, "K2"), "linked_case_ids": ["K1"]}
    r = world_api.put("/v1/cases/K2", json=doc, headers={"If-Match": '"1"'}, role=Role.CASE_SYSTEM)
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "stale_version"
