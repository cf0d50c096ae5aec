"""Neighbourhood passes compiled with numba: shift, swap and ejection moves with exact deltas.

- **Shift**: one item goes to another of its agents (the move ``local_search``'s numpy rounds
  make, here first-improvement item by item, about a hundred times faster on county-L).
- **Swap**: two items held by different agents exchange their agents.  Both agents keep their
  item counts (so count limits and quotas), their loads change only by the difference of the two
  weights: this is what shifts cannot do once most agents sit above a load band.
- **Ejection**: an item goes to an agent ``b`` while one of ``b``'s items goes on to a third
  agent: a shift into an agent that is full (weight or count) or above a band.

Each pass walks every item ``i`` held by the agents it is given, every other agent ``b`` of
``i``'s edges and every item ``j`` held by ``b`` (on county-L about 136 million pairs per
pass).  A pair is first bounded from below without the load bands (the band at ``b`` cannot
fall by more than its heaviest item's weight allows; ``j``'s onward move is taken from the
start of the pass); only pairs whose bound beats the best move found for ``i`` are priced
exactly (edge costs, load bands, quotas, capacities).
``i`` then takes its best move at once.  Items under group rules (co-defendants, opposing
sides), fixed items and unassigned items are left to ``local_search``'s rounds, which check the
group rules.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from numba import njit

from assigner.search.greedy import GroupState
from assigner.search.instance import I32, I64, AssignmentInstance, LoadBand, chosen_edges

# Agents per compiled call: the deadline is checked between calls (county-L: about 0.25 s).
AGENTS_PER_CALL = 64
NONE = -1
NEVER = 1 << 60  # a lower bound that no move beats
KINDS = ("shift", "swap", "ejection")


@dataclass
class _PlanArrays:
    """The assignment in the form the compiled passes update in place: per item its agent and
    edge row, per agent its added load, count and the items it holds (``held_items`` in slots
    ``held_start[a]`` .. ``held_start[a] + held_n[a]``; ``slot`` per item)."""

    agent_of: I64
    rows: I64
    added: I64
    count: I64
    held_start: I64
    held_n: I64
    held_items: I64
    slot: I64


class CompiledMoves:
    """The instance's arrays in the form the compiled passes read, built once per instance."""

    def __init__(self, inst: AssignmentInstance) -> None:
        self.inst = inst
        m = inst.n_agents
        self.offsets = inst.item_offsets.astype(np.int64)
        self.edge_item = inst.edge_item.astype(np.int64)
        self.edge_agent = inst.edge_agent.astype(np.int64)
        self.edge_cost = inst.edge_cost.astype(np.int64)
        self.edge_weight = inst.edge_weight.astype(np.int64)
        self.in_edge = np.argsort(self.edge_agent, kind="stable").astype(np.int64)
        self.in_degree = np.bincount(self.edge_agent, minlength=m).astype(np.int64)
        self.in_start = np.concatenate([[0], np.cumsum(self.in_degree)]).astype(np.int64)
        bands = [band for band in inst.bands if band.points]
        self.threshold = np.zeros((m, len(bands)), dtype=np.int64)
        for k, band in enumerate(bands):
            self.threshold[:, k] = band.threshold
        self.points = np.array([band.points for band in bands], dtype=np.int64)
        self.unit = np.array([band.unit for band in bands], dtype=np.int64)
        self.base = inst.base().astype(np.int64)
        self.capacity = inst.capacity.astype(np.int64)
        self.max_count = inst.max_count.astype(np.int64)
        if inst.quota_short is not None and inst.quota_points:
            self.quota = inst.quota_short.astype(np.int64)
        else:
            self.quota = np.zeros(m, dtype=np.int64)
        self.quota_points = int(inst.quota_points)
        groups = GroupState(inst)
        self.movable = np.array([not groups.involved(i) for i in range(inst.n_items)], dtype=bool)
        if inst.fixed_agent is not None:
            self.movable &= inst.fixed_agent < 0

    def _arrays(self, agent_of: I32) -> _PlanArrays:
        inst = self.inst
        vec = agent_of.astype(np.int64)
        rows = chosen_edges(inst, agent_of).astype(np.int64)
        held = np.flatnonzero(vec >= 0)
        used = rows[held]
        added = np.bincount(
            self.edge_agent[used], weights=self.edge_weight[used], minlength=inst.n_agents
        ).astype(np.int64)
        count = np.bincount(vec[held], minlength=inst.n_agents).astype(np.int64)
        room = np.maximum(np.minimum(self.max_count, self.in_degree), count)
        held_start = np.concatenate([[0], np.cumsum(room)]).astype(np.int64)
        held_items = np.full(int(held_start[-1]), NONE, dtype=np.int64)
        by_agent = held[np.argsort(vec[held], kind="stable")]
        first = np.concatenate([[0], np.cumsum(count)])[:-1]
        where = held_start[vec[by_agent]] + np.arange(by_agent.size) - first[vec[by_agent]]
        held_items[where] = by_agent
        slot = np.full(inst.n_items, NONE, dtype=np.int64)
        slot[by_agent] = where
        return _PlanArrays(vec, rows, added, count, held_start, count.copy(), held_items, slot)

    def _static(self) -> tuple[Any, ...]:
        return (
            self.offsets,
            self.edge_item,
            self.edge_agent,
            self.edge_cost,
            self.edge_weight,
            self.in_start,
            self.in_edge,
            self.movable,
            self.threshold,
            self.points,
            self.unit,
            self.base,
            self.capacity,
            self.max_count,
            self.quota,
            self.quota_points,
        )

    def improve(self, agent_of: I32, deadline: float) -> tuple[I32, int]:
        """Shift, swap and ejection passes over every agent, repeated until a round of the
        three changes nothing or ``deadline`` passes; returns the new vector and the number of
        moves applied."""
        plan = self._arrays(agent_of)
        total = 0
        while time.monotonic() < deadline:
            applied = sum(self._pass(kind, plan, deadline) for kind in KINDS)
            total += applied
            if applied == 0:
                break
        return plan.agent_of.astype(np.int32), total

    def one_pass(self, kind: str, agent_of: I32, deadline: float) -> tuple[I32, int]:
        """One pass of one kind of move (``KINDS``) over every agent."""
        plan = self._arrays(agent_of)
        applied = self._pass(kind, plan, deadline)
        return plan.agent_of.astype(np.int32), applied

    def _pass(self, kind: str, plan: _PlanArrays, deadline: float) -> int:
        static = self._static()
        state = (
            plan.agent_of,
            plan.rows,
            plan.added,
            plan.count,
            plan.held_start,
            plan.held_n,
            plan.held_items,
            plan.slot,
        )
        extra: tuple[I64, ...] = ()
        # numba's dispatchers are typed by their first signature; the calls below pass the
        # shared argument tuples.
        kernel: Callable[..., int]
        if kind == "shift":
            kernel = cast(Callable[..., int], _shift_pass)
        elif kind == "swap":
            kernel = cast(Callable[..., int], _swap_pass)
        elif kind == "ejection":
            kernel = cast(Callable[..., int], _ejection_pass)
            estimates = cast(Callable[..., tuple[I64, I64, I64]], _ejection_estimates)
            extra = estimates(*static, *state)
        else:
            raise ValueError(f"unknown kind of move {kind!r}; known: {', '.join(KINDS)}")
        applied = 0
        for first in range(0, self.inst.n_agents, AGENTS_PER_CALL):
            if time.monotonic() > deadline:
                break
            agents = np.arange(first, min(first + AGENTS_PER_CALL, self.inst.n_agents))
            applied += kernel(agents.astype(np.int64), *static, *state, *extra)
        return int(applied)


