"""Search orchestration: construction, bound and improvement under one time budget.

Any-time: the best feasible assignment found so far is kept from the first (greedy) step on,
and every result carries its proven lower bound.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from assigner.search.background_bound import BackgroundCountBound
from assigner.search.compiled_moves import CompiledMoves
from assigner.search.core import core_edges, cost_rank
from assigner.search.cpsat import CpSatResult, Progress, ProgressFn, SearchParams, solve_cpsat
from assigner.search.flow_relaxation import estimated_seconds, flow_relaxation, item_weights
from assigner.search.greedy import greedy
from assigner.search.instance import (
    I32,
    MUST_ASSIGN,
    AssignmentInstance,
    ObjectiveParts,
    chosen_edges,
    evaluate,
    feasibility_issues,
    kept_edges,
    with_edges,
)
from assigner.search.knapsack_bound import KnapsackBoundResult, Prices, knapsack_bound
from assigner.search.lagrangian import lagrangian_bound
from assigner.search.lns import DESCENT_AFTER_STEP_MAX_EDGES, improve
from assigner.search.load_bands import priced_bands
from assigner.search.local_search import descend, repair_unassigned
from assigner.search.lp_bound import MipResult, solve_lp, solve_mip
from assigner.search.pricing import solve_lp_by_pricing

T = TypeVar("T")


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

    constant_cost: int = 0  # the part of every plan's objective no plan can change

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.bound, self.constant_cost)


def relative_gap(objective: float, bound: float, constant: float = 0.0) -> float:
    """(objective - bound) / |objective - constant|, where ``constant`` is the cost every plan
    pays alike (``constant_cost``): it is in both objective and bound, so it cancels in the
    numerator, and left in the denominator it would make the gap look smaller than it is."""
    if not np.isfinite(bound):
        return float("inf")
    return max(0.0, (objective - bound) / max(1.0, abs(objective - constant)))


def constant_cost(inst: AssignmentInstance) -> int:
    """Unassigned penalties of the items with no edge (no lawyer can take them): every plan
    pays them, and every bound counts them."""
    none = np.diff(inst.item_offsets) == 0
    return int(np.clip(inst.unassigned_penalty[none], 0, None).sum())


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


# Up to this size the MIP over all edges (with CP-SAT on the second core) gets the whole budget
# after the LP and greedy.  GAP at 5 s: e20200 (4,000 edges) 22,434 this way against 22,466
# through the core MIP and LNS, c10400 5,597 against 5,601; the same plans at 20 s.
EXACT_MIP_MAX_EDGES = 5_000
DETERMINISTIC_SAFETY = 10.0
FULL_MIP_MAX_EDGES = 150_000
LP_MAX_EDGES = 150_000
DESCENT_SHARE_OF_BUDGET = 0.3
LAGRANGIAN_SHARE_OF_BUDGET = 0.15
LAGRANGIAN_ONLY_SHARE_OF_BUDGET = 0.35
LAGRANGIAN_ITERATIONS_PER_S = 100
FOCUSED_SHARE_OF_REMAINING = 0.4
DESCENT_GRACE_S = 0.5
LNS_ITEMS = 60
LNS_STEP_S = 1.0
LNS_SUB_SOLVER = "highs"
RESTRICTED_EDGES_PER_ITEM = 3
LP_SHARE_OF_BUDGET = 0.35
PRICING_SHARE_OF_BUDGET = 0.25
PRICING_CORE_PER_ITEM = 3
# The first pricing LP of county-L (20,000 items) alone takes about 25 s on 2 cores.
PRICING_MAX_EDGES = 2_000_000
LAGRANGIAN_CORE_PER_ITEM = 10
GUIDED_DESCENT_SHARE = 0.6
EARLY_DESCENT_SHARE = 0.08
# Far above any edge cost plus load-band change, far below the int64 range.
LP_ROUNDING_BONUS = 10**9
PRICING_ROUNDS = 10
CORE_MIP_MAX_EDGES = 60_000
CORE_MIP_MAX_ITEMS = 2_000
CORE_LNS_ITEMS = 200
FINISH_MARGIN_S = 0.2
# Large instances: the flow relaxation (``flow_relaxation.py``) may take up to this share of the
# budget (by its estimate: it cannot be interrupted), and the descent from its rounding runs up
# to ROUNDING_DESCENT_SHARE of the budget before LNS on the core takes over.
FLOW_SHARE_OF_BUDGET = 0.4
# The count-priced flow bound steps towards the plain flow's bound raised by this share (its
# Polyak target): an estimate of where the LP lies.  County-L at 60 s (bound reached): 1%
# 5,779,510, 1.5% 5,781,967, 2.5% 5,776,073, 4% 5,754,331; the greedy's value (12% above)
# makes the steps too long to gain anything in the time there is.
COUNT_BOUND_TARGET_GAP = 0.015
ROUNDING_DESCENT_SHARE = 0.95
# Medium instances (the LP by pricing): the LP is degenerate, and which of its optimal solutions
# the rounding starts from decides the local optimum descent reaches (county-M, 20 s runs:
# 1,510,444 to 1,512,354).  Roundings of the LP solution with noise on its support (normal,
# this standard deviation, per unit of x) and descent from each, up to this share of the budget
# (a fixed count when deterministic), keep the best.  County-M, one LP solution, six roundings:
# sd 0.1 1,510,321-1,512,863; 0.2 1,509,935-1,512,608 (the plain rounding's 1,512,608); 0.5
# 1,511,534-1,514,739.
ROUNDING_NOISE_SD = 0.2
NOISY_ROUNDINGS_SHARE = 0.85
NOISY_ROUNDINGS_DETERMINISTIC = 3
WIDER_CORE_PER_ITEM = 6
# The knapsack bound (``knapsack_bound.py``) from the LP's or the pricing LP's duals, beside the
# rounding and improvement: county-S at 1 s 309,075 (LP 307,957), at 4 s 309,354; a step
# takes 40 ms there, 0.2-0.7 s on county-M.  Where the MIP over all edges does not run it goes
# on to the end of the budget (in deterministic mode, for this share of it).
KNAPSACK_SHARE_OF_BUDGET = 0.3
# Where the MIP over all edges takes the second core (``_mip_over_all_edges``) the knapsack
# bound gets less (measured on county-S when it still ran that MIP, 5 s: with 0.3 the MIP,
# which overruns its limit when it shares the cores, ended at 5.38 s against 4.91 s without;
# with 0.2 at 4.9-5.0 s, bound 309,067).
KNAPSACK_SHARE_BESIDE_MIP = 0.2
# A work limit for deterministic mode; with a wall-clock budget the time limit ends the steps
# (county-S: 40-55 ms a step, about 110 steps in the 5 s budget).
KNAPSACK_ITERATIONS_PER_S = 5
KNAPSACK_MAX_ITERATIONS = 1_000_000
WIDER_CORE_MIN_S = 5.0
BACKGROUND_MIP_SHARE = 0.7
# HiGHS can run past its time limit by about 1.4 s (phases it does not interrupt): with long
# budgets the background MIP gets all the time left but this, not only a share of it.
BACKGROUND_MIP_OVERRUN_S = 2.0
# Medium instances: share of the time left after the core MIP for LNS on the core; the MIP over
# all edges gets the rest (its dual bound can raise the LP bound).
CORE_LNS_SHARE_BEFORE_MIP = 0.5
CORE_MIP_SHARE_OF_REMAINING = 0.5


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
    """Bound, construction and improvement under one time budget (``_run_search``); a
    background process it started is stopped however the search ends."""
    with contextlib.ExitStack() as cleanup:
        return _run_search(inst, params, progress, cleanup)


def _run_search(
    inst: AssignmentInstance,
    params: SearchParams,
    progress: ProgressFn | None,
    cleanup: contextlib.ExitStack,
) -> SearchOutcome:
    """Bound, construction and improvement under one time budget.

    Bound: the LP relaxation (HiGHS) up to ``LP_MAX_EDGES`` edges.  Above, where items weigh
    the same on every edge and it fits the budget, the flow relaxation (``flow_relaxation.py``):
    up to ``PRICING_MAX_EDGES`` its support seeds the LP by pricing, above it is the bound and
    its rounding the start.  Otherwise a Lagrangian relaxation stepped on a core of edges, then
    (up to ``PRICING_MAX_EDGES``) the LP by pricing.  Above ``EXACT_MIP_MAX_EDGES``, from the
    LP's duals, the knapsack bound on a thread of its own; above ``PRICING_MAX_EDGES``, from
    the count-priced flow's prices in the forked process that computes that bound.
    Construction: greedy and shift descent, LP (or flow) rounding and descent (a far better
    start wherever there is one), a second greedy on Lagrangian reduced costs when there is
    neither; LP rounding, then an LP-restricted CP-SAT start when greedy cannot place every
    must-assign item.  Improvement: exact MIP (small), else
    a MIP and LNS on the core problem (``core.py``) with, on medium instances, the MIP over all
    edges on the second core.
    """
    start = time.monotonic()
    budget = Budget(start, params.time_limit_s, params.deterministic)
    deadline = budget.deadline
    phases: list[dict[str, float | int | str]] = []

    def note(phase: str, objective: int, bound: float) -> None:
        """Record a phase (``objective`` -1: no plan yet) and report it to ``progress`` once
        there is a plan (progress reports an improving solution)."""
        elapsed = time.monotonic() - start
        phases.append(
            {"phase": phase, "objective": objective, "bound": bound, "wall_time_s": elapsed}
        )
        if progress is not None and objective >= 0:
            progress(Progress(objective, bound, elapsed, phase))

    bound = trivial_bound(inst)
    lp_x: np.ndarray | None = None
    guide: np.ndarray | None = None
    prices: Prices | None = None  # LP duals: the knapsack bound starts from them
    if inst.n_edges <= LP_MAX_EDGES:
        lp = solve_lp(inst, time_limit_s=budget.seconds(LP_SHARE_OF_BUDGET))
        if np.isfinite(lp.bound) or lp.bound == float("inf"):
            bound = max(bound, lp.bound)
            lp_x = lp.x
            # The LP's reduced costs choose the core's edges (``core_edges``).
            guide = lp.reduced_cost
            prices = lp.prices

    # Above the LP's size the flow relaxation runs when the items weigh the same on every edge
    # and it fits the budget by its estimate: above the pricing LP's size it gives the bound and
    # the start; below, its support seeds the pricing LP (which then converges in a few rounds).
    weights = (
        item_weights(inst)
        if inst.n_edges > LP_MAX_EDGES
        and (
            params.deterministic
            or estimated_seconds(inst) <= FLOW_SHARE_OF_BUDGET * params.time_limit_s
        )
        else None
    )
    # Above the pricing LP's size the flow's rounding is a far better start than anything
    # descent from greedy reaches: greedy (3.8 s on county-L) is then built only if that
    # rounding breaks a rule.
    flow_first = weights is not None and inst.n_edges > PRICING_MAX_EDGES
    best = np.full(inst.n_items, -1, dtype=np.int32)
    best_parts: ObjectiveParts | None = None
    method = "none"
    if not flow_first:
        best, best_parts, method = _first_plan(inst, params, deadline, lp_x)
    # Above the LP's size the LP rounding below gives a far better start: a short descent here
    # only improves the edges that seed the pricing LP.
    descent_deadline = budget.share_deadline(
        DESCENT_SHARE_OF_BUDGET if inst.n_edges <= LP_MAX_EDGES else EARLY_DESCENT_SHARE
    )
    if best_parts is not None:
        note(method, best_parts.total, bound)
        best, moves = descend(inst, best, descent_deadline)
        best, placed = repair_unassigned(inst, best, descent_deadline)
        if moves or placed:
            best_parts = evaluate(inst, best)
            method = f"{method}+descent"
            note("descent", best_parts.total, bound)

    flow = flow_relaxation(inst, weights) if weights is not None else None
    flow_start = flow is not None and inst.n_edges > PRICING_MAX_EDGES
    if flow is not None:
        bound = max(bound, flow.bound)
        if flow_start:
            lp_x = flow.x
        note("flow relaxation bound", best_parts.total if best_parts else -1, bound)
    elif weights is not None:
        note("flow relaxation has no solution", best_parts.total if best_parts else -1, bound)
    if flow_first and flow is None:
        best, best_parts, method = _first_plan(inst, params, deadline, None)
        note(method, best_parts.total if best_parts else -1, bound)
    counting: BackgroundCountBound | None = None
    if (
        flow_start
        and flow is not None
        and weights is not None
        and params.workers >= 2
        and not params.deterministic
    ):
        # The count limits priced into the flow, on the second core while this one improves
        # the plan; it stops on its own before the budget ends (it is collected below).
        counting = cleanup.enter_context(
            BackgroundCountBound(
                inst,
                weights,
                flow,
                target=flow.bound * (1 + COUNT_BOUND_TARGET_GAP),
                time_limit_s=budget.remaining() - FINISH_MARGIN_S,
            )
        )
    if inst.n_edges > LP_MAX_EDGES and best_parts is not None and not flow_start:
        seed_edges = np.zeros(inst.n_edges, dtype=np.bool_)
        rows = chosen_edges(inst, best)
        seed_edges[rows[rows >= 0]] = True
        if flow is not None:
            # The flow's support is nearly the LP's: seeded with it the pricing LP needs no
            # Lagrangian steps to find its first core.
            seed_edges |= flow.x > 0
        else:
            lag = lagrangian_bound(
                inst,
                float(best_parts.total),
                # Without the pricing LP the Lagrangian is the only bound: it gets more time.
                time_limit_s=budget.seconds(
                    LAGRANGIAN_SHARE_OF_BUDGET
                    if inst.n_edges <= PRICING_MAX_EDGES
                    else LAGRANGIAN_ONLY_SHARE_OF_BUDGET
                ),
                max_iterations=LAGRANGIAN_ITERATIONS_PER_S * max(1, int(params.time_limit_s)),
                core=seed_edges | (cost_rank(inst) < LAGRANGIAN_CORE_PER_ITEM),
            )
            bound = max(bound, lag.bound)
            guide = lag.reduced_cost
            note("lagrangian bound", best_parts.total, bound)
        if inst.n_edges > PRICING_MAX_EDGES and guide is not None:
            guided = _reduced_cost_greedy(inst, guide)
            guided, _ = descend(inst, guided, budget.share_deadline(GUIDED_DESCENT_SHARE))
            guided_parts = evaluate(inst, guided)
            if guided_parts.total < best_parts.total:
                best, best_parts, method = guided, guided_parts, "lagrangian greedy+descent"
                note("reduced-cost greedy", best_parts.total, bound)
        else:
            priced = solve_lp_by_pricing(
                inst,
                budget.seconds(PRICING_SHARE_OF_BUDGET),
                seed_edges,
                guide_cost=guide,
                core_per_item=PRICING_CORE_PER_ITEM,
                max_rounds=PRICING_ROUNDS if params.deterministic else None,
            )
            bound = max(bound, priced.bound)
            if priced.rounds:
                lp_x, guide, prices = priced.x, priced.reduced_cost, priced.prices
            note(f"lp bound by pricing ({priced.rounds} rounds)", best_parts.total, bound)
            # The knapsack bound below starts from these duals (it once followed a
            # Lagrangian polish of the agent rows: +75 points in 2 s on county-M, which the
            # knapsack bound's first value exceeds by thousands).
    knapsack: _InBackground[KnapsackBoundResult] | None = None
    if (
        prices is not None
        and best_parts is not None
        and inst.n_edges > EXACT_MIP_MAX_EDGES
        and best_parts.total > bound
    ):
        # Each agent's knapsack solved whole at the LP's prices (at least the LP bound), then
        # subgradient steps, on a thread of its own while this one rounds and improves.  Where
        # the MIP over all edges does not run (``_mip_over_all_edges``) nothing else needs the
        # second core: the bound takes it to the end.
        beside_mip = _mip_over_all_edges(inst)
        knap_limit_s = (
            budget.seconds(KNAPSACK_SHARE_BESIDE_MIP if beside_mip else KNAPSACK_SHARE_OF_BUDGET)
            if beside_mip or params.deterministic
            else max(0.1, budget.remaining() - FINISH_MARGIN_S)
        )
        knap_start, knap_upper = prices, float(best_parts.total)
        knapsack = _InBackground(
            lambda: knapsack_bound(
                inst,
                knap_start,
                knap_upper,
                time_limit_s=knap_limit_s,
                max_iterations=(
                    KNAPSACK_ITERATIONS_PER_S * max(1, int(params.time_limit_s))
                    if params.deterministic
                    else KNAPSACK_MAX_ITERATIONS
                ),
            ),
            "knapsack-bound",
        )
    if lp_x is not None:
        rounded = _lp_rounding(inst, lp_x)
        if not feasibility_issues(inst, rounded):
            rounded, _ = descend(
                inst,
                rounded,
                budget.share_deadline(ROUNDING_DESCENT_SHARE) if flow_start else deadline,
            )
            rounded_parts = evaluate(inst, rounded)
            if best_parts is None or rounded_parts.total < best_parts.total:
                best, best_parts, method = rounded, rounded_parts, "lp rounding+descent"
                note("lp rounding", best_parts.total, bound)
    if (
        lp_x is not None
        and best_parts is not None
        and LP_MAX_EDGES < inst.n_edges <= PRICING_MAX_EDGES
    ):
        best, noisy_parts, tried = _noisy_roundings(inst, lp_x, best, best_parts, params, budget)
        if noisy_parts.total < best_parts.total:
            best_parts, method = noisy_parts, "lp rounding+descent"
        if tried:
            note(f"noisy lp roundings ({tried})", best_parts.total, bound)
    if flow_first and flow is not None and best_parts is None:
        # The flow's rounding broke a rule (without a flow greedy was built above).
        best, best_parts, method = _first_plan(inst, params, deadline, None)
        note(method, best_parts.total if best_parts else -1, bound)
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
        elif params.deterministic:
            if best_parts is not None:
                best, _total, steps = improve(
                    inst,
                    best,
                    params,
                    deadline,
                    lp_x,
                    lambda _vec, obj: note("lns", obj, bound),
                    neighbourhood_items=LNS_ITEMS,
                    step_time_s=LNS_STEP_S,
                    sub_solver="cpsat",
                    max_steps=max(1, int(params.time_limit_s / LNS_STEP_S)),
                )
                best_parts = evaluate(inst, best)
                method = f"{method}+lns ({steps} steps)"
        else:
            best, best_parts, bound, method = _improve_by_time(
                inst, params, budget, best, best_parts, bound, method, lp_x, guide, note
            )
        proven = best_parts is not None and best_parts.total <= bound + 1e-9
    if knapsack is not None:
        knap = knapsack.result()
        bound = max(bound, knap.bound)
        note(
            f"knapsack bound ({knap.iterations} steps, first {knap.first_value:.0f})",
            best_parts.total if best_parts else -1,
            bound,
        )
    if counting is not None:
        counted = counting.result(wait_s=budget.deadline - time.monotonic())
        if counted is not None:
            bound = max(bound, counted)
        note(
            "count-priced flow and knapsack bound"
            if counted is not None
            else "background bound: none",
            best_parts.total if best_parts else -1,
            bound,
        )
    # The background bounds may have closed the gap.
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
        constant_cost=constant_cost(inst),
    )


def _improve_by_time(
    inst: AssignmentInstance,
    params: SearchParams,
    budget: Budget,
    best: I32,
    best_parts: ObjectiveParts | None,
    bound: float,
    method: str,
    lp_x: np.ndarray | None,
    guide: np.ndarray | None,
    note: Callable[[str, int, float], None],
) -> tuple[I32, ObjectiveParts | None, float, str]:
    """Improvement under a wall-clock budget: focused subproblems around unassigned items, then
    the exact MIP (small instances), or a MIP on the core problem (LP support, incumbent and the
    cheapest edges per item) followed by the MIP on all edges (medium: its dual bound may raise
    the bound) or by large-neighbourhood search on the core (large)."""
    deadline = budget.deadline
    remaining = budget.remaining()
    if best_parts is not None and inst.n_edges <= FULL_MIP_MAX_EDGES:
        waiting = int(np.sum((best < 0) & (np.diff(inst.item_offsets) > 0)))
        if waiting:
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
    exact = inst.n_edges <= EXACT_MIP_MAX_EDGES
    # Without the MIP over all edges: LNS on the core to the end, the second core left to the
    # knapsack bound.
    large = not exact and not _mip_over_all_edges(inst)
    background: _InBackground[MipResult] | None = None
    if best_parts is not None and not exact and not large and params.workers >= 2:
        # The MIP over all edges runs on the second core while this thread works on the core
        # problem.  HiGHS can run past its time limit by a second or more (phases it does not
        # interrupt), so it gets only a share of the time left.
        left = max(
            BACKGROUND_MIP_SHARE * budget.remaining(),
            budget.remaining() - BACKGROUND_MIP_OVERRUN_S,
        )
        start = best.copy()
        background = _InBackground(
            lambda: solve_mip(inst, left, start=start, seed=params.seed), "background-mip"
        )
    if best_parts is not None and not exact:
        core_mask = kept_edges(inst, core_edges(inst, best, lp_x, guide))
        core = with_edges(inst, core_mask)
        core_solved = False
        if core.n_edges <= CORE_MIP_MAX_EDGES and inst.n_items <= CORE_MIP_MAX_ITEMS:
            share = CORE_MIP_SHARE_OF_REMAINING * budget.remaining()
            mip = solve_mip(core, share, start=best, seed=params.seed)
            if mip.agent_of_item is not None:
                vec, _ = descend(inst, mip.agent_of_item, deadline + DESCENT_GRACE_S)
                parts = evaluate(inst, vec)
                if parts.total < best_parts.total:
                    best, best_parts, method = vec, parts, f"{method}+core mip"
            note(f"core mip {mip.status.lower()}", best_parts.total, bound)
            # Solved to optimality (with load bands priced per tenth of an hour), the core has
            # nothing left for LNS on it to find.
            core_solved = mip.status == "Optimal"
        if core_solved and budget.remaining() > WIDER_CORE_MIN_S:
            # Search a wider core instead: more edges per item by cost and by reduced cost.
            # With little time left this thread stays idle instead, so that the MIP over all
            # edges has a core to itself for its root bound.
            core_mask = kept_edges(inst, core_edges(inst, best, lp_x, guide, WIDER_CORE_PER_ITEM))
            core = with_edges(inst, core_mask)
            core_solved = False
        if not core_solved:
            rows = chosen_edges(inst, best)
            if not core_mask[rows[rows >= 0]].all():
                # Descent after the core MIP may have used edges outside the core.
                core_mask[rows[rows >= 0]] = True
                core = with_edges(inst, core_mask)
            lns_until = (
                deadline - FINISH_MARGIN_S
                if large or background is not None
                else time.monotonic() + CORE_LNS_SHARE_BEFORE_MIP * budget.remaining()
            )
            best, _total, steps = improve(
                core,
                best,
                params,
                lns_until,
                lp_x[core_mask] if lp_x is not None else None,
                lambda _vec, obj: note("lns", obj, bound),
                neighbourhood_items=CORE_LNS_ITEMS,
                step_time_s=LNS_STEP_S,
                sub_solver=LNS_SUB_SOLVER,
            )
            if inst.n_edges <= DESCENT_AFTER_STEP_MAX_EDGES:
                # Shift moves along edges outside the core (the LNS steps descend on the core
                # only); above this size one descent round takes longer than is left.
                best, _ = descend(inst, best, deadline)
            best_parts = evaluate(inst, best)
            method = f"{method}+core lns ({steps} steps)"
    if large:
        return best, best_parts, bound, method
    if background is not None:
        mip = background.result()
    else:
        # HiGHS's limit covers its solve, not building the model and reading the answer back.
        remaining = budget.remaining() - FINISH_MARGIN_S
        if remaining <= 0.05:
            return best, best_parts, bound, method
        rival: _InBackground[CpSatResult] | None = None
        if exact and params.workers >= 2:
            # CP-SAT on the otherwise idle second core beside the exact MIP: on some small
            # instances it finds a better plan first, and its bound counts too.
            hint = best.copy()
            rival = _InBackground(
                lambda: solve_cpsat(
                    inst, SearchParams(remaining, 1, params.seed, False), hint=hint
                ),
                "background-cp-sat",
            )
        mip = solve_mip(inst, remaining, start=best, seed=params.seed, exact_bands=exact)
        if rival is not None:
            sat = rival.result()
            if sat.agent_of_item is not None:
                parts = evaluate(inst, sat.agent_of_item)
                if best_parts is None or parts.total < best_parts.total:
                    best, best_parts, method = sat.agent_of_item, parts, "cp-sat"
                bound = max(bound, sat.bound)
            note(f"cp-sat {sat.status.lower()}", best_parts.total if best_parts else -1, bound)
    if mip.agent_of_item is not None:
        vec, _ = descend(inst, mip.agent_of_item, deadline)
        parts = evaluate(inst, vec)
        if best_parts is None or parts.total <= best_parts.total:
            best, best_parts = vec, parts
            method = "mip" if exact else f"{method}+mip"
    elif mip.status == "Infeasible":
        bound = float("inf")
    if exact or mip.agent_of_item is not None:
        bound = max(bound, mip.bound)
    note(f"mip {mip.status.lower()}", best_parts.total if best_parts else -1, bound)
    return best, best_parts, bound, method


class _InBackground(Generic[T]):
    """``work()`` on a thread of its own (HiGHS and CP-SAT release the GIL while they solve);
    an exception in it is raised again by ``result``."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._result: T | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._result = work()
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def _mip_over_all_edges(inst: AssignmentInstance) -> bool:
    """Whether the MIP over all edges runs (up to ``FULL_MIP_MAX_EDGES``), beside the core's
    improvement above ``EXACT_MIP_MAX_EDGES``.  Not on instances with load bands above the
    exact size: there the knapsack bound, which prices each agent's bands exactly, takes the
    second core to the end and raises the bound more than the MIP's dual bound, while the core
    MIP finds the plans (county-S at 5 s, three runs each: with the MIP 0.34-0.36%, bound
    309,075-309,131; without 0.27-0.28%, plan 310,187-310,212, bound 309,343-309,354)."""
    if inst.n_edges <= EXACT_MIP_MAX_EDGES:
        return True
    return inst.n_edges <= FULL_MIP_MAX_EDGES and not priced_bands(inst)


