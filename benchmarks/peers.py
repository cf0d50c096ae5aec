"""The methods the benchmark compares, each behind one signature and registered by name.

A peer takes ``(inst, time_limit_s, seed)`` and returns an agent per item (-1 unassigned).  It
may append plain-language notes (status, repairs) to ``notes``.  A peer that finds no assignment
at all raises :class:`NoSolution`; the suite records that, and checks every returned vector with
``feasibility_issues`` before counting its objective.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import highspy
import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from assigner.search.cpsat import SearchParams, solve_cpsat
from assigner.search.greedy import GroupState
from assigner.search.instance import I32, I64, MUST_ASSIGN, UNASSIGNED, AssignmentInstance
from assigner.search.solve import run_search

log = logging.getLogger(__name__)

WORKERS = 2

F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


class NoSolution(RuntimeError):
    """The method ended without any assignment vector."""


class Peer(Protocol):
    def __call__(
        self,
        inst: AssignmentInstance,
        time_limit_s: float,
        seed: int,
        *,
        notes: list[str] | None = None,
    ) -> I32: ...


def _note(notes: list[str] | None, text: str) -> None:
    log.info(text)
    if notes is not None:
        notes.append(text)


class _Tracker:
    """Used weight, count and group rules while a constructive peer places items."""

    def __init__(self, inst: AssignmentInstance) -> None:
        self.inst = inst
        self.used_w = np.zeros(inst.n_agents, dtype=np.int64)
        self.used_n = np.zeros(inst.n_agents, dtype=np.int64)
        self.groups = GroupState(inst)
        self.has_groups = bool(
            inst.same_agent_cliques or inst.same_group_cliques or inst.opposing_sides
        )

    def fits(self, agents: I32, weights: I64) -> Bools:
        return (self.used_w[agents] + weights <= self.inst.capacity[agents]) & (
            self.used_n[agents] + 1 <= self.inst.max_count[agents]
        )

    def allows(self, item: int, agent: int) -> bool:
        fixed = self.inst.fixed_agent
        if fixed is not None and fixed[item] >= 0 and fixed[item] != agent:
            return False
        return (
            not self.has_groups or not self.groups.involved(item) or self.groups.allows(item, agent)
        )

    def add(self, item: int, agent: int, weight: int) -> None:
        self.used_w[agent] += weight
        self.used_n[agent] += 1
        if self.has_groups:
            self.groups.add(item, agent)


def _fixed_first(inst: AssignmentInstance) -> I64:
    """Arrival order (item index), with items pinned to an agent placed first."""
    order = np.arange(inst.n_items, dtype=np.int64)
    if inst.fixed_agent is None:
        return order
    return np.concatenate([order[inst.fixed_agent >= 0], order[inst.fixed_agent < 0]])


def rotation(
    inst: AssignmentInstance, time_limit_s: float, seed: int, *, notes: list[str] | None = None
) -> I32:
    """Rotation list (Texas CCP Art 26.04 style): agents in a fixed order; each item, in arrival
    order, goes to the next agent in line that may take it and has room; the pointer moves past
    the chosen agent.  Cost plays no part."""
    agent_of = np.full(inst.n_items, UNASSIGNED, dtype=np.int32)
    state = _Tracker(inst)
    pointer = 0
    for item in _fixed_first(inst):
        i = int(item)
        sl = inst.edges_of(i)
        agents, weights = inst.edge_agent[sl], inst.edge_weight[sl]
        ok = np.flatnonzero(state.fits(agents, weights))
        if ok.size == 0:
            continue
        ok = ok[np.argsort((agents[ok] - pointer) % inst.n_agents, kind="stable")]
        for k in ok:
            a = int(agents[k])
            if state.allows(i, a):
                agent_of[i] = a
                state.add(i, a, int(weights[k]))
                if inst.fixed_agent is None or inst.fixed_agent[i] < 0:
                    pointer = (a + 1) % inst.n_agents
                break
    _note(notes, f"rotation left {int(np.sum(agent_of < 0))} items unassigned")
    return agent_of


def greedy_best_fit(
    inst: AssignmentInstance, time_limit_s: float, seed: int, *, notes: list[str] | None = None
) -> I32:
    """Each item in arrival order to its cheapest edge that still fits (an optional item stays
    unassigned when every fitting edge costs at least its unassigned penalty)."""
    agent_of = np.full(inst.n_items, UNASSIGNED, dtype=np.int32)
    state = _Tracker(inst)
    for item in _fixed_first(inst):
        i = int(item)
        sl = inst.edges_of(i)
        agents, weights, costs = inst.edge_agent[sl], inst.edge_weight[sl], inst.edge_cost[sl]
        ok = np.flatnonzero(state.fits(agents, weights))
        ok = ok[np.argsort(costs[ok], kind="stable")]
        penalty = int(inst.unassigned_penalty[i])
        for k in ok:
            if penalty != MUST_ASSIGN and costs[k] >= penalty:
                break
            a = int(agents[k])
            if state.allows(i, a):
                agent_of[i] = a
                state.add(i, a, int(weights[k]))
                break
    _note(notes, f"greedy best-fit left {int(np.sum(agent_of < 0))} items unassigned")
    return agent_of


def plain_cpsat(
    inst: AssignmentInstance, time_limit_s: float, seed: int, *, notes: list[str] | None = None
) -> I32:
    """The engine's CP-SAT model alone: default parameters, no hint, same workers and time."""
    result = solve_cpsat(inst, SearchParams(time_limit_s=time_limit_s, workers=WORKERS, seed=seed))
    _note(notes, f"CP-SAT {result.status}, bound {result.bound:.0f}")
    if result.agent_of_item is None:
        raise NoSolution(f"CP-SAT ended {result.status} without a solution")
    return result.agent_of_item


