"""LP relaxation of the assignment instance with HiGHS: a proven lower bound and a fractional
solution that guides construction and neighbourhood choice.

The relaxation keeps every linear row of the CP-SAT model (assignment, capacity in weight and in
count, load bands with the rounding-up relaxed, quota deficits, clique rows per agent or group,
opposing sides through indicator columns).  Its optimum, rounded up because all costs are
integers, bounds the integer optimum from below.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass

import highspy
import numpy as np

from assigner.search.instance import I32, I64, MUST_ASSIGN, AssignmentInstance, chosen_edges
from assigner.search.knapsack_bound import Prices, item_duals_for_knapsack

F64 = np.ndarray


@dataclass(frozen=True)
class LpResult:
    bound: float  # -inf when the LP did not solve to optimality in time
    x: F64  # edge values (zeros when unsolved)
    status: str
    wall_time_s: float
    prices: Prices | None = None  # the optimal duals of the item, count and quota rows
    reduced_cost: F64 | None = None  # per edge, at the optimal duals


class _Rows:
    """Rows collected in COO form, turned into a column-wise matrix at the end."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def add(self, cols: np.ndarray, vals: np.ndarray, lo: float, hi: float) -> None:
        row = len(self.lo)
        self.r.append(np.full(len(cols), row, dtype=np.int64))
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=np.float64))
        self.lo.append(lo)
        self.hi.append(hi)

    def add_block(
        self, row_of: np.ndarray, cols: np.ndarray, vals: np.ndarray, lo: F64, hi: F64
    ) -> None:
        """Many rows at once; ``row_of`` numbers them 0..len(lo)-1 locally."""
        base = len(self.lo)
        self.r.append(np.asarray(row_of, dtype=np.int64) + base)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=np.float64))
        self.lo.extend(np.asarray(lo, dtype=np.float64).tolist())
        self.hi.extend(np.asarray(hi, dtype=np.float64).tolist())


@dataclass(frozen=True)
class MipResult:
    agent_of_item: I32 | None
    bound: float
    status: str
    wall_time_s: float


@dataclass(frozen=True)
class RowLayout:
    """Where ``build_highs_model`` puts its per-item and per-agent rows (group rows follow)."""

    n_items: int
    n_agents: int
    band_index: list[int]  # indices into ``inst.bands`` of the bands that have rows, in order
    quota_agents: I64  # agents with a quota row, in order

    @property
    def cap(self) -> int:
        return self.n_items

    @property
    def count(self) -> int:
        return self.n_items + self.n_agents

    def band(self, k: int) -> int:
        """First row of the k-th band that has rows."""
        return self.n_items + (2 + k) * self.n_agents

    @property
    def quota(self) -> int:
        return self.n_items + (2 + len(self.band_index)) * self.n_agents

    @property
    def n_rows(self) -> int:
        return self.quota + len(self.quota_agents)

    def prices(self, row_dual: F64) -> Prices:
        """The item, count and quota rows' duals (HiGHS's signs: reduced cost = cost - A'y),
        as the knapsack bound's prices; a count dual is <= 0 there, a price >= 0 here."""
        quota = np.zeros(self.n_agents)
        quota[self.quota_agents] = row_dual[self.quota : self.quota + len(self.quota_agents)]
        return Prices(
            item=np.asarray(row_dual[: self.n_items], dtype=np.float64).copy(),
            count=-np.asarray(row_dual[self.count : self.count + self.n_agents], dtype=np.float64),
            quota=quota,
        )


def row_layout(inst: AssignmentInstance) -> RowLayout:
    owed = np.zeros(0, dtype=np.int64)
    if inst.quota_short is not None and inst.quota_points:
        owed = np.flatnonzero(inst.quota_short > 0).astype(np.int64)
    return RowLayout(
        inst.n_items,
        inst.n_agents,
        [k for k, band in enumerate(inst.bands) if band.points != 0],
        owed,
    )


