"""Nightly rebalancing: from the stored state to a verified plan of moves within a budget.

``rebalance`` reuses the engine's instance (eligibility, scoring, pinned and started cases fixed
unless the policy allows moving them; ``assigner.engine.prepare``) and adds the move budget
(``assigner.rebalance.budget``).  Phases:

1. *keep*: every case stays with its current lawyer where the hard rules allow; the fewest
   cases the rules force off are taken off (``keep_start``); a budget below them is refused;
2. *backlog search*: the engine's own search (``run_search``) on the instance with every kept
   case fixed, so the backlog and the forced cases get a good placement and no budget is spent;
3. *budget heuristic*: ejection chains and single moves of kept cases, best gain first, within
   the budget (``assigner.rebalance.heuristic``);
4. *MIP with the budget rows* (``assigner.rebalance.mip``): up to ``FULL_MIP_MAX_EDGES`` edges
   the whole instance (after neighbourhoods around cases still waiting), with exact load bands
   up to ``EXACT_MIP_MAX_EDGES`` edges so the optimum under the budget is proven (above that
   size the LP with the budget rows comes first: its bound holds when the MIP's time limit
   comes before its root); larger instances get MIP neighbourhoods with the budget left for
   them, and a lower bound from the LP with the budget rows (up to ``LP_MAX_EDGES`` edges) or
   the Lagrangian relaxation (which leaves the budget out: weaker, still valid).

Before returning, the vector is checked against every hard rule of the instance and the budget
(a breach raises ``RebalanceError``), and the plan passes the independent verifier.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping

import numpy as np

from assigner.domain.plan import ObjectiveBreakdown, Plan, UnassignedReason
from assigner.domain.problem import Problem
from assigner.engine import Prepared, prepare
from assigner.plan.build import build_plan
from assigner.rebalance.budget import (
    KeepStart,
    MoveBudget,
    budget_issues,
    count_moves,
    current_edges,
    held_by_onto_limits,
    keep_start,
    make_budget,
)
from assigner.rebalance.documents import (
    BudgetReport,
    Objective,
    RebalanceCounts,
    RebalancePlan,
)
from assigner.rebalance.heuristic import fit_onto_limits, frozen_instance, improve_within_budget
from assigner.rebalance.mip import solve_budget_mip
from assigner.rebalance.neighbourhoods import improve_neighbourhoods
from assigner.rebalance.reasons import Loads, explain_moves
from assigner.rebalance.snapshot import fingerprint, planned_state
from assigner.search.cpsat import Progress, ProgressFn, SearchParams
from assigner.search.instance import (
    I32,
    AssignmentInstance,
    ObjectiveParts,
    evaluate,
    feasibility_issues,
    waiting_items,
)
from assigner.search.lagrangian import lagrangian_bound
from assigner.search.solve import (
    SearchOutcome,
    constant_cost,
    relative_gap,
    run_search,
    trivial_bound,
)
from assigner.verify import assert_valid

log = logging.getLogger(__name__)

EXACT_MIP_MAX_EDGES = 3_000
FULL_MIP_MAX_EDGES = 60_000
LP_MAX_EDGES = 150_000
FREE_SEARCH_SHARE = 0.25
HEURISTIC_SHARE = 0.1
FOCUSED_SHARE = 0.3
BOUND_SHARE = 0.15
LAGRANGIAN_ITERATIONS_PER_S = 100
DETERMINISTIC_SAFETY = 10.0

BUDGET_RULE = (
    "total moves <= max_moves; per lawyer, moves away <= max(max_moves_per_lawyer, the moves "
    "the hard rules force away from that lawyer) and moves onto <= max_moves_per_lawyer; a "
    "move is a case with a current lawyer that ends with another lawyer or unassigned; "
    "assigning a backlog case is not a move; a case whose lawyer is still eligible is left "
    "unassigned only where its lawyer is over capacity and no one else can take it"
)


class RebalanceError(RuntimeError):
    """The search produced a vector that breaks a hard rule or the budget (a bug, never an
    answer)."""


def _objective(parts: ObjectiveParts) -> Objective:
    return Objective(
        total_points=parts.total,
        parts=ObjectiveBreakdown(
            edge_points=parts.edge,
            unassigned_points=parts.unassigned,
            utilisation_points=parts.load,
            quota_points=parts.quota,
        ),
    )


def _before_issues(prepared: Prepared, start: KeepStart, current: I32) -> list[str]:
    """The current state's breaches of the hard rules, in words."""
    arrays = prepared.arrays
    issues = []
    n_inel = int(start.ineligible.sum())
    if n_inel:
        issues.append(f"{n_inel} case(s) held by a lawyer who is no longer eligible for them")
    loads = Loads.of(arrays, np.where(start.ineligible, -1, current))
    over = np.flatnonzero(
        (loads.hours > arrays.capacity_hours + 1e-9) | (loads.count > arrays.max_open_cases)
    )
    for li in over:
        issues.append(
            f"lawyer {arrays.lawyer_ids[li]} over capacity: {loads.hours[li]:g} h of "
            f"{arrays.capacity_hours[li]:g} h, {loads.count[li]} of "
            f"{arrays.max_open_cases[li]} open cases"
        )
    n_group = int(start.group_rule.sum())
    if n_group:
        issues.append(f"{n_group} case(s) share a lawyer or firm a group rule forbids")
    return issues