def ours(
    inst: AssignmentInstance, time_limit_s: float, seed: int, *, notes: list[str] | None = None
) -> I32:
    """The engine's search (``run_search``); the suite calls it directly to keep the bound."""
    outcome = run_search(inst, SearchParams(time_limit_s=time_limit_s, workers=WORKERS, seed=seed))
    _note(notes, f"method {outcome.method}, bound {outcome.bound:.0f}")
    return outcome.agent_of_item


# --- HiGHS MIP -------------------------------------------------------------------------------


class _Rows:
    """Constraint rows gathered as coordinate triplets, handed to HiGHS in one bulk call."""

    def __init__(self) -> None:
        self.rows: list[I64] = []
        self.cols: list[I64] = []
        self.vals: list[F64] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, cols: npt.ArrayLike, vals: npt.ArrayLike, lower: float, upper: float) -> None:
        col_arr = np.asarray(cols, dtype=np.int64).reshape(-1)
        self.rows.append(np.full(len(col_arr), len(self.lower), dtype=np.int64))
        self.cols.append(col_arr)
        self.vals.append(np.asarray(vals, dtype=np.float64).reshape(-1))
        self.lower.append(lower)
        self.upper.append(upper)

    def add_many(
        self,
        row_of: npt.ArrayLike,
        cols: npt.ArrayLike,
        vals: npt.ArrayLike,
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
    ) -> None:
        """Rows given as ``row_of`` (0-based within this batch) per non-zero."""
        base = len(self.lower)
        self.rows.append(np.asarray(row_of, dtype=np.int64) + base)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=np.float64))
        self.lower.extend(np.asarray(lower, dtype=np.float64).tolist())
        self.upper.extend(np.asarray(upper, dtype=np.float64).tolist())

    def pass_to(self, h: highspy.Highs) -> None:
        if not self.lower:
            return
        rows = np.concatenate(self.rows)
        cols = np.concatenate(self.cols)
        vals = np.concatenate(self.vals)
        order = np.argsort(rows, kind="stable")
        n_rows = len(self.lower)
        starts = np.searchsorted(rows[order], np.arange(n_rows)).astype(np.int32)
        h.addRows(
            n_rows,
            np.array(self.lower, dtype=np.float64),
            np.array(self.upper, dtype=np.float64),
            len(order),
            starts,
            cols[order].astype(np.int32),
            vals[order],
        )


def _edges_by_agent(inst: AssignmentInstance) -> tuple[I64, I64]:
    order = np.argsort(inst.edge_agent, kind="stable").astype(np.int64)
    bounds = np.searchsorted(inst.edge_agent[order], np.arange(inst.n_agents + 1)).astype(np.int64)
    return order, bounds


