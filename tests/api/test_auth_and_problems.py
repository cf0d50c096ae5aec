"""API keys and roles on every /v1 route; errors as RFC 9457 problem details; one transaction
per request."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api import audit as audit_module
from api import auth as auth_module
from api import examples
from api.app import create_app
from api.auth import KeyCache, Principal, Role, revoke_key, verify_key
from tests.api import world
from tests.api.conftest import Api, make_keys, settings_for

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _concrete(path: str) -> str:
    return (
        path.replace("{firm_id}", "F1")
        .replace("{lawyer_id}", "L1")
        .replace("{case_id}", "C1")
        .replace("{job_id}", "J1")
        .replace("{version}", "1")
    )


def test_every_v1_route_needs_a_key(api: Api) -> None:
    """Tests that every /v1 operation of the OpenAPI document answers 401 with a problem and a
    WWW-Authenticate challenge when no key is sent, and with a wrong key."""
    spec = api.get("/openapi.json", role=None).json()
    operations = [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method in item
    ]
    assert len(operations) >= 25
    for method, path in operations:
        r = api.call(method, _concrete(path), role=None)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert set(r.json()) >= PROBLEM_KEYS
        assert "WWW-Authenticate" in r.headers
        wrong = api.call(method, _concrete(path), role=None, headers={"X-API-Key": "asg_x_y"})
        assert wrong.status_code == 401
        if method in ("POST", "PUT", "PATCH"):
            # A body that is not JSON: authentication first (FastAPI reads bodies before the
            # dependencies that authenticate; it was a 400 to anyone).
            for key in ({}, {"X-API-Key": "asg_x_y"}, {"Authorization": "Bearer asg_x_y"}):
                malformed = api.call(
                    method,
                    _concrete(path),
                    role=None,
                    content="{",
                    headers={"Content-Type": "application/json", **key},
                )
                assert malformed.status_code == 401, (method, path, key, malformed.text)
                assert "WWW-Authenticate" in malformed.headers


def test_roles(api: Api) -> None:
    """Tests that read-only may read but not write, that case-system may write cases but not
    the roster, and that a Bearer token works like X-API-Key."""
    firm = world.firms()[1]
    assert api.put("/v1/firms/F2", json=firm, role=Role.CASE_SYSTEM).status_code == 403
    assert api.put("/v1/firms/F2", json=firm, role=Role.READ_ONLY).status_code == 403
    assert api.put("/v1/firms/F2", json=firm).status_code == 201
    assert api.get("/v1/firms/F2", role=Role.READ_ONLY).status_code == 200
    forbidden = api.put("/v1/cases/C1", json=world.case("C1"), role=Role.READ_ONLY)
    assert forbidden.status_code == 403
    assert forbidden.json()["type"] == "/problems/forbidden"
    assert "read-only" in forbidden.json()["detail"]
    assert api.put("/v1/cases/C1", json=world.case("C1"), role=Role.CASE_SYSTEM).status_code == 201
    bearer = {"Authorization": f"Bearer {api.keys[Role.READ_ONLY]}"}
    assert api.get("/v1/cases/C1", role=None, headers=bearer).status_code == 200
    assert (
        api.post("/v1/jobs", json={"kind": "batch_assignment"}, role=Role.CASE_SYSTEM).status_code
        == 403
    )


def test_validation_errors_name_the_field(api: Api) -> None:
    """Tests that a 422 lists each bad field with its dotted path and location."""
    bad = world.lawyer(
        "L1",
        "F1",
        capacity_hours="lots",
        practice_areas=[{"area": "family", "level": 9, "years": 1}],
    )
    r = api.put("/v1/lawyers/L1", json=bad)
    assert r.status_code == 422
    body = r.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["type"] == "/problems/validation"
    assert body["instance"] == "/v1/lawyers/L1"
    fields = {(e["field"], e["in"]) for e in body["errors"]}
    assert fields == {("capacity_hours", "body"), ("practice_areas.0.level", "body")}
    query = api.get("/v1/cases", params={"limit": 0})
    assert query.json()["errors"][0]["field"] == "limit"
    assert query.json()["errors"][0]["in"] == "query"
    header = api.put("/v1/firms/F1", json=world.firms()[0], headers={"If-Match": "yesterday"})
    assert header.json()["errors"][0] == {
        "field": "If-Match",
        "message": 'expected a version ETag like "3"',
        "in": "header",
    }


def test_not_found_and_method_problems(api: Api) -> None:
    """Tests that unknown records and unknown routes answer problem documents too."""
    r = api.get("/v1/lawyers/NOPE")
    assert r.status_code == 404
    assert r.json()["detail"] == "no lawyer with id 'NOPE'"
    route = api.get("/v1/nothing-here")
    assert route.status_code == 404
    assert route.headers["content-type"].startswith("application/problem+json")


def test_a_failing_request_writes_nothing(world_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that when a request fails after it has written (here: the audit entry of an
    assignment cannot be stored), the case, the assignment and the load are all rolled back
    and the answer is a 500 problem that closes the connection."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit_module, "record", broken)
    assert isinstance(world_api.client, TestClient)
    unraised = Api(TestClient(world_api.client.app, raise_server_exceptions=False), world_api.keys)
    r = unraised.assign("C3", "L2", version=1)
    assert r.status_code == 500
    assert r.json()["type"] == "/problems/internal"
    # The server closes the connection after it: a client must not reuse it.
    assert r.headers["connection"] == "close"
    monkeypatch.undo()
    case = world_api.get("/v1/cases/C3").json()
    assert case["version"] == 1
    assert case["assignment"] is None
    assert world_api.get("/v1/lawyers/L2").json()["assigned_hours"] == 0.0


def test_revoked_key_is_refused(sqlite_url: str) -> None:
    """Tests that with the key cache off a revoked key is refused on the next request, and
    that with the cache on a verified key is trusted only for its time to live."""
    app = create_app(settings_for(sqlite_url, auth_cache_s=0))
    with TestClient(app) as client:
        db = app.state.services.db
        keys = make_keys(db)
        api = Api(client, keys)
        assert api.get("/v1/policy", role=Role.READ_ONLY).status_code == 200
        key_id = keys[Role.READ_ONLY].split("_")[1]
        with db.transaction(write=True) as session:
            assert revoke_key(session, key_id)
        assert api.get("/v1/policy", role=Role.READ_ONLY).status_code == 401
    cache = KeyCache(ttl_s=0.2)
    who = Principal("k1", "cached", Role.ADMIN)
    cache.put("asg_k1_secret", who)
    assert cache.get("asg_k1_secret") == who
    time.sleep(0.25)
    assert cache.get("asg_k1_secret") is None


def test_a_secret_with_underscores_is_accepted(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that a key whose secret holds "_" (url-safe base64 may give one anywhere, even
    first) verifies: the key splits on its first two "_" only."""
    app = create_app(settings_for(sqlite_url))
    with TestClient(app) as client:
        db = app.state.services.db
        monkeypatch.setattr(auth_module.secrets, "token_urlsafe", lambda n: "_a_b" + "c" * 40)
        keys = make_keys(db)
        assert keys[Role.READ_ONLY].endswith("__a_b" + "c" * 40)
        with db.transaction(write=False) as session:
            who = verify_key(session, keys[Role.READ_ONLY])
            assert who is not None and who.role is Role.READ_ONLY
            assert verify_key(session, keys[Role.READ_ONLY] + "c") is None
        api = Api(client, keys)
        assert api.get("/v1/policy", role=Role.READ_ONLY).status_code == 200