@njit(cache=True)
def _band_cost(threshold: I64, points: I64, unit: I64, agent: int, load: int) -> int:
    """Load-band cost of ``agent`` at ``load`` (each started unit above a threshold)."""
    total = 0
    for k in range(points.size):
        excess = load - threshold[agent, k]
        if excess > 0:
            total += points[k] * ((excess + unit[k] - 1) // unit[k])
    return total


@njit(cache=True)
def _top_weight(
    agent: int, held_start: I64, held_n: I64, held_items: I64, rows: I64, edge_weight: I64
) -> int:
    """The largest weight among the items ``agent`` holds (0 when it holds none)."""
    top = 0
    for k in range(held_start[agent], held_start[agent] + held_n[agent]):
        top = max(top, edge_weight[rows[held_items[k]]])
    return top


@njit(cache=True)
def _quota_leave(quota: I64, quota_points: int, count: I64, agent: int) -> int:
    """Quota cost of ``agent`` losing one item."""
    return quota_points if count[agent] <= quota[agent] else 0


@njit(cache=True)
def _quota_arrive(quota: I64, quota_points: int, count: I64, agent: int) -> int:
    """Quota cost (a saving: never positive) of ``agent`` gaining one item."""
    return -quota_points if count[agent] < quota[agent] else 0


@njit(cache=True)
def _move(
    i: int,
    b: int,
    edge: int,
    edge_weight: I64,
    agent_of: I64,
    rows: I64,
    added: I64,
    count: I64,
    held_start: I64,
    held_n: I64,
    held_items: I64,
    slot: I64,
) -> None:
    """Send assigned item ``i`` to agent ``b`` along ``edge``, keeping the held lists."""
    a = agent_of[i]
    added[a] -= edge_weight[rows[i]]
    count[a] -= 1
    last = held_start[a] + held_n[a] - 1
    moved = held_items[last]
    held_items[slot[i]] = moved
    slot[moved] = slot[i]
    held_items[last] = NONE
    held_n[a] -= 1
    s = held_start[b] + held_n[b]
    held_items[s] = i
    slot[i] = s
    held_n[b] += 1
    added[b] += edge_weight[edge]
    count[b] += 1
    agent_of[i] = b
    rows[i] = edge


@njit(cache=True)
def _shift_pass(
    agents: I64,
    offsets: I64,
    edge_item: I64,
    edge_agent: I64,
    edge_cost: I64,
    edge_weight: I64,
    in_start: I64,
    in_edge: I64,
    movable: npt.NDArray[np.bool_],
    threshold: I64,
    points: I64,
    unit: I64,
    base: I64,
    capacity: I64,
    max_count: I64,
    quota: I64,
    quota_points: int,
    agent_of: I64,
    rows: I64,
    added: I64,
    count: I64,
    held_start: I64,
    held_n: I64,
    held_items: I64,
    slot: I64,
) -> int:
    """Best improving shift of each item held by ``agents``, applied at once."""
    applied = 0
    for a in agents:
        s = held_start[a]
        while s < held_start[a] + held_n[a]:
            i = held_items[s]
            s += 1
            if not movable[i]:
                continue
            w_ia = edge_weight[rows[i]]
            load_a = base[a] + added[a]
            leave = (
                _band_cost(threshold, points, unit, a, load_a - w_ia)
                - _band_cost(threshold, points, unit, a, load_a)
                - edge_cost[rows[i]]
                + _quota_leave(quota, quota_points, count, a)
            )
            best = 0
            best_edge = NONE
            for e in range(offsets[i], offsets[i + 1]):
                b = edge_agent[e]
                if b == a or count[b] + 1 > max_count[b]:
                    continue
                w = edge_weight[e]
                if added[b] + w > capacity[b]:
                    continue
                delta = edge_cost[e] + leave + _quota_arrive(quota, quota_points, count, b)
                if delta >= best:
                    continue
                load_b = base[b] + added[b]
                delta += _band_cost(threshold, points, unit, b, load_b + w) - _band_cost(
                    threshold, points, unit, b, load_b
                )
                if delta < best:
                    best = delta
                    best_edge = e
            if best_edge != NONE:
                # The item that takes i's slot has not been looked at yet.
                s -= 1
                _move(
                    i,
                    edge_agent[best_edge],
                    best_edge,
                    edge_weight,
                    agent_of,
                    rows,
                    added,
                    count,
                    held_start,
                    held_n,
                    held_items,
                    slot,
                )
                applied += 1
    return applied


@njit(cache=True)
def _swap_pass(
    agents: I64,
    offsets: I64,
    edge_item: I64,
    edge_agent: I64,
    edge_cost: I64,
    edge_weight: I64,
    in_start: I64,
    in_edge: I64,
    movable: npt.NDArray[np.bool_],
    threshold: I64,
    points: I64,
    unit: I64,
    base: I64,
    capacity: I64,
    max_count: I64,
    quota: I64,
    quota_points: int,
    agent_of: I64,
    rows: I64,
    added: I64,
    count: I64,
    held_start: I64,
    held_n: I64,
    held_items: I64,
    slot: I64,
) -> int:
    """Best improving swap of each item held by ``agents``, applied at once.

    While agent ``a`` is walked, the items that could come to it (its in-edges) are bucketed
    by the agent holding them, so an item of ``a`` looks at partners with an edge to ``a``
    only; a bucket entry whose item has moved since is skipped."""
    m = held_n.size
    top_weight = np.zeros(m, np.int64)
    for agent in range(m):
        top_weight[agent] = _top_weight(agent, held_start, held_n, held_items, rows, edge_weight)
    bucket_start = np.zeros(m + 1, np.int64)
    size = in_start[1:] - in_start[:-1]
    most = size.max() if size.size else 0
    partner = np.empty(most, np.int64)  # item
    partner_edge = np.empty(most, np.int64)  # its edge to a
    partner_cost = np.empty(most, np.int64)  # its edge cost to a less its current one
    partner_w_to = np.empty(most, np.int64)  # its weight at a
    partner_w_at = np.empty(most, np.int64)  # its weight where it is
    fill = np.zeros(m, np.int64)
    applied = 0
    for a in agents:
        bucket_start[:] = 0
        for q in range(in_start[a], in_start[a + 1]):
            j = edge_item[in_edge[q]]
            b = agent_of[j]
            if b >= 0 and b != a and movable[j]:
                bucket_start[b + 1] += 1
        for b in range(m):
            bucket_start[b + 1] += bucket_start[b]
            fill[b] = bucket_start[b]
        for q in range(in_start[a], in_start[a + 1]):
            e = in_edge[q]
            j = edge_item[e]
            b = agent_of[j]
            if b >= 0 and b != a and movable[j]:
                k = fill[b]
                fill[b] += 1
                partner[k] = j
                partner_edge[k] = e
                partner_cost[k] = edge_cost[e] - edge_cost[rows[j]]
                partner_w_to[k] = edge_weight[e]
                partner_w_at[k] = edge_weight[rows[j]]
        for s in range(held_start[a], held_start[a] + held_n[a]):
            i = held_items[s]
            if not movable[i]:
                continue
            w_ia = edge_weight[rows[i]]
            c_ia = edge_cost[rows[i]]
            band_a = _band_cost(threshold, points, unit, a, base[a] + added[a])
            relief_a = _band_cost(threshold, points, unit, a, base[a] + added[a] - w_ia) - band_a
            best = 0
            best_k = NONE
            best_ib = NONE
            for e in range(offsets[i], offsets[i + 1]):
                b = edge_agent[e]
                if b == a or bucket_start[b] == bucket_start[b + 1]:
                    continue
                w_ib = edge_weight[e]
                d_i = edge_cost[e] - c_ia
                load_b = base[b] + added[b]
                band_b = _band_cost(threshold, points, unit, b, load_b)
                # Lower bound on b's band change: b cannot lose more than its heaviest item;
                # a's band cannot fall further than without the partner's weight.
                relief_b = (
                    _band_cost(threshold, points, unit, b, load_b + w_ib - top_weight[b]) - band_b
                )
                for k in range(bucket_start[b], bucket_start[b + 1]):
                    d_ij = d_i + partner_cost[k]
                    if d_ij + relief_a + relief_b >= best:
                        continue
                    if agent_of[partner[k]] != b:
                        continue  # moved since the buckets were made
                    new_a = added[a] - w_ia + partner_w_to[k]
                    new_b = added[b] - partner_w_at[k] + w_ib
                    if new_a > capacity[a] or new_b > capacity[b]:
                        continue
                    delta = (
                        d_ij
                        + _band_cost(threshold, points, unit, a, base[a] + new_a)
                        - band_a
                        + _band_cost(threshold, points, unit, b, base[b] + new_b)
                        - band_b
                    )
                    if delta < best:
                        best = delta
                        best_k = k
                        best_ib = e
            if best_k == NONE:
                continue
            j = partner[best_k]
            b = edge_agent[best_ib]
            e_ja = partner_edge[best_k]
            added[a] += edge_weight[e_ja] - w_ia
            added[b] += edge_weight[best_ib] - edge_weight[rows[j]]
            agent_of[i] = b
            agent_of[j] = a
            rows[i] = best_ib
            rows[j] = e_ja
            s_i = slot[i]
            s_j = slot[j]
            held_items[s_i] = j
            held_items[s_j] = i
            slot[i] = s_j
            slot[j] = s_i
            for agent in (a, b):
                top_weight[agent] = _top_weight(
                    agent, held_start, held_n, held_items, rows, edge_weight
                )
            applied += 1
    return applied


@njit(cache=True)
def _onward(
    j: int,
    avoid: int,
    offsets: I64,
    edge_agent: I64,
    edge_cost: I64,
    edge_weight: I64,
    threshold: I64,
    points: I64,
    unit: I64,
    base: I64,
    capacity: I64,
    max_count: I64,
    quota: I64,
    quota_points: int,
    agent_of: I64,
    rows: I64,
    added: I64,
    count: I64,
) -> tuple[int, int]:
    """``j``'s best arrival elsewhere (not at its agent, not at ``avoid``): the edge and its
    cost change plus the band and quota change at the arrival agent, or (NONE, NEVER)."""
    b = agent_of[j]
    best = NEVER
    best_edge = NONE
    for e in range(offsets[j], offsets[j + 1]):
        c = edge_agent[e]
        if c in (b, avoid) or count[c] + 1 > max_count[c]:
            continue
        w = edge_weight[e]
        if added[c] + w > capacity[c]:
            continue
        load_c = base[c] + added[c]
        value = (
            edge_cost[e]
            - edge_cost[rows[j]]
            + _band_cost(threshold, points, unit, c, load_c + w)
            - _band_cost(threshold, points, unit, c, load_c)
            + _quota_arrive(quota, quota_points, count, c)
        )
        if value < best:
            best = value
            best_edge = e
    return best_edge, best


@njit(cache=True)
def _ejection_estimates(
    offsets: I64,
    edge_item: I64,
    edge_agent: I64,
    edge_cost: I64,
    edge_weight: I64,
    in_start: I64,
    in_edge: I64,
    movable: npt.NDArray[np.bool_],
    threshold: I64,
    points: I64,
    unit: I64,
    base: I64,
    capacity: I64,
    max_count: I64,
    quota: I64,
    quota_points: int,
    agent_of: I64,
    rows: I64,
    added: I64,
    count: I64,
    held_start: I64,
    held_n: I64,
    held_items: I64,
    slot: I64,
) -> tuple[I64, I64, I64]:
    """Per slot, the held item's best onward move and its weight; per agent, the heaviest
    item's weight: what the ejection pass reads, priced once per pass."""
    n_slots = held_items.size
    onward = np.full(n_slots, NEVER, np.int64)
    slot_weight = np.zeros(n_slots, np.int64)
    for k in range(n_slots):
        j = held_items[k]
        if j != NONE:
            slot_weight[k] = edge_weight[rows[j]]
        if j != NONE and movable[j]:
            onward[k] = _onward(
                j,
                NONE,
                offsets,
                edge_agent,
                edge_cost,
                edge_weight,
                threshold,
                points,
                unit,
                base,
                capacity,
                max_count,
                quota,
                quota_points,
                agent_of,
                rows,
                added,
                count,
            )[1]
    top_weight = np.zeros(held_n.size, np.int64)
    for agent in range(held_n.size):
        top_weight[agent] = _top_weight(agent, held_start, held_n, held_items, rows, edge_weight)
    return onward, slot_weight, top_weight


@njit(cache=True)
def _ejection_pass(
    agents: I64,
    offsets: I64,
    edge_item: I64,
    edge_agent: I64,
    edge_cost: I64,
    edge_weight: I64,
    in_start: I64,
    in_edge: I64,
    movable: npt.NDArray[np.bool_],
    threshold: I64,
    points: I64,
    unit: I64,
    base: I64,
    capacity: I64,
    max_count: I64,
    quota: I64,
    quota_points: int,
    agent_of: I64,
    rows: I64,
    added: I64,
    count: I64,
    held_start: I64,
    held_n: I64,
    held_items: I64,
    slot: I64,
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
        s = held_start[a]
        while s < held_start[a] + held_n[a]:
            i = held_items[s]
            s += 1
            if not movable[i]:
                continue
            w_ia = edge_weight[rows[i]]
            load_a = base[a] + added[a]
            leave = (
                _band_cost(threshold, points, unit, a, load_a - w_ia)
                - _band_cost(threshold, points, unit, a, load_a)
                - edge_cost[rows[i]]
                + _quota_leave(quota, quota_points, count, a)
            )
            best = 0
            best_j = NONE
            best_ib = NONE
            for e in range(offsets[i], offsets[i + 1]):
                b = edge_agent[e]
                if b == a:
                    continue
                w_ib = edge_weight[e]
                load_b = base[b] + added[b]
                band_b = _band_cost(threshold, points, unit, b, load_b)
                d_i = edge_cost[e] + leave
                relief_b = (
                    _band_cost(threshold, points, unit, b, load_b + w_ib - top_weight[b]) - band_b
                )
                for k in range(held_start[b], held_start[b] + held_n[b]):
                    if d_i + onward[k] + relief_b >= best:
                        continue
                    new_b = added[b] + w_ib - slot_weight[k]
                    if new_b > capacity[b]:
                        continue
                    delta = (
                        d_i
                        + onward[k]
                        + _band_cost(threshold, points, unit, b, base[b] + new_b)
                        - band_b
                    )
                    if delta < best:
                        best = delta
                        best_j = held_items[k]
                        best_ib = e
            if best_j == NONE:
                continue
            # Price the chain again against the loads as they are now, the onward move
            # re-chosen (not back to a: that is a swap).
            j = best_j
            b = edge_agent[best_ib]
            e_jc, onward_now = _onward(
                j,
                a,
                offsets,
                edge_agent,
                edge_cost,
                edge_weight,
                threshold,
                points,
                unit,
                base,
                capacity,
                max_count,
                quota,
                quota_points,
                agent_of,
                rows,
                added,
                count,
            )
            if e_jc == NONE:
                continue
            c = edge_agent[e_jc]
            w_ib = edge_weight[best_ib]
            load_b = base[b] + added[b]
            new_b = added[b] + w_ib - edge_weight[rows[j]]
            if new_b > capacity[b]:
                continue
            load_a = base[a] + added[a]
            # a loses i; quota at a priced with its count before the chain
            delta = (
                edge_cost[best_ib]
                - edge_cost[rows[i]]
                + _band_cost(threshold, points, unit, a, load_a - w_ia)
                - _band_cost(threshold, points, unit, a, load_a)
                + _quota_leave(quota, quota_points, count, a)
                + onward_now
                + _band_cost(threshold, points, unit, b, base[b] + new_b)
                - _band_cost(threshold, points, unit, b, load_b)
            )
            if delta >= 0:
                continue
            for item, agent, edge in ((j, c, e_jc), (i, b, best_ib)):
                # The last item of the agent left takes the slot: its estimate goes with it.
                here = slot[item]
                last = held_start[agent_of[item]] + held_n[agent_of[item]] - 1
                onward[here] = onward[last]
                onward[last] = NEVER
                slot_weight[here] = slot_weight[last]
                slot_weight[last] = 0
                _move(
                    item,
                    agent,
                    edge,
                    edge_weight,
                    agent_of,
                    rows,
                    added,
                    count,
                    held_start,
                    held_n,
                    held_items,
                    slot,
                )
                onward[slot[item]] = NEVER  # not priced for its new agent
                slot_weight[slot[item]] = edge_weight[edge]
            for agent in (a, b, c):
                top_weight[agent] = _top_weight(
                    agent, held_start, held_n, held_items, rows, edge_weight
                )
            s -= 1
            applied += 1
    return applied


@functools.cache
def warm_up() -> None:
    """Compile the passes (or load them from numba's on-disk cache) on a two-item instance, so
    that the first search does not pay for it: about 15 s the first time on an installation,
    well under a second from the cache.  Once per process."""
    inst = AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([9, 1, 1, 9], dtype=np.int64),
        edge_weight=np.array([3, 3, 3, 3], dtype=np.int64),
        capacity=np.array([3, 3], dtype=np.int64),
        max_count=np.array([1, 1], dtype=np.int64),
        unassigned_penalty=np.array([100, 100], dtype=np.int64),
        bands=[LoadBand(np.array([1, 1], dtype=np.int64), 1, 1)],
    )
    CompiledMoves(inst).improve(np.array([0, 1], dtype=np.int32), float("inf"))
