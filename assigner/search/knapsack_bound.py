"""The knapsack Lagrangian bound: the assignment rows priced, each agent's own rows kept whole.

Relaxing each item's "at most (or exactly) one agent" row with a price leaves one problem per
agent: which of its candidate items to take, within its weight capacity, paying the exact
load-band cost of the load it ends with.  That is a 0/1 knapsack with a staircase cost, solved
exactly by dynamic programming over the load, one weight class at a time (``knapsack_table``).
The LP keeps the same rows but lets an agent take fractions of items and pays bands per
fraction of an hour; here neither is allowed, so at the LP's own prices the value is at least
the LP bound, and it is a valid lower bound at any prices (Fisher's Lagrangian bound for the
generalised assignment problem).

Count limits and quotas are priced too (their multipliers start at the LP's duals); clique and
opposing-side rows are dropped, which a relaxation may do.  Only items whose priced cost is
negative can lower an agent's value (every band cost rises with load), so each agent's
knapsack holds just those.  At the LP's prices that is still most of its candidates (their
prices leave out the capacity and band prices the knapsack charges itself), so reduced-cost
fixing against the priced load row decides most of them before the dynamic programme; items
that tie at the LP's prices stay free, and an agent whose table would still be too large
counts at its priced-load value, also a bound.  Subgradient steps on all prices raise the
bound further (on county data they gain little once the LP's duals are the start: the duals
are degenerate).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt

from assigner.search.instance import MUST_ASSIGN, AssignmentInstance, item_minima
from assigner.search.knapsack_table import chosen_items, knapsack_table, weight_classes
from assigner.search.load_bands import band_arrays, band_cost
from assigner.search.step_scale import StepScale

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Polyak steps aim this share of the way from the best value so far to the plan's objective,
# and at most TARGET_MAX_RISE above the best value (a first plan may be far above it).  From
# the LP's duals on county-S, 2 s: 0.01 309,139; 0.003 309,275; 0.001 309,245.
TARGET_REACH = 0.5
TARGET_MAX_RISE = 0.003
STALL_STEPS = 8
MIN_STEP_SCALE = 1e-3
# An agent's knapsack table (weight classes times load cells) above this many cells is not
# built: the agent's value is then its priced-load bound (still valid, a little lower); at the
# limit the table's counts take 80 MB (int32), one agent's at a time.  County-L at a
# count-priced flow's prices (30 s of it, one-off script): every table fits, value 5,791,177 in
# 3.7-4.1 s; the item-by-item table (items times load cells) this replaced left 277 agents at
# their priced-load bound under the same limit, 5,788,051 in 4.1 s, and needed 27 s for them all.
MAX_CELLS = 20_000_000
# Where the first evaluation valued some agents at their priced-load bound and the time left
# allows it by estimate (the first evaluation's time times WIDE_TIME_FACTOR), one evaluation
# with tables up to WIDE_CELLS, at the starting prices.  Measured with the item-by-item tables:
# county-L at the LP's duals, 20M cells 5,815,274 in 3.9 s (290 agents at the priced-load
# bound), 200M 5,818,422 in 31.6 s (none); by weight class no county agent needs it.  A cell
# of the weight-class table holds an int32 count (the item-by-item table's held a boolean), so
# 50M cells take the 200 MB that the item-by-item table's 200M took.
WIDE_CELLS = 50_000_000
WIDE_TIME_FACTOR = 12.0


@dataclass(frozen=True)
class Prices:
    """Multipliers of the relaxed rows, in the LP's sign conventions (``lp_bound`` model)."""

    item: F64  # per item; <= 0 for an optional item (its row is "at most one")
    count: F64  # per agent, >= 0: price of one more item on the agent
    quota: F64  # per agent, in [0, quota_points]: credit for an item while still short


@dataclass(frozen=True)
class KnapsackBoundResult:
    bound: float  # proven lower bound, rounded up (costs are integers); -inf when none
    first_value: float  # the value at the starting prices (before any step)
    iterations: int
    wall_time_s: float


