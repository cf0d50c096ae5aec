"""Search orchestration: construction, bound and improvement under one time budget.

Any-time: the best feasible assignment found so far is kept from the first (greedy) step on,
and every result carries its proven lower bound.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from assigner.search import regions as regions_module
from assigner.search.background_bound import (
    ForkedBound,
    count_then_knapsack_bound,
    flow_and_knapsack_bounds,
    flow_bound,
)
from assigner.search.core import core_edges, cost_rank
from assigner.search.count_repair import repair_counts
from assigner.search.cpsat import CpSatResult, Progress, ProgressFn, SearchParams, solve_cpsat
from assigner.search.flow_relaxation import (
    FlowRelaxation,
    count_flow_bound,
    estimated_seconds,
    flow_relaxation,
    item_weights,
)
from assigner.search.greedy import greedy
from assigner.search.independent_parts import Part, independent_parts, part_instance
from assigner.search.instance import (
    I32,
    MUST_ASSIGN,
    AssignmentInstance,
    ObjectiveParts,
    chosen_edges,
    evaluate,
    feasibility_issues,
    item_minima,
    kept_edges,
    waiting_items,
    with_edges,
)
from assigner.search.knapsack_bound import (
    KnapsackBoundResult,
    Prices,
    knapsack_bound,
    prices_from_agents,
)
from assigner.search.lagrangian import lagrangian_bound
from assigner.search.lns import (
    DESCENT_AFTER_STEP_MAX_EDGES,
    WAITING_STEP_S,
    improve,
    place_waiting,
)
from assigner.search.load_bands import priced_bands
from assigner.search.local_search import descend, repair_unassigned
from assigner.search.lp_bound import MipResult, solve_lp, solve_mip
from assigner.search.lp_fixing import lp_fixed_plan
from assigner.search.pricing import solve_lp_by_pricing
from assigner.search.regions import region_parts
from assigner.search.rounding import lp_rounding, noisy_roundings, reduced_cost_greedy
from assigner.search.search_budget import Budget
from assigner.search.warm_up import warm_up

T = TypeVar("T")


@dataclass
class SearchOutcome:
    agent_of_item: I32
    parts: ObjectiveParts
    bound: float
    proven_optimal: bool
    method: str
    wall_time_s: float
    # The part of every plan's objective no plan can change (``constant_cost``); the gap
    # leaves it out.  Required: a caller that left it at 0 reported too small a gap.
    constant_cost: int
    phases: list[dict[str, float | int | str]] = field(default_factory=list)

    @property
    def objective(self) -> int:
        return self.parts.total

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


def cheapest_options(inst: AssignmentInstance) -> np.ndarray:
    """Per item, its cheapest option: its cheapest edge or, when it may stay out, its penalty if
    that is lower; infinite for a must-assign item without edges."""
    must = inst.unassigned_penalty == MUST_ASSIGN
    cheapest = item_minima(inst, inst.edge_cost)
    return np.where(must, cheapest, np.minimum(cheapest, inst.unassigned_penalty))


def trivial_bound(inst: AssignmentInstance) -> float:
    """Each item at its cheapest option, ignoring capacities and groups: a valid lower bound."""
    return float(np.sum(cheapest_options(inst)))


# Up to this size the MIP over all edges (with CP-SAT on the second core) gets the whole budget
# after the LP and greedy.  GAP at 5 s: e20200 (4,000 edges) 22,434 this way against 22,466
# through the core MIP and LNS, c10400 5,597 against 5,601; the same plans at 20 s.
EXACT_MIP_MAX_EDGES = 5_000
# Deterministic mode: the exact MIP's node limit on those instances, before CP-SAT with its
# deterministic time.  CP-SAT alone on one worker could stop with a case left out that the MIP
# places at once (the tiny county of seed 7, 40 cases, 98 edges, solver seed 0, 20 s: 234,959
# with a case out after 1.7 s, where the MIP proves 36,338 with every case placed; `assigner
# solve P --deterministic --workers 1 --time-limit 20` on ``generate_county("tiny", 7)``).  A
# MIP that its wall-clock safety stopped instead is not used: its result would depend on the
# machine's speed.
EXACT_MIP_NODES = 2_000
# ... scaled to the budget (this many per second of it, at least EXACT_MIP_MIN_NODES): a what-if
# scenario's sample (189 edges; the reproducibility test in tests/scenarios/test_whatif.py) with
# a budget of 0.5 s took 2.6 s for 100 nodes and 7.9 s for 500 on a shared machine.
EXACT_MIP_NODES_PER_S = 100
EXACT_MIP_MIN_NODES = 100
TIME_LIMIT_STATUS = "Time limit reached"  # HiGHS's words
FULL_MIP_MAX_EDGES = 150_000
LP_MAX_EDGES = 150_000
LP_EDGES_PER_SECOND = 30_000
DESCENT_SHARE_OF_BUDGET = 0.3
LAGRANGIAN_SHARE_OF_BUDGET = 0.15
LAGRANGIAN_ONLY_SHARE_OF_BUDGET = 0.35
LAGRANGIAN_ITERATIONS_PER_S = 100
FOCUSED_SHARE_OF_REMAINING = 0.4
# ``place_waiting``'s rounds in deterministic mode (it stops sooner where nothing is left to
# gain).
WAITING_ROUNDS = 8
DESCENT_GRACE_S = 0.5
LNS_ITEMS = 60
LNS_STEP_S = 1.0
LNS_SUB_SOLVER = "highs"
RESTRICTED_EDGES_PER_ITEM = 3
# The budget a search still gets when splitting the instance took all of it: the search then
# takes only the time its first plan needs.
MIN_TIME_LEFT_S = 0.01
LP_SHARE_OF_BUDGET = 0.35
PRICING_SHARE_OF_BUDGET = 0.25
PRICING_CORE_PER_ITEM = 3
# The first pricing LP of county-L (20,000 items) alone takes about 25 s on 2 cores.
PRICING_MAX_EDGES = 2_000_000
# Above PRICING_MAX_EDGES the LP by pricing still runs where the budget is long enough
# (``_Search.lp_at_scale``): the time of its first three rounds by estimate (this many seconds
# per edge) fits LP_AT_SCALE_SHARE of the budget, which is also its time limit.  County-L
# (6,574,043 edges), seeded with the flow's support and the edges of the flow's rounding,
# three edges per item by cost, alone: round 2 at 16.5 s, 3 at 34.9 s, converged (6) at
# 71.6 s (with dual simplex only for the re-solves: 3 at 36 s, 6 at 129 s, still not converged
# at 194 s); beside the count-priced flow, converged 73 s after its start.  County-L from 110 s:
# at 120 s 5,866,909 against 5,815,400, 0.88% (one in-process run; with the re-solves by dual
# simplex only, 5,868,920 against 5,807,177; the flow path: 5,877,283 against 5,807,752).  At
# 60 s it does not pay: forced with half this estimate, its three rounds end at 54.6 s and leave
# 6,039,159 (with dual-only re-solves, two rounds: 5,877,307, against the flow path's
# 5,877,561).
LP_AT_SCALE_SECONDS_PER_EDGE = 10e-6
LP_AT_SCALE_SHARE = 0.6
# The knapsack bound starts from the pricing LP's duals there once they are this near the LP's
# (restricted LP value against the proven bound, relative), else the count-priced flow's
# process keeps the second core.  County-L: round 3 1.2% (knapsack at its duals 5,768,000,
# below the count-priced flow's), round 4 0.15% (5,813,939; the LP's own duals 5,815,274),
# round 5 0.014%.  The LP's time limit can end it after round 4 at 120 s.
LP_AT_SCALE_DUAL_GAP = 2e-3
LAGRANGIAN_CORE_PER_ITEM = 10
GUIDED_DESCENT_SHARE = 0.6
EARLY_DESCENT_SHARE = 0.08
PRICING_ROUNDS = 10
CORE_MIP_MAX_EDGES = 60_000
CORE_MIP_MAX_ITEMS = 2_000
CORE_LNS_ITEMS = 200
FINISH_MARGIN_S = 0.2
# The least time a part of a decomposed instance gets (it still builds its first plan when its
# share runs out).
MIN_PART_SECONDS = 0.2
# Regions (``_search_by_regions``): the share of the budget kept for the whole instance after
# the regions, and the share of that left to the knapsack bound (one evaluation over a
# province's 19 million edges takes several seconds).
GLOBAL_SHARE = 0.25
GLOBAL_BOUND_SHARE = 0.6
# The share of the time left after the repair across regions that goes to the items still
# waiting (``_place_waiting_items``); the rest to descent across regions.  A case left out
# costs far more than any descent gains: province with help across borders at 600 s (in
# process, one run each): 0.4, 167 cases out, 100,641,643; 0.75, 142 out, 95,420,583.
REGIONS_WAITING_SHARE = 0.75
GLOBAL_FINISH_SHARE = 0.05  # of the whole instance's time, kept for the last descent pass
# Each region's agent prices for that bound: its count-priced flow, up to this share of the
# region's time and this many flow solves.
REGION_PRICE_SHARE = 0.1
REGION_PRICE_FLOW_SOLVES = 4
# The bounds over the whole, run from the start of a search by regions, yield the CPU to the
# regions' searches (``os.nice``: 19 is the lowest priority).
WHOLE_BOUNDS_NICENESS = 19
# Large instances: the flow relaxation (``flow_relaxation.py``) may take up to this share of the
# budget (by its estimate: it cannot be interrupted), and the descent from its rounding runs up
# to ROUNDING_DESCENT_SHARE of the budget before LNS on the core takes over.
FLOW_SHARE_OF_BUDGET = 0.4
# The count-priced flow bound steps towards the plain flow's bound raised by this share (its
# Polyak target): an estimate of where the LP lies.  County-L at 60 s (bound reached): 1%
# 5,779,510, 1.5% 5,781,967, 2.5% 5,776,073, 4% 5,754,331; the greedy's value (12% above)
# makes the steps too long to gain anything in the time there is.
COUNT_BOUND_TARGET_GAP = 0.015
# Where the flow's solution is the one to round, the LP that puts the count limits back
# (``count_repair.py``) runs this many pricing rounds, within this share of the budget.  County-L
# (one-off script, descent capped at 30 s), plan after 1 to 8 rounds: 5,882,365, 5,873,715,
# 5,870,742, 5,865,797, 5,862,983 (round 5 ends 6.6 to 7.2 s in), 5,864,284, 5,867,026; converged
# (14 rounds, 18.2 s) 5,865,152; from generator seed 2, rounds 3 to 6: 6,048,613, 6,041,450,
# 6,039,060, 6,037,700.  With 10% of the budget and no cap on the rounds: plans 5,862,981 to
# 5,865,935 in six 60 s runs (5 rounds in process; the slower runs match 4 rounds) against
# 5,870,477 twice for the flow's own rounding (``benchmarks/results/county-L-60s-count-repair/``).
# Since the rule fixes of 2026-11-28 county-L's repair frees 4,722 cases (4,405 before) and its
# fifth round ended past 15% of the budget; with 20%, 60 s in process, alternating: plans
# 5,865,199 / 5,866,172 / 5,865,199 (5 rounds) against 5,865,663 / 5,866,625 and 5,867,670 /
# 5,867,675 (4 rounds) with 15%.
COUNT_REPAIR_ROUNDS = 5
COUNT_REPAIR_SHARE = 0.2
ROUNDING_DESCENT_SHARE = 0.95
WIDER_CORE_PER_ITEM = 6
# Where the MIP over all edges does not run (load bands, above the exact size), the LP fixing's
# MIP (``lp_fixing.py``) gets this share of the budget after the LP rounding.  County-S at 5 s,
# seeds 1-3 (one-off script, in process): 310,029 / 309,996 / 309,915 against 310,289 / 310,345 /
# 310,385 without it; with 0.3 and 0.4 of the budget 309,891 to 310,096, no better.
LP_FIXING_SHARE = 0.2
# In deterministic mode a node limit ends that MIP instead (county-S's solves at its root in
# about 3 s, the same plan every run).
LP_FIXING_NODES = 200
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
# With little time left the core MIP gets at least CORE_MIP_MIN_S, up to this share of it:
# HiGHS spends its first seconds on presolve and root cuts before its sub-MIP heuristics
# improve the start (county-S's core of 1,953 edges: about 1.9 s).  County-S at 5 s, seeds 0-5
# twice each (one-off script): a 2 s share found nothing better than the start in 3 runs of
# 12 (0.37% against 0.24% for the others); 2.7 s found a better plan in all 12, this rule in 8 of 8.
CORE_MIP_MIN_S = 3.0
CORE_MIP_MAX_SHARE = 0.7


def exact_mip_nodes(time_limit_s: float) -> int:
    """The exact MIP's node limit in deterministic mode (``EXACT_MIP_NODES`` at 20 s)."""
    return int(min(EXACT_MIP_NODES, max(EXACT_MIP_MIN_NODES, EXACT_MIP_NODES_PER_S * time_limit_s)))


