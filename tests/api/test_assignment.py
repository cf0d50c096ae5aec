"""Assignment with optimistic concurrency, its 409s, and withdrawal with a reason."""

from __future__ import annotations

from api.auth import Role
from tests.api.conftest import Api


def test_assign_returns_the_breakdown_and_bumps_the_version(world_api: Api) -> None:
    """Tests that an assignment answers 201 with the cost terms, the new case version as ETag,
    and shows on the case and the lawyer's load."""
    r = world_api.assign("C3", "L2", version=1)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["lawyer_id"] == "L2"
    assert body["case_version"] == 2
    assert r.headers["ETag"] == '"2"'
    assert sum(body["terms"].values()) == body["cost_points"]
    case = world_api.get("/v1/cases/C3").json()
    assert case["assignment"]["lawyer_id"] == "L2"
    assert world_api.get("/v1/lawyers/L2").json()["assigned_hours"] == 35.0
    again = world_api.assign("C3", "L2", version=2)
    assert again.status_code == 200  # the same lawyer again changes nothing
    assert again.json()["case_version"] == 2


def test_version_is_required(world_api: Api) -> None:
    """Tests that an assignment without If-Match or expected_version is a 428 problem."""
    r = world_api.put("/v1/cases/C3/assignment", json={"lawyer_id": "L2"}, role=Role.CASE_SYSTEM)
    assert r.status_code == 428
    via_body = world_api.put(
        "/v1/cases/C3/assignment",
        json={"lawyer_id": "L2", "expected_version": 1},
        role=Role.CASE_SYSTEM,
    )
    assert via_body.status_code == 201


def test_stale_version_is_409(world_api: Api) -> None:
    """Tests that assigning with the version from before a change is refused with reason
    stale_version and leaves the first assignment in place."""
    assert world_api.assign("C3", "L2", version=1).status_code == 201
    stale = world_api.assign("C3", "L1", version=1)
    assert stale.status_code == 409
    assert stale.json()["reason"] == "stale_version"
    assert stale.json()["current_version"] == 2
    assert world_api.get("/v1/cases/C3").json()["assignment"]["lawyer_id"] == "L2"


def test_capacity_overrun_is_409(world_api: Api) -> None:
    """Tests that the second 35 h case for L5 (40 h capacity) is refused with reason capacity
    and the capacity rule's detail, and L5's load is unchanged."""
    assert world_api.assign("C3", "L5").status_code == 201
    r = world_api.assign("C1", "L5")
    assert r.status_code == 409
    body = r.json()
    assert body["reason"] == "capacity"
    assert body["reasons"][0]["rule"] == "capacity"
    assert world_api.get("/v1/lawyers/L5").json()["assigned_hours"] == 35.0


def test_conflict_is_409(world_api: Api) -> None:
    """Tests that assigning C1 to L1, whose firm acted for the victim, is refused with reason
    conflict."""
    r = world_api.assign("C1", "L1")
    assert r.status_code == 409
    assert r.json()["reason"] == "conflict"
    assert r.json()["reasons"][0]["rule"] == "adverse_party"


def test_co_defendants_never_share_a_lawyer(world_api: Api) -> None:
    """Tests that C4 cannot go to the lawyer of its co-defendant C3 (reason conflict)."""
    assert world_api.assign("C3", "L2").status_code == 201
    r = world_api.assign("C4", "L2")
    assert r.status_code == 409
    assert r.json()["reasons"][0]["rule"] == "co_defendants_same_lawyer"


def test_ineligible_and_unknown_lawyers(world_api: Api) -> None:
    """Tests that a lawyer without the practice area is refused (ineligible) and an unknown
    lawyer is a 422 naming lawyer_id."""
    r = world_api.assign("C3", "L3")
    assert r.status_code == 409
    assert r.json()["reason"] == "ineligible"
    unknown = world_api.assign("C3", "L99")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "lawyer_id"


def test_move_releases_the_previous_lawyer(world_api: Api) -> None:
    """Tests that moving a case to another lawyer moves its hours between their loads."""
    world_api.assign("C3", "L1", version=1)
    assert world_api.assign("C3", "L2", version=2).status_code == 201
    assert world_api.get("/v1/lawyers/L1").json()["assigned_hours"] == 0.0
    assert world_api.get("/v1/lawyers/L2").json()["assigned_hours"] == 35.0


