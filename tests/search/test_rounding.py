"""Tests of the plans built from a relaxation's solution (``rounding.py``)."""

from __future__ import annotations

import time

import numpy as np

from assigner.search.cpsat import SearchParams
from assigner.search.instance import MUST_ASSIGN, evaluate, feasibility_issues
from assigner.search.local_search import descend
from assigner.search.lp_bound import solve_lp
from assigner.search.rounding import NOISY_ROUNDINGS_DETERMINISTIC, lp_rounding, noisy_roundings
from assigner.search.search_budget import Budget
from tests.search.instances import random_instance


def test_noisy_roundings_keep_the_best_plan() -> None:
    """Tests that the noisy roundings return a plan no worse than the one given, and a better
    one when the one given is poor (every item left out where that is allowed)."""
    inst = random_instance(11, n_items=9, n_agents=4)
    lp = solve_lp(inst)
    params = SearchParams(time_limit_s=3, workers=1, seed=0, deterministic=True)
    budget = Budget(time.monotonic(), 3, True)
    good, _ = descend(inst, lp_rounding(inst, lp.x), float("inf"))
    kept, kept_parts, tried = noisy_roundings(
        inst, lp.x, good, evaluate(inst, good), params, budget
    )
    assert tried == NOISY_ROUNDINGS_DETERMINISTIC
    assert kept_parts == evaluate(inst, kept)
    assert not feasibility_issues(inst, kept)
    assert evaluate(inst, kept).total <= evaluate(inst, good).total
    must = inst.unassigned_penalty == MUST_ASSIGN
    poor = np.where(must, good, -1).astype(np.int32)
    better, _, _ = noisy_roundings(inst, lp.x, poor, evaluate(inst, poor), params, budget)
    assert not feasibility_issues(inst, better)
    assert evaluate(inst, better).total < evaluate(inst, poor).total
