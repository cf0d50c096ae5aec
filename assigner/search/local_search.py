"""Descent: shift rounds with exact objective deltas, in turn with the compiled passes.

A move sends one item to another agent (or from unassigned to an agent).  Each round scores
every edge at once with numpy (edge cost change, load-band change at both agents, quota change,
capacity in weight and count); the improving candidates are then taken best first, each one
re-priced exactly against the loads as they are after the moves already applied in the round,
and applied when it still improves and the group rules allow it.  Rounds repeat until one
changes nothing or time is up.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from assigner.search.compiled_moves import CompiledMoves
from assigner.search.greedy import GroupState
from assigner.search.instance import (
    I32,
    I64,
    MUST_ASSIGN,
    AssignmentInstance,
    chosen_edges,
    waiting_items,
)
from assigner.search.load_bands import band_arrays, band_cost

# The best moves of a round mostly go to the few agents with room under their load bands, and
# after the first few of those the rest no longer improve: a wide candidate list lets a round
# apply moves to many agents (county-L: 4,000 -> 40,000 makes descent converge in 11 rounds).
CANDIDATES_PER_ROUND = 40_000


class _State:
    """Loads, counts and group usage of the current assignment, with exact move pricing."""

    def __init__(self, inst: AssignmentInstance, agent_of: I32) -> None:
        self.inst = inst
        self.agent_of = agent_of
        self.rows = chosen_edges(inst, agent_of)
        used = self.rows[self.rows >= 0]
        self.added = np.bincount(
            inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
        ).astype(np.int64)
        self.base = inst.base()
        self.count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents).astype(np.int64)
        self.quota = (
            inst.quota_short if inst.quota_short is not None and inst.quota_points else None
        )
        self.penalty = np.where(
            inst.unassigned_penalty == MUST_ASSIGN, 0, inst.unassigned_penalty
        ).astype(np.int64)
        self.groups = GroupState(inst)
        for held in np.flatnonzero(agent_of >= 0):
            self.groups.add(int(held), int(agent_of[held]))
        self.bands = band_arrays(inst)
        self.fixed = (
            inst.fixed_agent.astype(np.int64)
            if inst.fixed_agent is not None
            else np.full(inst.n_items, -1, dtype=np.int64)
        )

    def _band_one(self, agent: int, load: int) -> int:
        return int(band_cost(*self.bands, agent, load))

    def all_deltas(self) -> tuple[I64, np.ndarray]:
        """Objective change of every shift move and which ones are feasible and improving
        (group rules aside: ``try_move`` checks them).  ``delta`` is exact where ``ok`` holds;
        elsewhere it may lack the destination's load-band change, which is priced only on the
        moves that improve without it (on county data that skips most edges)."""
        inst = self.inst
        return _shift_deltas(
            inst.edge_item,
            inst.edge_agent,
            inst.edge_cost,
            inst.edge_weight,
            self.agent_of,
            self.rows,
            self.base + self.added,
            self.added,
            self.count,
            inst.capacity,
            inst.max_count,
            self.penalty,
            self.fixed,
            self.quota if self.quota is not None else np.zeros(0, dtype=np.int64),
            int(inst.quota_points),
            *self.bands,
        )

    def try_move(self, edge: int, force: bool = False) -> bool:
        """Apply the move along ``edge`` if it is feasible and still improving (or, with
        ``force``, feasible at all)."""
        inst = self.inst
        i, b = int(inst.edge_item[edge]), int(inst.edge_agent[edge])
        a = int(self.agent_of[i])
        if a == b:
            return False
        w = int(inst.edge_weight[edge])
        if self.added[b] + w > inst.capacity[b] or self.count[b] + 1 > inst.max_count[b]:
            return False
        load_b = int(self.base[b] + self.added[b])
        delta = (
            int(inst.edge_cost[edge]) + self._band_one(b, load_b + w) - self._band_one(b, load_b)
        )
        if self.quota is not None and self.count[b] < self.quota[b]:
            delta -= inst.quota_points
        if a >= 0:
            row = int(self.rows[i])
            w_cur = int(inst.edge_weight[row])
            load_a = int(self.base[a] + self.added[a])
            delta -= int(inst.edge_cost[row])
            delta += self._band_one(a, load_a - w_cur) - self._band_one(a, load_a)
            if self.quota is not None and self.count[a] <= self.quota[a]:
                delta += inst.quota_points
        else:
            w_cur = 0
            delta -= int(self.penalty[i])
        if delta >= 0 and not force:
            return False
        groups = self.groups
        if groups.involved(i):
            if a >= 0:
                groups.remove(i, a)
            if not groups.allows(i, b):
                if a >= 0:
                    groups.add(i, a)
                return False
            groups.add(i, b)
        if a >= 0:
            self.added[a] -= w_cur
            self.count[a] -= 1
        self.added[b] += w
        self.count[b] += 1
        self.agent_of[i] = b
        self.rows[i] = edge
        return True


def descend(
    inst: AssignmentInstance,
    agent_of: I32,
    deadline: float,
    max_rounds: int = 1_000,
    compiled: bool = True,
    passes: CompiledMoves | None = None,
) -> tuple[I32, int]:
    """Improve by shift rounds (which also move the items under group rules and the unassigned
    ones) and the compiled shift, swap and ejection passes (``compiled_moves.py``), in turn until
    neither changes anything or time is up; returns (vector, moves).  ``passes``: the
    instance's ``CompiledMoves`` when the caller descends on it repeatedly (built here
    otherwise)."""
    # Shift rounds first: from a poor start their best-first order leads to a better local
    # optimum than the compiled passes' item-by-item order (county-L, from the flow's
    # rounding, both to convergence: 5,877,597 this way, 5,891,693 with the passes first).
    vec, moves = _shift_rounds(inst, agent_of.copy(), deadline, max_rounds)
    while compiled and time.monotonic() < deadline:
        passes = passes or CompiledMoves(inst)
        vec, applied = passes.improve(vec, deadline)
        if applied == 0:
            break
        vec, shifted = _shift_rounds(inst, vec, deadline, max_rounds)
        moves += applied + shifted
    return vec, moves


def _shift_rounds(
    inst: AssignmentInstance, agent_of: I32, deadline: float, max_rounds: int
) -> tuple[I32, int]:
    state = _State(inst, agent_of)
    moves = 0
    for _ in range(max_rounds):
        if time.monotonic() > deadline:
            break
        delta, ok = state.all_deltas()
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            break
        if cand.size > CANDIDATES_PER_ROUND:
            cand = cand[np.argpartition(delta[cand], CANDIDATES_PER_ROUND)[:CANDIDATES_PER_ROUND]]
        cand = cand[np.argsort(delta[cand], kind="stable")]
        applied = 0
        for k, e in enumerate(cand):
            if k % 512 == 0 and time.monotonic() > deadline:
                break
            if state.try_move(int(e)):
                applied += 1
        moves += applied
        if applied == 0:
            break
    return state.agent_of, moves


def repair_unassigned(
    inst: AssignmentInstance, agent_of: I32, deadline: float, candidates_per_item: int = 12
) -> tuple[I32, int]:
    """Ejection chains of length two for items left unassigned: make room at one of the item's
    candidate agents by moving one of that agent's items to an agent with room, then place the
    item.  A chain is kept only when the whole change lowers the objective; returns (vector,
    items placed)."""
    state = _State(inst, agent_of.copy())
    waiting = waiting_items(inst, state.agent_of)
    waiting = waiting[np.argsort(-state.penalty[waiting], kind="stable")]
    held_by: dict[int, list[int]] = {}
    for item in np.flatnonzero(state.agent_of >= 0):
        held_by.setdefault(int(state.agent_of[item]), []).append(int(item))
    placed = 0
    for item in waiting:
        if time.monotonic() > deadline:
            break
        i = int(item)
        sl = inst.edges_of(i)
        order = np.argsort(inst.edge_cost[sl], kind="stable")[:candidates_per_item]
        for k in order:
            edge_i = sl.start + int(k)
            b = int(inst.edge_agent[edge_i])
            if _eject_and_place(inst, state, held_by, i, b, edge_i):
                placed += 1
                break
    return state.agent_of, placed


def _agent_value(inst: AssignmentInstance, state: _State, agents: list[int]) -> int:
    """Load-band and quota cost of ``agents`` in the current state."""
    total = 0
    for a in agents:
        total += state._band_one(a, int(state.base[a] + state.added[a]))
        if state.quota is not None:
            total += inst.quota_points * max(0, int(state.quota[a]) - int(state.count[a]))
    return total


def _eject_and_place(
    inst: AssignmentInstance,
    state: _State,
    held_by: dict[int, list[int]],
    i: int,
    b: int,
    edge_i: int,
) -> bool:
    w_i = int(inst.edge_weight[edge_i])
    room_w = int(inst.capacity[b] - state.added[b])
    room_n = int(inst.max_count[b] - state.count[b])
    if room_w >= w_i and room_n >= 1:
        return state.try_move(edge_i)
    fixed = inst.fixed_agent
    for j in held_by.get(b, []):
        if state.agent_of[j] != b or (fixed is not None and fixed[j] >= 0):
            continue
        w_j = int(inst.edge_weight[state.rows[j]])
        if room_w + w_j < w_i:
            continue
        sl = inst.edges_of(j)
        agents = inst.edge_agent[sl]
        fits = (
            (agents != b)
            & (state.added[agents] + inst.edge_weight[sl] <= inst.capacity[agents])
            & (state.count[agents] + 1 <= inst.max_count[agents])
        )
        for k in np.flatnonzero(fits)[np.argsort(inst.edge_cost[sl][fits], kind="stable")][:4]:
            c = int(agents[k])
            before = _agent_value(inst, state, [b, c])
            undo_row = int(state.rows[j])
            edge_cost_change = (
                int(inst.edge_cost[sl.start + int(k)])
                - int(inst.edge_cost[undo_row])
                + int(inst.edge_cost[edge_i])
                - int(state.penalty[i])
            )
            if not state.try_move(sl.start + int(k), force=True):
                continue
            if (
                state.try_move(edge_i, force=True)
                and edge_cost_change + _agent_value(inst, state, [b, c]) - before < 0
            ):
                held_by[b].remove(j)
                held_by.setdefault(int(agents[k]), []).append(j)
                held_by.setdefault(b, []).append(i)
                return True
            # undo: take i out again if it went in, then move j back
            if state.agent_of[i] == b:
                _unassign(inst, state, i)
            state.try_move(undo_row, force=True)
    return False


def _unassign(inst: AssignmentInstance, state: _State, i: int) -> None:
    a = int(state.agent_of[i])
    row = int(state.rows[i])
    if state.groups.involved(i):
        state.groups.remove(i, a)
    state.added[a] -= int(inst.edge_weight[row])
    state.count[a] -= 1
    state.agent_of[i] = -1
    state.rows[i] = -1


@njit(cache=True, nogil=True)
def _band_change(agent: int, load: int, weight: int, threshold: I64, points: I64, unit: I64) -> int:
    """Change in the agent's load-band cost when its load moves from ``load`` by ``weight``."""
    return band_cost(threshold, points, unit, agent, load + weight) - band_cost(
        threshold, points, unit, agent, load
    )


