"""Count prices from the min-cost flow on case counts alone: each case one unit, sent to a lawyer
along one of its edges (at the edge's cost) or, when it may be left out, straight to the sink at
its unassigned penalty; each lawyer passes at most its count limit (``max_count``) on to the
sink.  Hours and load bands are left out, so the flow is integral and quick (province-border,
18.5 million edges: 35 s).

Its value bounds nothing that the hours flow does not bound better on county data, but its
lawyers' count prices (the duals of the count limits, read off the residual graph) say which
lawyers' counts are scarce and by how much.  Where count limits bind hard, the knapsack bound
(``knapsack_bound.py``) at these count prices is far above either flow: on province-border the
hours flow bounds 75,129,049 and the knapsack bound at its prices per hour 76,403,754; with
these count prices added, 85,110,895, and at these count prices with the prices per hour of the
hours flow that pays them on its arcs (``flow_relaxation.flow_prices``), 91,354,244 (one-off
scripts).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from assigner.search.flow_relaxation import potentials
from assigner.search.instance import MUST_ASSIGN, AssignmentInstance

F64 = npt.NDArray[np.float64]


def count_flow_prices(inst: AssignmentInstance) -> F64 | None:
    """Per lawyer, the price of one more case under its count limit (points, >= 0; zero where
    the limit does not bind) in an optimal flow on case counts alone; None when that flow has
    no solution (a case that must be assigned has no room even there)."""
    n, m = inst.n_items, inst.n_agents
    sink = n + m
    keep = np.ones(inst.n_edges, dtype=np.bool_)
    optional = inst.unassigned_penalty != MUST_ASSIGN
    if inst.fixed_agent is not None:
        fixed = inst.fixed_agent[inst.edge_item]
        keep = (fixed < 0) | (inst.edge_agent == fixed)
        optional &= inst.fixed_agent < 0
    left_out = np.flatnonzero(optional)
    tails = np.concatenate([inst.edge_item[keep], left_out, n + np.arange(m)]).astype(np.int64)
    heads = np.concatenate(
        [n + inst.edge_agent[keep], np.full(left_out.size, sink), np.full(m, sink)]
    ).astype(np.int64)
    caps = np.concatenate(
        [
            np.ones(int(keep.sum()), dtype=np.int64),
            np.ones(left_out.size, dtype=np.int64),
            np.clip(inst.max_count, 0, n),
        ]
    ).astype(np.int64)
    costs = np.concatenate(
        [inst.edge_cost[keep], inst.unassigned_penalty[left_out], np.zeros(m, dtype=np.int64)]
    ).astype(np.int64)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supply = np.zeros(n + m + 1, dtype=np.int64)
    supply[:n] = 1
    supply[sink] = -n
    flow.set_nodes_supplies(np.arange(n + m + 1), supply)
    if flow.solve() != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        return None
    dist = potentials(n + m + 1, tails, heads, caps, costs, flow.flows(np.arange(tails.size)))
    # A lawyer whose limit binds has the residual arc sink -> lawyer at no cost, so its
    # distance is at most the sink's: the difference is what one more case there would save.
    return np.maximum(dist[sink] - dist[n:sink], 0).astype(np.float64)
