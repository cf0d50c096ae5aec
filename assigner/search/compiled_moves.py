"""Neighbourhood passes compiled with numba: shift, swap and ejection moves with exact deltas.

- **Shift**: one item goes to another of its agents (the move ``local_search``'s numpy rounds
  make, here item by item: a pass over every item of county-L takes about 0.2 s, a numpy round
  about 1 s).
- **Swap**: two items held by different agents exchange their agents.  Both agents keep their
  item counts (so count limits and quotas), their loads change only by the difference of the two
  weights: this is what shifts cannot do once most agents sit above a load band.
- **Ejection**: an item goes to an agent ``b`` while one of ``b``'s items goes on to a third
  agent: a shift into an agent that is full (weight or count) or above a band.

Each pass walks every item ``i`` held by the agents it is given, every other agent ``b`` of
``i``'s edges and every item ``j`` held by ``b`` (on county-L about 136 million pairs per
pass; a first swap pass takes about 3.3 s, an ejection pass about 2.2 s).  A pair is first
bounded from below without the load bands (the band at ``b`` cannot fall by more than its
heaviest item's weight allows; ``j``'s onward move is taken from the start of the pass); only
pairs whose bound beats the best move found for ``i`` are priced exactly (edge costs, load
bands, quotas, capacities).

A swap's value depends on its two agents only, an ejection's on its two agents and the
onward move: pairs of agents where neither changed since the pass last walked ``a`` (and,
for ejections, no item of ``b`` found a better onward move) were priced then and found not to
improve, so they are skipped.  The record of changes carries over between calls on one
``CompiledMoves``, the agents whose items were moved in between counting as changed.  On
county-L, descent from the flow's rounding to convergence took 84 s without the skipping and
42 s with it, to the same objective within 40 points.  The swap pass reads its partners' items,
costs and weights from arrays in the order of ``in_edge`` and the held items' from per-item
arrays, and an item's onward move prices the load band only at agents whose edge cost alone
beats the best so far: the same moves, and descent to convergence on county-L in 33.9 s against
40.1 s (``benchmarks/results/descent/``, the two files of 2026-11-27 named for it).
``i`` then takes its best move at once.  Items under group rules (co-defendants, opposing
sides), fixed items and unassigned items are left to ``local_search``'s rounds, which check the
group rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt
from numba import njit

from assigner.search.greedy import GroupState
from assigner.search.instance import I32, I64, AssignmentInstance, chosen_edges
from assigner.search.load_bands import band_arrays, band_cost

# Agents per compiled call: the deadline is checked between calls (county-L: about 0.25 s).
AGENTS_PER_CALL = 64
NONE = -1
NEVER = 1 << 60  # a lower bound that no move beats
KINDS = ("shift", "swap", "ejection")


class _Instance(NamedTuple):
    """The instance as the passes read it (numba takes a named tuple of arrays as one
    argument)."""

    offsets: I64  # per item, its first edge (edges sorted by item)
    edge_item: I64
    edge_agent: I64
    edge_cost: I64
    edge_weight: I64
    in_start: I64  # per agent, its first entry in ``in_edge``
    in_edge: I64  # edges sorted by agent
    # Per entry of ``in_edge``, its edge's item, cost and weight: the swap pass reads them
    # in order (on county-L, looking them up through ``in_edge`` missed the cache on every
    # entry, 2.4 s of a 6 s pass).
    in_item: I32
    in_cost: I64
    in_weight: I64
    movable: npt.NDArray[np.bool_]  # per item: not fixed, not under a group rule
    threshold: I64  # per agent and band
    points: I64  # per band
    unit: I64  # per band
    base: I64
    capacity: I64
    max_count: I64
    quota: I64  # zero where there is none
    quota_points: int


class _Plan(NamedTuple):
    """The assignment as the passes update it in place: per item its agent and edge row, per
    agent its added load and the items it holds (``held_n`` of them, in slots
    ``held_start[a]`` .. ``held_start[a] + held_n[a]`` of ``held_items``; ``slot`` per item)."""

    agent_of: I64
    rows: I64
    added: I64
    held_start: I64
    held_n: I64
    held_items: I64
    slot: I64
    # Which agents changed since a pass last walked them (the passes skip pairs of agents that
    # did not: their moves were priced then and found not to improve).  ``clock[0]`` counts
    # agent walks; ``changed_at`` per agent is the clock at its last move, ``swap_walked`` and
    # ``ejection_walked`` the clock when each pass last began walking it; ``lowered_at`` per
    # agent the clock when an item it holds last found a better onward move (ejections read
    # those), ``onward_seen`` per item that move's value then.
    clock: I64
    changed_at: I64
    swap_walked: I64
    ejection_walked: I64
    lowered_at: I64
    onward_seen: I64


class CompiledMoves:
    """The instance's arrays in the form the compiled passes read, built once per instance."""

    def __init__(self, inst: AssignmentInstance) -> None:
        self.inst = inst
        m = inst.n_agents
        edge_agent = inst.edge_agent.astype(np.int64)
        in_degree = np.bincount(edge_agent, minlength=m).astype(np.int64)
        threshold, points, unit = band_arrays(inst)
        has_quota = inst.quota_short is not None and inst.quota_points
        groups = GroupState(inst)
        movable = np.array([not groups.involved(i) for i in range(inst.n_items)], dtype=bool)
        if inst.fixed_agent is not None:
            movable &= inst.fixed_agent < 0
        in_edge = np.argsort(edge_agent, kind="stable").astype(np.int64)
        edge_cost = inst.edge_cost.astype(np.int64)
        edge_weight = inst.edge_weight.astype(np.int64)
        self.in_degree = in_degree
        self._last: _Plan | None = None  # the plan the last call left, with its clocks
        self.arrays = _Instance(
            offsets=inst.item_offsets.astype(np.int64),
            edge_item=inst.edge_item.astype(np.int64),
            edge_agent=edge_agent,
            edge_cost=edge_cost,
            edge_weight=edge_weight,
            in_start=np.concatenate([[0], np.cumsum(in_degree)]).astype(np.int64),
            in_edge=in_edge,
            in_item=inst.edge_item[in_edge].astype(np.int32, copy=False),
            in_cost=edge_cost[in_edge],
            in_weight=edge_weight[in_edge],
            movable=movable,
            threshold=threshold,
            points=points,
            unit=unit,
            base=inst.base().astype(np.int64),
            capacity=inst.capacity.astype(np.int64),
            max_count=inst.max_count.astype(np.int64),
            quota=(
                inst.quota_short.astype(np.int64)
                if has_quota and inst.quota_short is not None
                else np.zeros(m, dtype=np.int64)
            ),
            quota_points=int(inst.quota_points) if has_quota else 0,
        )

    def _plan(self, agent_of: I32) -> _Plan:
        inst, arrays = self.inst, self.arrays
        vec = agent_of.astype(np.int64)
        rows = chosen_edges(inst, agent_of).astype(np.int64)
        held = np.flatnonzero(vec >= 0)
        used = rows[held]
        added = np.bincount(
            arrays.edge_agent[used], weights=arrays.edge_weight[used], minlength=inst.n_agents
        ).astype(np.int64)
        count = np.bincount(vec[held], minlength=inst.n_agents).astype(np.int64)
        room = np.maximum(np.minimum(arrays.max_count, self.in_degree), count)
        held_start = np.concatenate([[0], np.cumsum(room)]).astype(np.int64)
        held_items = np.full(int(held_start[-1]), NONE, dtype=np.int64)
        by_agent = held[np.argsort(vec[held], kind="stable")]
        first = np.concatenate([[0], np.cumsum(count)])[:-1]
        where = held_start[vec[by_agent]] + np.arange(by_agent.size) - first[vec[by_agent]]
        held_items[where] = by_agent
        slot = np.full(inst.n_items, NONE, dtype=np.int64)
        slot[by_agent] = where
        m = inst.n_agents
        last = self._last
        if last is None:
            clocks = (
                np.zeros(1, dtype=np.int64),
                np.zeros(m, dtype=np.int64),
                np.full(m, -1, dtype=np.int64),
                np.full(m, -1, dtype=np.int64),
                np.zeros(m, dtype=np.int64),
                np.full(inst.n_items, NEVER, dtype=np.int64),
            )
        else:
            # The clocks carry over from the last call (descent alternates the passes with
            # shift rounds that move a few items): only the agents whose items changed since
            # count as changed.
            clocks = (
                last.clock,
                last.changed_at,
                last.swap_walked,
                last.ejection_walked,
                last.lowered_at,
                last.onward_seen,
            )
            moved = np.flatnonzero(last.agent_of != vec)
            touched = np.concatenate([last.agent_of[moved], vec[moved]])
            last.clock[0] += 1
            last.changed_at[touched[touched >= 0]] = last.clock[0]
        plan = _Plan(vec, rows, added, held_start, count, held_items, slot, *clocks)
        self._last = plan
        return plan

    def improve(self, agent_of: I32, deadline: float) -> tuple[I32, int]:
        """Shift, swap and ejection passes over every agent, repeated until a round of the
        three changes nothing or ``deadline`` passes; returns the new vector and the number of
        moves applied."""
        plan = self._plan(agent_of)
        total = 0
        while time.monotonic() < deadline:
            applied = sum(self._pass(kind, plan, deadline) for kind in KINDS)
            total += applied
            if applied == 0:
                break
        return plan.agent_of.astype(np.int32), total

    def one_pass(self, kind: str, agent_of: I32, deadline: float) -> tuple[I32, int]:
        """One pass of one kind of move (``KINDS``) over every agent."""
        plan = self._plan(agent_of)
        applied = self._pass(kind, plan, deadline)
        return plan.agent_of.astype(np.int32), applied

    def _pass(self, kind: str, plan: _Plan, deadline: float) -> int:
        # numba's dispatchers are typed by their first signature; the calls below pass the
        # named tuples and, for ejections, the estimates.
        extra: tuple[I64, ...] = ()
        kernel: Callable[..., int]
        if kind == "shift":
            kernel = cast(Callable[..., int], _shift_pass)
        elif kind == "swap":
            kernel = cast(Callable[..., int], _swap_pass)
        elif kind == "ejection":
            kernel = cast(Callable[..., int], _ejection_pass)
            estimates = cast(Callable[..., tuple[I64, I64, I64]], _ejection_estimates)
            extra = estimates(self.arrays, plan)
        else:
            raise ValueError(f"unknown kind of move {kind!r}; known: {', '.join(KINDS)}")
        applied = 0
        for first in range(0, self.inst.n_agents, AGENTS_PER_CALL):
            if time.monotonic() > deadline:
                break
            agents = np.arange(first, min(first + AGENTS_PER_CALL, self.inst.n_agents))
            applied += kernel(agents.astype(np.int64), self.arrays, plan, *extra)
        return int(applied)


