"""The LP relaxation as a min-cost flow of hours: a lower bound and a fractional plan at county
scale, where the LP itself takes minutes.

When every item weighs the same on each of its edges (a case's workload hours do not depend on
the lawyer), the LP relaxation without the count-capacity and quota rows and without the group
rules is a transportation problem in weight units: each item sends its weight to its agents (at
``cost / weight`` per unit) or, if it may stay out, to the sink at ``penalty / weight`` per unit;
each agent passes at most its free capacity on to the sink, its load-band cost (each band priced
per unit above its threshold, the rounding up of started hours relaxed) as convex arcs.
Dropping rows only lowers the optimum and unit costs are rounded down to ``1 / COST_SCALE``
point, so the flow's optimum is a valid lower bound on the integer optimum.  A basic optimal
flow splits only a few items (those on the agents whose capacity or band binds): the rest are
whole, which makes the flow a good start for rounding.

OR-Tools' min-cost flow cannot be interrupted, so the caller checks ``estimated_seconds``
against its budget first.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit
from ortools.graph.python import min_cost_flow

from assigner.search.instance import I64, MUST_ASSIGN, AssignmentInstance
from assigner.search.step_scale import StepScale

F64 = npt.NDArray[np.float64]

COST_SCALE = 1_000
"""Unit costs in thousandths of a point: the bound loses less than total weight / 1,000 points
(county-L: under 0.1% of the objective)."""
SECONDS_PER_ARC = 2.5e-6
"""Measured solve time per arc on county-L (6.3M arcs in 14.7 s on the benchmark machine), with
some room; used only to decide whether the flow fits a budget."""
CORE_PER_ITEM = 8
"""``count_flow_bound``'s first core: each item's this many cheapest edges."""
SAMPLE_FRACTION = 0.05
"""``count_flow_bound`` chooses its first core at the agent prices of this share of the items."""
PLAIN_FIRST_SHARE = 0.6
"""``count_flow_bound`` without a ``start`` solves the plain flow first when its estimated time
is at most this share of the time limit."""
_NO_ARC = 2**60
"""A unit cost no arc reaches: no option (an agent price that keeps every arc out)."""


@dataclass(frozen=True)
class FlowRelaxation:
    bound: float  # proven lower bound on the instance's optimum (integer: rounded up)
    x: F64  # per edge, the share of its item's weight the flow sends along it
    wall_time_s: float
    # Per agent, the price of a unit of weight (points) at the flow's optimum, read off the
    # residual graph of its support (``support_prices``); None where not computed.
    support_price: F64 | None = dataclasses.field(default=None, kw_only=True)


def item_weights(inst: AssignmentInstance) -> I64 | None:
    """Each item's weight when it is the same on all of the item's edges, else None."""
    weight = np.zeros(inst.n_items, dtype=np.int64)
    weight[inst.edge_item] = inst.edge_weight
    if not np.array_equal(weight[inst.edge_item], inst.edge_weight):
        return None
    return weight


def estimated_seconds(inst: AssignmentInstance) -> float:
    return SECONDS_PER_ARC * (inst.n_edges + inst.n_items + 3 * inst.n_agents)


@dataclass(frozen=True)
class _Network:
    """The relaxation's flow network.  Nodes: items ``0..n-1``, agents ``n..n+m-1``, the sink
    ``n+m``.  Arcs: each sending item's edges (``rows``), each optional sending item to the sink,
    the agents' band segments to the sink."""

    n: int
    m: int
    weight: I64  # per item
    rows: I64  # edge rows of the sending items (sorted by item)
    row_item: I64
    row_agent: I64
    row_weight: I64
    row_cost: I64  # edge cost * COST_SCALE (the unit cost is this // row_weight)
    optional: I64  # sending items that may stay out
    optional_cost: I64  # their unit cost to the sink
    seg_tail: I64  # agent (0..m-1)
    seg_cap: I64
    seg_cost: I64
    supply: I64
    constant: float  # fixed edges, items without edges, band constant (weightless items apart)
    weightless_rows: I64  # edge rows of the free weightless items with edges (sorted by item)
    weightless_penalty: I64  # per such row: its item's penalty scaled (-1: must assign)
    on_fixed: npt.NDArray[np.bool_]  # per edge
    fixed_count: I64  # per agent: its fixed items


