"""Recommendations with the score breakdown and why-not, and the conflict check."""

from __future__ import annotations

from api.auth import Role
from assigner.scoring.costs import TERMS
from tests.api import world
from tests.api.conftest import Api


def test_recommendations_rank_eligible_lawyers_with_breakdown(world_api: Api) -> None:
    """Tests that recommendations list only eligible lawyers, lowest score first (the edge
    cost plus the load-band and quota points the case adds), each with the solver's terms
    adding up to its cost."""
    r = world_api.post("/v1/cases/C3/recommendations", json={"top_k": 10}, role=Role.READ_ONLY)
    assert r.status_code == 200, r.text
    body = r.json()
    ids = [x["lawyer_id"] for x in body["recommendations"]]
    assert set(ids) == {"L1", "L2", "L4", "L5"}  # L3 has no criminal practice
    assert body["eligible_count"] == 4
    assert body["excluded_by"] == {"practice_area": 1}
    scores = [x["score_points"] for x in body["recommendations"]]
    assert scores == sorted(scores)
    for rec in body["recommendations"]:
        assert set(rec["terms"]) == set(TERMS)
        assert sum(rec["terms"].values()) == rec["cost_points"]
        assert rec["score_points"] == rec["cost_points"] + rec["load_points"] + rec["quota_points"]
        assert rec["load_hours_after"] == 35.0
    # L5 (40 h) would be at 35 of 40 hours, above both bands: its load counts against it.
    l5 = next(rec for rec in body["recommendations"] if rec["lawyer_id"] == "L5")
    assert l5["load_points"] > 0


def test_a_lawyer_above_the_load_bands_ranks_by_what_the_solver_weighs(world_api: Api) -> None:
    """Tests that a lawyer whose own cost for the case is lowest, but whose load is above the
    policy's bands, ranks by edge cost plus the band points the case's hours add: the load
    counts as the solver counts it."""
    before = world_api.post("/v1/cases/C3/recommendations", json={"top_k": 10}).json()
    first = before["recommendations"][0]
    assert first["load_points"] == 0
    doc = next(d for d in world.lawyers() if d["id"] == first["lawyer_id"])
    loaded = doc | {"current_load_hours": doc["capacity_hours"] - 35.0}  # full with C3's 35 h
    put = world_api.put(f"/v1/lawyers/{first['lawyer_id']}", json=loaded)
    assert put.status_code == 200, put.text
    after = world_api.post("/v1/cases/C3/recommendations", json={"top_k": 10}).json()
    moved = next(r for r in after["recommendations"] if r["lawyer_id"] == first["lawyer_id"])
    assert moved["load_points"] > 0
    assert moved["cost_points"] == first["cost_points"]
    assert moved["rank"] > 1