@njit(cache=True)
def _band_cost(st: _Instance, agent: int, load: int) -> int:
    """Load-band cost of ``agent`` at ``load`` (each started unit above a threshold)."""
    return band_cost(st.threshold, st.points, st.unit, agent, load)


@njit(cache=True)
def _top_weight(st: _Instance, plan: _Plan, agent: int) -> int:
    """The largest weight among the items ``agent`` holds (0 when it holds none)."""
    top = 0
    for k in range(plan.held_start[agent], plan.held_start[agent] + plan.held_n[agent]):
        top = max(top, st.edge_weight[plan.rows[plan.held_items[k]]])
    return top


@njit(cache=True)
def _quota_leave(st: _Instance, plan: _Plan, agent: int) -> int:
    """Quota cost of ``agent`` losing one item."""
    return st.quota_points if plan.held_n[agent] <= st.quota[agent] else 0


@njit(cache=True)
def _quota_arrive(st: _Instance, plan: _Plan, agent: int) -> int:
    """Quota cost (a saving: never positive) of ``agent`` gaining one item."""
    return -st.quota_points if plan.held_n[agent] < st.quota[agent] else 0


@njit(cache=True)
def _leave(st: _Instance, plan: _Plan, i: int) -> int:
    """Objective change of assigned item ``i`` leaving its agent: edge cost, band, quota."""
    a = plan.agent_of[i]
    load = st.base[a] + plan.added[a]
    return (
        _band_cost(st, a, load - st.edge_weight[plan.rows[i]])
        - _band_cost(st, a, load)
        - st.edge_cost[plan.rows[i]]
        + _quota_leave(st, plan, a)
    )