def _first_plan(
    inst: AssignmentInstance, params: SearchParams, deadline: float, lp_x: np.ndarray | None
) -> tuple[I32, ObjectiveParts | None, str]:
    """Greedy, or the LP's rounding (then an LP-restricted CP-SAT start) where greedy cannot
    place every must-assign item; its objective (None when some must-assign item is still
    out) and how it was built."""
    best = greedy(inst)
    method = "greedy"
    issues = feasibility_issues(inst, best)
    if issues and lp_x is not None:
        rounded = _lp_rounding(inst, lp_x)
        rounded_issues = feasibility_issues(inst, rounded)
        if len(rounded_issues) < len(issues):
            best, issues, method = rounded, rounded_issues, "lp rounding"
    # Up to the exact MIP's size the MIP (and CP-SAT beside it) look for the first plan
    # themselves, with the whole budget.
    if (
        issues
        and lp_x is not None
        and inst.n_edges > EXACT_MIP_MAX_EDGES
        and deadline - time.monotonic() > 0.5
    ):
        best, issues = _lp_restricted_start(inst, lp_x, params, deadline, best, issues)
    if issues and not all("must be assigned" in s for s in issues):
        raise AssertionError(f"construction broke a hard rule: {issues[:3]}")
    return best, (evaluate(inst, best) if not issues else None), method


