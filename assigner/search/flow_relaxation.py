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

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from assigner.search.core import cost_rank
from assigner.search.instance import I64, MUST_ASSIGN, AssignmentInstance

F64 = npt.NDArray[np.float64]

COST_SCALE = 1_000
"""Unit costs in thousandths of a point: the bound loses less than total weight / 1,000 points
(county-L: under 0.1% of the objective)."""
SECONDS_PER_ARC = 2.5e-6
"""Measured solve time per arc on county-L (6.3M arcs in 14.7 s on the benchmark machine), with
some room; used only to decide whether the flow fits a budget."""


@dataclass(frozen=True)
class FlowRelaxation:
    bound: float  # proven lower bound on the instance's optimum (integer: rounded up)
    x: F64  # per edge, the share of its item's weight the flow sends along it
    wall_time_s: float


def item_weights(inst: AssignmentInstance) -> I64 | None:
    """Each item's weight when it is the same on all of the item's edges, else None."""
    weight = np.zeros(inst.n_items, dtype=np.int64)
    weight[inst.edge_item] = inst.edge_weight
    if not np.array_equal(weight[inst.edge_item], inst.edge_weight):
        return None
    return weight


def estimated_seconds(inst: AssignmentInstance) -> float:
    return SECONDS_PER_ARC * (inst.n_edges + inst.n_items + 3 * inst.n_agents)


def flow_relaxation(inst: AssignmentInstance, weight: I64 | None = None) -> FlowRelaxation | None:
    """Solve the flow relaxation; None when it does not apply (weights depend on the agent) or
    has no solution (a must-assign item cannot be placed even fractionally: the caller's other
    bounds then speak).  ``weight``: ``item_weights(inst)`` when the caller has it already."""
    start = time.monotonic()
    if weight is None:
        weight = item_weights(inst)
    if weight is None:
        return None
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
    # Weightless items send nothing: each costs at least its cheapest option.
    weightless = free & has_edge & (weight == 0)
    x = np.zeros(inst.n_edges)
    if weightless.any():
        cheapest_row = np.zeros(n, dtype=np.int64)
        first = np.flatnonzero(cost_rank(inst) == 0)
        cheapest_row[inst.edge_item[first]] = first
        cheapest_cost = inst.edge_cost[cheapest_row]
        take = weightless & ((penalty == MUST_ASSIGN) | (cheapest_cost <= penalty))
        constant += float(cheapest_cost[take].sum() + penalty[weightless & ~take].sum())
        x[cheapest_row[take]] = 1.0

    sending = free & has_edge & (weight > 0)
    rows = np.flatnonzero(sending[inst.edge_item])
    sink = n + m
    tails = [inst.edge_item[rows].astype(np.int64)]
    heads = [n + inst.edge_agent[rows].astype(np.int64)]
    caps = [inst.edge_weight[rows].astype(np.int64)]
    costs = [(inst.edge_cost[rows].astype(np.int64) * COST_SCALE) // inst.edge_weight[rows]]
    optional = np.flatnonzero(sending & (penalty != MUST_ASSIGN))
    tails.append(optional.astype(np.int64))
    heads.append(np.full(optional.size, sink, dtype=np.int64))
    caps.append(weight[optional])
    costs.append((penalty[optional].astype(np.int64) * COST_SCALE) // weight[optional])
    seg_tail, seg_cap, seg_cost, band_constant = _band_segments(inst, base, capacity)
    constant += band_constant
    tails.append(n + seg_tail)
    heads.append(np.full(seg_tail.size, sink, dtype=np.int64))
    caps.append(seg_cap)
    costs.append(seg_cost)

    supply = np.zeros(n + m + 1, dtype=np.int64)
    supply[:n] = np.where(sending, weight, 0)
    supply[sink] = -int(supply[:n].sum())
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    flow.set_nodes_supplies(np.arange(n + m + 1), supply)
    if flow.solve() != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        return None
    value = flow.optimal_cost() / COST_SCALE + constant
    sent = flow.flows(arcs[: rows.size])
    x[rows] = sent / inst.edge_weight[rows]
    x[on_fixed] = 1.0
    bound = float(math.ceil(value - 1e-6))
    return FlowRelaxation(bound, x, time.monotonic() - start)


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