def highs_mip(
    inst: AssignmentInstance, time_limit_s: float, seed: int, *, notes: list[str] | None = None
) -> I32:
    """The same model as a MIP in HiGHS: a binary per edge, assignment, weight and count
    capacity, load bands, quota deficit, fixed items and every group rule (opposing sides as
    pairwise conflicts per agent group)."""
    start = time.monotonic()
    n_e = inst.n_edges
    inf = highspy.kHighsInf
    # Another HiGHS user in this process (the engine's LP bound) may have started the shared
    # scheduler with other thread counts; start it afresh so the thread option takes.
    highspy.Highs.resetGlobalScheduler(True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("threads", WORKERS)
    h.setOptionValue("mip_rel_gap", 0.0)

    penalty = np.where(inst.unassigned_penalty == MUST_ASSIGN, 0, inst.unassigned_penalty)
    offset = float(penalty.sum())
    x_cost = (inst.edge_cost - penalty[inst.edge_item]).astype(np.float64)
    x_lower = np.zeros(n_e)
    if inst.fixed_agent is not None:
        pinned = inst.fixed_agent[inst.edge_item]
        x_lower[(pinned >= 0) & (pinned == inst.edge_agent)] = 1.0
    col_cost = [x_cost]
    col_lower = [x_lower]
    col_upper = [np.ones(n_e)]
    rows = _Rows()

    # Assignment rows.
    must = inst.unassigned_penalty == MUST_ASSIGN
    rows.add_many(
        inst.edge_item.astype(np.int64),
        np.arange(n_e),
        np.ones(n_e),
        np.where(must, 1.0, 0.0),
        np.ones(inst.n_items),
    )
    order, bounds = _edges_by_agent(inst)
    agent_of_sorted = inst.edge_agent[order].astype(np.int64)
    rows.add_many(
        agent_of_sorted,
        order,
        inst.edge_weight[order],
        np.full(inst.n_agents, -inf),
        inst.capacity.astype(np.float64),
    )
    rows.add_many(
        agent_of_sorted,
        order,
        np.ones(n_e),
        np.full(inst.n_agents, -inf),
        inst.max_count.astype(np.float64),
    )

    n_cols = n_e
    base = inst.base()
    load_max = base + np.minimum(
        np.bincount(inst.edge_agent, weights=inst.edge_weight, minlength=inst.n_agents).astype(
            np.int64
        ),
        inst.capacity,
    )
    for band in inst.bands:
        if band.points == 0:
            continue
        for a in np.flatnonzero(load_max > band.threshold):
            rs = order[bounds[a] : bounds[a + 1]]
            ub = -(-(int(load_max[a]) - int(band.threshold[a])) // band.unit)
            col_cost.append(np.array([float(band.points)]))
            col_lower.append(np.zeros(1))
            col_upper.append(np.array([float(ub)]))
            # sum w x - unit * ex <= threshold - base
            rows.add(
                np.append(rs, n_cols),
                np.append(inst.edge_weight[rs], -band.unit),
                -inf,
                float(band.threshold[a] - base[a]),
            )
            n_cols += 1
    if inst.quota_short is not None and inst.quota_points:
        for a in np.flatnonzero(inst.quota_short > 0):
            rs = order[bounds[a] : bounds[a + 1]]
            col_cost.append(np.array([float(inst.quota_points)]))
            col_lower.append(np.zeros(1))
            col_upper.append(np.array([float(inst.quota_short[a])]))
            rows.add(np.append(rs, n_cols), np.ones(len(rs) + 1), float(inst.quota_short[a]), inf)
            n_cols += 1
    _add_group_rows(inst, rows)

    costs = np.concatenate(col_cost)
    h.addVars(n_cols, np.concatenate(col_lower), np.concatenate(col_upper))
    h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), costs)
    h.changeColsIntegrality(
        n_cols,
        np.arange(n_cols, dtype=np.int32),
        np.full(n_cols, highspy.HighsVarType.kInteger),
    )
    rows.pass_to(h)
    h.changeObjectiveOffset(offset)
    h.setOptionValue("time_limit", max(0.05, time_limit_s - (time.monotonic() - start)))
    run_status = h.run()
    log.debug("HiGHS run: %s", run_status)
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    _note(notes, f"HiGHS {status}, dual bound {info.mip_dual_bound:.0f}")
    if info.primal_solution_status == 0:
        raise NoSolution(f"HiGHS ended '{status}' without a feasible solution")
    values = np.asarray(h.getSolution().col_value[:n_e]) > 0.5
    agent_of = np.full(inst.n_items, UNASSIGNED, dtype=np.int32)
    agent_of[inst.edge_item[values]] = inst.edge_agent[values]
    return agent_of