@njit(cache=True)
def _move(st: _Instance, plan: _Plan, i: int, b: int, edge: int) -> None:
    """Send assigned item ``i`` to agent ``b`` along ``edge``, keeping the held lists (the
    last item of ``i``'s agent takes its slot)."""
    a = plan.agent_of[i]
    plan.added[a] -= st.edge_weight[plan.rows[i]]
    last = plan.held_start[a] + plan.held_n[a] - 1
    moved = plan.held_items[last]
    plan.held_items[plan.slot[i]] = moved
    plan.slot[moved] = plan.slot[i]
    plan.held_items[last] = NONE
    plan.held_n[a] -= 1
    s = plan.held_start[b] + plan.held_n[b]
    plan.held_items[s] = i
    plan.slot[i] = s
    plan.held_n[b] += 1
    plan.added[b] += st.edge_weight[edge]
    plan.agent_of[i] = b
    plan.rows[i] = edge
    plan.changed_at[a] = plan.clock[0]
    plan.changed_at[b] = plan.clock[0]


@njit(cache=True)
def _walk(plan: _Plan, walked: I64, a: int) -> int:
    """Start walking agent ``a`` in a pass that records its walks in ``walked``; returns the
    clock at the pass's previous walk of ``a`` (-1: never walked) after which a change to ``a``
    or a partner agent makes their pairs worth pricing again."""
    previous = walked[a]
    plan.clock[0] += 1
    walked[a] = plan.clock[0]
    return previous