def run_search(
    inst: AssignmentInstance, params: SearchParams, progress: ProgressFn | None = None
) -> SearchOutcome:
    """Bound, construction and improvement under one time budget; an instance that falls apart
    into independent parts (``independent_parts.py``) is searched part by part
    (``_search_by_parts``), a part too large to search whole by regions (``regions.py``,
    ``_search_by_regions``), anything else whole (``_search_whole``).

    In deterministic mode the compiled code is loaded (or compiled) first, outside the budget:
    the wall-clock safety limits that remain must not depend on whether numba's cache was
    warm."""
    if params.deterministic:
        warm_up()
    began = time.monotonic()
    progress = _with_constant(progress, inst)
    parts = independent_parts(inst)
    if len(parts) > 1:
        return _search_by_parts(inst, _time_left(params, began), progress, parts)
    return _search_component(inst, params, progress, began)


def _with_constant(progress: ProgressFn | None, inst: AssignmentInstance) -> ProgressFn | None:
    """``progress`` with each report's ``constant_points`` set (every report is of the whole
    instance's plan, by parts and regions too), so that a progress display computes the gap as
    the plan does (``relative_gap``)."""
    if progress is None:
        return None
    constant = constant_cost(inst)
    report = progress

    def with_constant(p: Progress) -> None:
        report(dataclasses.replace(p, constant_points=constant))

    return with_constant


def _search_component(
    inst: AssignmentInstance, params: SearchParams, progress: ProgressFn | None, began: float
) -> SearchOutcome:
    """One connected instance: by regions above ``REGION_MIN_ITEMS`` items when the labels
    find more than one, else whole.  The budget counts from ``began``: splitting and labelling
    a province take seconds (province-border: about 7 s, which once ran past its 600 s)."""
    if inst.n_items > regions_module.REGION_MIN_ITEMS:
        regions = region_parts(inst)
        if len(regions) > 1:
            return _search_by_regions(inst, _time_left(params, began), progress, regions)
    return _search_whole(inst, _time_left(params, began), progress)


def _time_left(params: SearchParams, began: float) -> SearchParams:
    """``params`` with the time spent since ``began`` taken off the budget; unchanged in
    deterministic mode, whose work limits are set from the budget and must not depend on the
    machine's speed."""
    if params.deterministic:
        return params
    left_s = params.time_limit_s - (time.monotonic() - began)
    return dataclasses.replace(params, time_limit_s=max(MIN_TIME_LEFT_S, left_s))