def _network(inst: AssignmentInstance, weight: I64) -> _Network | None:
    """The network; None when it has no solution for reasons seen before solving (a fixed item
    off its edges or over capacity, a must-assign item without edges)."""
    n, m = inst.n_items, inst.n_agents
    fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(n, -1, dtype=np.int32)
    edge_fixed = fixed[inst.edge_item] >= 0
    on_fixed = edge_fixed & (inst.edge_agent == fixed[inst.edge_item])
    if int(on_fixed.sum()) != int(np.sum(fixed >= 0)):
        return None
    fixed_load = np.bincount(
        inst.edge_agent[on_fixed], weights=inst.edge_weight[on_fixed], minlength=m
    ).astype(np.int64)
    base = inst.base() + fixed_load
    capacity = inst.capacity - fixed_load
    if np.any(capacity < 0):
        return None
    constant = float(inst.edge_cost[on_fixed].sum())

    penalty = inst.unassigned_penalty
    has_edge = np.diff(inst.item_offsets) > 0
    free = fixed < 0
    if np.any(free & ~has_edge & (penalty == MUST_ASSIGN)):
        return None
    constant += float(penalty[free & ~has_edge].sum())
    # Weightless items send nothing: each costs its cheapest option (``_weightless``).
    weightless = free & has_edge & (weight == 0)
    weightless_rows = np.flatnonzero(weightless[inst.edge_item]).astype(np.int64)
    wl_penalty = penalty[inst.edge_item[weightless_rows]].astype(np.int64)
    wl_penalty = np.where(wl_penalty == MUST_ASSIGN, -1, wl_penalty * COST_SCALE)

    sending = free & has_edge & (weight > 0)
    rows = np.flatnonzero(sending[inst.edge_item]).astype(np.int64)
    optional = np.flatnonzero(sending & (penalty != MUST_ASSIGN)).astype(np.int64)
    seg_tail, seg_cap, seg_cost, band_constant = _band_segments(inst, base, capacity)
    supply = np.zeros(n + m + 1, dtype=np.int64)
    supply[:n] = np.where(sending, weight, 0)
    supply[n + m] = -int(supply[:n].sum())
    row_weight = inst.edge_weight[rows].astype(np.int64)
    return _Network(
        n=n,
        m=m,
        weight=weight,
        rows=rows,
        row_item=inst.edge_item[rows].astype(np.int64),
        row_agent=inst.edge_agent[rows].astype(np.int64),
        row_weight=row_weight,
        row_cost=inst.edge_cost[rows].astype(np.int64) * COST_SCALE,
        optional=optional,
        optional_cost=(penalty[optional].astype(np.int64) * COST_SCALE) // weight[optional],
        seg_tail=seg_tail,
        seg_cap=seg_cap,
        seg_cost=seg_cost,
        supply=supply,
        constant=constant + band_constant,
        weightless_rows=weightless_rows,
        weightless_penalty=wl_penalty,
        on_fixed=on_fixed,
        fixed_count=np.bincount(inst.edge_agent[on_fixed], minlength=m).astype(np.int64),
    )