def test_withdraw_with_complaint_excludes_the_lawyer_from_then_on(world_api: Api) -> None:
    """Tests that withdrawing for a complaint frees the load, records the reason, and keeps the
    lawyer off the case afterwards, even after the case document is replaced."""
    world_api.assign("C3", "L1", version=1)
    w = world_api.delete(
        "/v1/cases/C3/assignment",
        params={"reason": "complaint", "note": "never called back"},
        headers={"If-Match": '"2"'},
        role=Role.CASE_SYSTEM,
    )
    assert w.status_code == 200, w.text
    assert w.json()["excluded_from_now_on"] is True
    assert world_api.get("/v1/lawyers/L1").json()["assigned_hours"] == 0.0
    case = world_api.get("/v1/cases/C3").json()
    assert case["complaint_lawyer_ids"] == ["L1"]
    assert case["assignment"] is None
    doc = {
        k: v
        for k, v in case.items()
        if k not in ("version", "created_at", "updated_at", "assignment")
    }
    doc["complaint_lawyer_ids"] = []
    assert world_api.put("/v1/cases/C3", json=doc, role=Role.CASE_SYSTEM).status_code == 200
    again = world_api.assign("C3", "L1")
    assert again.status_code == 409
    assert again.json()["reasons"][0]["rule"] == "complaint"
    recs = world_api.post("/v1/cases/C3/recommendations", json={"top_k": 10}).json()
    assert "L1" not in [x["lawyer_id"] for x in recs["recommendations"]]


def test_withdraw_for_another_reason_does_not_exclude(world_api: Api) -> None:
    """Tests that a withdrawal that is not a complaint lets the lawyer take the case again,
    and that withdrawing an unassigned case is a 404."""
    world_api.assign("C3", "L1", version=1)
    w = world_api.delete(
        "/v1/cases/C3/assignment",
        params={"reason": "lawyer_unavailable", "expected_version": 2},
        role=Role.CASE_SYSTEM,
    )
    assert w.json()["excluded_from_now_on"] is False
    assert world_api.assign("C3", "L1").status_code == 201
    none = world_api.delete(
        "/v1/cases/C4/assignment",
        params={"reason": "other"},
        headers={"If-Match": '"1"'},
        role=Role.CASE_SYSTEM,
    )
    assert none.status_code == 404
    bad_reason = world_api.delete(
        "/v1/cases/C3/assignment",
        params={"reason": "bored"},
        headers={"If-Match": '"3"'},
        role=Role.CASE_SYSTEM,
    )
    assert bad_reason.status_code == 422
    assert bad_reason.json()["errors"][0]["field"] == "reason"


def test_request_integers_and_booleans_are_strict(world_api: Api) -> None:
    """Tests that the API's request bodies take integers and booleans as JSON numbers and
    booleans only: "yes" for started and "3" for top_k are 422s naming the field."""
    assert world_api.assign("C3", "L2", version=1).status_code == 201
    marked = world_api.call(
        "PATCH",
        "/v1/cases/C3/assignment",
        json={"started": "yes"},
        headers={"If-Match": '"2"'},
        role=Role.CASE_SYSTEM,
    )
    assert marked.status_code == 422
    assert [(e["field"], e["in"]) for e in marked.json()["errors"]] == [("started", "body")]
    assert world_api.get("/v1/cases/C3/assignment").json()["started"] is False
    top = world_api.post("/v1/cases/C3/recommendations", json={"top_k": "3"})
    assert top.status_code == 422
    assert [e["field"] for e in top.json()["errors"]] == ["top_k"]
    assert world_api.post("/v1/cases/C3/recommendations", json={"top_k": 3}).status_code == 200
    version = world_api.put(
        "/v1/cases/C3/assignment",
        json={"lawyer_id": "L1", "expected_version": "2"},
        role=Role.CASE_SYSTEM,
    )
    assert [e["field"] for e in version.json()["errors"]] == ["expected_version"]
    job = world_api.post(
        "/v1/jobs", json={"kind": "rebalance", "params": {"workers": "2", "apply": 1}}
    )
    assert sorted(e["field"] for e in job.json()["errors"]) == ["params.apply", "params.workers"]