def _waiting(inst: AssignmentInstance, agent_of: I32) -> int:
    return int(waiting_items(inst, agent_of).size)


def _check(prepared: Prepared, budget: MoveBudget, vec: I32) -> None:
    issues = feasibility_issues(prepared.instance, vec) + budget_issues(budget, vec)
    if issues:
        raise RebalanceError(f"rebalance broke a hard rule or the budget: {issues[:5]}")


def _budget_lp_bound(
    inst: AssignmentInstance, budget: MoveBudget, time_limit_s: float, bound: float
) -> float:
    """``bound`` raised to the LP relaxation's value with the budget rows, where it solves in
    ``time_limit_s``."""
    lp = solve_budget_mip(inst, budget, time_limit_s, integer=False)
    return max(bound, lp.bound) if math.isfinite(lp.bound) else bound


def _name_the_budget(plan: Plan, prepared: Prepared, budget: MoveBudget, best: I32) -> None:
    """Cases the plan says were not placed in time, which the per-lawyer move budget keeps
    out (``held_by_onto_limits``), are said to be kept out by it."""
    ids = prepared.arrays.case_ids
    held = {ids[int(i)] for i in held_by_onto_limits(prepared.instance, budget, best)}
    for entry in plan.unassigned:
        if entry.case_id in held and entry.reason is UnassignedReason.NOT_PLACED_IN_TIME:
            entry.reason = UnassignedReason.MOVE_BUDGET