@dataclass
class _PartsPlan:
    """The parts' plans together, with the sums of their objectives and bounds."""

    agent_of_item: I32
    objective: int
    bound_sum: float
    proven: bool
    methods: list[str]
    phases: list[dict[str, float | int | str]]
    prices: Prices | None  # regions: item prices over the whole instance, from agent prices


def _search_parts(
    inst: AssignmentInstance,
    params: SearchParams,
    progress: ProgressFn | None,
    parts: list[Part],
    *,
    regions: bool,
    region_prices: bool = False,
) -> _PartsPlan:
    """Each part searched on its own, smallest first, with the time left shared in
    proportion to the edges of the parts still to come (time a small part leaves unused goes
    to the larger ones; in deterministic mode each part gets its fixed share of the budget).
    Regions (``regions``) drop their edges to other regions; their bounds do not add up to a
    bound of the whole, so progress then reports the trivial bound.  Progress reports the
    whole plan once every other part is done, while the last (largest) part improves it."""
    start = time.monotonic()
    n = len(parts)
    edges = np.array([max(1, p.n_edges) for p in parts], dtype=np.float64)
    cheapest = cheapest_options(inst)
    trivial = float(np.sum(cheapest))
    pending = [float(np.sum(cheapest[p.items])) for p in parts]
    agent_of_item = np.full(inst.n_items, -1, dtype=np.int32)
    weight_price = np.zeros(inst.n_agents)  # regions: the flow's agent prices
    count_price = np.zeros(inst.n_agents)
    done_objective = 0
    done_bound = 0.0
    proven = True
    methods: list[str] = []
    phases: list[dict[str, float | int | str]] = []
    for k, part in enumerate(parts):
        sub = part_instance(inst, part, inside_only=regions)  # one part's copy at a time
        if params.deterministic:
            limit_s = params.time_limit_s * edges[k] / edges.sum()
        else:
            left_s = start + params.time_limit_s - time.monotonic()
            limit_s = max(MIN_PART_SECONDS, left_s * edges[k] / edges[k:].sum())
        sub_progress = None
        if progress is not None and k == n - 1:
            reported = trivial if regions else done_bound
            sub_progress = _whole_plan_progress(
                progress, done_objective, reported, start, n, bound_fixed=regions
            )
        # A region is searched whole; an independent part may itself be cut into regions.
        sub_params = dataclasses.replace(params, time_limit_s=limit_s)
        result = (
            _search_whole(sub, sub_params, sub_progress)
            if regions
            else _search_component(sub, sub_params, sub_progress, time.monotonic())
        )
        agent_of_item[part.items] = np.where(
            result.agent_of_item >= 0, part.agents[np.maximum(result.agent_of_item, 0)], -1
        )
        if region_prices:
            priced = _region_agent_prices(sub, params, limit_s)
            if priced is not None:
                weight_price[part.agents], count_price[part.agents] = priced
        done_objective += result.objective
        done_bound += result.bound
        pending[k] = 0.0
        proven = proven and result.proven_optimal
        methods.append(result.method)
        last = k == n - 1
        kind = "region" if regions else "part"
        phases.append(
            {
                "phase": f"{kind} {k + 1}/{n} ({sub.n_items} items, {sub.n_edges} edges): "
                f"{result.method}",
                "objective": done_objective if last else -1,
                "bound": trivial if regions else done_bound + float(np.sum(pending)),
                "wall_time_s": time.monotonic() - start,
                "part_objective": result.objective,
                "part_bound": result.bound,
                "part_time_limit_s": limit_s,
            }
        )
    return _PartsPlan(
        agent_of_item,
        done_objective,
        done_bound,
        proven,
        methods,
        phases,
        # Each item at its cheapest option over all its edges, its other regions' included.
        prices_from_agents(inst, weight_price, count_price) if region_prices else None,
    )