def _run_min(values: I64, group: I64) -> tuple[I64, I64]:
    """Minimum of ``values`` over each run of equal ``group`` (sorted), and the position of its
    first occurrence."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    is_start = np.r_[True, group[1:] != group[:-1]]
    starts = np.flatnonzero(is_start)
    mins = np.minimum.reduceat(values, starts)
    run = np.cumsum(is_start) - 1
    hits = np.flatnonzero(values == mins[run])
    _, first = np.unique(run[hits], return_index=True)
    return mins, hits[first]


def _weightless(inst: AssignmentInstance, net: _Network, mu: I64) -> tuple[int, I64]:
    """The weightless items' part (scaled by COST_SCALE) with count prices ``mu`` (scaled,
    per agent): each takes its cheapest edge priced ``cost + mu`` or stays out at its penalty;
    and the edge rows they take."""
    rows = net.weightless_rows
    if rows.size == 0:
        return 0, rows
    value = inst.edge_cost[rows].astype(np.int64) * COST_SCALE + mu[inst.edge_agent[rows]]
    mins, first = _run_min(value, inst.edge_item[rows].astype(np.int64))
    penalty = net.weightless_penalty[first]
    take = (penalty < 0) | (mins <= penalty)
    return int(np.where(take, mins, penalty).sum()), rows[first[take]]


def _arcs(net: _Network, core: I64, unit: I64) -> tuple[I64, I64, I64, I64]:
    """Tails, heads, capacities and costs of the arcs of rows ``core`` (positions in
    ``net.rows``) at unit costs ``unit`` (per core row), then the penalty and segment arcs."""
    n, m = net.n, net.m
    tails = np.concatenate([net.row_item[core], net.optional, n + net.seg_tail])
    heads = np.concatenate(
        [
            n + net.row_agent[core],
            np.full(net.optional.size + net.seg_tail.size, n + m, dtype=np.int64),
        ]
    )
    caps = np.concatenate([net.row_weight[core], net.weight[net.optional], net.seg_cap])
    costs = np.concatenate([unit, net.optional_cost, net.seg_cost])
    return tails, heads, caps, costs


def _flow_network(
    net: _Network, core: I64, unit: I64
) -> tuple[min_cost_flow.SimpleMinCostFlow, I64, I64, I64, I64]:
    """The solver loaded with ``_arcs(net, core, unit)`` and the supplies; and those arcs'
    tails, heads, capacities, costs."""
    tails, heads, caps, costs = _arcs(net, core, unit)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_nodes_supplies(np.arange(net.n + net.m + 1), net.supply)
    return flow, tails, heads, caps, costs


def _edge_shares(
    inst: AssignmentInstance, net: _Network, core: I64, shares: F64, weightless_taken: I64
) -> F64:
    """Per edge, the share of its item's weight a flow sends along it: ``shares`` along the
    network rows ``core`` (positions in ``net.rows``), the weightless items' ``weightless_taken``
    edges and the fixed items' edges whole."""
    x = np.zeros(inst.n_edges)
    x[net.rows[core]] = shares
    x[weightless_taken] = 1.0
    x[net.on_fixed] = 1.0
    return x


def _solve_every_row(net: _Network, unit: I64) -> tuple[int, I64] | None:
    """The flow over every row at unit costs ``unit``: its optimal cost and every arc's flow
    (in ``_arcs``'s order), or None when it has no solution.  Only the solver holds the arcs
    while it solves (county-L: 6.3 million), and it is freed before the flows are used."""
    flow = _flow_network(net, np.arange(net.rows.size), unit)[0]
    if flow.solve() != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        return None
    return int(flow.optimal_cost()), flow.flows(np.arange(flow.num_arcs()))


def _network_of(inst: AssignmentInstance, weight: I64 | None) -> _Network | None:
    """The flow network, the item weights read from the instance unless given; None when
    weights depend on the agent or the network has no room for a fixed item."""
    if weight is None:
        weight = item_weights(inst)
    return None if weight is None else _network(inst, weight)


def flow_relaxation(
    inst: AssignmentInstance, weight: I64 | None = None, *, with_prices: bool = False
) -> FlowRelaxation | None:
    """Solve the flow relaxation; None when it does not apply (weights depend on the agent) or
    has no solution (a must-assign item cannot be placed even fractionally: the caller's other
    bounds then speak).  ``weight``: ``item_weights(inst)`` when the caller has it already.
    ``with_prices``: read the agents' prices off the flow's support too (``support_price``, for
    the rounding of the flow's solution)."""
    start = time.monotonic()
    net = _network_of(inst, weight)
    if net is None:
        return None
    unit = net.row_cost // net.row_weight
    solved = _solve_every_row(net, unit)
    if solved is None:
        return None
    cost, flows = solved
    wl_value, wl_taken = _weightless(inst, net, np.zeros(net.m, dtype=np.int64))
    value = (cost + wl_value) / COST_SCALE + net.constant
    core = np.arange(net.rows.size)
    x = _edge_shares(inst, net, core, flows[: core.size] / net.row_weight, wl_taken)
    bound = float(math.ceil(value - 1e-6))
    price = support_prices(net, unit, flows) if with_prices else None
    return FlowRelaxation(bound, x, time.monotonic() - start, support_price=price)