class KnapsackRelaxation:
    """Evaluates the relaxation at given prices: its value and the subgradient."""

    def __init__(self, inst: AssignmentInstance) -> None:
        self.inst = inst
        must = inst.unassigned_penalty == MUST_ASSIGN
        self.must = must
        self.penalty = np.where(must, 0, inst.unassigned_penalty).astype(np.float64)
        self.short = (
            np.maximum(inst.quota_short, 0).astype(np.float64)
            if inst.quota_short is not None and inst.quota_points
            else np.zeros(inst.n_agents)
        )
        self.quota_points = float(inst.quota_points) if inst.quota_short is not None else 0.0
        item = inst.edge_item
        allowed = np.ones(inst.n_edges, dtype=np.bool_)
        forced = np.zeros(inst.n_edges, dtype=np.bool_)
        if inst.fixed_agent is not None:
            fixed = inst.fixed_agent[item]
            forced = (fixed >= 0) & (inst.edge_agent == fixed)
            allowed = fixed < 0  # a fixed item's other edges are never used
        free = np.flatnonzero(allowed).astype(np.int64)
        # By agent (edge order within each), so that each evaluation's candidates come out
        # grouped by agent without sorting them again.
        self.free_edges = free[np.argsort(inst.edge_agent[free], kind="stable")]
        self.free_agent = inst.edge_agent[self.free_edges]
        self.free_item = item[self.free_edges]
        # penalty is float64 already, so the difference is too.
        self.free_cost = inst.edge_cost[self.free_edges] - self.penalty[self.free_item]
        self.forced_edges = np.flatnonzero(forced).astype(np.int64)
        self.forced_load = np.bincount(
            inst.edge_agent[self.forced_edges],
            weights=inst.edge_weight[self.forced_edges],
            minlength=inst.n_agents,
        ).astype(np.int64)
        self.base = inst.base().astype(np.int64)
        self.room = np.maximum(inst.capacity - self.forced_load, 0).astype(np.int64)
        self.thresholds, self.points, self.units = band_arrays(inst)
        self.inexact_agents = 0  # at the last evaluation: agents valued at the priced load

    def project(self, p: Prices) -> Prices:
        item = np.where(self.must, p.item, np.minimum(p.item, 0.0))
        return Prices(
            item=item,
            count=np.maximum(p.count, 0.0),
            quota=np.clip(p.quota, 0.0, self.quota_points),
        )

    def evaluate(self, p: Prices, max_cells: int | None = None) -> tuple[float, I64]:
        """Value at ``p`` (a lower bound on the optimum) and the edges the agents take (forced
        edges included); an agent whose table would exceed ``max_cells`` (default
        ``MAX_CELLS``) counts at its priced-load value."""
        inst = self.inst
        priced = self.free_cost - p.item[self.free_item] + (p.count - p.quota)[self.free_agent]
        pays = priced < 0
        cand = self.free_edges[pays]
        cand_cost = priced[pays]
        cand_agent = self.free_agent[pays]
        offsets = np.searchsorted(cand_agent, np.arange(inst.n_agents + 1)).astype(np.int64)
        fa = self.forced_edges
        forced_cost = (
            inst.edge_cost[fa]
            - self.penalty[inst.edge_item[fa]]
            - p.item[inst.edge_item[fa]]
            + p.count[inst.edge_agent[fa]]
            - p.quota[inst.edge_agent[fa]]
        )
        agent_value, take, exact = _agent_knapsacks(
            offsets,
            inst.edge_weight[cand].astype(np.int64),
            cand_cost,
            self.room,
            self.base + self.forced_load,
            self.thresholds,
            self.points,
            self.units,
            MAX_CELLS if max_cells is None else max_cells,
        )
        taken = np.concatenate([cand[take], fa])
        self.inexact_agents = int(np.sum(~exact))
        value = (
            float(self.penalty.sum())
            + float(p.item.sum())
            - float(p.count @ inst.max_count)
            + float(p.quota @ self.short)
            + float(agent_value.sum())
            + float(forced_cost.sum())
        )
        return value, taken

    def subgradient(self, taken: I64) -> Prices:
        inst = self.inst
        per_item = np.bincount(inst.edge_item[taken], minlength=inst.n_items)
        count = np.bincount(inst.edge_agent[taken], minlength=inst.n_agents)
        return Prices(
            item=1.0 - per_item.astype(np.float64),
            count=count.astype(np.float64) - inst.max_count.astype(np.float64),
            quota=self.short - count.astype(np.float64),
        )

    def step_norm2(self, p: Prices, g: Prices) -> float:
        """Squared norm of the part of ``g`` the projection lets move."""
        item = np.where(~self.must & (p.item >= 0) & (g.item > 0), 0.0, g.item)
        count = np.where((p.count <= 0) & (g.count < 0), 0.0, g.count)
        quota = np.where(
            ((p.quota <= 0) & (g.quota < 0)) | ((p.quota >= self.quota_points) & (g.quota > 0)),
            0.0,
            g.quota,
        )
        return float(item @ item + count @ count + quota @ quota)


