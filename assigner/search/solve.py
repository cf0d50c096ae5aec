"""Search orchestration: construction, bound and improvement under one time budget.

Any-time: the best feasible assignment found so far is kept from the first (greedy) step on,
and every result carries its proven lower bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from assigner.search.cpsat import Progress, ProgressFn, SearchParams, solve_cpsat
from assigner.search.greedy import greedy
from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    I32,
    ObjectiveParts,
    evaluate,
    feasibility_issues,
)


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


def run_search(
    inst: AssignmentInstance, params: SearchParams, progress: ProgressFn | None = None
) -> SearchOutcome:
    start = time.monotonic()
    phases: list[dict[str, float | int | str]] = []

    def note(phase: str, objective: int, bound: float) -> None:
        elapsed = time.monotonic() - start
        phases.append(
            {"phase": phase, "objective": objective, "bound": bound, "wall_time_s": elapsed}
        )
        if progress is not None:
            progress(Progress(objective, bound, elapsed, phase))

    best = greedy(inst)
    issues = feasibility_issues(inst, best)
    if issues and not all("must be assigned" in s for s in issues):
        raise AssertionError(f"greedy construction broke a hard rule: {issues[:3]}")
    best_parts = evaluate(inst, best) if not issues else None
    bound = trivial_bound(inst)
    if best_parts is not None:
        note("greedy", best_parts.total, bound)
    method = "greedy"
    proven = False

    remaining = params.time_limit_s - (time.monotonic() - start)
    if remaining > 0.05 and inst.n_edges > 0:
        sub = SearchParams(
            time_limit_s=remaining,
            workers=params.workers,
            seed=params.seed,
            deterministic=params.deterministic,
            log=params.log,
        )

        def relay(p: Progress) -> None:
            if progress is not None:
                progress(Progress(p.objective, p.bound, time.monotonic() - start, p.phase))

        result = solve_cpsat(inst, sub, hint=best, progress=relay)
        if result.agent_of_item is not None:
            parts = evaluate(inst, result.agent_of_item)
            if best_parts is None or parts.total <= best_parts.total:
                best, best_parts, method = result.agent_of_item, parts, "cp-sat"
            bound = max(bound, result.bound)
            proven = result.status == "OPTIMAL" and best_parts.total <= result.bound + 1e-9
        elif result.status == "INFEASIBLE":
            bound = float("inf")
        note(f"cp-sat {result.status.lower()}", best_parts.total if best_parts else -1, bound)

    if best_parts is None:
        raise InfeasibleInstance("no feasible assignment found (an item that must be assigned "
                                 "has no room)")
    return SearchOutcome(
        agent_of_item=best,
        parts=best_parts,
        bound=min(bound, float(best_parts.total)),
        proven_optimal=proven,
        method=method,
        wall_time_s=time.monotonic() - start,
        phases=phases,
    )


class InfeasibleInstance(RuntimeError):
    """No assignment meets the hard rules (only possible when items must be assigned)."""
