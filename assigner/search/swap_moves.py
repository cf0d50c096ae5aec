"""Swap moves: two items held by different agents exchange their agents.

A swap leaves both agents' item counts (so count limits and quotas) as they were and changes
their loads only by the difference of the two weights, which is what shift moves cannot do once
most agents sit above a load band: on county data, after shift descent has converged, a pass of
swaps lowers the objective by a further 1.3% (county-L).

The pass is compiled with numba: it walks every agent ``a``, every item ``i`` it holds, every
other agent ``b`` of ``i``'s edges and every item ``j`` held by ``b`` that has an edge to ``a``
(on county-L about 136 million pairs per pass).  Each pair is first bounded from below with
``j``'s largest possible edge-cost saving; only pairs whose bound improves on the best found for
``i`` are priced exactly (edge costs, load bands at both agents, weight capacity).  ``i`` then
takes its best swap at once.  Items in group rules (co-defendants, opposing sides) and fixed
items do not swap: shift descent, which checks the group rules, moves them.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from numba import njit

from assigner.search.greedy import GroupState
from assigner.search.instance import I32, I64, AssignmentInstance, chosen_edges

# Agents per compiled call: the deadline is checked between calls (county-L: about 0.25 s).
AGENTS_PER_CALL = 64


class SwapMoves:
    """The instance's arrays in the form the compiled pass reads, built once per instance."""

    def __init__(self, inst: AssignmentInstance) -> None:
        self.inst = inst
        m = inst.n_agents
        self.offsets = inst.item_offsets.astype(np.int64)
        self.edge_item = inst.edge_item.astype(np.int64)
        self.edge_agent = inst.edge_agent.astype(np.int64)
        self.edge_cost = inst.edge_cost.astype(np.int64)
        self.edge_weight = inst.edge_weight.astype(np.int64)
        has_edge = np.diff(self.offsets) > 0
        self.cheapest = np.zeros(inst.n_items, dtype=np.int64)
        if inst.n_edges:
            self.cheapest[has_edge] = np.minimum.reduceat(
                self.edge_cost, self.offsets[:-1][has_edge]
            )
        self.in_edge = np.argsort(self.edge_agent, kind="stable").astype(np.int64)
        self.in_start = np.concatenate(
            [[0], np.cumsum(np.bincount(self.edge_agent, minlength=m))]
        ).astype(np.int64)
        bands = [band for band in inst.bands if band.points]
        self.threshold = np.zeros((m, len(bands)), dtype=np.int64)
        for k, band in enumerate(bands):
            self.threshold[:, k] = band.threshold
        self.points = np.array([band.points for band in bands], dtype=np.int64)
        self.unit = np.array([band.unit for band in bands], dtype=np.int64)
        self.base = inst.base().astype(np.int64)
        self.capacity = inst.capacity.astype(np.int64)
        groups = GroupState(inst)
        self.movable = np.array([not groups.involved(i) for i in range(inst.n_items)], dtype=bool)
        if inst.fixed_agent is not None:
            self.movable &= inst.fixed_agent < 0

    def improve(self, agent_of: I32, deadline: float) -> tuple[I32, int]:
        """One pass of improving swaps over every agent (or until ``deadline``); returns the new
        vector and the number of swaps applied."""
        inst = self.inst
        vec = agent_of.astype(np.int64)
        rows = chosen_edges(inst, agent_of).astype(np.int64)
        held = np.flatnonzero(vec >= 0)
        used = rows[held]
        added = np.bincount(
            self.edge_agent[used], weights=self.edge_weight[used], minlength=inst.n_agents
        ).astype(np.int64)
        held_items = held[np.argsort(vec[held], kind="stable")].astype(np.int64)
        held_start = np.concatenate(
            [[0], np.cumsum(np.bincount(vec[held], minlength=inst.n_agents))]
        ).astype(np.int64)
        slot = np.zeros(inst.n_items, dtype=np.int64)
        slot[held_items] = np.arange(held_items.size)
        swaps = 0
        for first in range(0, inst.n_agents, AGENTS_PER_CALL):
            if time.monotonic() > deadline:
                break
            agents = np.arange(first, min(first + AGENTS_PER_CALL, inst.n_agents), dtype=np.int64)
            swaps += _swap_pass(
                agents,
                self.offsets,
                self.edge_item,
                self.edge_agent,
                self.edge_cost,
                self.edge_weight,
                self.in_start,
                self.in_edge,
                self.cheapest,
                self.movable,
                self.threshold,
                self.points,
                self.unit,
                self.base,
                self.capacity,
                vec,
                rows,
                added,
                held_start,
                held_items,
                slot,
            )
        return vec.astype(np.int32), swaps


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
def _swap_pass(
    agents: I64,
    offsets: I64,
    edge_item: I64,
    edge_agent: I64,
    edge_cost: I64,
    edge_weight: I64,
    in_start: I64,
    in_edge: I64,
    cheapest: I64,
    movable: npt.NDArray[np.bool_],
    threshold: I64,
    points: I64,
    unit: I64,
    base: I64,
    capacity: I64,
    agent_of: I64,
    rows: I64,
    added: I64,
    held_start: I64,
    held_items: I64,
    slot: I64,
) -> int:
    """Best improving swap for each item held by ``agents``, applied at once; updates
    ``agent_of``, ``rows``, ``added``, ``held_items`` and ``slot`` in place."""
    n_slots = held_items.size
    held_cost = np.empty(n_slots, np.int64)
    held_weight = np.empty(n_slots, np.int64)
    held_saving = np.empty(n_slots, np.int64)  # upper bound on what moving the item saves
    for k in range(n_slots):
        j = held_items[k]
        held_cost[k] = edge_cost[rows[j]]
        held_weight[k] = edge_weight[rows[j]]
        held_saving[k] = held_cost[k] - cheapest[j] if movable[j] else -(1 << 60)
    n_items = rows.size
    # Edges into the agent being walked, by item: dense for one agent at a time.
    edge_to = np.full(n_items, -1, np.int64)
    cost_to = np.zeros(n_items, np.int64)
    weight_to = np.zeros(n_items, np.int64)
    applied = 0
    for a in agents:
        for q in range(in_start[a], in_start[a + 1]):
            e = in_edge[q]
            edge_to[edge_item[e]] = e
            cost_to[edge_item[e]] = edge_cost[e]
            weight_to[edge_item[e]] = edge_weight[e]
        for s in range(held_start[a], held_start[a + 1]):
            i = held_items[s]
            if not movable[i]:
                continue
            w_ia = edge_weight[rows[i]]
            c_ia = edge_cost[rows[i]]
            band_a = _band_cost(threshold, points, unit, a, base[a] + added[a])
            relief_a = _band_cost(threshold, points, unit, a, base[a] + added[a] - w_ia) - band_a
            best = 0
            best_j = -1
            best_ib = -1
            for e in range(offsets[i], offsets[i + 1]):
                b = edge_agent[e]
                if b == a:
                    continue
                w_ib = edge_weight[e]
                d_i = edge_cost[e] - c_ia
                load_b = base[b] + added[b]
                band_b = _band_cost(threshold, points, unit, b, load_b)
                for k in range(held_start[b], held_start[b + 1]):
                    # Lower bound: j saves at most held_saving; a's band cannot fall further
                    # than without j's weight.
                    w_jb = held_weight[k]
                    low = (
                        d_i
                        - held_saving[k]
                        + relief_a
                        + _band_cost(threshold, points, unit, b, load_b + w_ib - w_jb)
                        - band_b
                    )
                    if low >= best:
                        continue
                    j = held_items[k]
                    if edge_to[j] < 0:
                        continue
                    new_a = added[a] - w_ia + weight_to[j]
                    new_b = added[b] - w_jb + w_ib
                    if new_a > capacity[a] or new_b > capacity[b]:
                        continue
                    delta = (
                        d_i
                        + cost_to[j]
                        - held_cost[k]
                        + _band_cost(threshold, points, unit, a, base[a] + new_a)
                        - band_a
                        + _band_cost(threshold, points, unit, b, base[b] + new_b)
                        - band_b
                    )
                    if delta < best:
                        best = delta
                        best_j = j
                        best_ib = e
            if best_j < 0:
                continue
            j = best_j
            b = edge_agent[best_ib]
            e_ja = edge_to[j]
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
            held_cost[s_j] = edge_cost[best_ib]
            held_weight[s_j] = edge_weight[best_ib]
            held_saving[s_j] = edge_cost[best_ib] - cheapest[i]
            held_cost[s_i] = edge_cost[e_ja]
            held_weight[s_i] = edge_weight[e_ja]
            held_saving[s_i] = edge_cost[e_ja] - cheapest[j]
            applied += 1
        for q in range(in_start[a], in_start[a + 1]):
            edge_to[edge_item[in_edge[q]]] = -1
    return applied