def _noisy_roundings(
    inst: AssignmentInstance,
    lp_x: np.ndarray,
    best: I32,
    best_parts: ObjectiveParts,
    params: SearchParams,
    budget: Budget,
) -> tuple[I32, ObjectiveParts, int]:
    """Roundings of ``lp_x`` with noise on its support, each followed by descent, while one
    more (timed as the last) fits before ``NOISY_ROUNDINGS_SHARE`` of the budget (or
    ``NOISY_ROUNDINGS_DETERMINISTIC`` of them, descent to convergence, when deterministic);
    returns the best plan of these and ``best`` (objective ``best_parts``), its objective, and
    how many were tried."""
    rng = np.random.default_rng(params.seed)
    until = budget.share_deadline(NOISY_ROUNDINGS_SHARE)
    passes = CompiledMoves(inst)
    last_s = 0.0
    tried = 0
    support = lp_x > 0
    while (
        tried < NOISY_ROUNDINGS_DETERMINISTIC
        if params.deterministic
        else time.monotonic() + last_s < until
    ):
        began = time.monotonic()
        noise = rng.normal(0.0, ROUNDING_NOISE_SD, lp_x.size)
        rounded = _lp_rounding(inst, np.where(support, np.maximum(lp_x + noise, 0.0), 0.0))
        tried += 1
        if feasibility_issues(inst, rounded):
            continue
        rounded, _ = descend(inst, rounded, budget.deadline, passes=passes)
        parts = evaluate(inst, rounded)
        if parts.total < best_parts.total:
            best, best_parts = rounded, parts
        last_s = time.monotonic() - began
    return best, best_parts, tried


def _lp_rounding(inst: AssignmentInstance, lp_x: np.ndarray) -> I32:
    """Greedy with each edge's LP value as an overriding preference: items keep their LP edge
    while it fits, split and crowded-out items take their cheapest edge by marginal cost.  May
    leave a must-assign item out (the caller checks)."""
    preferred = inst.edge_cost - np.rint(lp_x * LP_ROUNDING_BONUS).astype(np.int64)
    return greedy(dataclasses.replace(inst, edge_cost=preferred))


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
