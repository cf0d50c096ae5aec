"""A starting basis for the LP relaxation from a known relaxation solution (the flow's).

The flow relaxation (``flow_relaxation.py``) is the LP without the count and quota rows, so its
solution is nearly an optimal basis of the LP: every edge it uses is basic, every other edge sits
at zero with a reduced cost that the flow's optimality keeps non-negative, and the rows it leaves
out are violated only at the few agents whose count limit the flow overruns.  Dual simplex from
there repairs those rows, where a cold start searches the whole LP: county-L's first pricing LP
(24,248 rows, 81,409 columns) took 5,983 iterations and 1.8 s from the flow's basis, and 53,965
iterations and 7.6 s cold, to the same optimum.

An optimal flow from OR-Tools is not a vertex (it may split items along cycles of equally
priced arcs), so it can have more positive edges than the basis has room for: those with the
smallest values are left out of the basis (at zero), and the dual simplex's first iterations
repair the primal infeasibility that causes.  Where it has fewer, the slack of rows it holds
tight joins the basis.  The result always has exactly one basic variable per row.
"""

from __future__ import annotations

import highspy
import numpy as np
import numpy.typing as npt

from assigner.search.instance import AssignmentInstance
from assigner.search.lp_bound import RowLayout

F64 = npt.NDArray[np.float64]

_AT_LOWER, _BASIC, _AT_UPPER = 0, 1, 2
_STATUS = {
    _AT_LOWER: highspy.HighsBasisStatus.kLower,
    _BASIC: highspy.HighsBasisStatus.kBasic,
    _AT_UPPER: highspy.HighsBasisStatus.kUpper,
}
TOLERANCE = 1e-7


def basis_from_solution(
    inst: AssignmentInstance, lp: highspy.HighsLp, layout: RowLayout, x: F64
) -> highspy.HighsBasis:
    """The basis of ``lp`` (``build_highs_model(inst, integer=False, group_rules=False)``) that
    holds ``x`` (per edge of ``inst``, in [0, 1]) as nearly as one basis can: positive edges
    basic, rows strictly inside their bounds basic, the load-band excess columns basic where
    the load is above the band's threshold."""
    n, m, n_edges = inst.n_items, inst.n_agents, inst.n_edges
    col = np.full(lp.num_col_, _AT_LOWER, dtype=np.int8)
    row = np.full(lp.num_row_, _BASIC, dtype=np.int8)
    col[:n_edges][x > TOLERANCE] = _BASIC

    held = np.bincount(inst.edge_item, weights=x, minlength=n)
    row[:n][held >= 1 - TOLERANCE] = _AT_UPPER
    weighted = np.bincount(inst.edge_agent, weights=inst.edge_weight * x, minlength=m)
    cap = slice(layout.cap, layout.cap + m)
    row[cap][weighted >= inst.capacity - TOLERANCE] = _AT_UPPER
    load = inst.base() + weighted
    next_col = n_edges
    for k, b in enumerate(layout.band_index):
        # unit * excess - load >= base - threshold: the excess column is basic above the
        # threshold (the row tight), the row's slack below it, neither at it.
        above = load - inst.bands[b].threshold
        col[next_col : next_col + m][above > TOLERANCE] = _BASIC
        row[layout.band(k) : layout.band(k) + m][above >= -TOLERANCE] = _AT_LOWER
        next_col += m
    owed = layout.quota_agents
    if owed.size:
        assert inst.quota_short is not None  # quota rows exist only with quotas
        # deficit + count >= short: the deficit is basic while the count falls short.
        gap = np.bincount(inst.edge_agent, weights=x, minlength=m)[owed] - inst.quota_short[owed]
        col[next_col : next_col + owed.size][gap < -TOLERANCE] = _BASIC
        row[layout.quota : layout.quota + owed.size][gap <= TOLERANCE] = _AT_LOWER
    _fit_to_rows(col, row, x, n_edges)
    basis = highspy.HighsBasis()
    basis.col_status = [_STATUS[int(s)] for s in col]
    basis.row_status = [_STATUS[int(s)] for s in row]
    basis.valid = True
    return basis


def _fit_to_rows(
    col: npt.NDArray[np.int8], row: npt.NDArray[np.int8], x: F64, n_edges: int
) -> None:
    """Make the basic variables exactly as many as the rows: drop the basic edges with the
    smallest values, or add the slacks of tight rows."""
    surplus = int((col == _BASIC).sum() + (row == _BASIC).sum()) - row.size
    if surplus > 0:
        basic_edges = np.flatnonzero(col[:n_edges] == _BASIC)
        dropped = basic_edges[np.argsort(x[basic_edges], kind="stable")[:surplus]]
        col[dropped] = _AT_LOWER
    elif surplus < 0:
        tight = np.flatnonzero(row != _BASIC)
        row[tight[:-surplus]] = _BASIC
