"""Tests of the plans built from a relaxation's solution (``rounding.py``)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from assigner.search.cpsat import SearchParams
from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    evaluate,
    feasibility_issues,
)
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


def _crowded() -> tuple[AssignmentInstance, np.ndarray]:
    """Agent 0 takes one item; a relaxation without count rows gave it both (x), so one is
    crowded out and chooses between agent 1 (cost 20) and agent 2 (cost 25)."""
    inst = AssignmentInstance(
        n_items=2,
        n_agents=3,
        edge_item=np.array([0, 0, 0, 1, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 2, 0, 1, 2], dtype=np.int32),
        edge_cost=np.array([0, 20, 25, 0, 20, 25], dtype=np.int64),
        edge_weight=np.full(6, 10, dtype=np.int64),
        capacity=np.full(3, 100, dtype=np.int64),
        max_count=np.array([1, 5, 5], dtype=np.int64),
        unassigned_penalty=np.full(2, MUST_ASSIGN, dtype=np.int64),
    )
    return inst, np.array([1.0, 0, 0, 1.0, 0, 0])


def test_agent_prices_steer_crowded_out_items_away_from_scarce_hours() -> None:
    """Tests the rounding with the relaxation's prices of the agents' hours: the crowded-out
    item takes the cheaper agent 1 without them, and agent 2 once agent 1's hour costs 1 point
    (10 points on this item against 5 saved); the item the relaxation placed keeps agent 0."""
    inst, x = _crowded()
    plain = lp_rounding(inst, x)
    assert sorted(plain.tolist()) == [0, 1]
    priced = lp_rounding(inst, x, np.array([0.0, 1.0, 0.0]))
    assert sorted(priced.tolist()) == [0, 2]
    assert lp_rounding(inst, x, np.zeros(3)).tolist() == plain.tolist()


def test_agent_prices_need_one_finite_value_per_agent() -> None:
    inst, x = _crowded()
    needs = r"agent_price has shape \(2,\); it needs one value per agent \(3\)"
    with pytest.raises(ValueError, match=needs):
        lp_rounding(inst, x, np.zeros(2))
    with pytest.raises(ValueError, match=r"agent_price\[1\] is nan; prices must be finite"):
        lp_rounding(inst, x, np.array([0.0, np.nan, 1.0]))
