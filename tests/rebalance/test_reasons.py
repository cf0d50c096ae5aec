"""Tests that each kind of move gets its reason: a lawyer on leave, an overloaded lawyer, the
client's prior lawyer; and that a pinned case whose lawyer is gone is refused as input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from assigner.domain import CurrentAssignment, InputError, Leave, Policy, Problem, Weights
from assigner.engine import prepare
from assigner.rebalance import MoveKind, rebalance
from assigner.rebalance.budget import keep_start
from assigner.rebalance.reasons import explain_moves
from assigner.search.cpsat import SearchParams
from tests.factory import AS_OF, make_case, make_lawyer, make_problem

PARAMS = SearchParams(time_limit_s=2.0, workers=1, seed=0)
LEAVE = Leave(start=AS_OF.date(), end=AS_OF.date() + timedelta(days=10))


def _state(pinned_on_leave: bool = False) -> Problem:
    """L1 on leave holds C1; L2, cut to 100 h with 40 h outside work, holds two 57 h cases;
    L3 holds C3 whose client's prior lawyer is L4 (continuity 300 > stability 100)."""
    lawyers = [
        make_lawyer("L1", leave=[LEAVE]),
        make_lawyer("L2", capacity_hours=100.0),
        make_lawyer("L3"),
        make_lawyer("L4"),
        make_lawyer("L5"),
    ]
    cases = [
        make_case(
            "C1", current_assignment=CurrentAssignment(lawyer_id="L1", pinned=pinned_on_leave)
        ),
        make_case("C2a", current_assignment=CurrentAssignment(lawyer_id="L2")),
        make_case("C2b", current_assignment=CurrentAssignment(lawyer_id="L2")),
        make_case("C3", prior_lawyer_id="L4", current_assignment=CurrentAssignment(lawyer_id="L3")),
        make_case("C4"),
    ]
    policy = Policy(weights=Weights(stability_points=100))
    return make_problem(lawyers=lawyers, cases=cases, policy=policy)


def test_each_move_says_why() -> None:
    """Tests that the leave, overload and continuity moves carry their kind and reason, the
    backlog case is a new assignment (not a move), and score changes add up."""
    plan = rebalance(_state(), 5, None, PARAMS)
    by_case = {m.case_id: m for m in plan.moves}
    assert by_case["C1"].kind is MoveKind.LAWYER_INELIGIBLE
    assert by_case["C1"].reason.startswith(f"lawyer on leave from {LEAVE.start}")
    assert by_case["C1"].terms_before is None
    overload = [m for m in plan.moves if m.from_lawyer_id == "L2"]
    assert len(overload) == 1
    assert overload[0].kind is MoveKind.OVERLOAD
    assert "relieves overload of L2 (utilisation" in overload[0].reason
    assert by_case["C3"].kind is MoveKind.CONTINUITY
    assert by_case["C3"].to_lawyer_id == "L4"
    assert by_case["C3"].reason == "to the client's prior lawyer"
    assert by_case["C3"].score_change_points == -200  # continuity -300, stability +100
    assert [n.case_id for n in plan.new_assignments] == ["C4"]
    assert plan.new_assignments[0].reason == "backlog: assigned"
    for m in plan.moves:
        assert m.score_change_points == m.cost_after_points - m.cost_before_points
    assert plan.budget.moves_required == 2
    assert plan.budget.required_away_by_lawyer == {"L1": 1, "L2": 1}


def test_budget_decides_the_optional_move() -> None:
    """Tests that with a budget equal to the forced moves the optional continuity move is not
    made, and the plan is still valid."""
    plan = rebalance(_state(), 2, None, PARAMS)
    assert plan.budget.moves_used == 2
    assert "C3" not in {m.case_id for m in plan.moves}


def test_pinned_case_with_a_lawyer_on_leave_is_refused() -> None:
    """Tests that a pinned case whose lawyer is no longer eligible is refused as input (only a
    person can resolve it), naming the case."""
    with pytest.raises(InputError, match="C1"):
        rebalance(_state(pinned_on_leave=True), 5, None, PARAMS)


