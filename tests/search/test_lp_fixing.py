"""Tests of the plan built by fixing the LP's whole assignments (``lp_fixing.py``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    OpposingSides,
    evaluate,
    feasibility_issues,
)
from assigner.search.lp_bound import solve_lp
from assigner.search.lp_fixing import WHOLE_TOLERANCE, lp_fixed_instance, lp_fixed_plan
from tests.search.instances import random_instance


def _whole_agent(inst: AssignmentInstance, x: np.ndarray) -> np.ndarray:
    """Per item, the agent of its whole LP edge, or -1."""
    whole = x > 1.0 - WHOLE_TOLERANCE
    agent = np.full(inst.n_items, -1, dtype=np.int32)
    agent[inst.edge_item[whole]] = inst.edge_agent[whole]
    return agent


@pytest.mark.parametrize("seed", range(8))
def test_whole_items_are_held_and_the_rest_keep_every_edge(seed: int) -> None:
    """Tests that every item the LP assigns whole keeps only that edge, fixed, and every other
    item keeps all its edges (the LP solves the group rows, so it breaks none here)."""
    inst = random_instance(seed, n_items=10, n_agents=4)
    x = solve_lp(inst).x
    whole = _whole_agent(inst, x)
    fixed = lp_fixed_instance(inst, x)
    assert fixed.fixed_agent is not None
    np.testing.assert_array_equal(fixed.fixed_agent, whole)
    for i in range(inst.n_items):
        agents = fixed.edge_agent[fixed.edges_of(i)].tolist()
        if whole[i] >= 0:
            assert agents == [whole[i]]
        else:
            assert agents == inst.edge_agent[inst.edges_of(i)].tolist()


def _shared() -> AssignmentInstance:
    """Four items, two agents in two groups; items 0 and 1 must not share an agent, items 2
    and 3 are opposing sides (never in one group)."""
    return AssignmentInstance(
        n_items=4,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1, 0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([1, 5, 1, 5, 1, 5, 1, 5], dtype=np.int64),
        edge_weight=np.full(8, 10, dtype=np.int64),
        capacity=np.full(2, 100, dtype=np.int64),
        max_count=np.full(2, 10, dtype=np.int64),
        unassigned_penalty=np.full(4, 1_000, dtype=np.int64),
        same_agent_cliques=[np.array([0, 1], dtype=np.int32)],
        agent_group=np.array([0, 1], dtype=np.int32),
        opposing_sides=[OpposingSides(np.array([2], np.int32), np.array([3], np.int32))],
    )


# Every item whole on agent 0: what a relaxation without the group rows may return.
ALL_ON_AGENT_0 = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])


def test_whole_assignments_that_break_a_group_rule_are_freed() -> None:
    """Tests that of two whole assignments breaking a group rule (a clique on one agent,
    opposing sides in one group) the first stays fixed and the second is freed, so the fixed
    items alone break no rule, and the plan places the freed ones elsewhere."""
    inst = _shared()
    fixed = lp_fixed_instance(inst, ALL_ON_AGENT_0)
    assert fixed.fixed_agent is not None
    assert fixed.fixed_agent.tolist() == [0, -1, 0, -1]
    plan = lp_fixed_plan(inst, ALL_ON_AGENT_0, time_limit_s=10.0)
    assert plan is not None
    assert plan.tolist() == [0, 1, 0, 1]
    assert not feasibility_issues(inst, plan)


def test_the_instances_own_fixed_items_win_over_the_lp() -> None:
    """Tests that an item the instance fixes stays fixed even where the LP's whole assignment
    of another item came first and shares its agent: the other one is freed."""
    inst = dataclasses.replace(_shared(), fixed_agent=np.array([-1, 0, -1, -1], dtype=np.int32))
    fixed = lp_fixed_instance(inst, ALL_ON_AGENT_0)
    assert fixed.fixed_agent is not None
    assert fixed.fixed_agent[:2].tolist() == [-1, 0]
    plan = lp_fixed_plan(inst, ALL_ON_AGENT_0, time_limit_s=10.0)
    assert plan is not None
    assert plan[:2].tolist() == [1, 0]
    assert not feasibility_issues(inst, plan)


@pytest.mark.parametrize("seed", range(12))
def test_the_plan_is_feasible_and_keeps_the_whole_items(seed: int) -> None:
    """Tests that the plan breaks no hard rule, keeps every whole item on its LP edge, and is no
    worse than the plan that leaves every other item out (which the MIP may choose)."""
    inst = random_instance(seed, n_items=10, n_agents=4)
    x = solve_lp(inst).x
    whole = _whole_agent(inst, x)
    plan = lp_fixed_plan(inst, x, time_limit_s=10.0)
    if plan is None:
        # Nothing left to place: the LP assigns every item with an edge whole.
        items_with_edges = np.flatnonzero(np.diff(inst.item_offsets) > 0)
        assert (whole[items_with_edges] >= 0).all()
        return
    assert not feasibility_issues(inst, plan)
    held = whole >= 0
    np.testing.assert_array_equal(plan[held], whole[held])
    only_whole = whole.copy()
    if not feasibility_issues(inst, only_whole):
        assert evaluate(inst, plan).total <= evaluate(inst, only_whole).total


def test_a_tight_agent_gets_the_items_that_fit_together() -> None:
    """Tests the case fixing is for: the LP splits three items over one agent with room for
    two; the plan places two whole and leaves the third out."""
    inst = AssignmentInstance(
        n_items=3,
        n_agents=1,
        edge_item=np.array([0, 1, 2], dtype=np.int32),
        edge_agent=np.zeros(3, dtype=np.int32),
        edge_cost=np.zeros(3, dtype=np.int64),
        edge_weight=np.full(3, 30, dtype=np.int64),
        capacity=np.array([75], dtype=np.int64),
        max_count=np.array([5], dtype=np.int64),
        unassigned_penalty=np.full(3, 100, dtype=np.int64),
    )
    x = solve_lp(inst).x
    assert (x < 1.0 - WHOLE_TOLERANCE).any()
    plan = lp_fixed_plan(inst, x, time_limit_s=10.0)
    assert plan is not None
    assert int((plan >= 0).sum()) == 2
    assert evaluate(inst, plan).total == 100


def test_lp_values_of_the_wrong_length_are_refused() -> None:
    """Tests that an LP solution not of the instance's edges is refused, naming it."""
    inst = _shared()
    with pytest.raises(ValueError, match="lp_x has shape"):
        lp_fixed_instance(inst, np.ones(3))


