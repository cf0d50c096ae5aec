"""Tests that each case the plan leaves out carries the reason that holds in that plan."""

from __future__ import annotations

import numpy as np

from assigner.domain import Policy, UnassignedReason
from assigner.domain.policy import Weights
from assigner.engine import prepare
from assigner.plan.unassigned_reasons import unassigned_reasons
from assigner.search.instance import AssignmentInstance, OpposingSides
from tests.factory import make_case, make_lawyer, make_problem

REASON = UnassignedReason


def reasons_of(problem_kw: dict[str, object], plan: list[int]) -> list[REASON]:
    """The reasons of the cases ``plan`` (lawyer position per case, -1 out) leaves out."""
    prepared = prepare(make_problem(**problem_kw))  # type: ignore[arg-type]
    vector = np.array(plan, dtype=np.int32)
    found = unassigned_reasons(prepared.instance, vector, prepared.candidates.eligible_count)
    return [found[int(i)] for i in np.flatnonzero(vector < 0)]


def test_no_room_left_is_capacity_exhausted() -> None:
    """Tests that a case whose one eligible lawyer is full in the plan reads as capacity
    exhausted (120 h free, the placed case takes 100 h)."""
    cases = [make_case("C1", workload_hours=100), make_case("C2", workload_hours=100)]
    assert reasons_of({"lawyers": [make_lawyer("L1")], "cases": cases}, [0, -1]) == [
        REASON.CAPACITY_EXHAUSTED
    ]


def test_room_but_a_penalty_of_zero_costs_more_than_the_penalty() -> None:
    """Tests that with no penalty for leaving a case open, a case left out next to a lawyer
    with room reads as costing more than its penalty, not as capacity exhausted."""
    policy = Policy(weights=Weights(unassigned_points=0))
    problem = {"lawyers": [make_lawyer("L1")], "cases": [make_case("C1")], "policy": policy}
    assert reasons_of(problem, [-1]) == [REASON.COSTS_MORE_THAN_PENALTY]


def test_room_and_a_cheaper_placement_is_not_placed_in_time() -> None:
    """Tests that a case left out although placing it would lower the objective (a search cut
    short) says so."""
    problem = {"lawyers": [make_lawyer("L1")], "cases": [make_case("C1")]}
    assert reasons_of(problem, [-1]) == [REASON.NOT_PLACED_IN_TIME]


def test_a_group_rule_that_bars_the_lawyers_with_room_says_so() -> None:
    """Tests that a co-defendant whose one eligible lawyer, with room, already holds the other
    defendant reads as barred by the group rules (another lawyer is needed, not more hours)."""
    cases = [make_case(f"C{k}", matter_id="M1") for k in (1, 2)]
    assert reasons_of({"lawyers": [make_lawyer("L1")], "cases": cases}, [0, -1]) == [
        REASON.GROUP_RULES
    ]


def test_no_eligible_lawyer() -> None:
    """Tests that a case no lawyer may take reads as having no eligible lawyer."""
    case = make_case("C1", excluded_lawyer_ids=["L1"])
    assert reasons_of({"lawyers": [make_lawyer("L1")], "cases": [case]}, [-1]) == [
        REASON.NO_ELIGIBLE_LAWYER
    ]


def _instance(**extra: object) -> AssignmentInstance:
    """Two items, each with an edge to three agents (agents 0 and 1 in group 0, agent 2 in
    group 1); agent 0 has room for one item only."""
    data: dict[str, object] = {
        "n_items": 2,
        "n_agents": 3,
        "edge_item": np.array([0, 0, 0, 1, 1, 1], dtype=np.int32),
        "edge_agent": np.array([0, 1, 2, 0, 1, 2], dtype=np.int32),
        "edge_cost": np.full(6, 10, dtype=np.int64),
        "edge_weight": np.full(6, 5, dtype=np.int64),
        "capacity": np.array([5, 10, 10], dtype=np.int64),
        "max_count": np.full(3, 5, dtype=np.int64),
        "unassigned_penalty": np.full(2, 1_000, dtype=np.int64),
        "agent_group": np.array([0, 0, 1], dtype=np.int32),
    }
    data.update(extra)
    return AssignmentInstance(**data)  # type: ignore[arg-type]


def _reason(inst: AssignmentInstance, plan: list[int]) -> REASON:
    found = unassigned_reasons(inst, np.array(plan, dtype=np.int32), np.full(2, 3))
    return found[1]


def test_each_edge_counts_not_only_the_first() -> None:
    """Tests that the reason weighs every edge of the item: agent 0 (with room) barred by a
    same-agent rule, agent 1 full, agent 2 free reads as not placed in time; with agent 2 full
    too, as barred by the group rules; with agent 0 full as well, as capacity exhausted."""
    clique = [np.array([0, 1], dtype=np.int32)]

    def capacity(*hours: int) -> dict[str, object]:
        return {"same_agent_cliques": clique, "capacity": np.array(hours, dtype=np.int64)}

    assert _reason(_instance(**capacity(10, 4, 10)), [0, -1]) == REASON.NOT_PLACED_IN_TIME
    assert _reason(_instance(**capacity(10, 4, 4)), [0, -1]) == REASON.GROUP_RULES
    assert _reason(_instance(**capacity(5, 4, 4)), [0, -1]) == REASON.CAPACITY_EXHAUSTED


def test_opposing_sides_bar_the_whole_agent_group() -> None:
    """Tests that with the other side placed in group 0, an item whose only agents with room are
    in group 0 reads as barred by the group rules, and as placeable once group 1 has room."""
    sides = [OpposingSides(np.array([0], dtype=np.int32), np.array([1], dtype=np.int32))]
    barred = _instance(opposing_sides=sides, capacity=np.array([10, 10, 4], dtype=np.int64))
    assert _reason(barred, [1, -1]) == REASON.GROUP_RULES
    open_ = _instance(opposing_sides=sides, capacity=np.array([10, 10, 10], dtype=np.int64))
    assert _reason(open_, [1, -1]) == REASON.NOT_PLACED_IN_TIME


def test_same_group_rule_bars_the_firm_not_other_firms() -> None:
    """Tests that a one-firm rule with its other member in group 0 bars agents 0 and 1 only."""
    cliques = [np.array([0, 1], dtype=np.int32)]
    barred = _instance(same_group_cliques=cliques, capacity=np.array([10, 10, 4], dtype=np.int64))
    assert _reason(barred, [0, -1]) == REASON.GROUP_RULES
    other = _instance(same_group_cliques=cliques)
    assert _reason(other, [0, -1]) == REASON.NOT_PLACED_IN_TIME