def build_highs_model(
    inst: AssignmentInstance, integer: bool, exact_bands: bool = False, group_rules: bool = True
) -> tuple[highspy.HighsLp, float]:
    """The HiGHS model of the instance (LP relaxation, or the MIP with ``integer``) and the
    constant objective offset.  Columns: edges first, then auxiliary columns.  Rows: as
    ``row_layout`` says, then (with ``group_rules``) the clique and opposing-side rows."""
    inf = highspy.kHighsInf
    n_e = inst.n_edges
    penalty = np.where(inst.unassigned_penalty == MUST_ASSIGN, 0, inst.unassigned_penalty)
    offset = float(penalty.sum())
    cost: list[np.ndarray] = [(inst.edge_cost - penalty[inst.edge_item]).astype(np.float64)]
    upper: list[np.ndarray] = [np.ones(n_e)]
    lower: list[np.ndarray] = [np.zeros(n_e)]
    if inst.fixed_agent is not None:
        fixed_rows = _fixed_edges(inst)
        lower[0][fixed_rows] = 1.0
    n_col = n_e
    rows = _Rows()
    layout = row_layout(inst)
    none = np.zeros(0, dtype=np.int64)

    # Rows in ``layout``'s order; the edge columns' entries in them are added after.
    must = inst.unassigned_penalty == MUST_ASSIGN
    rows.add_block(none, none, np.zeros(0), np.where(must, 1.0, 0.0), np.ones(inst.n_items))
    rows.add_block(
        none, none, np.zeros(0), np.full(inst.n_agents, -inf), inst.capacity.astype(np.float64)
    )
    rows.add_block(
        none, none, np.zeros(0), np.full(inst.n_agents, -inf), inst.max_count.astype(np.float64)
    )
    base = inst.base()
    for b in layout.band_index:
        band = inst.bands[b]
        # unit * ex_a - sum w x >= base_a - thr_a
        ex_cols = n_col + np.arange(inst.n_agents)
        n_col += inst.n_agents
        cost.append(np.full(inst.n_agents, float(band.points)))
        lower.append(np.zeros(inst.n_agents))
        upper.append(np.full(inst.n_agents, inf))
        rows.add_block(
            np.arange(inst.n_agents),
            ex_cols,
            np.full(inst.n_agents, float(band.unit)),
            (base - band.threshold).astype(np.float64),
            np.full(inst.n_agents, inf),
        )
    owed = layout.quota_agents
    if owed.size:
        # deficit_a + sum x >= short_a
        d_cols = n_col + np.arange(owed.size)
        n_col += owed.size
        cost.append(np.full(owed.size, float(inst.quota_points)))
        lower.append(np.zeros(owed.size))
        upper.append(np.full(owed.size, inf))
        assert inst.quota_short is not None  # owed agents exist only with quotas
        rows.add_block(
            np.arange(owed.size),
            d_cols,
            np.ones(owed.size),
            inst.quota_short[owed].astype(np.float64),
            np.full(owed.size, inf),
        )
    r, c, v = edge_column_entries(inst, layout, np.arange(n_e, dtype=np.int64))
    rows.r.append(r)
    rows.c.append(c)
    rows.v.append(v)
    aux_end = n_col
    if group_rules:
        n_col = _group_rows(inst, rows, cost, lower, upper, n_col)

    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = len(rows.lo)
    lp.col_cost_ = np.concatenate(cost)
    lp.col_lower_ = np.concatenate(lower)
    lp.col_upper_ = np.concatenate(upper)
    lp.row_lower_ = np.array(rows.lo)
    lp.row_upper_ = np.array(rows.hi)
    r = np.concatenate(rows.r) if rows.r else np.zeros(0, dtype=np.int64)
    c = np.concatenate(rows.c) if rows.c else np.zeros(0, dtype=np.int64)
    v = np.concatenate(rows.v) if rows.v else np.zeros(0)
    order = np.lexsort((r, c))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=n_col))])
    lp.a_matrix_.index_ = r[order].astype(np.int32)
    lp.a_matrix_.value_ = v[order]
    if integer:
        # Edges and side indicators are integer.  Load-band excess and quota deficit columns
        # stay continuous: the subproblem then prices load per tenth of an hour instead of per
        # started hour, a relaxation that is much easier to branch on; every result is
        # re-evaluated with the exact objective before it is accepted.
        kinds = [highspy.HighsVarType.kInteger] * n_col
        if not exact_bands:
            for k in range(n_e, aux_end):
                kinds[k] = highspy.HighsVarType.kContinuous
        lp.integrality_ = kinds
    return lp, offset