ITEM_DUAL_SHARE = 0.4
"""Where ``item_duals_for_knapsack`` puts an item's dual in its range, from its own edge (0) to
its next option (1).  The knapsack bound's first value at the LP's duals (one-off script, the
same LP each):

| share | county-S | county-M | county-L |
| --- | --- | --- | --- |
| as simplex left them | 308,895 | 1,503,892 (from the flow's basis 1,503,402) | 5,815,274 |
| 0 | 308,972 | | |
| 0.3 | 309,203 | 1,504,355 | 5,816,065 |
| 0.4 | 309,181 | 1,504,389 | |
| 0.5 | 309,160 | 1,504,392 | 5,816,033 |
| 0.7 | 309,111 | 1,504,347 | 5,815,872 |
| 1 | 308,905 | 1,503,871 | 5,815,208 |
"""


def item_duals_for_knapsack(
    inst: AssignmentInstance, item_dual: F64, reduced_cost: F64, x: F64
) -> F64:
    """The item rows' duals of an optimal LP solution moved, each with every other dual kept,
    to ``ITEM_DUAL_SHARE`` of the range dual feasibility leaves it.

    An item the LP gives whole to one edge (``x`` = 1, its upper bound, where a negative reduced
    cost is feasible) has a range of optimal duals: from its own edge's price (that edge's
    reduced cost zero) up to the price at which another of its edges (``x`` < 1) would price
    out, and no higher than zero for an item that may stay out (its row is "at most one").
    Anywhere in it the edge's bound term makes up the difference, so the LP's dual value stays
    the same; simplex leaves the dual wherever its basis puts it (from the flow's basis, mostly
    at the bottom).  The knapsack bound, whose lawyers pay their hours by their own knapsacks
    rather than by the LP's prices, is highest with the item priced between its own edge and
    its next option (``ITEM_DUAL_SHARE``), and then depends far less on where simplex left it
    (county-M: the same value from the flow's basis and cold).  Items not held whole, and fixed
    items, keep theirs.  Any item prices give a valid knapsack bound, so the same move serves
    prices read off a relaxation that is not the LP (``prices_from_agents`` with ``x``), where
    the range is from the item's cheapest option to its next."""
    whole = x >= 1 - 1e-9
    held = np.bincount(inst.edge_item[whole], minlength=inst.n_items) > 0
    # The held edge's reduced cost (<= 0 at its upper bound; 0 for the others' items).
    own = np.minimum(item_minima(inst, np.where(whole, reduced_cost, 0.0)), 0.0)
    low = item_dual + own
    high = item_dual + item_minima(inst, np.where(whole, np.inf, reduced_cost))
    optional = inst.unassigned_penalty != MUST_ASSIGN
    high[optional] = np.minimum(high[optional], 0.0)
    moved = held & np.isfinite(high) & (high >= low)
    if inst.fixed_agent is not None:
        moved &= inst.fixed_agent < 0
    return np.where(moved, low + ITEM_DUAL_SHARE * (high - low), item_dual)


