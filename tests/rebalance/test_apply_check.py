"""Tests that a plan records the state it was made from and that applying it refuses a changed
state (a case reassigned, a capacity changed) and accepts the same one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from assigner.domain import CurrentAssignment, KnownClient, Problem
from assigner.domain.problem import Leave
from assigner.rebalance import (
    RebalancePlan,
    StateChanged,
    apply_check,
    apply_to_problem,
    fingerprint,
    planned_state,
    rebalance,
)
from assigner.search.cpsat import SearchParams
from tests.rebalance.states import StateSpec, make_state

PARAMS = SearchParams(time_limit_s=1.0, workers=1, seed=0)


@pytest.fixture(scope="module")
def state() -> Problem:
    return make_state(StateSpec(seed=11, on_leave=1, capacity_cuts=2))


@pytest.fixture(scope="module")
def plan(state: Problem) -> RebalancePlan:
    return rebalance(state, 20, None, PARAMS, versions={c.id: 1 for c in state.cases})


def _with_case(problem: Problem, case_id: str, **update: object) -> Problem:
    cases = [c.model_copy(update=update) if c.id == case_id else c for c in problem.cases]
    return problem.model_copy(update={"cases": cases})


def _versions(problem: Problem) -> dict[str, int]:
    return {c.id: 1 for c in problem.cases}


def test_the_same_state_is_accepted(state: Problem, plan: RebalancePlan) -> None:
    """Tests that applying to the very state the plan was made from passes the check."""
    apply_check(plan, state, _versions(state))


def test_fingerprint_ignores_record_order(state: Problem, plan: RebalancePlan) -> None:
    """Tests that the fingerprint depends on the state, not on the order of the records."""
    cases = list(state.cases)
    lawyers = list(state.lawyers)
    random.Random(3).shuffle(cases)
    random.Random(4).shuffle(lawyers)
    shuffled = state.model_copy(update={"cases": cases, "lawyers": lawyers})
    assert fingerprint(planned_state(shuffled, _versions(state))) == plan.fingerprint
    apply_check(plan, shuffled, _versions(state))


def test_a_reassigned_case_is_refused(state: Problem, plan: RebalancePlan) -> None:
    """Tests that a case given to another lawyer since planning makes applying refuse."""
    held = next(c for c in state.cases if c.current_assignment is not None)
    assert held.current_assignment is not None
    other = next(lw.id for lw in state.lawyers if lw.id != held.current_assignment.lawyer_id)
    changed = _with_case(state, held.id, current_assignment=CurrentAssignment(lawyer_id=other))
    with pytest.raises(StateChanged) as err:
        apply_check(plan, changed, _versions(state))
    assert any(held.id in c and other in c for c in err.value.changes)


def test_a_backlog_case_assigned_meanwhile_is_refused(state: Problem, plan: RebalancePlan) -> None:
    """Tests that a backlog case assigned by hand since planning makes applying refuse."""
    backlog = next(c for c in state.cases if c.current_assignment is None)
    lawyer = state.lawyers[0].id
    changed = _with_case(state, backlog.id, current_assignment=CurrentAssignment(lawyer_id=lawyer))
    with pytest.raises(StateChanged):
        apply_check(plan, changed, _versions(state))


def test_a_changed_capacity_is_refused(state: Problem, plan: RebalancePlan) -> None:
    """Tests that a lawyer's capacity changed since planning makes applying refuse, naming the
    lawyer and the field."""
    lw = state.lawyers[2]
    lawyers = [
        x.model_copy(update={"capacity_hours": x.capacity_hours + 10}) if x.id == lw.id else x
        for x in state.lawyers
    ]
    with pytest.raises(StateChanged) as err:
        apply_check(plan, state.model_copy(update={"lawyers": lawyers}), _versions(state))
    assert any(lw.id in c and "capacity_hours" in c for c in err.value.changes)


def test_a_newer_case_version_is_refused(state: Problem, plan: RebalancePlan) -> None:
    """Tests that a case record saved again since planning (a newer version) is a change."""
    versions = _versions(state)
    versions[state.cases[0].id] = 2
    with pytest.raises(StateChanged, match="version"):
        apply_check(plan, state, versions)


def test_a_new_unassigned_case_is_not_a_change(state: Problem, plan: RebalancePlan) -> None:
    """Tests that a case that arrived after planning, with no lawyer, does not block applying
    (the plan neither places it nor counts its hours)."""
    extra = state.cases[0].model_copy(
        update={"id": "NEW-1", "current_assignment": None, "linked_case_ids": [], "matter_id": None}
    )
    grown = state.model_copy(update={"cases": [*state.cases, extra]})
    apply_check(plan, grown, {**_versions(state), "NEW-1": 1})


def test_a_new_lawyer_with_clients_is_refused(state: Problem, plan: RebalancePlan) -> None:
    """Tests that a lawyer who joined a firm with client records since planning is a change
    (their clients conflict the cases planned for the firm), and one without clients is not."""
    joining = state.lawyers[0].model_copy(update={"id": "L-NEW", "clients": []})
    apply_check(
        plan, state.model_copy(update={"lawyers": [*state.lawyers, joining]}), _versions(state)
    )
    with_clients = joining.model_copy(
        update={"clients": [KnownClient(party_id="P-9", name="Wang Wanna")]}
    )
    grown = state.model_copy(update={"lawyers": [*state.lawyers, with_clients]})
    with pytest.raises(StateChanged, match=f"lawyer L-NEW added to firm {joining.firm_id} with 1"):
        apply_check(plan, grown, _versions(state))


def test_applied_state_needs_no_moves(state: Problem, plan: RebalancePlan) -> None:
    """Tests that the state after applying holds the plan's assignments and needs no forced
    move: rebalancing it again with a budget of zero succeeds and keeps everything."""
    applied = apply_to_problem(plan, state, _versions(state))
    lawyer_of = {a.case_id: a.lawyer_id for a in plan.plan.assignments}
    for case in applied.cases:
        cur = case.current_assignment
        assert (cur.lawyer_id if cur is not None else None) == lawyer_of.get(case.id)
    again = rebalance(applied, 0, 0, PARAMS)
    assert again.budget.moves_used == 0
    assert again.before_feasible


def test_plan_document_round_trips_and_has_a_schema(plan: RebalancePlan) -> None:
    """Tests that the plan is JSON-serialisable, reads back equal, and exports a JSON Schema."""
    text = plan.model_dump_json()
    assert RebalancePlan.model_validate_json(text) == plan
    schema = RebalancePlan.model_json_schema()
    assert {"moves", "new_assignments", "fingerprint", "plan"} <= set(schema["properties"])


def test_a_move_onto_a_lawyer_whose_leave_has_begun_is_refused() -> None:
    """Tests that a plan applied on a later day, when every lawyer's leave (recorded before
    planning, after every case's deadline) has begun, is refused naming a moved case, its
    lawyer and the availability rule, though no record changed; on the plan's own day it
    applies."""
    base = make_state(StateSpec(seed=11, on_leave=1, capacity_cuts=2))
    last_day = max(c.assign_by for c in base.cases).date()
    away = Leave(start=last_day + timedelta(days=1), end=last_day + timedelta(days=10))
    state = base.model_copy(
        update={
            "lawyers": [lw.model_copy(update={"leave": [*lw.leave, away]}) for lw in base.lawyers]
        }
    )
    plan = rebalance(state, 20, None, PARAMS)
    assert plan.moves or plan.new_assignments
    apply_check(plan, state)
    later = state.model_copy(update={"as_of": datetime.combine(away.start, time(12), tzinfo=UTC)})
    with pytest.raises(StateChanged) as info:
        apply_check(plan, later)
    moved = {m.case_id for m in plan.moves} | {n.case_id for n in plan.new_assignments}
    [first, *_] = info.value.changes
    assert first.split(":")[0].removeprefix("case ") in moved
    assert "is no longer eligible for it (availability)" in first
