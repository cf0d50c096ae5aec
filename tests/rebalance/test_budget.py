"""Tests that the instance-level budget counts moves as documented, takes off the fewest cases
the hard rules force, and refuses a budget below them."""

from __future__ import annotations

import numpy as np
import pytest

from assigner.rebalance.budget import (
    UNLIMITED,
    BudgetTooSmall,
    MoveBudget,
    RebalanceInfeasible,
    budget_issues,
    count_moves,
    current_edges,
    held_by_onto_limits,
    keep_start,
    make_budget,
)
from assigner.search.instance import AssignmentInstance, evaluate
from tests.search.instances import random_instance


def _instance(
    weights: list[int], capacity: list[int], fixed: list[int] | None = None
) -> AssignmentInstance:
    """Items 0..n-1, each with an edge to agents 0 and 1 (cost 1 and 5)."""
    n = len(weights)
    return AssignmentInstance(
        n_items=n,
        n_agents=2,
        edge_item=np.repeat(np.arange(n), 2).astype(np.int32),
        edge_agent=np.tile([0, 1], n).astype(np.int32),
        edge_cost=np.tile([1, 5], n).astype(np.int64),
        edge_weight=np.repeat(weights, 2).astype(np.int64),
        capacity=np.array(capacity, dtype=np.int64),
        max_count=np.array([10, 10], dtype=np.int64),
        unassigned_penalty=np.full(n, 100, dtype=np.int64),
        fixed_agent=None if fixed is None else np.array(fixed, dtype=np.int32),
    )


def test_moves_count_away_and_onto() -> None:
    """Tests that a move is a held item ending elsewhere or unassigned; backlog is not."""
    current = np.array([0, 0, 1, -1], dtype=np.int32)
    after = np.array([1, -1, 1, 0], dtype=np.int32)
    used = count_moves(current, after, 2, np.array([True, True, True, False]))
    assert used.total == 2
    assert used.away.tolist() == [2, 0]
    assert used.onto.tolist() == [0, 1]
    assert used.opened.tolist() == [1, 0]


def test_a_still_eligible_case_is_not_left_open_without_cause() -> None:
    """Tests that leaving open a case whose lawyer is still eligible breaks the budget unless
    the hard rules forced cases off that lawyer."""
    inst = _instance([5, 5], [100, 100])
    current = np.array([0, 0], dtype=np.int32)
    budget = make_budget(keep_start(inst, current), current, 2, 5, None)
    assert budget_issues(budget, np.array([-1, 0], dtype=np.int32))
    assert not budget_issues(budget, np.array([1, 0], dtype=np.int32))


def test_over_capacity_takes_off_the_largest_movable_items() -> None:
    """Tests that an agent over capacity loses its largest movable items first, as few as
    restore the capacity, and never a fixed one."""
    inst = _instance([5, 9, 3, 8], [12, 100], fixed=[-1, 0, -1, -1])
    start = keep_start(inst, np.array([0, 0, 0, 0], dtype=np.int32))
    assert start.agent_of.tolist() == [-1, 0, 0, -1]  # 9 is fixed; 8 then 5 go: 9 + 3 = 12
    assert start.over_capacity.tolist() == [True, False, False, True]
    assert start.required_away.tolist() == [2, 0]


def test_fixed_items_over_capacity_are_infeasible() -> None:
    """Tests that fixed items that alone exceed the capacity are refused."""
    inst = _instance([7, 7], [10, 100], fixed=[0, 0])
    with pytest.raises(RebalanceInfeasible):
        keep_start(inst, np.array([0, 0], dtype=np.int32))


def test_budget_below_forced_moves_is_refused() -> None:
    """Tests that a total budget below the moves the hard rules force is refused, naming how
    many are needed."""
    inst = _instance([5, 9, 3, 8], [12, 100])
    current = np.array([0, 0, 0, 0], dtype=np.int32)
    start = keep_start(inst, current)
    with pytest.raises(BudgetTooSmall) as err:
        make_budget(start, current, 2, 1, None)
    assert err.value.required == start.required_total == 2


def test_per_lawyer_limit_never_blocks_forced_moves() -> None:
    """Tests that the away limit of an agent is at least its forced moves, the onto limit is
    the per-lawyer limit, and budget_issues reports breaches."""
    inst = _instance([5, 9, 3, 8], [12, 100])
    current = np.array([0, 0, 0, 0], dtype=np.int32)
    start = keep_start(inst, current)
    budget = make_budget(start, current, 2, 5, 1)
    assert budget.away_limit.tolist() == [2, 1]
    assert budget.onto_limit.tolist() == [1, 1]
    assert budget.open_limit.tolist() == [2, 0]
    assert budget_issues(budget, np.array([1, 0, 0, 1], dtype=np.int32))  # two onto agent 1
    assert not budget_issues(budget, np.array([1, 0, 0, -1], dtype=np.int32))
    free = make_budget(start, current, 2, 5, None)
    assert (free.onto_limit == UNLIMITED).all()
    assert isinstance(free, MoveBudget)


def test_cases_the_onto_limits_keep_out_are_found() -> None:
    """Tests that a case whose current agent cannot keep it (over capacity), with room at the
    other agent only past that agent's onto limit, is found as kept out by the budget; with
    the limit not yet reached it is not."""
    inst = _instance([5, 9, 3, 8], [12, 100])
    current = np.array([0, 0, 0, 0], dtype=np.int32)
    start = keep_start(inst, current)
    budget = make_budget(start, current, 2, 5, 1)
    plan = np.array([1, 0, 0, -1], dtype=np.int32)  # item 3 forced away, agent 1 full by limit
    assert held_by_onto_limits(inst, budget, plan).tolist() == [3]
    wider = make_budget(start, current, 2, 5, 2)
    assert held_by_onto_limits(inst, wider, plan).tolist() == []


def test_current_edges_and_objective_match_the_engine() -> None:
    """Tests that the vectorised edge lookup finds each item's edge and that the objective's
    edge part equals a per-item sum."""
    for seed in range(5):
        inst = random_instance(seed, n_items=9, n_agents=4)
        rng = np.random.default_rng(seed)
        vec = np.array(
            [
                int(rng.choice(inst.edge_agent[inst.edges_of(i)]))
                if inst.item_offsets[i + 1] > inst.item_offsets[i] and rng.random() < 0.8
                else -1
                for i in range(inst.n_items)
            ],
            dtype=np.int32,
        )
        by_loop = sum(
            int(inst.edge_cost[sl][inst.edge_agent[sl] == vec[i]][0])
            for i in range(inst.n_items)
            if vec[i] >= 0
            for sl in [inst.edges_of(i)]
        )
        assert evaluate(inst, vec).edge == by_loop
        rows = current_edges(inst, vec)
        assert np.all(inst.edge_agent[rows[vec >= 0]] == vec[vec >= 0])