def prices_from_agents(
    inst: AssignmentInstance,
    per_weight: F64,
    count: F64,
    quota: F64 | None = None,
    x: F64 | None = None,
) -> Prices:
    """Item prices read off agent prices (per unit of weight, per item, and the quota credit
    per item; e.g. a flow relaxation's): each item at its cheapest option at those prices, the
    LP's item dual when the agent prices are the LP's.  With ``x``, the relaxation's solution
    at those prices, the items it holds whole on one edge are priced within their range as the
    LP's duals are (``item_duals_for_knapsack``): county-L's knapsack bound at a count-priced
    flow's prices (30 s of it, one-off script) starts at 5,788,051 against 5,784,933 at each
    item's cheapest option."""
    credit = np.zeros(inst.n_agents) if quota is None else quota
    option = (
        inst.edge_cost
        + per_weight[inst.edge_agent] * inst.edge_weight
        + (count - credit)[inst.edge_agent]
    )
    if inst.fixed_agent is not None:
        fixed = inst.fixed_agent[inst.edge_item]
        option = np.where((fixed >= 0) & (inst.edge_agent != fixed), np.inf, option)
    cheapest = np.full(inst.n_items, np.inf)
    np.minimum.at(cheapest, inst.edge_item, option)
    must = inst.unassigned_penalty == MUST_ASSIGN
    penalty = np.where(must, 0, inst.unassigned_penalty).astype(np.float64)
    # Shifted by the penalty as in the LP model: an optional item's price is at most zero.
    item = np.where(must, cheapest, np.minimum(cheapest, penalty) - penalty)
    if x is not None:
        if x.shape != (inst.n_edges,):
            raise ValueError(f"x has shape {x.shape}; it needs one value per edge ({inst.n_edges})")
        # Reduced costs in the LP's terms, where an optional item's edges cost their penalty
        # less.
        reduced = option - penalty[inst.edge_item] - item[inst.edge_item]
        item = item_duals_for_knapsack(inst, item, reduced, x)
    return Prices(
        item=np.where(np.isfinite(item), item, 0.0),
        count=count.astype(np.float64),
        quota=credit.astype(np.float64),
    )


def knapsack_bound(
    inst: AssignmentInstance,
    start: Prices,
    upper_bound: float,
    time_limit_s: float,
    max_iterations: int = 1_000,
) -> KnapsackBoundResult:
    """The relaxation's value at ``start`` (e.g. the LP's duals), then projected subgradient
    steps aimed between the best value and ``upper_bound`` (a plan's objective) while one more
    step (timed as the last one) fits in ``time_limit_s``, at most ``max_iterations``.  Every
    value is a proven lower bound."""
    began = time.monotonic()
    relax = KnapsackRelaxation(inst)
    p = relax.project(start)
    value, taken = relax.evaluate(p)
    step_s = time.monotonic() - began  # a step costs about one evaluation
    if relax.inexact_agents and time.monotonic() - began + WIDE_TIME_FACTOR * step_s <= (
        time_limit_s
    ):
        wide_value, wide_taken = relax.evaluate(p, WIDE_CELLS)
        if wide_value > value:
            value, taken = wide_value, wide_taken
    first = value
    best = value
    scale = StepScale(1.0, STALL_STEPS, MIN_STEP_SCALE)
    iterations = 0
    while iterations < max_iterations and time.monotonic() - began + step_s <= time_limit_s:
        iterations += 1
        step_began = time.monotonic()
        g = relax.subgradient(taken)
        norm2 = relax.step_norm2(p, g)
        if norm2 <= 1e-12 or best >= upper_bound:
            break
        target = best + TARGET_REACH * min(upper_bound - best, TARGET_MAX_RISE * abs(best))
        step = scale.value * (target - value) / norm2
        p = relax.project(
            Prices(p.item + step * g.item, p.count + step * g.count, p.quota + step * g.quota)
        )
        value, taken = relax.evaluate(p)
        step_s = time.monotonic() - step_began
        scale.record(value > best + 1e-9)
        best = max(best, value)
        if scale.exhausted:
            break
    bound = float(math.ceil(best - 1e-6)) if np.isfinite(best) else best
    return KnapsackBoundResult(bound, first, iterations, time.monotonic() - began)