def support_prices(net: _Network, unit: I64, flows: I64) -> F64:
    """Per agent, the price of a unit of weight (points) at an optimal flow ``flows`` of the
    whole network (every row at unit costs ``unit``, then the penalty and segment arcs, as
    ``_arcs`` orders them): node potentials of the flow's residual graph, computed on its
    support and every penalty and segment arc, with any empty row arc that those potentials
    price below zero added until none does.  They are then the whole residual graph's
    potentials: distances in a subgraph are at least the whole graph's, and distances that
    price every arc at >= 0 are at most them.  On county-L no arc is added (the items the flow
    splits link the agents' prices): 0.1 s in all, against 2.3 s for the potentials computed
    over all 6.3 million arcs; on province-border, at ``count_flow_prices``'s prices, one round
    of added arcs: 0.86 s against 9.26 s over all 19.8 million (one-off script)."""
    rows = net.rows.size
    keep = flows[:rows] > 0
    while True:
        core = np.flatnonzero(keep)
        tails, heads, caps, costs = _arcs(net, core, unit[core])
        dist = potentials(
            net.n + net.m + 1, tails, heads, caps, costs, np.r_[flows[core], flows[rows:]]
        )
        if not _add_priced_below(net.row_item, net.row_agent, unit, dist, net.n, keep):
            break
    sink = net.n + net.m
    return _per_weight(np.maximum(dist[sink] - dist[net.n : sink], _floor_prices(net)))


@dataclass(frozen=True)
class FlowPrices:
    per_weight: F64  # per agent, the price of a unit of weight (points)
    x: F64  # per edge, the share of its item's weight the flow sends along it


def flow_prices(
    inst: AssignmentInstance, weight: I64 | None, count_price: F64
) -> FlowPrices | None:
    """Per agent, the price of a unit of weight (points) in an optimal flow relaxation whose
    arcs to each agent also pay ``count_price[agent]`` per item (a count price, e.g.
    ``count_flow_prices``), read off its residual graph (``support_prices``), with that flow's
    solution (the items it holds whole are priced within their range for the knapsack bound);
    None when the flow does not apply or has no solution.  Every row is in the flow (it cannot
    be interrupted)."""
    net = _network_of(inst, weight)
    if net is None:
        return None
    per_item = np.floor(count_price * COST_SCALE).astype(np.int64)
    unit = (net.row_cost + per_item[net.row_agent]) // net.row_weight
    solved = _solve_every_row(net, unit)
    if solved is None:
        return None
    flows = solved[1]
    core = np.arange(net.rows.size)
    no_weightless = np.zeros(0, dtype=np.int64)
    x = _edge_shares(inst, net, core, flows[: core.size] / net.row_weight, no_weightless)
    return FlowPrices(support_prices(net, unit, flows), x)


def _floor_prices(net: _Network) -> I64:
    """Per agent, its cheapest segment's cost: an agent's price up to it costs the dual
    nothing, so prices are raised to it (an agent without free capacity takes no flow: priced
    out of reach, ``_NO_ARC``)."""
    floor_price = np.full(net.m, _NO_ARC, dtype=np.int64)
    if net.seg_tail.size:
        np.minimum.at(floor_price, net.seg_tail, net.seg_cost)
    return floor_price


def _per_weight(price: I64) -> F64:
    """Agent prices in flow units as points per unit of weight (out of reach: 0)."""
    return np.where(price < _NO_ARC, price, 0) / COST_SCALE