@njit(cache=True)
def _shift_pass(agents: I64, st: _Instance, plan: _Plan) -> int:
    """Best improving shift of each item held by ``agents``, applied at once."""
    applied = 0
    for a in agents:
        s = plan.held_start[a]
        while s < plan.held_start[a] + plan.held_n[a]:
            i = plan.held_items[s]
            s += 1
            if not st.movable[i]:
                continue
            leave = _leave(st, plan, i)
            best = 0
            best_edge = NONE
            for e in range(st.offsets[i], st.offsets[i + 1]):
                b = st.edge_agent[e]
                if b == a or plan.held_n[b] + 1 > st.max_count[b]:
                    continue
                w = st.edge_weight[e]
                if plan.added[b] + w > st.capacity[b]:
                    continue
                delta = st.edge_cost[e] + leave + _quota_arrive(st, plan, b)
                if delta >= best:
                    continue
                load_b = st.base[b] + plan.added[b]
                delta += _band_cost(st, b, load_b + w) - _band_cost(st, b, load_b)
                if delta < best:
                    best = delta
                    best_edge = e
            if best_edge != NONE:
                # The item that takes i's slot has not been looked at yet.
                s -= 1
                _move(st, plan, i, st.edge_agent[best_edge], best_edge)
                applied += 1
    return applied


