"""LP relaxation by pricing (column generation): the LP bound and an LP solution at county scale.

The full LP over millions of edges takes minutes, yet its optimum uses only a few edges per item.
So the LP is solved over a core (each item's cheapest edges plus the edges of a known
assignment); its duals price every edge in one numpy pass; the edges with negative reduced cost
join the core, and HiGHS re-solves from its last basis (columns are added to the same model), until
no edge prices out or time is up.  The first solve is by dual simplex, from the basis of a
known relaxation solution where there is one (``start_x``, the flow relaxation's: ``lp_basis.py``;
county-L's first solve 2.2 s instead of 9.1 s, the LP converged in 84 s instead of 108 s;
county-M 2.0 s instead of 4.4 s; one run each, one after the other).  A re-solve that takes
in fewer columns than the LP has rows is by primal simplex, since the added columns leave the
last basis primal feasible: dual simplex restarted there goes through a phase 1 that discards
most of it (county-L: 30,000 iterations and 32 s to take in 7 columns).  Many columns at once
(the first rounds) are taken in faster by dual simplex.  County-L, one run each from the same
core: dual only, not converged at 194 s (the LP's value at round 6, 129 s); primal only,
converged in 119 s; both by that rule, 71.6 s.  County-M: 5.6 s, 2.9 s, 2.9 s.

The proven bound is never the restricted LP's value (that bounds the core, not the instance).
It is the Lagrangian function of ``lagrangian.py`` at the LP's capacity, count, load-band and
quota duals, evaluated over every edge: valid for any multipliers in range, and equal to the LP
bound once no edge prices out.  Clique and opposing-side rows are left out of the pricing LP, as
the Lagrangian leaves them out; the MIP models that search for plans keep them.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from assigner.search.core import cost_rank
from assigner.search.instance import MUST_ASSIGN, AssignmentInstance, kept_edges, with_edges
from assigner.search.knapsack_bound import Prices, item_duals_for_knapsack
from assigner.search.lagrangian import Lagrangian, _Multipliers
from assigner.search.lp_basis import basis_from_solution
from assigner.search.lp_bound import (
    HIGHS_THREADS,
    RowLayout,
    _highs,
    _run,
    build_highs_model,
    edge_column_entries,
    row_layout,
)

F64 = npt.NDArray[np.float64]
log = logging.getLogger(__name__)

CORE_EDGES_PER_ITEM = 6
ADDED_EDGES_PER_ITEM = 4
PRICE_TOLERANCE = 1e-6
DUAL_SIMPLEX = 1
PRIMAL_SIMPLEX = 4
"""HiGHS's ``simplex_strategy`` values for dual and primal simplex."""


@dataclass(frozen=True)
class PricingResult:
    bound: float  # proven lower bound, rounded up (costs are integers); -inf when none
    x: F64  # LP value per edge (zero off the core)
    reduced_cost: F64  # Lagrangian reduced cost per edge at the last duals
    converged: bool  # no edge priced out: the bound is the LP bound (without group rows)
    prices: Prices | None  # the last duals of the item, count and quota rows
    rounds: int
    core_edges: int
    status: str
    wall_time_s: float
    # The last optimal restricted LP's value (an upper bound on the LP's; +inf when none): with
    # ``bound`` it shows how near the duals are to the LP's optimal ones.
    restricted: float = float("inf")
    iterations: int = 0  # simplex iterations over all solves