@dataclass(frozen=True)
class CountFlowRelaxation(FlowRelaxation):
    """``count_flow_bound``'s result: ``bound`` and ``x`` at the best count prices found."""

    flow_solves: int
    steps: int  # count price updates
    multipliers: F64  # per agent, the count price (points per item) at the best bound
    agent_price: F64  # per agent, the price of a unit of weight (points) at the best bound
    plain_bound: float | None  # the plain flow bound, once the core at zero prices converged
    count_excess: float  # sum over agents of max(0, count in x - max_count)


@njit(cache=True)
def _add_priced_below(
    row_item: I64, row_agent: I64, unit: I64, dist: I64, n_items: int, keep: npt.NDArray[np.bool_]
) -> bool:
    """Adds to ``keep`` the rows not in it whose arcs (item to agent, at ``unit``) the distances
    ``dist`` price below zero (an empty row arc is a forward residual arc: its head's distance
    is at most its tail's plus its cost); whether there was one."""
    added = False
    for row in range(keep.shape[0]):
        if not keep[row] and dist[n_items + row_agent[row]] > dist[row_item[row]] + unit[row]:
            keep[row] = True
            added = True
    return added


def potentials(n_nodes: int, tails: I64, heads: I64, caps: I64, costs: I64, flows: I64) -> I64:
    """Shortest distances in the residual graph of an optimal flow from a virtual source with a
    zero arc to every node (Bellman-Ford, one vectorised pass over the residual arcs at a time);
    ``-distance`` are node potentials that price every residual arc at >= 0."""
    fwd = flows < caps
    bwd = flows > 0
    tail = np.concatenate([tails[fwd], heads[bwd]])
    head = np.concatenate([heads[fwd], tails[bwd]])
    cost = np.concatenate([costs[fwd], -costs[bwd]])
    order = np.argsort(head, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    dist = np.zeros(n_nodes, dtype=np.int64)
    if head.size == 0:
        return dist
    starts = np.flatnonzero(np.r_[True, head[1:] != head[:-1]])
    target = head[starts]
    for _ in range(n_nodes + 1):
        mins = np.minimum.reduceat(dist[tail] + cost, starts)
        better = mins < dist[target]
        if not better.any():
            break
        dist[target[better]] = mins[better]
    return dist


@njit(cache=True)
def _row_minima(
    run_start: I64,
    row_agent: I64,
    row_cost: I64,
    row_weight: I64,
    mu: I64,
    price: I64,
    in_core: npt.NDArray[np.bool_],
    run_optional: I64,
) -> tuple[I64, I64]:
    """Per item (run of rows): its cheapest option over all arcs and over the core's, an arc
    ``to agent a`` priced ``price[a] + (cost + mu[a]) // weight``, the sink at its penalty."""
    n_runs = run_start.size - 1
    full_min = np.empty(n_runs, dtype=np.int64)
    core_min = np.empty(n_runs, dtype=np.int64)
    for r in range(n_runs):
        best = run_optional[r]
        best_core = run_optional[r]
        for e in range(run_start[r], run_start[r + 1]):
            a = row_agent[e]
            value = price[a] + (row_cost[e] + mu[a]) // row_weight[e]
            best = min(best, value)
            if in_core[e]:
                best_core = min(best_core, value)
        full_min[r] = best
        core_min[r] = best_core
    return full_min, core_min


@njit(cache=True)
def _mark_cheapest(
    run_start: I64,
    row_agent: I64,
    row_cost: I64,
    row_weight: I64,
    mu: I64,
    price: I64,
    keep: int,
    below: I64,
    mark: npt.NDArray[np.bool_],
) -> None:
    """Marks each item's ``keep`` cheapest arcs priced under ``below`` (per item), priced as in
    ``_row_minima``; ties (common:
    the residual graph's potentials price many arcs at their item's best) go to the arc of
    least unit cost, so that items spread over agents as their costs do."""
    values = np.empty(keep, dtype=np.int64)
    units = np.empty(keep, dtype=np.int64)
    rows = np.empty(keep, dtype=np.int64)
    for r in range(run_start.size - 1):
        filled = 0
        for e in range(run_start[r], run_start[r + 1]):
            a = row_agent[e]
            unit = (row_cost[e] + mu[a]) // row_weight[e]
            value = price[a] + unit
            if value >= below[r]:
                continue
            if filled == keep and (
                value > values[keep - 1] or (value == values[keep - 1] and unit >= units[keep - 1])
            ):
                continue
            j = filled if filled < keep else keep - 1
            while j > 0 and (
                values[j - 1] > value or (values[j - 1] == value and units[j - 1] > unit)
            ):
                values[j] = values[j - 1]
                units[j] = units[j - 1]
                rows[j] = rows[j - 1]
                j -= 1
            values[j] = value
            units[j] = unit
            rows[j] = e
            filled = min(filled + 1, keep)
        for j in range(filled):
            mark[rows[j]] = True


def _sample_prices(net: _Network, run_bounds: I64, run_item: I64, fraction: float) -> I64 | None:
    """Agent prices (scaled, per unit) of a market like this one in small: the flow of a random
    ``fraction`` of the items with all their arcs, the agents' segments scaled down alike.  A
    guess to choose the first core by; None when that flow has no solution."""
    n, m, sink = net.n, net.m, net.n + net.m
    n_runs = run_item.size
    rng = np.random.default_rng(0)
    chosen = rng.random(n_runs) < fraction
    rows = np.flatnonzero(np.repeat(chosen, np.diff(run_bounds)))
    items = run_item[chosen]
    optional = np.intersect1d(net.optional, items)
    opt_cost = np.full(n, 0, dtype=np.int64)
    opt_cost[net.optional] = net.optional_cost
    tails = np.concatenate([net.row_item[rows], optional, n + net.seg_tail])
    heads = np.concatenate(
        [n + net.row_agent[rows], np.full(optional.size + net.seg_tail.size, sink, np.int64)]
    )
    caps = np.concatenate(
        [
            net.row_weight[rows],
            net.weight[optional],
            np.ceil(net.seg_cap * fraction).astype(np.int64),
        ]
    )
    costs = np.concatenate(
        [net.row_cost[rows] // net.row_weight[rows], opt_cost[optional], net.seg_cost]
    )
    supply = np.zeros(n + m + 1, dtype=np.int64)
    supply[items] = net.weight[items]
    supply[sink] = -int(supply[items].sum())
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_nodes_supplies(np.arange(n + m + 1), supply)
    if flow.solve() != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        return None
    flows = flow.flows(np.arange(tails.size))
    dist = potentials(n + m + 1, tails, heads, caps, costs, flows)
    return dist[sink] - dist[n:sink]


def count_flow_bound(
    inst: AssignmentInstance,
    weight: I64 | None = None,
    upper_bound: float = math.inf,
    time_limit_s: float = 60.0,
    *,
    core_size: int = CORE_PER_ITEM,
    step_factor: float = 1.0,
    patience: int = 3,
    max_flow_solves: int | None = None,
    sample_fraction: float = SAMPLE_FRACTION,
    start: FlowRelaxation | None = None,
) -> CountFlowRelaxation | None:
    """The flow relaxation with the count rows (``max_count``) priced in: a lower bound that is
    the plain flow's (once its core converges at zero prices) or higher.

    For count prices ``mu >= 0`` (per agent, points per item) each item -> agent arc costs
    ``(cost + mu[agent]) / weight`` per unit, and ``flow(mu) - sum mu * max_count`` (the fixed
    items' count taken off) is a lower bound (Lagrangian relaxation of the count rows); projected
    subgradient steps (Polyak, towards ``upper_bound``) raise it.  Each flow is solved on a core
    of arcs: the previous flow's support and each item's ``core_size`` cheapest arcs at the
    previous flow's agent prices (node potentials read off its residual graph).  The bound is
    the flow's dual value over all arcs with those prices, valid whether or not the core has
    converged (no arc outside it cheaper than its item's best core option).

    Stops before a flow solve that would end past ``time_limit_s`` (after at least one),
    after ``max_flow_solves``, or once the bound reaches ``upper_bound``.  None when the flow
    does not apply or has no solution."""
    began = time.monotonic()
    net = _network_of(inst, weight)
    if net is None:
        return None
    weight = net.weight
    n, m, sink = net.n, net.m, net.n + net.m
    scale = COST_SCALE
    # Count rows: the fixed items use up their agents' counts; an agent that every item with an
    # edge to it could join at once keeps a zero price.
    limit = inst.max_count.astype(np.int64) - net.fixed_count
    reach = np.bincount(net.row_agent, minlength=m) + np.bincount(
        inst.edge_agent[net.weightless_rows], minlength=m
    )
    limited = limit < reach
    # Items' runs in ``rows`` (every sending item has an edge).
    run_start = np.flatnonzero(np.r_[True, net.row_item[1:] != net.row_item[:-1]])
    run_item = net.row_item[run_start] if net.rows.size else np.zeros(0, dtype=np.int64)
    run_bounds = np.r_[run_start, net.rows.size].astype(np.int64)
    run_weight = net.weight[run_item]
    optional_cost = np.full(n, _NO_ARC, dtype=np.int64)
    optional_cost[net.optional] = net.optional_cost
    run_optional = optional_cost[run_item]
    must_rows = np.repeat(inst.unassigned_penalty[run_item] == MUST_ASSIGN, np.diff(run_bounds))
    floor_price = _floor_prices(net)
    price = floor_price.copy()
    if start is None and estimated_seconds(inst) <= PLAIN_FIRST_SHARE * time_limit_s:
        start = flow_relaxation(inst, weight)
    if start is not None:
        # The plain flow's support: an optimal flow at zero count prices, so the first core
        # converges at once.
        in_core = start.x[net.rows] > 0
    elif sample_fraction > 0:
        guess = _sample_prices(net, run_bounds, run_item, sample_fraction)
        if guess is not None:
            price = np.maximum(guess, floor_price)
    mu = np.zeros(m)
    mu_scaled = np.zeros(m, dtype=np.int64)

    def row_minima() -> tuple[I64, I64]:
        """Each item's cheapest option over all arcs and over the core's, at the current
        prices (the closures read ``mu_scaled``, ``price`` and ``in_core`` as they are)."""
        return _row_minima(
            run_bounds,
            net.row_agent,
            net.row_cost,
            net.row_weight,
            mu_scaled,
            price,
            in_core,
            run_optional,
        )

    def mark_cheapest(below: I64) -> None:
        """Add to the core each item's ``core_size`` cheapest arcs priced under ``below``."""
        _mark_cheapest(
            run_bounds,
            net.row_agent,
            net.row_cost,
            net.row_weight,
            mu_scaled,
            price,
            core_size,
            below,
            in_core,
        )

    if start is None:
        in_core = np.zeros(net.rows.size, dtype=np.bool_)
        mark_cheapest(np.full(run_item.size, _NO_ARC + 1, dtype=np.int64))
    factor = StepScale(step_factor, patience)
    best: CountFlowRelaxation | None = None
    best_value = -math.inf
    best_estimate = -math.inf
    solves = steps = 0
    plain_bound: float | None = None
    last_round = 0.0
    while True:
        now = time.monotonic()
        if solves and (
            now - began + last_round > time_limit_s
            or (max_flow_solves is not None and solves >= max_flow_solves)
            or best_value >= upper_bound
        ):
            break
        core = np.flatnonzero(in_core)
        unit = (net.row_cost[core] + mu_scaled[net.row_agent[core]]) // net.row_weight[core]
        flow, tails, heads, caps, costs = _flow_network(net, core, unit)
        status = flow.solve()
        solves += 1
        if status != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
            if not in_core[must_rows].all():
                # The core cannot place every must-assign item: give those all their arcs.
                in_core |= must_rows
                continue
            return None  # nor can the full network
        flows = flow.flows(np.arange(tails.size))
        dist = potentials(n + m + 1, tails, heads, caps, costs, flows)
        price = np.maximum(dist[sink] - dist[n:sink], floor_price)
        # Dual value over every arc: each item at its cheapest option given the agent prices.
        full_min, core_min = row_minima()
        converged = bool(np.array_equal(full_min, core_min))
        excess = np.maximum(0, price[net.seg_tail] - net.seg_cost)
        wl_value, wl_taken = _weightless(inst, net, mu_scaled)
        count_term = int(mu_scaled @ limit)
        dual = int(run_weight @ full_min) - int(net.seg_cap @ excess)
        value = (dual + wl_value - count_term) / scale + net.constant
        estimate = (flow.optimal_cost() + wl_value - count_term) / scale + net.constant
        x_rows = flows[: core.size] / net.row_weight[core]
        count = np.bincount(net.row_agent[core], weights=x_rows, minlength=m) + np.bincount(
            inst.edge_agent[wl_taken], minlength=m
        )
        if converged and not mu_scaled.any():
            plain_bound = float(math.ceil(value - 1e-6))
        if value > best_value:
            best_value = value
            x = _edge_shares(inst, net, core, x_rows, wl_taken)
            best = CountFlowRelaxation(
                bound=float(math.ceil(value - 1e-6)),
                x=x,
                wall_time_s=0.0,
                flow_solves=0,
                steps=0,
                multipliers=mu_scaled / scale,
                agent_price=_per_weight(price),
                plain_bound=None,
                count_excess=float(np.maximum(0.0, count - limit).sum()),
            )
        # Projected subgradient step on the count prices (once the zero-price core converged:
        # the plain flow's bound first).
        if plain_bound is not None:
            gap = np.where(limited, count - limit, 0.0)
            gap = np.where((mu <= 0) & (gap < 0), 0.0, gap)
            norm = float(gap @ gap)
            if norm <= 1e-12 and converged:
                break  # the count rows hold (complementary slackness): the LP's optimum
            factor.record(estimate > best_estimate + 1e-9)
            best_estimate = max(best_estimate, estimate)
            if norm > 1e-12:
                target = (
                    upper_bound
                    if math.isfinite(upper_bound)
                    else best_value + 1e-2 * abs(best_value)
                )
                step = factor.value * max(target - estimate, 1e-3 * abs(estimate) + 1.0) / norm
                mu = np.maximum(0.0, mu + step * gap)
                mu_scaled = np.where(limited, np.floor(mu * scale), 0).astype(np.int64)
                steps += 1
                core_min = row_minima()[1]
        # Next core: this one and each item's cheapest arcs below its best core option (the
        # first few when there are many: the dual prices of a degenerate flow tie a lot).
        mark_cheapest(core_min)
        last_round = time.monotonic() - now
    if best is None:
        return None
    return dataclasses.replace(
        best,
        wall_time_s=time.monotonic() - began,
        flow_solves=solves,
        steps=steps,
        plain_bound=plain_bound,
    )


def _band_segments(
    inst: AssignmentInstance, base: I64, capacity: I64
) -> tuple[I64, I64, I64, float]:
    """Agent-to-sink arcs: the added load 0..capacity cut at each band threshold, each piece
    priced per unit with the bands it lies above (rounded down); and the constant part, the
    bands' price of the load the agent already carries above their thresholds."""
    m = inst.n_agents
    slopes = np.array([band.points / band.unit for band in inst.bands], dtype=np.float64)
    if slopes.size:
        cuts = np.stack([np.clip(band.threshold - base, 0, capacity) for band in inst.bands], 1)
    else:
        cuts = np.zeros((m, 0), dtype=np.int64)
    points = np.sort(np.concatenate([np.zeros((m, 1), np.int64), cuts, capacity[:, None]], 1), 1)
    lo, hi = points[:, :-1], points[:, 1:]
    length = hi - lo
    slope = np.zeros(lo.shape, dtype=np.float64)
    for k, band in enumerate(inst.bands):
        slope += slopes[k] * ((base[:, None] + lo) >= band.threshold[:, None])
    agent = np.broadcast_to(np.arange(m)[:, None], lo.shape)
    keep = length > 0
    constant = 0.0
    for k, band in enumerate(inst.bands):
        constant += float(slopes[k] * np.maximum(0, base - band.threshold).sum())
    return (
        agent[keep].astype(np.int64),
        length[keep].astype(np.int64),
        np.floor(slope[keep] * COST_SCALE).astype(np.int64),
        constant,
    )