@njit(cache=True, nogil=True)
def _shift_deltas(
    edge_item: I32,
    edge_agent: I32,
    edge_cost: I64,
    edge_weight: I64,
    agent_of: I32,
    rows: I64,
    load: I64,
    added: I64,
    count: I64,
    capacity: I64,
    max_count: I64,
    penalty: I64,
    fixed: I64,
    quota: I64,
    quota_points: int,
    threshold: I64,
    points: I64,
    unit: I64,
) -> tuple[I64, np.ndarray]:
    """Every edge's shift move priced: per item first what leaving its agent (or staying
    unassigned) saves, then per edge the cost of arriving."""
    n_items = agent_of.shape[0]
    owed = quota.shape[0] > 0
    leave = np.empty(n_items, dtype=np.int64)
    for i in range(n_items):
        a = agent_of[i]
        if a >= 0:
            row = rows[i]
            value = _band_change(a, load[a], -edge_weight[row], threshold, points, unit)
            value -= edge_cost[row]
            if owed and count[a] <= quota[a]:
                value += quota_points
            leave[i] = value
        else:
            leave[i] = -penalty[i]
    n_edges = edge_item.shape[0]
    delta = np.empty(n_edges, dtype=np.int64)
    ok = np.zeros(n_edges, dtype=np.bool_)
    for e in range(n_edges):
        i = edge_item[e]
        b = edge_agent[e]
        value = edge_cost[e] + leave[i]
        if owed and count[b] < quota[b]:
            value -= quota_points
        if (
            value < 0
            and b != agent_of[i]
            and added[b] + edge_weight[e] <= capacity[b]
            and count[b] + 1 <= max_count[b]
            and fixed[i] < 0
        ):
            value += _band_change(b, load[b], edge_weight[e], threshold, points, unit)
            ok[e] = value < 0
        delta[e] = value
    return delta, ok