def _explained(problem: Problem, after: dict[str, str]) -> dict[str, Any]:
    """The moves of going from ``problem``'s assignments to ``after`` (case -> lawyer)."""
    prepared = prepare(problem)
    arrays = prepared.arrays
    current = arrays.current_lawyer.astype(np.int32)
    planned = current.copy()
    for case_id, lawyer_id in after.items():
        planned[arrays.case_pos[case_id]] = arrays.lawyer_pos[lawyer_id]
    start = keep_start(prepared.instance, current)
    moves, _new = explain_moves(prepared, start, current, planned)
    return {m.case_id: m for m in moves}


def test_a_move_from_a_lawyer_who_ends_busier_does_not_claim_to_balance_load() -> None:
    """Tests that a case moved off a lawyer above the band who then takes a larger backlog
    case is not explained as balancing that lawyer's load (it rises), and that a move whose own
    cost rises says so beside the plan-level reason."""
    # L1 (160 h) at 120 h with C1 (75%), at 130 h after (81%); L2 at 40 h, 60 h after.
    lawyers = [make_lawyer("L1", current_load_hours=100.0), make_lawyer("L2")]
    cases = [
        make_case("C1", workload_hours=20, current_assignment=CurrentAssignment(lawyer_id="L1")),
        make_case("C2", workload_hours=30),
    ]
    moves = _explained(make_problem(lawyers=lawyers, cases=cases), {"C1": "L2", "C2": "L1"})
    move = moves["C1"]
    assert move.kind is not MoveKind.BALANCE
    assert all("balances load" not in text for text in [move.reason, *move.details])
    assert move.score_change_points > 0  # moving costs the stability points
    assert f"the case's own cost rises by {move.score_change_points} points" in " ".join(
        [move.reason, *move.details]
    )


def test_cases_the_per_lawyer_budget_keeps_out_say_so() -> None:
    """Tests that with three cases of a lawyer on leave, two lawyers with room and at most one
    move onto each, the case left out is said to be kept out by the move budget, not by the
    search's time (the plan is proven optimal)."""
    lawyers = [make_lawyer("L1", leave=[LEAVE]), make_lawyer("L2"), make_lawyer("L3")]
    cases = [
        make_case(f"C{k}", current_assignment=CurrentAssignment(lawyer_id="L1"))
        for k in range(1, 4)
    ]
    plan = rebalance(make_problem(lawyers=lawyers, cases=cases), 5, 1, PARAMS)
    [left] = plan.plan.unassigned
    assert left.reason.value == "move_budget"
    assert plan.plan.verification is not None and plan.plan.verification.passed


def test_a_move_that_makes_room_for_a_forced_move_says_so() -> None:
    """Tests that when C1 must leave L1 (on leave) for L2, whose room (60 h) holds one 57 h
    case, and L2's own C2 moves on to L3 to make that room, C2's move says it makes room at
    L2 for C1 from L1, not that it lowers the objective."""
    lawyers = [
        make_lawyer("L1", leave=[LEAVE]),
        make_lawyer("L2", capacity_hours=100.0),
        make_lawyer("L3"),
    ]
    cases = [
        make_case("C1", current_assignment=CurrentAssignment(lawyer_id="L1")),
        make_case("C2", current_assignment=CurrentAssignment(lawyer_id="L2")),
    ]
    moves = _explained(make_problem(lawyers=lawyers, cases=cases), {"C1": "L2", "C2": "L3"})
    assert moves["C1"].kind is MoveKind.LAWYER_INELIGIBLE
    assert moves["C2"].kind is MoveKind.ROOM_FOR_MOVE
    assert moves["C2"].reason == "makes room at L2 for case C1 from L1"


def test_a_forced_move_lists_every_rule_that_excludes_its_lawyer() -> None:
    """Tests that a case whose lawyer is on leave and also excluded by the case names the
    leave as the reason and the exclusion in ``details`` (only the first rule was given)."""
    lawyers = [make_lawyer("L1", leave=[LEAVE]), make_lawyer("L2")]
    cases = [
        make_case(
            "C1",
            excluded_lawyer_ids=["L1"],
            current_assignment=CurrentAssignment(lawyer_id="L1"),
        )
    ]
    moves = _explained(make_problem(lawyers=lawyers, cases=cases), {"C1": "L2"})
    move = moves["C1"]
    assert move.reason.startswith("lawyer on leave from")
    assert move.details == [
        "also explicit_exclusion: staff excluded lawyer L1 from case C1 (excluded_lawyer_ids)"
    ]