@nb.njit(cache=True)
def _step_ends(
    a: int, load0: int, room: int, thresholds: np.ndarray, units: np.ndarray
) -> np.ndarray:
    """The added loads in [0, room] where the band cost is about to rise (the right ends of
    its flat pieces), with 0 and ``room``: for any price per unit of load >= 0, the cheapest
    (band cost - price x load) over [0, room] is at one of them."""
    n = 2
    for k in range(units.shape[0]):
        first = thresholds[a, k] - load0
        if first < 0:
            first = first % units[k]  # next multiple of the unit above the threshold
        if first <= room:
            n += (room - first) // units[k] + 1
    out = np.empty(n, dtype=np.int64)
    out[0] = 0
    out[1] = room
    pos = 2
    for k in range(units.shape[0]):
        first = thresholds[a, k] - load0
        if first < 0:
            first = first % units[k]
        load = first
        while load <= room:
            out[pos] = load
            pos += 1
            load += units[k]
    return out


@nb.njit(cache=True)
def _priced_value(
    pi: float,
    cost: np.ndarray,
    weight: np.ndarray,
    lo: int,
    hi: int,
    ends: np.ndarray,
    band_at_end: np.ndarray,
) -> tuple[float, float]:
    """D(pi) = sum_j min(0, cost_j + pi w_j) + min_L (band(L) - pi L), a lower bound on the
    agent's knapsack for any pi >= 0 (the load row priced at pi), and its slope in pi."""
    value = 0.0
    slope = 0.0
    for j in range(lo, hi):
        d = cost[j] + pi * weight[j]
        if d < 0:
            value += d
            slope += weight[j]
    best = np.inf
    arg = 0
    for t in range(ends.shape[0]):
        v = band_at_end[t] - pi * ends[t]
        if v < best or (v == best and ends[t] > arg):
            best = v
            arg = ends[t]
    return value + best, slope - arg


