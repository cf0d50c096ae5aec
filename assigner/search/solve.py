"""Search orchestration: construction, bound and improvement under one time budget.

Any-time: the best feasible assignment found so far is kept from the first (greedy) step on,
and every result carries its proven lower bound.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from assigner.search.cpsat import Progress, ProgressFn, SearchParams, solve_cpsat
from assigner.search.greedy import greedy
from assigner.search.instance import (
    I32,
    MUST_ASSIGN,
    AssignmentInstance,
    ObjectiveParts,
    evaluate,
    feasibility_issues,
    with_edges,
)
from assigner.search.lagrangian import lagrangian_bound
from assigner.search.lns import improve
from assigner.search.local_search import descend, repair_unassigned
from assigner.search.lp_bound import solve_lp, solve_mip


@dataclass
class SearchOutcome:
    agent_of_item: I32
    parts: ObjectiveParts
    bound: float
    proven_optimal: bool
    method: str
    wall_time_s: float
    phases: list[dict[str, float | int | str]] = field(default_factory=list)

    @property
    def objective(self) -> int:
        return self.parts.total

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float, bound: float) -> float:
    if not np.isfinite(bound):
        return float("inf")
    return max(0.0, (objective - bound) / max(1.0, abs(objective)))


def trivial_bound(inst: AssignmentInstance) -> float:
    """Each item at its cheapest option, ignoring capacities and groups: a valid lower bound."""
    total = 0
    for i in range(inst.n_items):
        sl = inst.edges_of(i)
        pen = int(inst.unassigned_penalty[i])
        best = int(inst.edge_cost[sl].min()) if sl.stop > sl.start else None
        if pen == MUST_ASSIGN:
            if best is None:
                return float("inf")
            total += best
        else:
            total += pen if best is None else min(best, pen)
    return float(total)


EXACT_MIP_MAX_EDGES = 3_000
DETERMINISTIC_SAFETY = 10.0
FULL_MIP_MAX_EDGES = 150_000
LP_MAX_EDGES = 150_000
DESCENT_SHARE_OF_BUDGET = 0.3
LAGRANGIAN_SHARE_OF_BUDGET = 0.2
LAGRANGIAN_ITERATIONS_PER_S = 100
FOCUSED_SHARE_OF_REMAINING = 0.4
DESCENT_GRACE_S = 0.5
LNS_ITEMS = 60
LNS_STEP_S = 1.0
LNS_SUB_SOLVER = "highs"
RESTRICTED_EDGES_PER_ITEM = 3
LP_SHARE_OF_BUDGET = 0.35


@dataclass(frozen=True)
class Budget:
    """Wall-clock deadlines, or, in deterministic mode, work limits that do not depend on the
    machine: descent to convergence, fixed iteration, node and step counts, with wall-clock
    limits kept only as a safety stop at ``DETERMINISTIC_SAFETY`` times the budget."""

    start: float
    time_limit_s: float
    deterministic: bool

    @property
    def deadline(self) -> float:
        if self.deterministic:
            return self.start + DETERMINISTIC_SAFETY * self.time_limit_s
        return self.start + self.time_limit_s

    def share_deadline(self, share: float) -> float:
        if self.deterministic:
            return float("inf")
        return self.start + share * self.time_limit_s

    def seconds(self, share: float) -> float:
        """A phase's time limit: its share of the budget (a safety limit when deterministic)."""
        factor = DETERMINISTIC_SAFETY if self.deterministic else 1.0
        return max(0.2, factor * share * self.time_limit_s)

    def remaining(self) -> float:
        if self.deterministic:
            return self.time_limit_s
        return self.start + self.time_limit_s - time.monotonic()