def _add_group_rows(inst: AssignmentInstance, rows: _Rows) -> None:
    def edges_by_key(items: I32, key: I32) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i in items:
            sl = inst.edges_of(int(i))
            for e in range(sl.start, sl.stop):
                out.setdefault(int(key[inst.edge_agent[e]]), []).append(e)
        return out

    def at_most_one(es: list[int]) -> None:
        if len(es) > 1:
            rows.add(np.array(es), np.ones(len(es)), -highspy.kHighsInf, 1.0)

    identity = np.arange(inst.n_agents, dtype=np.int32)
    for clique in inst.same_agent_cliques:
        for es in edges_by_key(clique, identity).values():
            at_most_one(es)
    if inst.agent_group is None:
        return
    for clique in inst.same_group_cliques:
        for es in edges_by_key(clique, inst.agent_group).values():
            at_most_one(es)
    for opp in inst.opposing_sides:
        side_a = edges_by_key(opp.side_a, inst.agent_group)
        side_b = edges_by_key(opp.side_b, inst.agent_group)
        for g in side_a.keys() & side_b.keys():
            for ea in side_a[g]:
                for eb in side_b[g]:
                    at_most_one([ea, eb])


# --- min-cost flow on case counts ------------------------------------------------------------


def _count_segments(inst: AssignmentInstance, mean_w: F64, room: I64) -> tuple[I64, I64, I64]:
    """Agent -> sink arcs: the marginal cost of the k-th case (band change at the mean weight,
    minus the quota bonus while short) is non-decreasing in k, so equal runs become one arc."""
    seg_agent: list[int] = []
    seg_cap: list[int] = []
    seg_cost: list[int] = []
    base = inst.base()
    short = inst.quota_short if inst.quota_short is not None else np.zeros(inst.n_agents, np.int64)
    for a in np.flatnonzero(room > 0):
        k = np.arange(1, int(room[a]) + 1, dtype=np.int64)
        marginal = np.zeros(len(k), dtype=np.int64)
        before = base[a] + np.round((k - 1) * mean_w[a]).astype(np.int64)
        after = base[a] + np.round(k * mean_w[a]).astype(np.int64)
        for band in inst.bands:
            thr = band.threshold[a]
            b0 = -(-np.maximum(0, before - thr) // band.unit)
            b1 = -(-np.maximum(0, after - thr) // band.unit)
            marginal += band.points * (b1 - b0)
        if inst.quota_points:
            marginal -= inst.quota_points * (k <= short[a])
        marginal = np.maximum.accumulate(marginal)  # rounding may break convexity slightly
        cuts = np.flatnonzero(np.diff(marginal)) + 1
        for run in np.split(np.arange(len(k)), cuts):
            seg_agent.append(int(a))
            seg_cap.append(len(run))
            seg_cost.append(int(marginal[run[0]]))
    return (
        np.array(seg_agent, dtype=np.int64),
        np.array(seg_cap, dtype=np.int64),
        np.array(seg_cost, dtype=np.int64),
    )


def min_cost_flow_counts(
    inst: AssignmentInstance, time_limit_s: float, seed: int, *, notes: list[str] | None = None
) -> I32:
    """Min-cost flow on case counts: source -> item (1) -> agent (edge cost) -> sink, each agent
    taking at most ``min(max_count, floor(capacity / mean weight of its edges))`` cases, and an
    overflow arc per item at its unassigned penalty (a large cost when it must be assigned).  Hours
    are only approximated, so the flow is repaired: items that break weight capacity or a group
    rule are moved to another agent with room (items that must be assigned) or left unassigned."""
    n, m = inst.n_items, inst.n_agents
    source, sink = n + m, n + m + 1
    w_sum = np.bincount(inst.edge_agent, weights=inst.edge_weight, minlength=m)
    e_cnt = np.bincount(inst.edge_agent, minlength=m)
    mean_w = np.where(e_cnt > 0, w_sum / np.maximum(1, e_cnt), 1.0)
    room = np.minimum(inst.max_count, np.floor(inst.capacity / np.maximum(mean_w, 1e-9)))
    room = np.minimum(room, e_cnt).astype(np.int64)
    seg_agent, seg_cap, seg_cost = _count_segments(inst, mean_w, room)

    big = int(np.abs(inst.edge_cost).max(initial=0) + np.abs(seg_cost).max(initial=0) + 1) * 4
    overflow = np.where(inst.unassigned_penalty == MUST_ASSIGN, big, inst.unassigned_penalty)
    items = np.arange(n, dtype=np.int64)
    fixed = inst.fixed_agent
    pinned_edge = (
        (fixed[inst.edge_item] >= 0) & (fixed[inst.edge_item] == inst.edge_agent)
        if fixed is not None
        else np.zeros(inst.n_edges, dtype=bool)
    )
    edge_cost = np.where(pinned_edge, inst.edge_cost - big, inst.edge_cost)
    tails = np.concatenate([np.full(n, source), inst.edge_item, seg_agent + n, items])
    heads = np.concatenate(
        [
            items,
            inst.edge_agent.astype(np.int64) + n,
            np.full(len(seg_agent), sink),
            np.full(n, sink),
        ]
    )
    caps = np.concatenate([np.ones(n), np.ones(inst.n_edges), seg_cap, np.ones(n)]).astype(np.int64)
    unit = np.concatenate([np.zeros(n), edge_cost, seg_cost, overflow]).astype(np.int64)

    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, unit)
    supplies = np.zeros(n + m + 2, dtype=np.int64)
    supplies[source], supplies[sink] = n, -n
    smcf.set_nodes_supplies(np.arange(n + m + 2), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise NoSolution(f"min-cost flow ended with status {status}")
    edge_arcs = arcs[n : n + inst.n_edges]
    used = smcf.flows(edge_arcs) > 0
    agent_of = np.full(n, UNASSIGNED, dtype=np.int32)
    agent_of[inst.edge_item[used]] = inst.edge_agent[used]
    return _repair(inst, agent_of, notes)


def _repair(inst: AssignmentInstance, flow_agent: I32, notes: list[str] | None) -> I32:
    """Keep flow assignments while they fit (pinned items first, then the cheapest per weight);
    re-place or drop the rest."""
    state = _Tracker(inst)
    agent_of = np.full(inst.n_items, UNASSIGNED, dtype=np.int32)
    assigned = np.flatnonzero(flow_agent >= 0)
    edge_row = np.full(inst.n_items, -1, dtype=np.int64)
    for it in assigned:
        sl = inst.edges_of(int(it))
        edge_row[it] = sl.start + int(np.flatnonzero(inst.edge_agent[sl] == flow_agent[it])[0])
    rows = edge_row[assigned]
    pinned = (
        inst.fixed_agent[assigned] >= 0
        if inst.fixed_agent is not None
        else np.zeros(len(assigned), dtype=bool)
    )
    density = inst.edge_cost[rows] / np.maximum(1, inst.edge_weight[rows])
    keep_order = assigned[np.lexsort((density, ~pinned))]
    displaced: list[int] = []
    for item in keep_order:
        i = int(item)
        r = int(edge_row[i])
        a = int(inst.edge_agent[r])
        w = inst.edge_weight[r : r + 1]
        if state.fits(inst.edge_agent[r : r + 1], w)[0] and state.allows(i, a):
            agent_of[i] = a
            state.add(i, a, int(w[0]))
        else:
            displaced.append(i)
    must_unassigned = [
        int(i) for i in np.flatnonzero(flow_agent < 0) if inst.unassigned_penalty[i] == MUST_ASSIGN
    ]
    moved = dropped = 0
    retry = np.array(displaced + must_unassigned, dtype=np.int64)
    # Hardest to place first: the largest smallest-weight among the item's edges.
    min_w = np.minimum.reduceat(inst.edge_weight, inst.item_offsets[:-1]) if inst.n_edges else None
    if min_w is not None and retry.size:
        retry = retry[np.argsort(-min_w[retry], kind="stable")]
    for item in retry:
        i = int(item)
        sl = inst.edges_of(i)
        agents, weights, costs = inst.edge_agent[sl], inst.edge_weight[sl], inst.edge_cost[sl]
        ok = np.flatnonzero(state.fits(agents, weights))
        ok = ok[np.argsort(costs[ok], kind="stable")]
        placed = False
        if inst.unassigned_penalty[i] == MUST_ASSIGN:
            for k in ok:
                if state.allows(i, int(agents[k])):
                    agent_of[i] = int(agents[k])
                    state.add(i, int(agents[k]), int(weights[k]))
                    placed = True
                    break
        moved += placed
        dropped += not placed
    _note(
        notes,
        f"min-cost flow repair: {len(displaced)} assignments broke weight capacity or a group "
        f"rule, {len(must_unassigned)} must-assign items overflowed; {moved} moved to another "
        f"agent, {dropped} left unassigned",
    )
    return agent_of


PEERS: dict[str, Peer] = {
    "ours": ours,
    "rotation": rotation,
    "greedy-best-fit": greedy_best_fit,
    "plain-cpsat": plain_cpsat,
    "highs-mip": highs_mip,
    "min-cost-flow": min_cost_flow_counts,
}


def get_peer(name: str) -> Peer:
    """The registered method of that name; unknown names raise, listing the known ones."""
    try:
        return PEERS[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(PEERS)}") from None