def edge_column_entries(
    inst: AssignmentInstance, layout: RowLayout, edges: I64
) -> tuple[I64, I64, F64]:
    """Row, column and value of every matrix entry of the columns of ``edges`` (columns
    numbered 0.. in the order given) in the assignment, capacity, count, band and quota rows
    at the rows ``layout`` gives them (the model builder's edge columns, and the columns the
    pricing LP adds)."""
    n = len(edges)
    item = inst.edge_item[edges].astype(np.int64)
    agent = inst.edge_agent[edges].astype(np.int64)
    w = inst.edge_weight[edges].astype(np.float64)
    col = np.arange(n, dtype=np.int64)
    entries_r = [item, layout.cap + agent, layout.count + agent]
    entries_v = [np.ones(n), w, np.ones(n)]
    entries_c = [col, col, col]
    for k in range(len(layout.band_index)):
        entries_r.append(layout.band(k) + agent)
        entries_v.append(-w)
        entries_c.append(col)
    if len(layout.quota_agents):
        local = np.full(inst.n_agents, -1, dtype=np.int64)
        local[layout.quota_agents] = np.arange(len(layout.quota_agents))
        owed = local[agent] >= 0
        entries_r.append(layout.quota + local[agent[owed]])
        entries_v.append(np.ones(int(owed.sum())))
        entries_c.append(np.flatnonzero(owed))
    return np.concatenate(entries_r), np.concatenate(entries_c), np.concatenate(entries_v)


HIGHS_THREADS = 1
_banner_shown = False


def _new_highs() -> highspy.Highs:
    """A Highs object; the first one in a process prints a copyright banner straight to the C
    stdout, which would land in the middle of a command's output, so that one is made with the
    process's stdout pointed at /dev/null."""
    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _banner_shown = True
    return h


def _highs(lp: highspy.HighsLp, time_limit_s: float, threads: int, seed: int) -> highspy.Highs:
    """A HiGHS instance for ``lp``.  HiGHS keeps one global thread pool per process and refuses
    to run with a different thread count, so the engine always uses ``HIGHS_THREADS``."""
    if threads != HIGHS_THREADS:
        raise ValueError(f"HiGHS runs with {HIGHS_THREADS} thread(s) in this engine")
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.1, float(time_limit_s)))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", int(seed))
    h.passModel(lp)
    return h


def _run(h: highspy.Highs) -> None:
    if h.run() == highspy.HighsStatus.kError and (
        h.getModelStatus() == highspy.HighsModelStatus.kNotset
    ):
        # HiGHS keeps one thread pool per process; a caller that ran HiGHS with another thread
        # count (a benchmark peer) leaves it set up differently.  Start it afresh and retry.
        highspy.Highs.resetGlobalScheduler(True)
        h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        raise RuntimeError(
            f"HiGHS failed: {h.modelStatusToString(h.getModelStatus())} (another HiGHS user in "
            "this process with a different thread count?)"
        )


def solve_lp(inst: AssignmentInstance, time_limit_s: float = 30.0, threads: int = 1) -> LpResult:
    start = time.monotonic()
    n_e = inst.n_edges
    lp, offset = build_highs_model(inst, integer=False)
    h = _highs(lp, time_limit_s, threads, 0)
    _run(h)
    status = h.modelStatusToString(h.getModelStatus())
    wall = time.monotonic() - start
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            return LpResult(float("inf"), np.zeros(n_e), status, wall)
        return LpResult(float("-inf"), np.zeros(n_e), status, wall)
    value = h.getInfo().objective_function_value + offset
    solution = h.getSolution()
    x = np.asarray(solution.col_value[:n_e], dtype=np.float64)
    prices = row_layout(inst).prices(np.asarray(solution.row_dual, dtype=np.float64))
    reduced = np.asarray(solution.col_dual[:n_e], dtype=np.float64)
    prices = dataclasses.replace(
        prices, item=item_duals_for_knapsack(inst, prices.item, reduced, x)
    )
    # All objective coefficients are integers, so the integer optimum is at least ceil(LP).
    return LpResult(float(math.ceil(value - 1e-6)), x, status, wall, prices, reduced)