@njit(cache=True)
def _swap_pass(agents: I64, st: _Instance, plan: _Plan) -> int:
    """Best improving swap of each item held by ``agents``, applied at once.

    While agent ``a`` is walked, the items that could come to it (its in-edges) are bucketed
    by the agent holding them, so an item of ``a`` looks at partners with an edge to ``a``
    only; a bucket entry whose item has moved since is skipped."""
    m = plan.held_n.size
    top_weight = np.zeros(m, np.int64)
    for agent in range(m):
        top_weight[agent] = _top_weight(st, plan, agent)
    bucket_start = np.zeros(m + 1, np.int64)
    size = st.in_start[1:] - st.in_start[:-1]
    most = size.max() if size.size else 0
    partner = np.empty(most, np.int64)  # item
    partner_edge = np.empty(most, np.int64)  # its edge to a
    partner_cost = np.empty(most, np.int64)  # its edge cost to a less its current one
    partner_w_to = np.empty(most, np.int64)  # its weight at a
    partner_w_at = np.empty(most, np.int64)  # its weight where it is
    fill = np.zeros(m, np.int64)
    # Per item, the cost and weight of the edge it holds (kept up to date as swaps apply).
    n = plan.agent_of.size
    held_cost = np.zeros(n, np.int64)
    held_weight = np.zeros(n, np.int64)
    for j in range(n):
        if plan.agent_of[j] >= 0:
            held_cost[j] = st.edge_cost[plan.rows[j]]
            held_weight[j] = st.edge_weight[plan.rows[j]]
    applied = 0
    for a in agents:
        since = _walk(plan, plan.swap_walked, a)
        a_changed = plan.changed_at[a] >= since
        bucket_start[:] = 0
        for q in range(st.in_start[a], st.in_start[a + 1]):
            j = st.in_item[q]
            b = plan.agent_of[j]
            # Pairs of a and b, neither changed since a was last walked, were priced then.
            if b >= 0 and b != a and st.movable[j] and (a_changed or plan.changed_at[b] >= since):
                bucket_start[b + 1] += 1
        for b in range(m):
            bucket_start[b + 1] += bucket_start[b]
            fill[b] = bucket_start[b]
        for q in range(st.in_start[a], st.in_start[a + 1]):
            j = st.in_item[q]
            b = plan.agent_of[j]
            if b >= 0 and b != a and st.movable[j] and (a_changed or plan.changed_at[b] >= since):
                k = fill[b]
                fill[b] += 1
                partner[k] = j
                partner_edge[k] = st.in_edge[q]
                partner_cost[k] = st.in_cost[q] - held_cost[j]
                partner_w_to[k] = st.in_weight[q]
                partner_w_at[k] = held_weight[j]
        for s in range(plan.held_start[a], plan.held_start[a] + plan.held_n[a]):
            i = plan.held_items[s]
            if not st.movable[i]:
                continue
            w_ia = held_weight[i]
            c_ia = held_cost[i]
            band_a = _band_cost(st, a, st.base[a] + plan.added[a])
            relief_a = _band_cost(st, a, st.base[a] + plan.added[a] - w_ia) - band_a
            best = 0
            best_k = NONE
            best_ib = NONE
            for e in range(st.offsets[i], st.offsets[i + 1]):
                b = st.edge_agent[e]
                if b == a or bucket_start[b] == bucket_start[b + 1]:
                    continue
                w_ib = st.edge_weight[e]
                d_i = st.edge_cost[e] - c_ia
                load_b = st.base[b] + plan.added[b]
                band_b = _band_cost(st, b, load_b)
                # Lower bound on b's band change: b cannot lose more than its heaviest item;
                # a's band cannot fall further than without the partner's weight.
                relief_b = _band_cost(st, b, load_b + w_ib - top_weight[b]) - band_b
                for k in range(bucket_start[b], bucket_start[b + 1]):
                    d_ij = d_i + partner_cost[k]
                    if d_ij + relief_a + relief_b >= best:
                        continue
                    if plan.agent_of[partner[k]] != b:
                        continue  # moved since the buckets were made
                    new_a = plan.added[a] - w_ia + partner_w_to[k]
                    new_b = plan.added[b] - partner_w_at[k] + w_ib
                    if new_a > st.capacity[a] or new_b > st.capacity[b]:
                        continue
                    delta = (
                        d_ij
                        + _band_cost(st, a, st.base[a] + new_a)
                        - band_a
                        + _band_cost(st, b, st.base[b] + new_b)
                        - band_b
                    )
                    if delta < best:
                        best = delta
                        best_k = k
                        best_ib = e
            if best_k == NONE:
                continue
            j = partner[best_k]
            b = st.edge_agent[best_ib]
            e_ja = partner_edge[best_k]
            plan.added[a] += st.edge_weight[e_ja] - w_ia
            plan.added[b] += st.edge_weight[best_ib] - st.edge_weight[plan.rows[j]]
            plan.agent_of[i] = b
            plan.agent_of[j] = a
            plan.rows[i] = best_ib
            plan.rows[j] = e_ja
            held_cost[i], held_weight[i] = st.edge_cost[best_ib], st.edge_weight[best_ib]
            held_cost[j], held_weight[j] = st.edge_cost[e_ja], st.edge_weight[e_ja]
            s_i = plan.slot[i]
            s_j = plan.slot[j]
            plan.held_items[s_i] = j
            plan.held_items[s_j] = i
            plan.slot[i] = s_j
            plan.slot[j] = s_i
            for agent in (a, b):
                top_weight[agent] = _top_weight(st, plan, agent)
                plan.changed_at[agent] = plan.clock[0]
            applied += 1
    return applied


@njit(cache=True)
def _onward(st: _Instance, plan: _Plan, j: int, avoid: int) -> tuple[int, int]:
    """``j``'s best arrival elsewhere (not at its agent, not at ``avoid``): the edge and its
    cost change plus the band and quota change at the arrival agent, or (NONE, NEVER)."""
    b = plan.agent_of[j]
    best = NEVER
    best_edge = NONE
    cost_now = st.edge_cost[plan.rows[j]]
    for e in range(st.offsets[j], st.offsets[j + 1]):
        c = st.edge_agent[e]
        if c in (b, avoid) or plan.held_n[c] + 1 > st.max_count[c]:
            continue
        w = st.edge_weight[e]
        if plan.added[c] + w > st.capacity[c]:
            continue
        value = st.edge_cost[e] - cost_now + _quota_arrive(st, plan, c)
        if value >= best:
            continue  # arriving never lowers c's band cost (band points are >= 0)
        load_c = st.base[c] + plan.added[c]
        value += _band_cost(st, c, load_c + w) - _band_cost(st, c, load_c)
        if value < best:
            best = value
            best_edge = e
    return best_edge, best


