"""Versioned policy and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.auth import Role
from api.db import Database
from api.models import LawyerRow
from assigner.domain import Policy
from tests.api import world
from tests.api.conftest import Api


def test_policy_versions(api: Api) -> None:
    """Tests that version 1 is in force on a new database, that an administrator adds version
    2 (which then is current), and that other roles may read but not write it."""
    current = api.get("/v1/policy", role=Role.READ_ONLY).json()
    assert current["version"] == 1
    new = Policy(codefendants_same_firm_forbidden=True, version=99).model_dump(mode="json")
    body = {"policy": new, "note": "one office counts as one firm"}
    assert api.post("/v1/policy/versions", json=body, role=Role.CASE_SYSTEM).status_code == 403
    r = api.post("/v1/policy/versions", json=body)
    assert r.status_code == 201
    assert r.json()["version"] == 2
    assert r.json()["policy"]["version"] == 2
    assert api.get("/v1/policy").json()["policy"]["codefendants_same_firm_forbidden"] is True
    history = api.get("/v1/policy/versions").json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    assert (
        api.get("/v1/policy/versions/1").json()["policy"]["codefendants_same_firm_forbidden"]
        is False
    )
    assert api.get("/v1/policy/versions/7").status_code == 404


def test_policy_outside_its_limits_is_refused(api: Api) -> None:
    """Tests that a weight above its ceiling, a multiplier below 1 and a priority group the
    catalogue does not know are each refused with a 422 naming the field, and that nothing is
    stored."""
    bad = [
        ({"travel_points_per_km": 10**20}, "policy.weights.travel_points_per_km"),
        (
            {"priority_group_multiplier": {"detained": -5}},
            "policy.weights.priority_group_multiplier.detained",
        ),
        ({"priority_group_multiplier": {"vip": 2}}, "policy.weights.priority_group_multiplier.vip"),
    ]
    for weights, field in bad:
        r = api.post("/v1/policy/versions", json={"policy": {"weights": weights}, "note": "x"})
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert api.get("/v1/policy").json()["version"] == 1


def test_new_policy_changes_eligibility_at_once(world_api: Api) -> None:
    """Tests that switching on the same-firm rule for co-defendants keeps C4 off L4 once C3 is
    with L4's colleague L1."""
    assert world_api.assign("C3", "L1").status_code == 201
    before = world_api.post("/v1/cases/C4/recommendations", json={"why_not": ["L4"]}).json()
    assert before["why_not"][0]["eligible"] is True
    policy = Policy(codefendants_same_firm_forbidden=True).model_dump(mode="json")
    world_api.post("/v1/policy/versions", json={"policy": policy, "note": "firm rule"})
    after = world_api.post("/v1/cases/C4/recommendations", json={"why_not": ["L4"]}).json()
    assert after["policy_version"] == 2
    assert after["why_not"][0]["reasons"][0]["rule"] == "co_defendants_same_firm"


