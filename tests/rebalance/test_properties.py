"""Tests that rebalancing keeps its budget, never moves what the policy keeps, and verifies, on
generated tiny counties with perturbed states (leave, capacity cuts, extra backlog)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigner.domain import Problem
from assigner.rebalance import BudgetTooSmall, MoveKind, RebalancePlan, rebalance
from assigner.search.cpsat import SearchParams
from assigner.verify import verify_plan
from tests.rebalance.states import StateSpec, make_state

PARAMS = SearchParams(time_limit_s=1.0, workers=1, seed=0)


def _moves_in_plan(problem: Problem, plan: RebalancePlan) -> tuple[int, Counter[str], Counter[str]]:
    """Moves counted from the documents alone: (total, away per lawyer, onto per lawyer)."""
    lawyer_of = {a.case_id: a.lawyer_id for a in plan.plan.assignments}
    total, away, onto = 0, Counter[str](), Counter[str]()
    for case in problem.cases:
        cur = case.current_assignment
        if cur is None:
            continue
        new = lawyer_of.get(case.id)
        if new != cur.lawyer_id:
            total += 1
            away[cur.lawyer_id] += 1
            if new is not None:
                onto[new] += 1
    return total, away, onto


specs = st.builds(
    StateSpec,
    seed=st.integers(0, 5_000),
    assigned_share=st.floats(0.3, 0.9),
    started_share=st.floats(0.0, 0.6),
    pinned_share=st.floats(0.0, 0.6),
    allow_moving_started=st.booleans(),
    allow_moving_pinned=st.booleans(),
    on_leave=st.integers(0, 2),
    capacity_cuts=st.integers(0, 3),
    extra_backlog=st.integers(0, 6),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=specs,
    max_moves=st.integers(0, 12),
    per_lawyer=st.one_of(st.none(), st.integers(0, 3)),
)
def test_rebalance_keeps_budget_pins_and_rules(
    spec: StateSpec, max_moves: int, per_lawyer: int | None
) -> None:
    """Tests that a plan never exceeds the total or per-lawyer budget, never moves a pinned or
    started case the policy keeps, leaves a case without a lawyer only when the hard rules force
    it off, passes the verifier, and gives every move a reason (or that the budget is refused
    only when the hard rules force more moves than it allows)."""
    problem = make_state(spec)
    try:
        plan = rebalance(problem, max_moves, per_lawyer, PARAMS)
    except BudgetTooSmall as exc:
        assert exc.required > max_moves
        return
    total, away, onto = _moves_in_plan(problem, plan)
    assert total == plan.budget.moves_used == len(plan.moves)
    assert total <= max_moves
    assert plan.budget.moves_required <= total
    if per_lawyer is not None:
        assert all(n <= per_lawyer for n in onto.values())
        required = plan.budget.required_away_by_lawyer
        assert all(n <= max(per_lawyer, required.get(lw, 0)) for lw, n in away.items())
    lawyer_of = {a.case_id: a.lawyer_id for a in plan.plan.assignments}
    policy = problem.policy
    for case in problem.cases:
        cur = case.current_assignment
        if cur is None:
            continue
        keep = (cur.pinned and not policy.allow_moving_pinned) or (
            cur.started and not policy.allow_moving_started
        )
        if keep:
            assert lawyer_of.get(case.id) == cur.lawyer_id, case.id
    assert verify_plan(problem, plan.plan).passed
    assert all(m.reason for m in plan.moves)
    forced = {MoveKind.LAWYER_INELIGIBLE, MoveKind.OVERLOAD, MoveKind.GROUP_RULE}
    assert all(m.kind in forced for m in plan.moves if m.to_lawyer_id is None)
    assert plan.after.total_points >= plan.bound_points
    assert plan.after.total_points == plan.plan.solver.objective_points


@pytest.mark.parametrize("seed", range(3))
def test_required_moves_come_from_broken_rules(seed: int) -> None:
    """Tests that a lawyer is charged forced moves only when the current state breaks a hard
    rule there (no eligibility, over capacity, a group rule), and that an unperturbed state
    needs none."""
    calm = make_state(StateSpec(seed=seed, on_leave=0, capacity_cuts=0, extra_backlog=0))
    plan = rebalance(calm, 0, 0, PARAMS)
    assert plan.budget.moves_required == 0 == plan.budget.moves_used
    assert plan.before_feasible
    stressed = make_state(StateSpec(seed=seed, on_leave=2, capacity_cuts=3))
    plan = rebalance(stressed, 40, 0, PARAMS)
    if plan.budget.moves_required:
        assert not plan.before_feasible and plan.before_issues
    flagged = {m.from_lawyer_id for m in plan.moves if m.kind.value != "cost"}
    assert set(plan.budget.required_away_by_lawyer) <= flagged