def test_must_assign_items_left_unplaceable_give_no_plan() -> None:
    """Tests that where the fixed items leave no room for an item that must be assigned, no
    plan comes back (the caller keeps the plan it has)."""
    inst = AssignmentInstance(
        n_items=2,
        n_agents=1,
        edge_item=np.array([0, 1], dtype=np.int32),
        edge_agent=np.zeros(2, dtype=np.int32),
        edge_cost=np.zeros(2, dtype=np.int64),
        edge_weight=np.full(2, 10, dtype=np.int64),
        capacity=np.array([10], dtype=np.int64),
        max_count=np.array([5], dtype=np.int64),
        unassigned_penalty=np.full(2, MUST_ASSIGN, dtype=np.int64),
    )
    assert lp_fixed_plan(inst, np.array([1.0, 0.0]), time_limit_s=10.0) is None


def test_a_node_limit_gives_the_same_plan_every_run() -> None:
    """Tests the deterministic mode's work limit: with a node limit (and a time limit far
    beyond it) the plan repeats exactly."""
    inst = random_instance(5, n_items=14, n_agents=4)
    x = solve_lp(inst).x
    plans = [lp_fixed_plan(inst, x, time_limit_s=60.0, seed=3, max_nodes=50) for _ in range(3)]
    assert plans[0] is not None
    for plan in plans[1:]:
        assert plan is not None
        np.testing.assert_array_equal(plan, plans[0])