def rebalance(
    problem: Problem,
    max_moves: int,
    max_moves_per_lawyer: int | None = None,
    params: SearchParams | None = None,
    progress: ProgressFn | None = None,
    versions: Mapping[str, int] | None = None,
) -> RebalancePlan:
    """A verified plan of at most ``max_moves`` moves (see ``assigner.rebalance.budget`` for
    how moves are counted, per lawyer too) from the state in ``problem``.

    ``versions`` (case id -> record version, from a database) go into the planned state, so
    that applying refuses when a case record changed.  Raises ``InputError`` on bad input,
    ``BudgetTooSmall`` when the hard rules force more moves than ``max_moves``,
    ``RebalanceInfeasible`` when pinned or started cases alone break a rule.

    ``params.time_limit_s`` bounds the whole call up to the plan documents: eligibility,
    scoring and every search phase; building, verifying and explaining the plan come on top (a
    few seconds at county-L).  With ``params.deterministic`` the backlog search runs on the
    engine's work limits; the budget phases still stop on wall-clock limits (the exact MIP of
    small instances finishes before them, so small results repeat).
    """
    params = params or SearchParams()
    t0 = time.monotonic()
    safety = DETERMINISTIC_SAFETY if params.deterministic else 1.0
    deadline = t0 + safety * params.time_limit_s
    phases: list[dict[str, float | int | str]] = []

    def note(phase: str, objective: int, bound: float) -> None:
        elapsed = time.monotonic() - t0
        phases.append(
            {"phase": phase, "objective": objective, "bound": bound, "wall_time_s": elapsed}
        )
        log.info("%s: objective %d, bound %.0f, %.1f s", phase, objective, bound, elapsed)
        if progress is not None:
            progress(Progress(objective, bound, elapsed, phase, constant))

    prepared = prepare(problem)
    inst = prepared.instance
    constant = constant_cost(inst)
    current = prepared.arrays.current_lawyer.astype(np.int32)
    start = keep_start(inst, current)
    budget = make_budget(start, current, inst.n_agents, max_moves, max_moves_per_lawyer)
    before_vec = np.where(current_edges(inst, current) >= 0, current, -1).astype(np.int32)
    before_parts = evaluate(inst, before_vec)
    before_ok = not start.ineligible.any() and not feasibility_issues(inst, before_vec)
    bound = trivial_bound(inst)
    note("current state", before_parts.total, bound)

    # Shares of the time left after preparing (eligibility, scoring, the instance).
    span = max(0.5, deadline - time.monotonic())

    def share_deadline(share: float) -> float:
        return time.monotonic() + share * span

    # 1. Free: the engine's search with every kept case fixed (no budget beyond forced moves).
    frozen = frozen_instance(inst, start)
    free_params = dataclasses.replace(params, time_limit_s=max(0.5, FREE_SEARCH_SHARE * span))
    free = run_search(frozen, free_params)
    best = fit_onto_limits(inst, free.agent_of_item, budget)
    note(f"backlog search ({free.method})", evaluate(inst, best).total, bound)

    # 2. Paid: budget-aware placement, ejection chains and single moves.
    best, stats = improve_within_budget(inst, best, budget, share_deadline(HEURISTIC_SHARE))
    _check(prepared, budget, best)
    best_parts = evaluate(inst, best)
    method = f"backlog search ({free.method})+budget heuristic"
    proven = False
    note(
        f"budget heuristic ({stats.free_moves} backlog moves, {stats.placed} placed, "
        f"{stats.chains} chains, {stats.paid_shifts} single moves)",
        best_parts.total,
        bound,
    )

    # 3. MIP with the budget rows: the whole instance, or neighbourhoods of a large one.
    if inst.n_edges <= FULL_MIP_MAX_EDGES:
        if _waiting(inst, best) and time.monotonic() < deadline - 0.5:
            # Cases left out cost far more than anything else; neighbourhoods around them
            # usually find the room before the whole MIP does.
            best, steps = improve_neighbourhoods(
                inst,
                best,
                budget,
                share_deadline(FOCUSED_SHARE),
                seed=params.seed,
                only_waiting=True,
            )
            best_parts = evaluate(inst, best)
            if steps:
                method = f"{method}+focused budget lns ({steps} steps)"
            note("focused budget lns", best_parts.total, bound)
        exact = inst.n_edges <= EXACT_MIP_MAX_EDGES
        if not exact:
            # The MIP's time limit may come before its root: the LP's bound holds regardless.
            bound = _budget_lp_bound(inst, budget, max(0.2, BOUND_SHARE * span), bound)
            note("budget lp bound", best_parts.total, bound)
        remaining = max(0.2, deadline - time.monotonic())
        mip = solve_budget_mip(
            inst, budget, remaining, start=best, seed=params.seed, exact_bands=exact
        )
        if mip.agent_of_item is not None:
            _check(prepared, budget, mip.agent_of_item)
            parts = evaluate(inst, mip.agent_of_item)
            if parts.total <= best_parts.total:
                best, best_parts = mip.agent_of_item, parts
                method = "budget mip" if exact else f"{method}+budget mip"
        if math.isfinite(mip.bound):
            bound = max(bound, mip.bound)
        proven = mip.proven_optimal and best_parts.total <= bound
        # Without exact bands the MIP's "optimal" is its own model's, not the plan's.
        model = "budget mip" if exact else "budget mip, priced bands"
        note(f"{model}: {mip.status.lower()}", best_parts.total, bound)
    else:
        bound_time = max(0.2, BOUND_SHARE * span)
        if inst.n_edges <= LP_MAX_EDGES:
            bound = _budget_lp_bound(inst, budget, bound_time, bound)
            note("budget lp bound", best_parts.total, bound)
        else:
            lag = lagrangian_bound(
                inst,
                float(best_parts.total),
                time_limit_s=bound_time,
                max_iterations=LAGRANGIAN_ITERATIONS_PER_S * max(1, int(params.time_limit_s)),
            )
            bound = max(bound, lag.bound)
            note("lagrangian bound (without the budget)", best_parts.total, bound)
        if time.monotonic() < deadline - 0.5:
            best, steps = improve_neighbourhoods(inst, best, budget, deadline, seed=params.seed)
            best_parts = evaluate(inst, best)
            if steps:
                method = f"{method}+budget lns ({steps} steps)"
            note("budget lns", best_parts.total, bound)
        proven = best_parts.total <= bound

    _check(prepared, budget, best)
    bound = min(bound, float(best_parts.total))
    wall = time.monotonic() - t0
    outcome = SearchOutcome(
        agent_of_item=best,
        parts=best_parts,
        bound=bound,
        proven_optimal=proven,
        method=method,
        wall_time_s=wall,
        phases=phases,
        constant_cost=constant,
    )
    plan = build_plan(prepared.arrays, prepared.candidates, prepared.costs, inst, outcome, params)
    _name_the_budget(plan, prepared, budget, best)
    plan.verification = assert_valid(problem, plan)
    moves, new = explain_moves(prepared, start, current, best)
    used = count_moves(current, best, inst.n_agents)
    has_current = current >= 0
    backlog = ~has_current
    state = planned_state(problem, versions)
    fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    return RebalancePlan(
        problem_name=problem.name,
        policy_version=problem.policy.version,
        fingerprint=fingerprint(state),
        state=state,
        budget=BudgetReport(
            max_moves=max_moves,
            max_moves_per_lawyer=max_moves_per_lawyer,
            moves_used=used.total,
            moves_required=start.required_total,
            required_away_by_lawyer={
                prepared.arrays.lawyer_ids[li]: int(start.required_away[li])
                for li in np.flatnonzero(start.required_away)
            },
            max_away_from_one_lawyer=int(used.away.max()) if used.away.size else 0,
            max_onto_one_lawyer=int(used.onto.max()) if used.onto.size else 0,
            rule=BUDGET_RULE,
        ),
        counts=RebalanceCounts(
            cases=inst.n_items,
            currently_assigned=int(has_current.sum()),
            backlog=int(backlog.sum()),
            kept=int(np.sum(has_current & (best == current))),
            moved=used.total,
            moved_to_another_lawyer=int(np.sum(has_current & (best != current) & (best >= 0))),
            moved_to_unassigned=int(np.sum(has_current & (best < 0))),
            backlog_assigned=int(np.sum(backlog & (best >= 0))),
            backlog_unassigned=int(np.sum(backlog & (best < 0))),
            pinned_or_started_kept=int(np.sum(fixed >= 0)),
        ),
        moves=moves,
        new_assignments=new,
        before=_objective(before_parts),
        before_feasible=before_ok,
        before_issues=_before_issues(prepared, start, current),
        after=_objective(best_parts),
        bound_points=bound,
        gap=relative_gap(best_parts.total, bound, constant),
        method=method,
        wall_time_s=round(time.monotonic() - t0, 3),
        plan=plan,
    )
