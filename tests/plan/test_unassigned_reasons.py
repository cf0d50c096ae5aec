"""Tests that each case the plan leaves out carries the reason that holds in that plan."""

from __future__ import annotations

import numpy as np

from assigner.domain import Policy, UnassignedReason
from assigner.domain.policy import Weights
from assigner.engine import prepare
from assigner.plan.unassigned_reasons import unassigned_reasons
from tests.factory import make_case, make_lawyer, make_problem

REASON = UnassignedReason


def reasons_of(problem_kw: dict[str, object], plan: list[int]) -> list[REASON]:
    """The reasons of the cases ``plan`` (lawyer position per case, -1 out) leaves out."""
    prepared = prepare(make_problem(**problem_kw))  # type: ignore[arg-type]
    vector = np.array(plan, dtype=np.int32)
    found = unassigned_reasons(prepared.instance, vector, prepared.candidates.eligible_count)
    return [found[i] for i in np.flatnonzero(vector < 0)]


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