def run_search(
    inst: AssignmentInstance, params: SearchParams, progress: ProgressFn | None = None
) -> SearchOutcome:
    """Bound, construction and improvement under one time budget.

    Bound: the LP relaxation (HiGHS) up to ``LP_MAX_EDGES`` edges, else Lagrangian relaxation.
    Construction: greedy, then (large instances) a second greedy on Lagrangian reduced costs,
    each followed by shift descent; an LP-restricted CP-SAT start when greedy cannot place every
    must-assign item.  Improvement: exact MIP (small), MIP with relaxed load bands (medium), or
    large-neighbourhood search with MIP subproblems (large).
    """
    start = time.monotonic()
    budget = Budget(start, params.time_limit_s, params.deterministic)
    deadline = budget.deadline
    phases: list[dict[str, float | int | str]] = []

    def note(phase: str, objective: int, bound: float) -> None:
        elapsed = time.monotonic() - start
        phases.append(
            {"phase": phase, "objective": objective, "bound": bound, "wall_time_s": elapsed}
        )
        if progress is not None:
            progress(Progress(objective, bound, elapsed, phase))

    bound = trivial_bound(inst)
    lp_x: np.ndarray | None = None
    if inst.n_edges <= LP_MAX_EDGES:
        lp = solve_lp(inst, time_limit_s=budget.seconds(LP_SHARE_OF_BUDGET))
        if np.isfinite(lp.bound) or lp.bound == float("inf"):
            bound = max(bound, lp.bound)
            lp_x = lp.x

    best = greedy(inst)
    issues = feasibility_issues(inst, best)
    if issues and lp_x is not None and deadline - time.monotonic() > 0.5:
        best, issues = _lp_restricted_start(inst, lp_x, params, deadline, best, issues)
    if issues and not all("must be assigned" in s for s in issues):
        raise AssertionError(f"construction broke a hard rule: {issues[:3]}")
    best_parts = evaluate(inst, best) if not issues else None
    method = "greedy"
    descent_deadline = budget.share_deadline(DESCENT_SHARE_OF_BUDGET)
    if best_parts is not None:
        note("greedy", best_parts.total, bound)
        best, moves = descend(inst, best, descent_deadline)
        best, placed = repair_unassigned(inst, best, descent_deadline)
        if moves or placed:
            best_parts = evaluate(inst, best)
            method = "greedy+descent"
            note("descent", best_parts.total, bound)

    if inst.n_edges > LP_MAX_EDGES and best_parts is not None:
        lag = lagrangian_bound(
            inst,
            float(best_parts.total),
            time_limit_s=budget.seconds(LAGRANGIAN_SHARE_OF_BUDGET),
            max_iterations=LAGRANGIAN_ITERATIONS_PER_S * max(1, int(params.time_limit_s)),
        )
        bound = max(bound, lag.bound)
        note("lagrangian bound", best_parts.total, bound)
        guided = _reduced_cost_greedy(inst, lag.reduced_cost)
        guided, _ = descend(inst, guided, budget.share_deadline(DESCENT_SHARE_OF_BUDGET + 0.1))
        guided_parts = evaluate(inst, guided)
        if guided_parts.total < best_parts.total:
            best, best_parts, method = guided, guided_parts, "lagrangian greedy+descent"
            note("reduced-cost greedy", best_parts.total, bound)
    proven = best_parts is not None and best_parts.total <= bound

    remaining = budget.remaining()
    if not proven and remaining > 0.05 and inst.n_edges > 0:
        if params.deterministic and inst.n_edges <= FULL_MIP_MAX_EDGES:
            # HiGHS has no deterministic work limit; CP-SAT's deterministic time is one.
            result = solve_cpsat(inst, params, hint=best)
            if result.agent_of_item is not None:
                parts = evaluate(inst, result.agent_of_item)
                if best_parts is None or parts.total <= best_parts.total:
                    best, best_parts, method = result.agent_of_item, parts, f"{method}+cp-sat"
                bound = max(bound, result.bound)
            note(f"cp-sat {result.status.lower()}", best_parts.total if best_parts else -1, bound)
        elif inst.n_edges <= FULL_MIP_MAX_EDGES:
            waiting = int(np.sum((best < 0) & (np.diff(inst.item_offsets) > 0)))
            if waiting and best_parts is not None:
                # Items left out cost far more than anything else; focused subproblems around
                # them usually find the room before the whole MIP does.
                best, _total, _steps = improve(
                    inst,
                    best,
                    params,
                    time.monotonic() + remaining * FOCUSED_SHARE_OF_REMAINING,
                    lp_x,
                    sub_solver="highs",
                    neighbourhood_items=LNS_ITEMS,
                    step_time_s=LNS_STEP_S / 2,
                    max_steps=4 * waiting,
                )
                best_parts = evaluate(inst, best)
                note("focused lns", best_parts.total, bound)
                remaining = budget.remaining()
            exact = inst.n_edges <= EXACT_MIP_MAX_EDGES
            mip = solve_mip(inst, remaining, start=best, seed=params.seed, exact_bands=exact)
            if mip.agent_of_item is not None:
                vec, _ = descend(inst, mip.agent_of_item, deadline + DESCENT_GRACE_S)
                parts = evaluate(inst, vec)
                if best_parts is None or parts.total <= best_parts.total:
                    best, best_parts = vec, parts
                    method = "mip" if exact else f"{method}+mip"
            elif mip.status == "Infeasible":
                bound = float("inf")
            if exact or mip.agent_of_item is not None:
                bound = max(bound, mip.bound)
            note(f"mip {mip.status.lower()}", best_parts.total if best_parts else -1, bound)
        elif best_parts is not None:

            def improved(_vec: I32, obj: int) -> None:
                note("lns", obj, bound)

            best, _total, steps = improve(
                inst,
                best,
                params,
                deadline,
                lp_x,
                improved,
                neighbourhood_items=LNS_ITEMS,
                step_time_s=LNS_STEP_S,
                sub_solver="cpsat" if params.deterministic else LNS_SUB_SOLVER,
                max_steps=(
                    max(1, int(params.time_limit_s / LNS_STEP_S)) if params.deterministic else None
                ),
            )
            best_parts = evaluate(inst, best)
            method = f"{method}+lns ({steps} steps)"
        proven = best_parts is not None and best_parts.total <= bound + 1e-9

    if best_parts is None:
        raise InfeasibleInstance(
            "no feasible assignment found (an item that must be assigned has no room)"
        )
    return SearchOutcome(
        agent_of_item=best,
        parts=best_parts,
        bound=min(bound, float(best_parts.total)),
        proven_optimal=proven,
        method=method,
        wall_time_s=time.monotonic() - start,
        phases=phases,
    )