def solve_lp_by_pricing(
    inst: AssignmentInstance,
    time_limit_s: float,
    seed_edges: npt.NDArray[np.bool_] | None = None,
    guide_cost: F64 | None = None,
    core_per_item: int = CORE_EDGES_PER_ITEM,
    added_per_item: int = ADDED_EDGES_PER_ITEM,
    max_rounds: int | None = None,
    start_x: F64 | None = None,
) -> PricingResult:
    """The LP relaxation by pricing, within ``time_limit_s``.  The first core holds each item's
    ``core_per_item`` cheapest edges by cost and (when given) by ``guide_cost`` (e.g. Lagrangian
    reduced costs), the ``seed_edges`` and the edges ``start_x`` (a solution of a relaxation
    without the count and quota rows, per edge: the flow relaxation's) uses; the first solve
    starts from ``start_x``'s basis.  ``max_rounds`` caps the LP solves (a work limit
    for deterministic mode: the simplex itself is deterministic)."""
    if start_x is not None and start_x.shape != (inst.n_edges,):
        raise ValueError(
            f"start_x has shape {start_x.shape}; it needs one value per edge ({inst.n_edges})"
        )
    start = time.monotonic()
    deadline = start + time_limit_s
    lag = Lagrangian(inst)
    layout = row_layout(inst)
    penalty = np.where(inst.unassigned_penalty == MUST_ASSIGN, 0, inst.unassigned_penalty)

    def first_core(k: int) -> npt.NDArray[np.bool_]:
        core = cost_rank(inst) < k
        if guide_cost is not None:
            core |= cost_rank(inst, np.where(np.isfinite(guide_cost), guide_cost, np.inf)) < k
        if seed_edges is not None:
            core |= seed_edges
        if start_x is not None:
            core |= start_x > 0
        return core

    core = first_core(core_per_item)
    iterations = 0
    while True:
        core_rows = np.flatnonzero(kept_edges(inst, core))
        restricted_inst = with_edges(inst, core)
        lp, _offset = build_highs_model(restricted_inst, integer=False, group_rules=False)
        h = _highs(lp, max(0.1, deadline - time.monotonic()), HIGHS_THREADS, 0)
        if start_x is not None:
            basis = basis_from_solution(restricted_inst, lp, layout, start_x[core_rows])
            if h.setBasis(basis) != highspy.HighsStatus.kOk:
                raise RuntimeError("HiGHS refused the starting basis built from start_x")
            # The basis is dual feasible (nearly: the flow rounds its unit costs) and primal
            # infeasible only where start_x breaks the rows it did not model.
            h.setOptionValue("simplex_strategy", DUAL_SIMPLEX)
        h_start = time.monotonic()
        _run(h)
        iterations += int(h.getInfo().simplex_iteration_count)
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kInfeasible or bool(core.all()):
            break
        # Items that must be assigned do not fit in the core: widen it.
        core_per_item *= 2
        core = first_core(core_per_item)
    if status == highspy.HighsModelStatus.kInfeasible:
        return _empty(inst, float("inf"), "Infeasible", start)
    col_edge = np.concatenate([core_rows, np.full(lp.num_col_ - len(core_rows), -1)])
    in_core = np.zeros(inst.n_edges, dtype=np.bool_)
    in_core[core_rows] = True
    best_bound = float("-inf")
    restricted = float("inf")
    prices: Prices | None = None
    rc = np.zeros(inst.n_edges)
    last_price = np.zeros(inst.n_edges)
    rounds = 0
    converged = False
    x = np.zeros(inst.n_edges)
    while status == highspy.HighsModelStatus.kOptimal:
        rounds += 1
        solution = h.getSolution()
        # The last optimal restricted LP's solution (a solve the time limit stops is not one).
        values = np.asarray(solution.col_value, dtype=np.float64)
        on = col_edge >= 0
        x = np.zeros(inst.n_edges)
        x[col_edge[on]] = values[on]
        y = np.asarray(solution.row_dual, dtype=np.float64)
        raw, m = _duals(inst, layout, y)
        value, rc, _chosen = lag.evaluate(m)
        if np.isfinite(value):
            best_bound = max(best_bound, float(math.ceil(value - 1e-6)))
        # HiGHS's reduced cost of each edge column: cost - sum of row coefficient x row dual.
        price = inst.edge_cost - penalty[inst.edge_item] - y[inst.edge_item] + raw
        prices = layout.prices(y)
        last_price = price
        new = (price < -PRICE_TOLERANCE) & ~in_core & ~lag.blocked
        restricted = float(h.getInfo().objective_function_value) + float(penalty.sum())
        log.debug(
            "pricing round %d at %.1f s: restricted LP %.1f, bound %.1f, %d edges price out",
            rounds,
            time.monotonic() - start,
            restricted,
            value,
            int(new.sum()),
        )
        if not new.any():
            converged = True
            break
        if time.monotonic() >= deadline or (max_rounds is not None and rounds >= max_rounds):
            break
        added = _best_per_item(inst, np.flatnonzero(new), price, added_per_item)
        _add_columns(h, inst, layout, added, penalty)
        h.setOptionValue("simplex_strategy", resolve_strategy(len(added), h.getNumRow()))
        col_edge = np.concatenate([col_edge, added])
        in_core[added] = True
        # HiGHS's time limit counts from the model's first run.
        h.setOptionValue("time_limit", max(0.1, deadline - h_start))
        _run(h)
        iterations += int(h.getInfo().simplex_iteration_count)
        status = h.getModelStatus()
    if prices is not None:
        # Only the last round's duals are handed on: their item duals are moved for the
        # knapsack bound once, here (about 0.1 s a round on county-L).
        prices = dataclasses.replace(
            prices, item=item_duals_for_knapsack(inst, prices.item, last_price, x)
        )
    return PricingResult(
        bound=best_bound,
        x=x,
        reduced_cost=rc,
        converged=converged,
        prices=prices,
        rounds=rounds,
        core_edges=int(in_core.sum()),
        status=h.modelStatusToString(status),
        wall_time_s=time.monotonic() - start,
        restricted=restricted,
        iterations=iterations,
    )