def solve_mip(
    inst: AssignmentInstance,
    time_limit_s: float,
    start: I32 | None = None,
    threads: int = 1,
    seed: int = 0,
    exact_bands: bool = False,
    max_nodes: int | None = None,
) -> MipResult:
    """Branch and cut with HiGHS, from ``start`` (edge columns given; HiGHS completes the rest).

    With ``exact_bands`` the load-band excess columns are integer, so the MIP optimum is the
    instance's exact optimum; without, bands are priced per tenth of an hour (faster; the result
    is a heuristic answer for the exact objective and its dual bound still a valid bound).
    ``max_nodes`` is a work limit: with it (and the time limit only as a safety) the result
    repeats exactly."""
    t0 = time.monotonic()
    lp, offset = build_highs_model(inst, integer=True, exact_bands=exact_bands)
    h = _highs(lp, time_limit_s, threads, seed)
    h.setOptionValue("mip_rel_gap", 0.0)
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    if start is not None:
        rows = chosen_edges(inst, start)
        on = np.zeros(inst.n_edges)
        on[rows[rows >= 0]] = 1.0
        h.setSolution(inst.n_edges, np.arange(inst.n_edges, dtype=np.int32), on)
    _run(h)
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    bound = float(info.mip_dual_bound) + offset if np.isfinite(info.mip_dual_bound) else -np.inf
    wall = time.monotonic() - t0
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return MipResult(None, bound, status, wall)
    x = np.asarray(h.getSolution().col_value[: inst.n_edges]) > 0.5
    agent = np.full(inst.n_items, -1, dtype=np.int32)
    agent[inst.edge_item[x]] = inst.edge_agent[x]
    rounded = float(math.ceil(bound - 1e-6)) if np.isfinite(bound) else bound
    return MipResult(agent, rounded, status, wall)


def _fixed_edges(inst: AssignmentInstance) -> I64:
    assert inst.fixed_agent is not None
    out = []
    for i in np.flatnonzero(inst.fixed_agent >= 0):
        sl = inst.edges_of(int(i))
        hit = np.flatnonzero(inst.edge_agent[sl] == inst.fixed_agent[i])
        out.append(sl.start + int(hit[0]))
    return np.array(out, dtype=np.int64)


def _group_rows(
    inst: AssignmentInstance,
    rows: _Rows,
    cost: list[np.ndarray],
    lower: list[np.ndarray],
    upper: list[np.ndarray],
    n_col: int,
) -> int:
    for clique in inst.same_agent_cliques:
        e = inst.edges_of_items(clique)
        for a in np.unique(inst.edge_agent[e]):
            sel = e[inst.edge_agent[e] == a]
            if len(sel) > 1:
                rows.add(sel, np.ones(len(sel)), -highspy.kHighsInf, 1.0)
    if inst.agent_group is None:
        return n_col
    group = inst.agent_group
    for clique in inst.same_group_cliques:
        e = inst.edges_of_items(clique)
        g = group[inst.edge_agent[e]]
        for gv in np.unique(g):
            sel = e[g == gv]
            if len(sel) > 1:
                rows.add(sel, np.ones(len(sel)), -highspy.kHighsInf, 1.0)
    for opp in inst.opposing_sides:
        ea, eb = inst.edges_of_items(opp.side_a), inst.edges_of_items(opp.side_b)
        ga, gb = group[inst.edge_agent[ea]], group[inst.edge_agent[eb]]
        for gv in np.intersect1d(ga, gb):
            ya, yb = n_col, n_col + 1
            n_col += 2
            cost.append(np.zeros(2))
            lower.append(np.zeros(2))
            upper.append(np.ones(2))
            rows.add(np.array([ya, yb]), np.ones(2), -highspy.kHighsInf, 1.0)
            for e_sel, y in ((ea[ga == gv], ya), (eb[gb == gv], yb)):
                for e in e_sel:
                    rows.add(np.array([e, y]), np.array([1.0, -1.0]), -highspy.kHighsInf, 0.0)
    return n_col