HUGE = 10**20


@pytest.mark.parametrize(
    ("method", "path", "params", "field", "where"),
    [
        ("GET", "/v1/cases", {"offset": 99999999999999999999999}, "offset", "query"),
        ("GET", "/v1/firms", {"offset": 2**63}, "offset", "query"),
        ("GET", "/v1/lawyers", {"offset": 2**31}, "offset", "query"),
        ("GET", "/v1/jobs", {"offset": HUGE}, "offset", "query"),
        ("GET", "/v1/policy/versions", {"offset": HUGE}, "offset", "query"),
        ("GET", "/v1/audit", {"offset": 2**63}, "offset", "query"),
        ("GET", "/v1/audit", {"policy_version": HUGE}, "policy_version", "query"),
        ("GET", f"/v1/policy/versions/{HUGE}", {}, "version", "path"),
        (
            "DELETE",
            "/v1/cases/C1/assignment",
            {"reason": "other", "expected_version": HUGE},
            "expected_version",
            "query",
        ),
    ],
)
def test_huge_integer_parameters_are_422_naming_them(
    api: Api, method: str, path: str, params: dict[str, object], field: str, where: str
) -> None:
    """Tests that an integer query or path parameter beyond what the database stores is a
    422 naming the parameter, not a failure inside the service."""
    r = api.call(method, path, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [
        {"field": field, "message": "Input should be less than or equal to 2147483647", "in": where}
    ]


def test_largest_offset_is_an_empty_page(api: Api) -> None:
    """Tests that the largest offset accepted answers an empty page."""
    r = api.get("/v1/audit", params={"offset": 2**31 - 1})
    assert r.status_code == 200
    assert r.json()["items"] == []


def test_solve_seed_is_bounded(api: Api) -> None:
    """Tests that /v1/solve takes only seeds the solvers take (0 to 2**31 - 1), naming the
    query parameter otherwise."""
    for seed in (2**31, -1):
        r = api.post("/v1/solve", params={"seed": seed}, json=examples.PROBLEM)
        assert r.status_code == 422, r.text
        assert [(e["field"], e["in"]) for e in r.json()["errors"]] == [("seed", "query")]


def test_malformed_json_body_is_a_400_with_the_position(api: Api) -> None:
    """Tests that a PUT whose body is not JSON answers like an import does: 400
    malformed-body with a readable position, not a 422 whose field is a character offset."""
    r = api.put(
        "/v1/firms/FX1",
        content='{"id":"FX1","name":"x"',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "/problems/malformed-body"
    assert body["detail"] == "not valid JSON: Expecting ',' delimiter: line 1 column 23 (char 22)"
    assert "errors" not in body
    on_post = api.post(
        "/v1/cases/C1/recommendations",
        content='{"top_k": 3,\n "why_not": [}',
        headers={"Content-Type": "application/json"},
    )
    assert on_post.status_code == 400
    assert "line 2 column 14" in on_post.json()["detail"]
    bearer = api.call(
        "PUT",
        "/v1/firms/FX1",
        role=None,
        content="{",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {api.keys[Role.ADMIN]}",
        },
    )
    assert bearer.status_code == 400
    assert bearer.json()["type"] == "/problems/malformed-body"