def test_why_not_explains_each_named_lawyer(world_api: Api) -> None:
    """Tests that why-not gives the rule, citation and detail for excluded lawyers (practice
    area, conflict by the firm's client) and the score for an eligible one."""
    r = world_api.post(
        "/v1/cases/C1/recommendations", json={"top_k": 1, "why_not": ["L3", "L4", "L2"]}
    )
    verdicts = {v["lawyer_id"]: v for v in r.json()["why_not"]}
    assert [x["rule"] for x in verdicts["L3"]["reasons"]] == ["practice_area"]
    l4 = verdicts["L4"]["reasons"]
    assert [x["rule"] for x in l4] == ["adverse_party"]
    assert l4[0]["conflict"] is True
    assert "Wang Wei" in l4[0]["detail"]
    assert verdicts["L2"]["eligible"] is True
    assert verdicts["L2"]["score"]["rank"] >= 1
    unknown = world_api.post("/v1/cases/C1/recommendations", json={"why_not": ["L99"]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "why_not.0"


def test_every_unknown_lawyer_is_named_by_its_place(world_api: Api) -> None:
    """Tests that why-not and the conflict check name each unknown lawyer, by its index in
    the list, not only the first."""
    r = world_api.post(
        "/v1/cases/C1/recommendations", json={"why_not": ["L1", "NOB1", "NOB2", "NOB1"]}
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "why_not.1", "message": "unknown lawyer 'NOB1'", "in": "body"},
        {"field": "why_not.2", "message": "unknown lawyer 'NOB2'", "in": "body"},
    ]
    check = world_api.post("/v1/cases/C1/conflict-check", json={"lawyer_ids": ["X1", "L2", "X2"]})
    assert check.status_code == 422
    assert [e["field"] for e in check.json()["errors"]] == ["lawyer_ids.0", "lawyer_ids.2"]


def test_full_lawyer_is_not_recommended_and_why_not_says_capacity(world_api: Api) -> None:
    """Tests that once L5's remaining 5 h cannot take a 35 h case, L5 drops out of the
    recommendations and why-not names the capacity rule."""
    assert world_api.assign("C3", "L5").status_code == 201
    r = world_api.post("/v1/cases/C1/recommendations", json={"top_k": 10, "why_not": ["L5"]})
    body = r.json()
    assert "L5" not in [x["lawyer_id"] for x in body["recommendations"]]
    reasons = body["why_not"][0]["reasons"]
    assert [x["rule"] for x in reasons] == ["capacity"]
    assert "capacity 40" in reasons[0]["detail"]


def test_co_defendant_lawyer_is_excluded_by_the_group_rule(world_api: Api) -> None:
    """Tests that after C3 goes to L2, its co-defendant C4 is not recommended to L2 and why-not
    cites the co-defendant rule."""
    assert world_api.assign("C3", "L2").status_code == 201
    r = world_api.post("/v1/cases/C4/recommendations", json={"top_k": 10, "why_not": ["L2"]})
    body = r.json()
    assert "L2" not in [x["lawyer_id"] for x in body["recommendations"]]
    assert body["excluded_by"]["co_defendants_same_lawyer"] == 1
    assert body["why_not"][0]["reasons"][0]["rule"] == "co_defendants_same_lawyer"


def test_conflict_check_finds_firm_level_conflicts(world_api: Api) -> None:
    """Tests that the conflict check over all lawyers reports exactly the two F1 lawyers, whose
    firm acted for the victim, and that naming lawyers narrows it."""
    r = world_api.post("/v1/cases/C1/conflict-check", json={}, role=Role.CASE_SYSTEM)
    assert r.status_code == 200
    body = r.json()
    assert body["checked"] == 5
    assert [c["lawyer_id"] for c in body["conflicts"]] == ["L1", "L4"]
    assert all(c["firm_id"] == "F1" for c in body["conflicts"])
    assert body["conflicts"][0]["reasons"][0]["rule"] == "adverse_party"
    named = world_api.post("/v1/cases/C1/conflict-check", json={"lawyer_ids": ["L2", "L4"]}).json()
    assert named["checked"] == 2
    assert [c["lawyer_id"] for c in named["conflicts"]] == ["L4"]


def test_unknown_case_is_a_404_problem(world_api: Api) -> None:
    """Tests that recommendations for an unknown case answer a 404 problem document."""
    r = world_api.post("/v1/cases/NOPE/recommendations", json={})
    assert r.status_code == 404
    assert r.json()["type"] == "/problems/not-found"


def test_recommendation_follows_a_replaced_lawyer(world_api: Api) -> None:
    """Tests that the warm roster index notices a roster change: a lawyer given family
    practice shows up for a family case at once."""
    before = world_api.post("/v1/cases/C2/recommendations", json={"top_k": 10}).json()
    assert "L5" not in [x["lawyer_id"] for x in before["recommendations"]]
    l5 = world.lawyers()[4]
    l5["practice_areas"].append({"area": "family", "level": 3, "years": 2})
    assert world_api.put("/v1/lawyers/L5", json=l5).status_code == 200
    after = world_api.post("/v1/cases/C2/recommendations", json={"top_k": 10}).json()
    assert "L5" in [x["lawyer_id"] for x in after["recommendations"]]


def test_cases_a_lawyer_holds_count_toward_the_yearly_quota(world_api: Api) -> None:
    """Tests that a lawyer one case short of the yearly quota is credited the quota points for
    the next case until the service assigns one to the lawyer, as a job's plan counts the
    cases kept with their lawyers: then the quota is met and no points are credited."""
    doc = next(d for d in world.lawyers() if d["id"] == "L2") | {
        "yearly_quota_cases": 1,
        "cases_this_year": 0,
    }
    assert world_api.put("/v1/lawyers/L2", json=doc).status_code == 200

    def l2_quota_points() -> int:
        body = world_api.post("/v1/cases/C3/recommendations", json={"top_k": 10}).json()
        return int(
            next(r for r in body["recommendations"] if r["lawyer_id"] == "L2")["quota_points"]
        )

    assert l2_quota_points() < 0
    assert world_api.assign("C2", "L2").status_code == 201
    assert l2_quota_points() == 0
