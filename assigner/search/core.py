"""The core problem: the few edges per item that good plans use.

On county data the LP optimum gives almost every item one edge (only the items that share a
binding capacity or load-band row are split), so the LP's support, the incumbent's edges and each
item's cheapest few edges by cost and by Lagrangian reduced cost make an instance with a few edges
per item on which a MIP or large-neighbourhood search works much faster than on all edges.  Any
plan of the core is a plan of the whole instance (the core has the same items, agents and rules,
and fewer edges), with the same objective; the core's bounds, however, are not bounds of the
whole, so only primal results leave it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assigner.search.instance import I32, AssignmentInstance, chosen_edges

CHEAPEST_PER_ITEM = 2
LP_SUPPORT_TOLERANCE = 1e-6
QUANTUM = 2**31


def cost_rank(
    inst: AssignmentInstance, cost: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.int64]:
    """Rank of each edge among its item's edges by ``cost`` (default the edge cost; 0 = the
    cheapest, ties by edge order).  One integer sort: a float ``cost`` is quantised to 2**-31 of
    its finite range (+inf ranks last), fine for choosing each item's few best edges."""
    if cost is None:
        values = inst.edge_cost - inst.edge_cost.min(initial=0)
        span = int(values.max(initial=0)) + 1
    else:
        finite = np.isfinite(cost)
        lo = float(cost[finite].min()) if finite.any() else 0.0
        hi = float(cost[finite].max()) if finite.any() else 0.0
        scale = (QUANTUM - 2) / (hi - lo) if hi > lo else 0.0
        values = np.where(finite, np.floor((np.where(finite, cost, lo) - lo) * scale), QUANTUM - 1)
        values = values.astype(np.int64)
        span = QUANTUM
    order = np.argsort(inst.edge_item.astype(np.int64) * span + values, kind="stable")
    rank = np.empty(inst.n_edges, dtype=np.int64)
    rank[order] = np.arange(inst.n_edges) - inst.item_offsets[inst.edge_item[order]]
    return rank


def core_edges(
    inst: AssignmentInstance,
    incumbent: I32 | None,
    lp_x: npt.NDArray[np.float64] | None = None,
    reduced_cost: npt.NDArray[np.float64] | None = None,
    per_item: int = CHEAPEST_PER_ITEM,
) -> npt.NDArray[np.bool_]:
    """Mask of the core edges: LP support, incumbent edges, ``per_item`` cheapest by cost and by
    reduced cost per item."""
    keep = cost_rank(inst) < per_item
    if lp_x is not None:
        keep |= lp_x > LP_SUPPORT_TOLERANCE
    if reduced_cost is not None:
        keep |= (
            cost_rank(inst, np.where(np.isfinite(reduced_cost), reduced_cost, np.inf)) < per_item
        )
    if incumbent is not None:
        rows = chosen_edges(inst, incumbent)
        keep[rows[rows >= 0]] = True
    return keep