@njit(cache=True)
def _ejection_estimates(st: _Instance, plan: _Plan) -> tuple[I64, I64, I64]:
    """Per slot, the held item's best onward move and its weight; per agent, the heaviest
    item's weight: what the ejection pass reads, priced once per pass."""
    n_slots = plan.held_items.size
    onward = np.full(n_slots, NEVER, np.int64)
    slot_weight = np.zeros(n_slots, np.int64)
    plan.clock[0] += 1
    for k in range(n_slots):
        j = plan.held_items[k]
        if j != NONE:
            slot_weight[k] = st.edge_weight[plan.rows[j]]
            if st.movable[j]:
                onward[k] = _onward(st, plan, j, NONE)[1]
                if onward[k] < plan.onward_seen[j]:
                    plan.lowered_at[plan.agent_of[j]] = plan.clock[0]
                plan.onward_seen[j] = onward[k]
    m = plan.held_n.size
    top_weight = np.zeros(m, np.int64)
    for agent in range(m):
        top_weight[agent] = _top_weight(st, plan, agent)
    return onward, slot_weight, top_weight


@njit(cache=True)
def _ejection_pass(
    agents: I64,
    st: _Instance,
    plan: _Plan,
    onward: I64,
    slot_weight: I64,
    top_weight: I64,
) -> int:
    """Best improving ejection (i: a -> b, j: b -> c) of each item held by ``agents``,
    applied at once.  Each held item's best onward move (``onward``, by slot) is priced at the
    start of the pass and serves as the estimate while the pass runs; the chosen chain is
    priced again exactly, against the loads as they are then, before it is applied."""
    applied = 0
    for a in agents:
        since = _walk(plan, plan.ejection_walked, a)
        s = plan.held_start[a]
        while s < plan.held_start[a] + plan.held_n[a]:
            i = plan.held_items[s]
            s += 1
            if not st.movable[i]:
                continue
            leave = _leave(st, plan, i)
            a_changed = plan.changed_at[a] >= since
            best = 0
            best_j = NONE
            best_ib = NONE
            for e in range(st.offsets[i], st.offsets[i + 1]):
                b = st.edge_agent[e]
                if b == a:
                    continue
                # Chains through b were priced at a's last walk unless a or b changed since or
                # an item of b found a better onward move.
                if not a_changed and plan.changed_at[b] < since and plan.lowered_at[b] < since:
                    continue
                w_ib = st.edge_weight[e]
                load_b = st.base[b] + plan.added[b]
                band_b = _band_cost(st, b, load_b)
                d_i = st.edge_cost[e] + leave
                relief_b = _band_cost(st, b, load_b + w_ib - top_weight[b]) - band_b
                for k in range(plan.held_start[b], plan.held_start[b] + plan.held_n[b]):
                    if d_i + onward[k] + relief_b >= best:
                        continue
                    new_b = plan.added[b] + w_ib - slot_weight[k]
                    if new_b > st.capacity[b]:
                        continue
                    delta = d_i + onward[k] + _band_cost(st, b, st.base[b] + new_b) - band_b
                    if delta < best:
                        best = delta
                        best_j = plan.held_items[k]
                        best_ib = e
            if best_j == NONE:
                continue
            # Price the chain again against the loads as they are now, the onward move
            # re-chosen (not back to a: that is a swap).
            j = best_j
            b = st.edge_agent[best_ib]
            e_jc, onward_now = _onward(st, plan, j, a)
            if e_jc == NONE:
                continue
            c = st.edge_agent[e_jc]
            load_b = st.base[b] + plan.added[b]
            new_b = plan.added[b] + st.edge_weight[best_ib] - st.edge_weight[plan.rows[j]]
            if new_b > st.capacity[b]:
                continue
            delta = (
                st.edge_cost[best_ib]
                + _leave(st, plan, i)
                + onward_now
                + _band_cost(st, b, st.base[b] + new_b)
                - _band_cost(st, b, load_b)
            )
            if delta >= 0:
                continue
            for item, agent, edge in ((j, c, e_jc), (i, b, best_ib)):
                # The last item of the agent left takes the slot: its estimate goes with it.
                here = plan.slot[item]
                last = plan.held_start[plan.agent_of[item]] + plan.held_n[plan.agent_of[item]] - 1
                onward[here] = onward[last]
                onward[last] = NEVER
                slot_weight[here] = slot_weight[last]
                slot_weight[last] = 0
                _move(st, plan, item, agent, edge)
                onward[plan.slot[item]] = NEVER  # not priced for its new agent
                slot_weight[plan.slot[item]] = st.edge_weight[edge]
            for agent in (a, b, c):
                top_weight[agent] = _top_weight(st, plan, agent)
            s -= 1
            applied += 1
    return applied