@nb.njit(cache=True, nogil=True)
def _agent_knapsacks(
    offsets: np.ndarray,
    weight: np.ndarray,
    cost: np.ndarray,
    room: np.ndarray,
    load0: np.ndarray,
    thresholds: np.ndarray,
    points: np.ndarray,
    units: np.ndarray,
    max_cells: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per agent: the cheapest set of its candidates (all of negative cost) within ``room``,
    plus the band cost of the load it ends with.

    First the load row is priced (the best price by bisection on the slope): a lower bound
    ``D`` and reduced costs ``d_j``.  A feasible set gives an upper value ``U``; an item whose
    |d_j| exceeds ``U - D`` is in (or out of) every optimal set.  The items left go into a 0/1
    knapsack over the load in steps of their common divisor, built one weight class at a time
    (``knapsack_table``), which gives the exact value.  When that table (weight classes times
    load cells) would exceed ``max_cells`` the agent's value is ``D`` instead (still a bound).
    Returns each agent's value, the chosen candidates and whether each value is exact."""
    n_agents = offsets.shape[0] - 1
    value = np.zeros(n_agents)
    exact = np.ones(n_agents, dtype=np.bool_)
    take = np.zeros(weight.shape[0], dtype=np.bool_)
    for a in range(n_agents):
        lo = offsets[a]
        hi = offsets[a + 1]
        base = load0[a]
        empty = float(band_cost(thresholds, points, units, a, base))
        if hi == lo:
            value[a] = empty
            continue
        ends = _step_ends(a, base, room[a], thresholds, units)
        band_at_end = np.empty(ends.shape[0])
        for t in range(ends.shape[0]):
            band_at_end[t] = band_cost(thresholds, points, units, a, base + ends[t])
        # The best price of the load row: D is concave in pi.
        pi_lo = 0.0
        pi_hi = 0.0
        for j in range(lo, hi):
            if weight[j] > 0 and -cost[j] / weight[j] > pi_hi:
                pi_hi = -cost[j] / weight[j]
        best_d, slope = _priced_value(0.0, cost, weight, lo, hi, ends, band_at_end)
        pi = 0.0
        if slope > 0:
            for _ in range(40):
                mid = 0.5 * (pi_lo + pi_hi)
                d_mid, s_mid = _priced_value(mid, cost, weight, lo, hi, ends, band_at_end)
                if d_mid > best_d:
                    best_d = d_mid
                    pi = mid
                if s_mid > 0:
                    pi_lo = mid
                else:
                    pi_hi = mid
                if pi_hi - pi_lo < 1e-9 * (1.0 + pi_hi):
                    break
        # A feasible set: items by reduced cost, each kept while it fits and lowers the
        # exact value (many items tie at reduced cost zero at the LP's prices).
        k = hi - lo
        reduced = np.empty(k)
        for j in range(k):
            reduced[j] = cost[lo + j] + pi * weight[lo + j]
        order = np.argsort(reduced)
        load = 0
        upper = empty
        in_upper = np.zeros(k, dtype=np.bool_)
        for t in range(k):
            j = lo + order[t]
            if load + weight[j] > room[a]:
                continue
            with_j = (
                upper
                + cost[j]
                + band_cost(thresholds, points, units, a, base + load + weight[j])
                - band_cost(thresholds, points, units, a, base + load)
            )
            if with_j < upper:
                upper = with_j
                load += weight[j]
                in_upper[order[t]] = True
        slack = upper - best_d + 1e-7 * (1.0 + abs(upper))
        # Reduced-cost fixing, then the knapsack over the items left.
        fixed_load = 0
        fixed_cost = 0.0
        free_w = 0
        n_free = 0
        step = 0
        state = np.zeros(k, dtype=np.int8)  # 1 in, -1 out, 0 free
        for j in range(k):
            if reduced[j] > slack:
                state[j] = -1
            elif -reduced[j] > slack:
                state[j] = 1
                fixed_load += weight[lo + j]
                fixed_cost += cost[lo + j]
            else:
                n_free += 1
                free_w += weight[lo + j]
                x = step
                y = weight[lo + j]
                while y:
                    x, y = y, x % y
                step = x
        if step == 0:
            step = 1
        cells = -1 if fixed_load > room[a] else min(room[a] - fixed_load, free_w) // step
        free = np.empty(n_free, dtype=np.int64)
        free_weight = np.empty(n_free, dtype=np.int64)
        free_cost = np.empty(n_free)
        pos = 0
        for j in range(k):
            if state[j] == 0:
                free[pos] = j
                free_weight[pos] = weight[lo + j] // step
                free_cost[pos] = cost[lo + j]
                pos += 1
        order, starts = weight_classes(free_weight, free_cost)
        if cells < 0 or (cells + 1) * starts.shape[0] > max_cells:
            # The bound is D; the set handed to the subgradient is the feasible one.
            value[a] = best_d
            exact[a] = False
            for j in range(k):
                take[lo + j] = in_upper[j]
            continue
        best, counts, reach = knapsack_table(free_weight, free_cost, cells, order, starts)
        arg = -1
        best_value = np.inf
        for cell in range(reach + 1):
            if best[cell] < np.inf:
                v = best[cell] + band_cost(
                    thresholds, points, units, a, base + fixed_load + cell * step
                )
                if v < best_value:
                    best_value = v
                    arg = cell
        value[a] = fixed_cost + best_value
        for j in range(k):
            if state[j] == 1:
                take[lo + j] = True
        chosen = np.zeros(n_free, dtype=np.bool_)
        chosen_items(free_weight, arg, counts, order, starts, chosen)
        for f in range(n_free):
            if chosen[f]:
                take[lo + free[f]] = True
    return value, take, exact
