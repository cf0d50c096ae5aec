"""Tests that a rebalance plan's bound does not depend on the budget MIP reaching its root."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from assigner.engine import prepare
from assigner.rebalance import planner, rebalance
from assigner.rebalance.budget import MoveBudget, keep_start, make_budget
from assigner.rebalance.mip import BudgetMipResult, solve_budget_mip
from assigner.search.cpsat import SearchParams
from assigner.search.instance import AssignmentInstance
from assigner.search.solve import trivial_bound
from tests.rebalance.states import StateSpec, make_state

MAX_MOVES = 5


def test_the_budget_lp_bounds_the_plan_when_the_mip_stops_before_its_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that where the budget MIP ends without a dual bound (HiGHS's time limit came during
    presolve: a demo county's state gave a gap of 57% so), the plan still reports the LP
    relaxation's bound with the budget rows, not each case at its cheapest lawyer."""
    problem = make_state(StateSpec(seed=3, capacity_cuts=3, extra_backlog=6))
    prepared = prepare(problem)
    inst = prepared.instance
    current = prepared.arrays.current_lawyer.astype(np.int32)
    budget = make_budget(keep_start(inst, current), current, inst.n_agents, MAX_MOVES, None)
    lp_bound = solve_budget_mip(inst, budget, 60.0, integer=False).bound
    assert lp_bound > trivial_bound(inst)

    def mip_without_root(
        inst: AssignmentInstance, budget: MoveBudget, time_limit_s: float, **options: Any
    ) -> BudgetMipResult:
        if options.get("integer", True):
            return BudgetMipResult(None, -math.inf, "Time limit reached", False, time_limit_s)
        return solve_budget_mip(inst, budget, time_limit_s, integer=False)

    monkeypatch.setattr(planner, "EXACT_MIP_MAX_EDGES", 0)  # the path of larger instances
    # The LP gets the whole span, so that a slow machine does not stop it early.
    monkeypatch.setattr(planner, "BOUND_SHARE", 1.0)
    monkeypatch.setattr(planner, "solve_budget_mip", mip_without_root)
    plan = rebalance(problem, MAX_MOVES, None, SearchParams(time_limit_s=4.0, workers=1, seed=0))
    solver = plan.plan.solver
    assert solver.best_bound_points == min(lp_bound, solver.objective_points)
    assert solver.best_bound_points > trivial_bound(inst)
