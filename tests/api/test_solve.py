"""POST /v1/solve: a whole Problem in, a verified Plan out."""

from __future__ import annotations

import copy

from api import examples
from api.auth import Role
from tests.api.conftest import Api


def test_solve_returns_a_verified_plan(api: Api) -> None:
    """Tests that the OpenAPI example problem solves to a verified plan with both cases
    assigned and a score breakdown per assignment."""
    r = api.post(
        "/v1/solve",
        json=examples.PROBLEM,
        params={"time_limit_s": 5, "deterministic": True},
        role=Role.CASE_SYSTEM,
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["verification"]["passed"] is True
    assert {a["case_id"] for a in plan["assignments"]} == {"C2025-0107", "C2025-0108"}
    for a in plan["assignments"]:
        assert sum(a["terms"].values()) == a["cost_points"]


def test_solve_names_the_record_and_field_of_bad_input(api: Api) -> None:
    """Tests that a field error is a 422 naming the path, and a broken reference a 422 naming
    the record and the field."""
    bad_value = copy.deepcopy(examples.PROBLEM)
    bad_value["lawyers"][1]["capacity_hours"] = -1
    r = api.post("/v1/solve", json=bad_value)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "lawyers.1.capacity_hours"
    bad_ref = copy.deepcopy(examples.PROBLEM)
    bad_ref["lawyers"][0]["firm_id"] = "F404"
    r = api.post("/v1/solve", json=bad_ref)
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert (error["field"], error["record"]) == ("firm_id", "lawyers[0] (id L0042)")


def test_solve_time_limit_is_capped(api: Api) -> None:
    """Tests that a time limit above the service's cap is a 422 on the query field."""
    r = api.post("/v1/solve", json=examples.PROBLEM, params={"time_limit_s": 10_000})
    assert r.status_code == 422
    assert r.json()["errors"][0] == {
        "field": "time_limit_s",
        "message": "at most 120",
        "in": "query",
    }