def _reduced_cost_greedy(inst: AssignmentInstance, reduced_cost: np.ndarray) -> I32:
    """Greedy on Lagrangian reduced costs: load bands and quotas are already priced into them,
    so they are left out of the greedy's own marginal costs."""
    rc = np.where(np.isfinite(reduced_cost), reduced_cost, np.iinfo(np.int64).max // 4)
    priced = dataclasses.replace(
        inst, edge_cost=np.rint(rc).astype(np.int64), bands=[], quota_short=None
    )
    return greedy(priced)


def _lp_restricted_start(
    inst: AssignmentInstance,
    lp_x: np.ndarray,
    params: SearchParams,
    deadline: float,
    best: I32,
    issues: list[str],
) -> tuple[I32, list[str]]:
    """When greedy cannot place every must-assign item: CP-SAT on the LP's support plus each
    item's lightest and cheapest few edges, hinted with the LP rounded to each item's largest
    value: a much smaller model that finds a feasible start quickly on tight instances."""
    keep = lp_x > 1e-6
    hint = np.full(inst.n_items, -1, dtype=np.int32)
    for i in range(inst.n_items):
        sl = inst.edges_of(i)
        if sl.stop == sl.start:
            continue
        k = RESTRICTED_EDGES_PER_ITEM
        keep[sl.start + np.argsort(inst.edge_weight[sl], kind="stable")[:k]] = True
        keep[sl.start + np.argsort(inst.edge_cost[sl], kind="stable")[:k]] = True
        hint[i] = inst.edge_agent[sl][int(np.argmax(lp_x[sl]))]
    small = with_edges(inst, keep)
    budget = max(0.1, (deadline - time.monotonic()) * 0.3)
    res = solve_cpsat(
        small, SearchParams(budget, params.workers, params.seed, params.deterministic), hint=hint
    )
    if res.agent_of_item is None:
        return best, issues
    return res.agent_of_item, feasibility_issues(inst, res.agent_of_item)


class InfeasibleInstance(RuntimeError):
    """No assignment meets the hard rules (only possible when items must be assigned)."""