def resolve_strategy(added_columns: int, rows: int) -> int:
    """HiGHS's simplex for the re-solve after ``added_columns`` columns joined an LP of
    ``rows`` rows: primal for a few (the basis stays primal feasible), dual for many."""
    return PRIMAL_SIMPLEX if added_columns <= rows else DUAL_SIMPLEX


def _empty(inst: AssignmentInstance, bound: float, status: str, start: float) -> PricingResult:
    zeros = np.zeros(inst.n_edges)
    return PricingResult(bound, zeros, zeros, False, None, 0, 0, status, time.monotonic() - start)


def _duals(inst: AssignmentInstance, layout: RowLayout, y: F64) -> tuple[F64, _Multipliers]:
    """Per edge, the capacity, count, band and quota rows' share of its reduced cost (with the
    raw duals), and the Lagrangian multipliers read off the duals (projected into range)."""
    n = inst.n_agents
    y_cap = y[layout.cap : layout.cap + n]
    y_count = y[layout.count : layout.count + n]
    per_weight = -y_cap.copy()
    band = [np.zeros(n) for _ in inst.bands]
    for k, b in enumerate(layout.band_index):
        y_band = y[layout.band(k) : layout.band(k) + n]
        per_weight += y_band  # band rows carry -weight on the edge columns
        limit = inst.bands[b].points / inst.bands[b].unit
        band[b] = np.clip(y_band, 0.0, limit)
    y_quota = np.zeros(n)
    y_quota[layout.quota_agents] = y[layout.quota : layout.quota + len(layout.quota_agents)]
    per_item = -y_count - y_quota
    agent = inst.edge_agent
    raw = inst.edge_weight * per_weight[agent] + per_item[agent]
    m = _Multipliers(
        cap=np.maximum(-y_cap, 0.0),
        count=np.maximum(-y_count, 0.0),
        band=band,
        quota=np.clip(y_quota, 0.0, float(inst.quota_points)),
    )
    return raw, m


def _best_per_item(
    inst: AssignmentInstance, rows: npt.NDArray[np.int64], price: F64, per_item: int
) -> npt.NDArray[np.int64]:
    """Of ``rows``, the ``per_item`` most negative per item."""
    order = np.lexsort((price[rows], inst.edge_item[rows]))
    rows = rows[order]
    items = inst.edge_item[rows]
    first = np.searchsorted(items, items, side="left")
    keep = (np.arange(len(rows)) - first) < per_item
    return np.sort(rows[keep])


def _add_columns(
    h: highspy.Highs,
    inst: AssignmentInstance,
    layout: RowLayout,
    rows: npt.NDArray[np.int64],
    penalty: npt.NDArray[np.int64],
) -> None:
    n = len(rows)
    r, c, v = edge_column_entries(inst, layout, rows)
    order = np.lexsort((r, c))
    starts = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=n))])[:-1]
    h.addCols(
        n,
        (inst.edge_cost[rows] - penalty[inst.edge_item[rows]]).astype(np.float64),
        np.zeros(n),
        np.ones(n),
        len(r),
        starts.astype(np.int32),
        r[order].astype(np.int32),
        v[order],
    )