def _region_agent_prices(
    sub: AssignmentInstance, params: SearchParams, limit_s: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """A region's agent prices (per unit of weight and per item) from its count-priced flow,
    within ``REGION_PRICE_SHARE`` of its time (one flow solve in deterministic mode): prices
    for every region alike, read off agents, so that the whole instance's item prices can
    see the edges across regions.  None where the flow does not apply."""
    flow = count_flow_bound(
        sub,
        time_limit_s=REGION_PRICE_SHARE * limit_s,
        max_flow_solves=1 if params.deterministic else REGION_PRICE_FLOW_SOLVES,
    )
    if flow is None:
        return None
    return flow.agent_price, flow.multipliers


def _search_by_parts(
    inst: AssignmentInstance,
    params: SearchParams,
    progress: ProgressFn | None,
    parts: list[Part],
) -> SearchOutcome:
    """Each independent part searched on its own (``_search_parts``; a part too large to
    search whole by regions).  The plan is the parts' plans together; its objective and bound
    are the sums of theirs."""
    start = time.monotonic()
    found = _search_parts(inst, params, progress, parts, regions=False)
    parts_sum = evaluate(inst, found.agent_of_item)
    if parts_sum.total != found.objective:
        raise AssertionError(
            f"the parts' objectives sum to {found.objective}, their plan's is {parts_sum.total}"
        )
    common, how_many = Counter(found.methods).most_common(1)[0]
    return SearchOutcome(
        agent_of_item=found.agent_of_item,
        parts=parts_sum,
        bound=min(found.bound_sum, float(parts_sum.total)),
        proven_optimal=found.proven,
        method=f"{len(parts)} independent parts ({common} on {how_many})",
        wall_time_s=time.monotonic() - start,
        phases=found.phases,
        constant_cost=constant_cost(inst),
    )


def _search_by_regions(
    inst: AssignmentInstance,
    params: SearchParams,
    progress: ProgressFn | None,
    regions: list[Part],
) -> SearchOutcome:
    """Each region searched on its own without the edges to other regions, with
    ``1 - GLOBAL_SHARE`` of the budget; their plans together are a plan of the whole
    (``regions.py`` says why), checked here.  Then, on the whole instance, where moves across
    regions are allowed again: the unassigned items' ejection repair, MIP subproblems around
    the items still out, and descent.  The bound, where the flow relaxation over the whole fits
    the time kept for it by its estimate: with two workers, ``flow_and_knapsack_bounds`` in a
    forked process from the start at the lowest priority (the highest bound it sent by the
    deadline); with one, the flow first, before the moves.  Else the knapsack bound at the
    regions' prices (valid at any prices; in deterministic mode its first value only) with the
    time left, in a forked process.  A bound not done by the deadline leaves the trivial bound:
    the plan is returned on time."""
    start = time.monotonic()
    share = dataclasses.replace(params, time_limit_s=params.time_limit_s * (1 - GLOBAL_SHARE))
    weights = item_weights(inst)
    flow_fits = _flow_fits(inst, weights, params, GLOBAL_SHARE * params.time_limit_s)
    deadline = start + params.time_limit_s
    bound = trivial_bound(inst)
    whole_bound: float | None = None
    background: ForkedBound | None = None
    with contextlib.ExitStack() as cleanup:
        if flow_fits and weights is not None and params.workers >= 2:
            # The bounds over the whole (the flow cannot be interrupted, and the knapsack
            # bounds after it take minutes on a province) in a forked process from the start,
            # at a low priority: it takes the second core where the regions' searches leave it
            # idle, and during the moves across regions, which run on one.
            background = cleanup.enter_context(
                ForkedBound(
                    lambda: flow_and_knapsack_bounds(inst, weights),
                    "whole-bounds",
                    niceness=WHOLE_BOUNDS_NICENESS,
                )
            )
        # The regions' prices serve the knapsack bound, the fallback where the flow does not
        # fit.
        found = _search_parts(
            inst, share, progress, regions, regions=True, region_prices=not flow_fits
        )
        plan = found.agent_of_item
        issues = feasibility_issues(inst, plan)
        if issues:
            raise AssertionError(f"the regions' plans together break a rule: {issues[0]}")
        phases = found.phases
        # With one worker, the flow relaxation where it applies and its estimate fits the
        # bound's share of the time left (in deterministic mode: where it applies) runs first,
        # before the moves; else the knapsack bound at the regions' prices after them.
        left_s = max(0.0, deadline - time.monotonic())
        by_flow = background is not None or (
            params.workers < 2 and _flow_fits(inst, weights, params, left_s)
        )
        if params.deterministic:
            until = float("inf")
        elif by_flow:
            until = deadline - GLOBAL_FINISH_SHARE * params.time_limit_s * GLOBAL_SHARE
        else:
            until = deadline - GLOBAL_BOUND_SHARE * left_s
        if background is None and by_flow and weights is not None:
            whole_bound = flow_bound(inst, weights)
            if whole_bound is not None:
                bound = max(bound, whole_bound)
                phases.append(
                    _regions_phase("flow relaxation over the whole", found.objective, bound, start)
                )
        plan, placed, waiting = _moves_across_regions(inst, plan, params, until)
        parts = evaluate(inst, plan)
        if parts.total > found.objective:
            raise AssertionError("descent made the regions' plan worse")
        phases.append(
            _regions_phase(
                f"repair ({placed} placed), focused LNS ({waiting} waiting) and descent "
                "across regions",
                parts.total,
                bound,
                start,
            )
        )
        if background is not None:
            whole_bound = background.result(
                wait_s=None if params.deterministic else deadline - time.monotonic()
            )
            if whole_bound is not None:
                bound = max(bound, whole_bound)
    if whole_bound is not None:
        how = (
            "flow relaxation bound over the whole"
            if background is None
            else "flow relaxation and knapsack bounds over the whole (second core, from the start)"
        )
    elif background is not None and background.late:
        # The deadline has come: no time for another bound.
        how = "flow relaxation over the whole not done by the deadline: the trivial bound"
    else:
        # No flow, or it found nothing: the knapsack bound at the regions' prices (zero
        # prices where the regions priced nothing), in a forked process that the deadline
        # stops (its first evaluation cannot be interrupted).
        knapsack = _regions_knapsack_bound(inst, found.prices, parts.total, params, deadline)
        if knapsack is not None:
            bound = max(bound, knapsack)
            how = "knapsack bound at the regions' prices"
        else:
            how = (
                "knapsack bound at the regions' prices not done by the deadline: the trivial bound"
            )
    phases.append(_regions_phase(how, parts.total, bound, start))
    if progress is not None:
        progress(
            Progress(parts.total, min(bound, parts.total), time.monotonic() - start, "regions")
        )
    common, how_many = Counter(found.methods).most_common(1)[0]
    return SearchOutcome(
        agent_of_item=plan,
        parts=parts,
        bound=min(bound, float(parts.total)),
        proven_optimal=False,
        method=f"{len(regions)} regions ({common} on {how_many}) + descent across them",
        wall_time_s=time.monotonic() - start,
        phases=phases,
        constant_cost=constant_cost(inst),
    )


def _regions_knapsack_bound(
    inst: AssignmentInstance,
    prices: Prices | None,
    objective: int,
    params: SearchParams,
    deadline: float,
) -> float | None:
    """The knapsack bound at ``prices`` (zero prices when None) in a forked process, collected
    by ``deadline`` (deterministic mode: its first value only, waited for); None when it has
    not answered by then."""
    start_prices = (
        prices
        if prices is not None
        else prices_from_agents(inst, np.zeros(inst.n_agents), np.zeros(inst.n_agents))
    )
    # Its steps are timed (each one only while it fits): the margin is for the answer.
    limit_s = max(0.0, deadline - time.monotonic() - FINISH_MARGIN_S)
    with ForkedBound(
        lambda: (
            knapsack_bound(
                inst,
                start_prices,
                float(objective),
                time_limit_s=limit_s,
                max_iterations=0 if params.deterministic else 1_000,
            ).bound
        ),
        "regions-knapsack-bound",
    ) as child:
        return child.result(None if params.deterministic else deadline - time.monotonic())


def _moves_across_regions(
    inst: AssignmentInstance, plan: I32, params: SearchParams, until: float
) -> tuple[I32, int, int]:
    """The regions' plan improved over the whole instance until ``until``: the two-move repair
    of the items left out, the subproblems over those still out (``REGIONS_WAITING_SHARE`` of
    the time), then descent; returns (plan, items the repair placed, items waiting after it)."""
    plan, placed = repair_unassigned(inst, plan, until)
    waiting = int(waiting_items(inst, plan).size)
    if waiting:
        # Subproblems around the cases still out, their edges to every region included: room
        # across a border may take more than one move to make.
        focus_until = (
            until
            if params.deterministic
            else time.monotonic() + REGIONS_WAITING_SHARE * max(0.0, until - time.monotonic())
        )
        plan = _place_waiting_items(inst, plan, params, focus_until, None)
    plan, _moves = descend(inst, plan, until)
    return plan, placed, waiting


def _regions_phase(
    phase: str, objective: int, bound: float, start: float
) -> dict[str, float | int | str]:
    return {
        "phase": phase,
        "objective": objective,
        "bound": bound,
        "wall_time_s": time.monotonic() - start,
    }


def _place_waiting_items(
    inst: AssignmentInstance,
    plan: I32,
    params: SearchParams,
    until: float,
    lp_x: np.ndarray | None,
) -> I32:
    """The items still waiting, until ``until``: all of them in one subproblem with the
    agents that could make room (``place_waiting``), then, with the time it leaves, focused
    LNS around single ones."""
    if params.deterministic:
        # No deadline there: the rounds and their MIP time limits together take at most the
        # focused share of the budget.
        step_s = min(
            WAITING_STEP_S, FOCUSED_SHARE_OF_REMAINING * params.time_limit_s / WAITING_ROUNDS
        )
        plan, _total, _rounds = place_waiting(
            inst, plan, params, until, step_time_s=step_s, max_rounds=WAITING_ROUNDS
        )
    else:
        plan, _total, _rounds = place_waiting(inst, plan, params, until)
    waiting = int(waiting_items(inst, plan).size)
    if waiting and (params.deterministic or time.monotonic() < until - 0.05):
        plan, _total, _steps = improve(
            inst,
            plan,
            params,
            until,
            lp_x,
            sub_solver="highs",
            neighbourhood_items=LNS_ITEMS,
            step_time_s=LNS_STEP_S / 2,
            max_steps=4 * waiting,
        )
    return plan


def _flow_fits(
    inst: AssignmentInstance, weights: np.ndarray | None, params: SearchParams, seconds: float
) -> bool:
    """The whole instance's flow relaxation applies (``weights``) and its estimate fits the
    bound's share (``GLOBAL_BOUND_SHARE``) of ``seconds``; in deterministic mode: applies."""
    return weights is not None and (
        params.deterministic or estimated_seconds(inst) <= GLOBAL_BOUND_SHARE * seconds
    )


def _whole_plan_progress(
    report: ProgressFn,
    objective: int,
    bound: float,
    start: float,
    n_parts: int,
    *,
    bound_fixed: bool = False,
) -> ProgressFn:
    """The last part's progress as the whole plan's: the other parts' objectives and bounds
    (``objective``, ``bound``) added; with ``bound_fixed`` the bound is ``bound`` alone (a
    part's bound is no bound of the whole when parts are regions)."""

    def on_progress(p: Progress) -> None:
        total = objective + p.objective
        report(
            Progress(
                total,
                min(bound if bound_fixed else bound + p.bound, float(total)),
                time.monotonic() - start,
                f"part {n_parts}/{n_parts}: {p.phase}",
            )
        )

    return on_progress


def _search_whole(
    inst: AssignmentInstance, params: SearchParams, progress: ProgressFn | None
) -> SearchOutcome:
    """Bound, construction and improvement of one instance under one time budget.

    Bound: the LP relaxation (HiGHS) up to ``LP_MAX_EDGES`` edges where it fits the budget
    (``_Search.full_lp``).  Otherwise, where items weigh the same on every edge and it fits the
    budget, the flow relaxation (``flow_relaxation.py``): up to ``PRICING_MAX_EDGES`` its
    support seeds the LP by pricing, above it is the bound and, with the cases it puts over the
    lawyers' count limits placed again by the LP over them (``count_repair.py``), its rounding
    the start (and where the budget is long enough, ``_Search.lp_at_scale``, the LP by pricing
    runs after it instead, seeded with its support and its rounding's edges).  Otherwise a
    Lagrangian relaxation stepped on a core of edges, then (up to ``PRICING_MAX_EDGES``) the LP
    by pricing.  Above ``EXACT_MIP_MAX_EDGES``, from the LP's duals, the knapsack bound on a
    thread of its own; above ``PRICING_MAX_EDGES``, from the count-priced flow's prices in the
    forked process that computes that bound (or from the LP by pricing's duals once they are
    near the LP's).  Construction: greedy and shift descent, LP (or flow) rounding and descent (a
    far better start wherever there is one), a second greedy on Lagrangian reduced costs when
    there is neither; LP rounding, then an LP-restricted CP-SAT start when greedy cannot place
    every must-assign item.  Improvement: exact MIP (small), else a MIP and LNS on the core
    problem (``core.py``) with, on medium instances, the MIP over all edges on the second core.

    The stages are the methods of ``_Search``, in this order; a background process one of them
    started is stopped however the search ends.
    """
    with contextlib.ExitStack() as cleanup:
        search = _Search(inst, params, progress, cleanup)
        search.lp_relaxation()
        search.construct()
        search.flow_relaxation()
        search.repair_flow_counts()
        search.pricing_at_scale()
        search.medium_bound()
        search.start_knapsack_bound()
        search.round_relaxation()
        search.improve()
        search.collect_background_bounds()
        return search.outcome()


class _Search:
    """One search's state (budget, best plan so far, bound, the relaxation's solution and
    prices, the bounds running in the background) and its stages."""

    def __init__(
        self,
        inst: AssignmentInstance,
        params: SearchParams,
        progress: ProgressFn | None,
        cleanup: contextlib.ExitStack,
    ) -> None:
        self.inst = inst
        self.params = params
        self.progress = progress
        self.cleanup = cleanup
        self.start = time.monotonic()
        self.budget = Budget(self.start, params.time_limit_s, params.deterministic)
        self.phases: list[dict[str, float | int | str]] = []
        self.bound = trivial_bound(inst)
        # The relaxation's solution, the reduced costs that choose the core's edges
        # (``core_edges``) and the LP's duals (the knapsack bound starts from them).
        self.lp_x: np.ndarray | None = None
        # The agents' prices of an hour that go with ``lp_x`` in its rounding (the flow's, read
        # off its support, where the flow's solution is the one to round); None otherwise.
        self.lp_price: np.ndarray | None = None
        self.guide: np.ndarray | None = None
        self.prices: Prices | None = None
        self.best = np.full(inst.n_items, -1, dtype=np.int32)
        self.best_parts: ObjectiveParts | None = None
        self.method = "none"
        # Above the LP's size, where items weigh the same on every edge and the flow
        # relaxation fits the budget by its estimate: the items' weights.
        self.weights: np.ndarray | None = None
        self.flow: FlowRelaxation | None = None
        self.knapsack: _InBackground[KnapsackBoundResult] | None = None
        self.counting: ForkedBound | None = None
        # On the flow-first path (``pricing_at_scale``): the LP by pricing's duals are near
        # its optimal ones.
        self.lp_duals_near = False

    # -- bookkeeping ---------------------------------------------------------------------

    @property
    def objective(self) -> int:
        """The best plan's objective; -1 while there is none."""
        return self.best_parts.total if self.best_parts is not None else -1

    def record(self, phase: str, objective: int, bound: float) -> None:
        """Record a phase (``objective`` -1: no plan yet) and report it to ``progress`` once
        there is a plan (progress reports an improving solution)."""
        elapsed = time.monotonic() - self.start
        self.phases.append(
            {"phase": phase, "objective": objective, "bound": bound, "wall_time_s": elapsed}
        )
        if self.progress is not None and objective >= 0:
            self.progress(Progress(objective, bound, elapsed, phase))

    def note(self, phase: str) -> None:
        """Record a phase with the best plan's objective and the bound as they stand."""
        self.record(phase, self.objective, self.bound)

    def keep_if_better(self, vector: I32, parts: ObjectiveParts, method: str) -> bool:
        """Make ``vector`` the best plan if there is none yet or it is strictly better."""
        if self.best_parts is not None and parts.total >= self.best_parts.total:
            return False
        self.best, self.best_parts, self.method = vector, parts, method
        return True

    def waiting(self) -> int:
        """Items with an edge that the best plan leaves out."""
        return int(waiting_items(self.inst, self.best).size)

    @property
    def proven(self) -> bool:
        return self.best_parts is not None and self.best_parts.total <= self.bound + 1e-9

    @property
    def full_lp(self) -> bool:
        """The LP over all edges (not the LP by pricing): up to ``LP_MAX_EDGES`` edges and
        ``LP_EDGES_PER_SECOND`` per second of the budget (a part of a province with 135,000
        edges and 4.3 s did not finish its LP in the 1.5 s it had; the LP by pricing did)."""
        n = self.inst.n_edges
        return n <= LP_MAX_EDGES and (
            self.params.deterministic or n <= LP_EDGES_PER_SECOND * self.params.time_limit_s
        )

    @property
    def flow_first(self) -> bool:
        """Above the pricing LP's size the flow's rounding is a far better start than anything
        descent from greedy reaches: greedy (3.8 s on county-L) is then built only if that
        rounding breaks a rule."""
        return self.weights is not None and self.inst.n_edges > PRICING_MAX_EDGES

    @property
    def lp_at_scale(self) -> bool:
        """On the flow-first path, whether the LP by pricing runs all the same: the budget is
        long enough for its first rounds by their estimate (not in deterministic mode)."""
        return (
            self.flow_start
            and not self.params.deterministic
            and self.inst.n_edges * LP_AT_SCALE_SECONDS_PER_EDGE
            <= LP_AT_SCALE_SHARE * self.params.time_limit_s
        )

    @property
    def flow_start(self) -> bool:
        """The flow relaxation has a solution and is the start (and the bound)."""
        return self.flow is not None and self.inst.n_edges > PRICING_MAX_EDGES

    # -- stages --------------------------------------------------------------------------

    def lp_relaxation(self) -> None:
        """The LP relaxation where it fits (``full_lp``); otherwise whether the flow relaxation
        runs: when the items weigh the same on every edge and it fits the budget by its
        estimate.  Above the pricing LP's size the flow then gives the bound and the start;
        below, its support seeds the pricing LP (which then converges in a few rounds)."""
        inst, params = self.inst, self.params
        if self.full_lp:
            lp = solve_lp(inst, time_limit_s=self.budget.seconds(LP_SHARE_OF_BUDGET))
            if np.isfinite(lp.bound) or lp.bound == float("inf"):
                self.bound = max(self.bound, lp.bound)
                self.lp_x, self.guide, self.prices = lp.x, lp.reduced_cost, lp.prices
        elif (
            params.deterministic
            or estimated_seconds(inst) <= FLOW_SHARE_OF_BUDGET * params.time_limit_s
        ):
            self.weights = item_weights(inst)

    def construct(self) -> None:
        """The first plan (``_first_plan``; on the flow-first path later, from the flow), then
        descent and the repair of items left out.  Above the LP's size the LP rounding gives a
        far better start: a short descent here only improves the edges that seed the pricing
        LP."""
        if self.flow_first:
            return
        self.best, self.best_parts, self.method = _first_plan(
            self.inst, self.params, self.budget.deadline, self.lp_x
        )
        if self.best_parts is None:
            return
        self.note(self.method)
        until = self.budget.share_deadline(
            DESCENT_SHARE_OF_BUDGET if self.full_lp else EARLY_DESCENT_SHARE
        )
        best, moves = descend(self.inst, self.best, until)
        best, placed = repair_unassigned(self.inst, best, until)
        self.best = best
        if moves or placed:
            self.best_parts = evaluate(self.inst, best)
            self.method = f"{self.method}+descent"
            self.note("descent")

    def flow_relaxation(self) -> None:
        """The flow relaxation (its bound; above the pricing LP's size its solution is the one
        to round), greedy where the flow-first path has no flow, and the count limits priced
        into the flow on the second core, in a process that stops on its own before the
        budget ends (collected by ``collect_background_bounds``)."""
        if self.weights is None:
            return
        # The agents' prices go with the flow's solution into its rounding, where it is the
        # start.
        self.flow = flow_relaxation(self.inst, self.weights, with_prices=self.flow_first)
        if self.flow is not None:
            self.bound = max(self.bound, self.flow.bound)
            if self.flow_start:
                self.lp_x, self.lp_price = self.flow.x, self.flow.support_price
            self.note("flow relaxation bound")
        else:
            self.note("flow relaxation has no solution")
            if self.flow_first:
                self.best, self.best_parts, self.method = _first_plan(
                    self.inst, self.params, self.budget.deadline, None
                )
                self.note(self.method)
        if (
            self.flow_start
            and self.flow is not None
            and self.params.workers >= 2
            and not self.params.deterministic
        ):
            inst, weights, flow = self.inst, self.weights, self.flow
            target = flow.bound * (1 + COUNT_BOUND_TARGET_GAP)
            limit_s = self.budget.remaining() - FINISH_MARGIN_S
            self.counting = self.cleanup.enter_context(
                ForkedBound(
                    lambda: count_then_knapsack_bound(inst, weights, flow, target, limit_s),
                    "count-flow-bound",
                )
            )

    def repair_flow_counts(self) -> None:
        """Where the flow's solution is the one to round and the LP by pricing does not
        replace it (not ``lp_at_scale``): its cases on lawyers above their count limit placed
        again by the LP over them alone (``count_repair.repair_counts``), the rest held."""
        if not self.flow_start or self.lp_at_scale or self.lp_x is None:
            return
        limit_s = self.budget.seconds(COUNT_REPAIR_SHARE)
        if not self.params.deterministic and self.budget.remaining() < 2 * limit_s:
            return  # the flow took most of the budget: its rounding needs what is left
        repaired = repair_counts(
            self.inst,
            self.lp_x,
            limit_s,
            max_rounds=COUNT_REPAIR_ROUNDS,
        )
        if repaired is not None:
            self.lp_x = repaired.x
            self.note(
                f"count limits put back ({repaired.over_agents} lawyers over them, "
                f"{repaired.freed_items} cases placed again, {repaired.rounds} rounds)"
            )

    def pricing_at_scale(self) -> None:
        """Above the pricing LP's size with a long budget (``lp_at_scale``): the flow's
        rounding as the first plan, then the LP by pricing seeded with the flow's support and
        that plan's edges (the plan keeps the restricted LPs' values near the LP's from the
        first round).  Its solution replaces the flow's as the one to round.  Once its duals
        are near the LP's (``LP_AT_SCALE_DUAL_GAP``) the knapsack bound starts from them (at
        least the LP bound, which is at least the count-priced flow's) and the count-priced
        flow's process stops, freeing the second core for it.  County-L, rounded and
        descended: the flow's 5,876,486; the second round's 5,872,458; the converged LP's
        5,865,180."""
        if not self.lp_at_scale or self.flow is None:
            return
        inst, budget = self.inst, self.budget
        rounded = lp_rounding(inst, self.flow.x, self.flow.support_price)
        if feasibility_issues(inst, rounded):
            return  # ``round_relaxation`` falls back to greedy
        self.keep_if_better(rounded, evaluate(inst, rounded), "lp rounding")
        self.note("flow rounding")
        seed_edges = self.flow.x > 0
        rows = chosen_edges(inst, rounded)
        seed_edges[rows[rows >= 0]] = True
        priced = solve_lp_by_pricing(
            inst,
            budget.seconds(LP_AT_SCALE_SHARE),
            seed_edges,
            core_per_item=PRICING_CORE_PER_ITEM,
            start_x=self.flow.x,
        )
        self.bound = max(self.bound, priced.bound)
        if priced.rounds:
            self.lp_x, self.guide, self.prices = priced.x, priced.reduced_cost, priced.prices
            self.lp_price = None
        self.lp_duals_near = priced.rounds > 0 and (
            priced.converged
            or priced.restricted - priced.bound <= LP_AT_SCALE_DUAL_GAP * abs(priced.restricted)
        )
        if self.lp_duals_near and self.counting is not None:
            self.counting.close()
            self.counting = None
        self.note(
            f"lp bound by pricing ({priced.rounds} rounds"
            f"{', converged' if priced.converged else ''})"
        )

    def medium_bound(self) -> None:
        """Above the LP's size, unless the flow is the start: the LP by pricing (up to
        ``PRICING_MAX_EDGES``), seeded with the plan's edges and the flow's support, or where
        there is no flow with a Lagrangian relaxation's core; above ``PRICING_MAX_EDGES`` that
        Lagrangian is the bound and a greedy on its reduced costs a second start."""
        inst, budget = self.inst, self.budget
        if self.full_lp or self.best_parts is None or self.flow_start:
            return
        seed_edges = np.zeros(inst.n_edges, dtype=np.bool_)
        rows = chosen_edges(inst, self.best)
        seed_edges[rows[rows >= 0]] = True
        if self.flow is not None:
            # The flow's support is nearly the LP's: seeded with it the pricing LP needs no
            # Lagrangian steps to find its first core.
            seed_edges |= self.flow.x > 0
        else:
            lag = lagrangian_bound(
                inst,
                float(self.best_parts.total),
                # Without the pricing LP the Lagrangian is the only bound: it gets more time.
                time_limit_s=budget.seconds(
                    LAGRANGIAN_SHARE_OF_BUDGET
                    if inst.n_edges <= PRICING_MAX_EDGES
                    else LAGRANGIAN_ONLY_SHARE_OF_BUDGET
                ),
                max_iterations=LAGRANGIAN_ITERATIONS_PER_S * max(1, int(self.params.time_limit_s)),
                core=seed_edges | (cost_rank(inst) < LAGRANGIAN_CORE_PER_ITEM),
            )
            self.bound = max(self.bound, lag.bound)
            self.guide = lag.reduced_cost
            self.note("lagrangian bound")
        if inst.n_edges > PRICING_MAX_EDGES and self.guide is not None:
            guided = reduced_cost_greedy(inst, self.guide)
            guided, _ = descend(inst, guided, budget.share_deadline(GUIDED_DESCENT_SHARE))
            if self.keep_if_better(guided, evaluate(inst, guided), "lagrangian greedy+descent"):
                self.note("reduced-cost greedy")
        else:
            priced = solve_lp_by_pricing(
                inst,
                budget.seconds(PRICING_SHARE_OF_BUDGET),
                seed_edges,
                guide_cost=self.guide,
                core_per_item=PRICING_CORE_PER_ITEM,
                max_rounds=PRICING_ROUNDS if self.params.deterministic else None,
                # From the flow's basis (the LP less the count and quota rows).
                start_x=self.flow.x if self.flow is not None else None,
            )
            self.bound = max(self.bound, priced.bound)
            if priced.rounds:
                self.lp_x, self.guide, self.prices = priced.x, priced.reduced_cost, priced.prices
            self.note(f"lp bound by pricing ({priced.rounds} rounds)")
            # The knapsack bound starts from these duals (it once followed a Lagrangian polish
            # of the agent rows: +75 points in 2 s on county-M, which the knapsack bound's
            # first value exceeds by thousands).

    def start_knapsack_bound(self) -> None:
        """Above the exact size, from the LP's duals: each agent's knapsack solved whole at the
        LP's prices (at least the LP bound), then subgradient steps, on a thread of its own
        while this one rounds and improves.  Where the MIP over all edges does not run
        (``_mip_over_all_edges``) nothing else needs the second core: the bound takes it to the
        end."""
        inst, params, budget = self.inst, self.params, self.budget
        prices, best_parts = self.prices, self.best_parts
        if (
            prices is None
            or best_parts is None
            or inst.n_edges <= EXACT_MIP_MAX_EDGES
            or best_parts.total <= self.bound
            # On the flow-first path, only from duals near the LP's (the count-priced flow's
            # process has the second core otherwise).
            or (self.flow_start and not self.lp_duals_near)
        ):
            return
        beside_mip = _mip_over_all_edges(inst)
        limit_s = (
            budget.seconds(KNAPSACK_SHARE_BESIDE_MIP if beside_mip else KNAPSACK_SHARE_OF_BUDGET)
            if beside_mip or params.deterministic
            else max(0.1, budget.remaining() - FINISH_MARGIN_S)
        )
        max_iterations = (
            KNAPSACK_ITERATIONS_PER_S * max(1, int(params.time_limit_s))
            if params.deterministic
            else KNAPSACK_MAX_ITERATIONS
        )
        upper = float(best_parts.total)
        self.knapsack = _InBackground(
            lambda: knapsack_bound(
                inst, prices, upper, time_limit_s=limit_s, max_iterations=max_iterations
            ),
            "knapsack-bound",
        )

    def round_relaxation(self) -> None:
        """The relaxation's rounding with descent (on the flow-first path up to
        ``ROUNDING_DESCENT_SHARE`` of the budget, the flow's solution rounded with its agents'
        prices, ``lp_price``); where the LP was solved whole and the MIP over all edges does
        not run (load bands), the LP fixing's plan (``lp_fixing.py``) with descent; on medium
        instances noisy roundings after it; on the flow-first path greedy if the flow's rounding
        broke a rule."""
        inst, params, budget, lp_x = self.inst, self.params, self.budget, self.lp_x
        if lp_x is None:
            return
        rounded = lp_rounding(inst, lp_x, self.lp_price)
        if not feasibility_issues(inst, rounded):
            until = (
                budget.share_deadline(ROUNDING_DESCENT_SHARE)
                if self.flow_start
                else budget.deadline
            )
            rounded, _ = descend(inst, rounded, until)
            if self.keep_if_better(rounded, evaluate(inst, rounded), "lp rounding+descent"):
                self.note("lp rounding")
        if self.full_lp and not _mip_over_all_edges(inst):
            # Deterministic: the node limit is the work limit, the time a safety.
            seconds = (
                budget.safety_s
                if params.deterministic
                else min(budget.seconds(LP_FIXING_SHARE), budget.remaining())
            )
            nodes = LP_FIXING_NODES if params.deterministic else None
            fixed = (
                lp_fixed_plan(inst, lp_x, seconds, params.seed, nodes)
                if seconds > FINISH_MARGIN_S
                else None
            )
            if fixed is not None:
                fixed, _ = descend(inst, fixed, budget.deadline)
                if self.keep_if_better(fixed, evaluate(inst, fixed), "lp fixing+descent"):
                    self.note("lp fixing")
        if self.best_parts is not None and not self.full_lp and inst.n_edges <= PRICING_MAX_EDGES:
            best, parts, tried = noisy_roundings(
                inst, lp_x, self.best, self.best_parts, params, budget
            )
            self.keep_if_better(best, parts, "lp rounding+descent")
            if tried:
                self.note(f"noisy lp roundings ({tried})")
        if self.flow_first and self.flow is not None and self.best_parts is None:
            # The flow's rounding broke a rule (without a flow greedy was built before).
            self.best, self.best_parts, self.method = _first_plan(
                inst, self.params, budget.deadline, None
            )
            self.note(self.method)

    def improve(self) -> None:
        """Improvement with the time left: CP-SAT (deterministic, up to
        ``FULL_MIP_MAX_EDGES``), LNS with fixed step counts (deterministic, above), or
        ``improve_by_time``."""
        inst, params = self.inst, self.params
        if self.proven or self.budget.remaining() <= 0.05 or inst.n_edges == 0:
            return
        if params.deterministic and inst.n_edges <= EXACT_MIP_MAX_EDGES:
            # Small: the exact MIP first, its node limit the work limit (the time a safety:
            # a limit of the budget itself stopped it in some runs and not in others on a
            # loaded machine, and the plans differed).
            mip = solve_mip(
                inst,
                self.budget.safety_s,
                start=self.best,
                seed=params.seed,
                exact_bands=True,
                max_nodes=exact_mip_nodes(params.time_limit_s),
            )
            if mip.status != TIME_LIMIT_STATUS:
                if mip.agent_of_item is not None:
                    vec = mip.agent_of_item
                    self.keep_if_better(vec, evaluate(inst, vec), "mip")
                self.bound = max(self.bound, mip.bound)
            self.note(f"mip {mip.status.lower()}")
            if self.proven or self.budget.remaining() <= 0.05:
                return
        if params.deterministic and inst.n_edges <= FULL_MIP_MAX_EDGES:
            # CP-SAT's deterministic time is a work limit at any size (HiGHS's node limit is
            # one only while the time limit does not come first).
            result = solve_cpsat(inst, params, hint=self.best)
            if result.agent_of_item is not None:
                parts = evaluate(inst, result.agent_of_item)
                if self.best_parts is None or parts.total <= self.best_parts.total:
                    self.best, self.best_parts = result.agent_of_item, parts
                    self.method = f"{self.method}+cp-sat"
                self.bound = max(self.bound, result.bound)
            self.note(f"cp-sat {result.status.lower()}")
        elif params.deterministic:
            if self.best_parts is not None:
                self.best, _total, steps = improve(
                    inst,
                    self.best,
                    params,
                    self.budget.deadline,
                    self.lp_x,
                    lambda _vec, obj: self.record("lns", obj, self.bound),
                    neighbourhood_items=LNS_ITEMS,
                    step_time_s=LNS_STEP_S,
                    sub_solver="cpsat",
                    max_steps=max(1, int(params.time_limit_s / LNS_STEP_S)),
                )
                self.best_parts = evaluate(inst, self.best)
                self.method = f"{self.method}+lns ({steps} steps)"
        else:
            self.improve_by_time()

    def collect_background_bounds(self) -> None:
        """The knapsack bound's and the count-priced flow's results (they may close the
        gap)."""
        if self.knapsack is not None:
            knap = self.knapsack.result()
            self.bound = max(self.bound, knap.bound)
            self.note(f"knapsack bound ({knap.iterations} steps, first {knap.first_value:.0f})")
        if self.counting is not None:
            counted = self.counting.result(wait_s=self.budget.deadline - time.monotonic())
            if counted is not None:
                self.bound = max(self.bound, counted)
            self.note(
                "count-priced flow and knapsack bound"
                if counted is not None
                else "background bound: none"
            )

    def outcome(self) -> SearchOutcome:
        if self.best_parts is None:
            raise InfeasibleInstance(
                "no feasible assignment found (an item that must be assigned has no room)"
            )
        if self.inst.n_edges == 0:
            # No item can go anywhere: the one plan there is is optimal (the relaxations price
            # the agents' load bands at their loads outside the instance linearly, below what
            # the plan pays for them).
            self.bound = float(self.best_parts.total)
            self.note("no edges: the only plan")
        return SearchOutcome(
            agent_of_item=self.best,
            parts=self.best_parts,
            bound=min(self.bound, float(self.best_parts.total)),
            proven_optimal=self.proven,
            method=self.method,
            wall_time_s=time.monotonic() - self.start,
            phases=self.phases,
            constant_cost=constant_cost(self.inst),
        )

    def improve_by_time(self) -> None:
        """Improvement under a wall-clock budget: focused subproblems around unassigned items,
        then the exact MIP (small instances), or a MIP on the core problem (LP support,
        incumbent and the cheapest edges per item) followed by the MIP on all edges (medium: its
        dual bound may raise the bound) or by large-neighbourhood search on the core (large)."""
        inst, params, budget = self.inst, self.params, self.budget
        if self.best_parts is not None and self.waiting():
            # Items left out cost far more than anything else; subproblems over them find
            # the room before the whole MIP does.
            self.best = _place_waiting_items(
                inst,
                self.best,
                params,
                time.monotonic() + budget.remaining() * FOCUSED_SHARE_OF_REMAINING,
                self.lp_x,
            )
            self.best_parts = evaluate(inst, self.best)
            self.note("focused lns")
        exact = inst.n_edges <= EXACT_MIP_MAX_EDGES
        # Without the MIP over all edges: LNS on the core to the end, the second core left to
        # the knapsack bound.
        large = not exact and not _mip_over_all_edges(inst)
        background: _InBackground[MipResult] | None = None
        if self.best_parts is not None and not exact and not large and params.workers >= 2:
            # The MIP over all edges runs on the second core while this thread works on the
            # core problem.  HiGHS can run past its time limit by a second or more (phases it
            # does not interrupt), so it gets only a share of the time left.
            left = max(
                BACKGROUND_MIP_SHARE * budget.remaining(),
                budget.remaining() - BACKGROUND_MIP_OVERRUN_S,
            )
            start = self.best.copy()
            background = _InBackground(
                lambda: solve_mip(inst, left, start=start, seed=params.seed), "background-mip"
            )
        if self.best_parts is not None and not exact:
            self.improve_on_core(until_end=large or background is not None)
        if large:
            return
        if background is not None:
            mip = background.result()
        else:
            # HiGHS's limit covers its solve, not building the model and reading the answer
            # back.
            remaining = budget.remaining() - FINISH_MARGIN_S
            if remaining <= 0.05:
                return
            if exact:
                mip = self.exact_mip(remaining)
            else:
                mip = solve_mip(inst, remaining, start=self.best, seed=params.seed)
        if mip.agent_of_item is not None:
            vec, _ = descend(inst, mip.agent_of_item, budget.deadline)
            parts = evaluate(inst, vec)
            if self.best_parts is None or parts.total <= self.best_parts.total:
                self.best, self.best_parts = vec, parts
                self.method = "mip" if exact else f"{self.method}+mip"
        elif mip.status == "Infeasible":
            self.bound = float("inf")
        if exact or mip.agent_of_item is not None:
            self.bound = max(self.bound, mip.bound)
        self.note(f"mip {mip.status.lower()}")

    def improve_on_core(self, until_end: bool) -> None:
        """A MIP on the core problem, then (unless it proved the core optimal) LNS on the core,
        to the end of the budget if ``until_end``, else for a share of the time left."""
        inst, params, budget = self.inst, self.params, self.budget
        assert self.best_parts is not None
        core_mask = kept_edges(inst, core_edges(inst, self.best, self.lp_x, self.guide))
        core = with_edges(inst, core_mask)
        core_solved = False
        if core.n_edges <= CORE_MIP_MAX_EDGES and inst.n_items <= CORE_MIP_MAX_ITEMS:
            mip = solve_mip(
                core, core_mip_seconds(budget.remaining()), start=self.best, seed=params.seed
            )
            if mip.agent_of_item is not None:
                vec, _ = descend(inst, mip.agent_of_item, budget.deadline + DESCENT_GRACE_S)
                self.keep_if_better(vec, evaluate(inst, vec), f"{self.method}+core mip")
            self.note(f"core mip {mip.status.lower()}")
            # Solved to optimality (with load bands priced per tenth of an hour), the core has
            # nothing left for LNS on it to find.
            core_solved = mip.status == "Optimal"
        if core_solved and budget.remaining() > WIDER_CORE_MIN_S:
            # Search a wider core instead: more edges per item by cost and by reduced cost.
            # With little time left this thread stays idle instead, so that the MIP over all
            # edges has a core to itself for its root bound.
            core_mask = kept_edges(
                inst, core_edges(inst, self.best, self.lp_x, self.guide, WIDER_CORE_PER_ITEM)
            )
            core = with_edges(inst, core_mask)
            core_solved = False
        if core_solved:
            return
        rows = chosen_edges(inst, self.best)
        if not core_mask[rows[rows >= 0]].all():
            # Descent after the core MIP may have used edges outside the core.
            core_mask[rows[rows >= 0]] = True
            core = with_edges(inst, core_mask)
        lns_until = (
            budget.deadline - FINISH_MARGIN_S
            if until_end
            else time.monotonic() + CORE_LNS_SHARE_BEFORE_MIP * budget.remaining()
        )
        self.best, _total, steps = improve(
            core,
            self.best,
            params,
            lns_until,
            self.lp_x[core_mask] if self.lp_x is not None else None,
            lambda _vec, obj: self.record("lns", obj, self.bound),
            neighbourhood_items=CORE_LNS_ITEMS,
            step_time_s=LNS_STEP_S,
            sub_solver=LNS_SUB_SOLVER,
        )
        if inst.n_edges <= DESCENT_AFTER_STEP_MAX_EDGES:
            # Shift moves along edges outside the core (the LNS steps descend on the core
            # only); above this size one descent round takes longer than is left.
            self.best, _ = descend(inst, self.best, budget.deadline)
        self.best_parts = evaluate(inst, self.best)
        self.method = f"{self.method}+core lns ({steps} steps)"

    def exact_mip(self, time_limit_s: float) -> MipResult:
        """The MIP over all edges with load bands priced exactly (small instances), with
        CP-SAT on the otherwise idle second core beside it: on some small instances it finds a
        better plan first, and its bound counts too."""
        inst, params = self.inst, self.params
        rival: _InBackground[CpSatResult] | None = None
        if params.workers >= 2:
            hint = self.best.copy()
            rival = _InBackground(
                lambda: solve_cpsat(
                    inst, SearchParams(time_limit_s, 1, params.seed, False), hint=hint
                ),
                "background-cp-sat",
            )
        mip = solve_mip(inst, time_limit_s, start=self.best, seed=params.seed, exact_bands=True)
        if rival is not None:
            sat = rival.result()
            if sat.agent_of_item is not None:
                self.keep_if_better(sat.agent_of_item, evaluate(inst, sat.agent_of_item), "cp-sat")
                self.bound = max(self.bound, sat.bound)
            self.note(f"cp-sat {sat.status.lower()}")
        return mip


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


def core_mip_seconds(left_s: float) -> float:
    """The core MIP's time with ``left_s`` seconds left: ``CORE_MIP_SHARE_OF_REMAINING`` of
    it, or ``CORE_MIP_MIN_S`` where that share is shorter, up to ``CORE_MIP_MAX_SHARE``."""
    return max(
        CORE_MIP_SHARE_OF_REMAINING * left_s, min(CORE_MIP_MIN_S, CORE_MIP_MAX_SHARE * left_s)
    )


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
        rounded = lp_rounding(inst, lp_x)
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