def test_audit_records_who_when_policy_and_why(world_api: Api) -> None:
    """Tests that an assignment and a withdrawal are in the audit log with the actor, role,
    policy version and an explanation, and that the filters narrow the log."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    world_api.assign("C3", "L2")
    world_api.delete(
        "/v1/cases/C3/assignment",
        params={"reason": "complaint"},
        headers={"If-Match": '"2"'},
        role=Role.CASE_SYSTEM,
    )
    log = world_api.get(
        "/v1/audit", params={"entity_type": "case", "entity_id": "C3"}, role=Role.READ_ONLY
    ).json()
    actions = [e["action"] for e in log["items"]]
    assert actions == ["assignment.withdraw", "assignment.create", "case.create"]
    assigned = log["items"][1]
    assert assigned["role"] == "case-system"
    assert assigned["actor"].startswith("test case-system")
    assert assigned["policy_version"] == 1
    assert "C3 assigned to L2" in assigned["explanation"]
    assert assigned["details"]["terms"]
    withdrawn = log["items"][0]
    assert "complaint" in withdrawn["explanation"]
    only = world_api.get("/v1/audit", params={"action": "assignment.create"}).json()
    assert only["total"] == 1
    by_actor = world_api.get("/v1/audit", params={"actor": "test admin"}).json()
    assert {e["action"] for e in by_actor["items"]} == {"firm.create", "lawyer.create"}
    shouted = world_api.get("/v1/audit", params={"actor": "TEST ADMIN"}).json()
    assert shouted["total"] == by_actor["total"]
    for wildcard in ("%", "_", "test_admin"):
        none = world_api.get("/v1/audit", params={"actor": wildcard}).json()
        assert none["total"] == 0, wildcard
    since = world_api.get("/v1/audit", params={"since": start.isoformat()}).json()
    assert since["total"] >= 3
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert world_api.get("/v1/audit", params={"since": future}).json()["total"] == 0
    naive = world_api.get("/v1/audit", params={"since": "2000-01-01T00:00:00"})
    assert naive.status_code == 200  # a time without a zone is read as UTC
    assert naive.json()["total"] == world_api.get("/v1/audit").json()["total"] == 14


def _post_policy(api: Api, **fields: Any) -> httpx.Response:
    policy = Policy(**fields).model_dump(mode="json")
    return api.post("/v1/policy/versions", json={"policy": policy, "note": "test"})


def test_a_policy_splitting_started_codefendants_of_one_firm_is_refused(world_api: Api) -> None:
    """Tests that with co-defendants C3 and C4 started with L1 and L4 of firm F1 (allowed by
    version 1), a version forbidding co-defendants at one firm is a 409 ``caseload`` naming
    both cases, and version 1 stays in force; once C4's mark is cleared, the same version is
    accepted."""
    for case_id, lawyer_id in (("C3", "L1"), ("C4", "L4")):
        assert world_api.assign(case_id, lawyer_id).status_code == 201
        assert world_api.mark(case_id, started=True).status_code == 200
    r = _post_policy(world_api, codefendants_same_firm_forbidden=True)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["reason"] == "caseload"
    [issue] = body["issues"]
    assert issue["case_ids"] == ["C3", "C4"]
    assert "share firm F1" in issue["message"]
    assert "codefendants_same_firm_forbidden" in issue["message"]
    assert world_api.get("/v1/policy").json()["version"] == 1
    assert world_api.mark("C4", started=False).status_code == 200
    r = _post_policy(world_api, codefendants_same_firm_forbidden=True)
    assert r.status_code == 201, r.text


def test_a_policy_putting_a_started_case_out_of_its_lawyers_reach_is_refused(
    world_api: Api,
) -> None:
    """Tests that with C2 started with L2, a version whose travel limit L2 no longer meets is
    a 409 ``caseload`` naming C2 and the rule; a version that only moves a weight is
    accepted."""
    assert world_api.assign("C2", "L2").status_code == 201
    assert world_api.mark("C2", pinned=True).status_code == 200
    r = _post_policy(world_api, default_max_travel_km=0.001)
    assert r.status_code == 409, r.text
    [issue] = r.json()["issues"]
    assert issue["case_ids"] == ["C2"]
    assert (issue["record"], issue["field"]) == ("case C2", "current_assignment")
    assert issue["message"].startswith("pinned with lawyer L2, who is not eligible")
    assert "travel" in issue["message"]
    assert world_api.get("/v1/policy").json()["version"] == 1
    r = _post_policy(world_api, weights={"travel_points_per_km": 3})
    assert r.status_code == 201, r.text


def test_a_breach_the_policy_in_force_has_does_not_block_a_new_version(world_api: Api) -> None:
    """Tests that where the caseload is refused under the policy in force already (C2 pinned
    with L2, whose travel limit was cut after the mark), a new version adding no breach is
    accepted: the breach is not the version's doing."""
    assert world_api.assign("C2", "L2").status_code == 201
    assert world_api.mark("C2", pinned=True).status_code == 200
    l2 = next(lw for lw in world.lawyers() if lw["id"] == "L2")
    db: Database = world_api.client.app.state.services.db  # type: ignore[union-attr]
    with db.transaction(write=True) as session:
        row = session.get(LawyerRow, "L2")
        assert row is not None
        row.document = {**l2, "max_travel_km": 0.001}
    r = _post_policy(world_api, weights={"travel_points_per_km": 3})
    assert r.status_code == 201, r.text


def test_a_policy_keeping_started_cases_linked_through_a_third_case_is_refused(
    world_api: Api,
) -> None:
    """Tests that with started cases K1 and K2 both with L2 while the policy lets started
    cases move, and a waiting case K3 linking both (one clique: no two may share a lawyer), a
    version that keeps started cases with their lawyers is a 409 ``caseload`` naming K1 and
    K2: the check reads K3, which is neither staying nor linked from a staying case."""
    assert _post_policy(world_api, allow_moving_started=True).status_code == 201
    for case_id in ("K1", "K2"):
        doc = world.case(case_id)
        r = world_api.put(f"/v1/cases/{case_id}", json=doc, role=Role.CASE_SYSTEM)
        assert r.status_code == 201, r.text
        assert world_api.assign(case_id, "L2").status_code == 201
        assert world_api.mark(case_id, started=True).status_code == 200
    doc = world.case("K3", linked_case_ids=["K1", "K2"])
    assert world_api.put("/v1/cases/K3", json=doc, role=Role.CASE_SYSTEM).status_code == 201
    r = _post_policy(world_api, allow_moving_started=False)
    assert r.status_code == 409, r.text
    [issue] = r.json()["issues"]
    assert issue["case_ids"] == ["K1", "K2"]
    assert "break a rule together" in issue["message"]
    assert world_api.get("/v1/policy").json()["version"] == 2
