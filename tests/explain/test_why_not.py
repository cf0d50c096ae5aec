"""Tests that "why not this lawyer" names what the move would change in the plan's objective."""

from __future__ import annotations

import numpy as np

from assigner.engine import prepare, solve_problem
from assigner.explain.explain import explain_case
from assigner.search.cpsat import SearchParams
from assigner.search.instance import evaluate
from tests.factory import make_case, make_lawyer, make_problem


def test_a_cheaper_lawyer_in_a_utilisation_band_is_explained_by_the_band() -> None:
    """Tests that a lawyer whose own cost for the case is lower, but who is loaded above the
    policy's 70% band, is explained by the band: the move's change is the objective's with the
    case moved, split into the case's own cost (negative) and the bands (positive)."""
    busy = make_lawyer("L1", current_load_hours=130.0)  # 81% of 160 h: both bands
    farther = make_lawyer("L2", location={"lat": 39.99, "lon": 116.4074})  # about 9 km
    problem = make_problem(lawyers=[busy, farther], cases=[make_case("C1", workload_hours=20)])
    plan = solve_problem(problem, SearchParams(5.0))
    assert [(a.case_id, a.lawyer_id) for a in plan.assignments] == [("C1", "L2")]
    prepared = prepare(problem)
    why = explain_case(prepared, plan, "C1", "L1").why_not
    assert why is not None and why.eligible
    moved = evaluate(prepared.instance, np.array([0], dtype=np.int32))
    change = moved.total - plan.solver.objective_points
    assert change > 0
    own = int(prepared.costs.total[0]) - plan.assignments[0].cost_points
    assert own < 0  # L1 is cheaper for the case itself
    load = moved.load - plan.objective.utilisation_points
    (reason,) = why.reasons
    assert reason.startswith(f"eligible, but moving the case to this lawyer would add {change} ")
    assert f"the case's own cost {own:+d}" in reason
    assert f"the lawyers' utilisation bands {load:+d}" in reason
