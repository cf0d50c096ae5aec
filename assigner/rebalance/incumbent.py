"""An assignment under construction with exact move pricing and the move budget kept as it goes.

Every change goes through :meth:`Incumbent.shift`, which applies a move only when capacity
(weight and count), fixed items, group rules and the move budget all still hold, so the vector
is feasible and within budget after every call.
"""

from __future__ import annotations

import numpy as np

from assigner.rebalance.budget import MoveBudget, count_moves
from assigner.search.greedy import GroupState
from assigner.search.instance import I32, I64, MUST_ASSIGN, AssignmentInstance, chosen_edges

# A must-assign item left out is priced like this (only GAP-style instances have such items).
MUST_ASSIGN_PENALTY = np.iinfo(np.int64).max // 1024


class Incumbent:
    def __init__(self, inst: AssignmentInstance, agent_of: I32, budget: MoveBudget) -> None:
        self.inst = inst
        self.budget = budget
        self.agent_of = agent_of.astype(np.int32).copy()
        self.rows = chosen_edges(inst, self.agent_of)
        used = self.rows[self.rows >= 0]
        self.added = np.bincount(
            inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
        ).astype(np.int64)
        self.count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents).astype(np.int64)
        self.base = inst.base()
        self.penalty = np.where(
            inst.unassigned_penalty == MUST_ASSIGN, MUST_ASSIGN_PENALTY, inst.unassigned_penalty
        ).astype(np.int64)
        self.quota = (
            inst.quota_short if inst.quota_short is not None and inst.quota_points else None
        )
        self.fixed = (
            inst.fixed_agent
            if inst.fixed_agent is not None
            else np.full(inst.n_items, -1, dtype=np.int32)
        )
        self.bands = [(b.threshold, b.points, b.unit) for b in inst.bands if b.points]
        self.groups = GroupState(inst)
        self.held_by: list[set[int]] = [set() for _ in range(inst.n_agents)]
        for item in np.flatnonzero(self.agent_of >= 0):
            self.groups.add(int(item), int(self.agent_of[item]))
            self.held_by[int(self.agent_of[item])].add(int(item))
        moves = count_moves(budget.current, self.agent_of, inst.n_agents, budget.still_eligible)
        self.total = moves.total
        self.away = moves.away.copy()
        self.onto = moves.onto.copy()
        self.opened = moves.opened.copy()

    # -- pricing ---------------------------------------------------------------------------

    def band_of(self, agents: np.ndarray, load: np.ndarray) -> I64:
        """Load-band cost of each agent at the given loads."""
        total = np.zeros(len(agents), dtype=np.int64)
        for thr, points, unit in self.bands:
            excess = np.maximum(0, load - thr[agents])
            total += points * (-(-excess // unit))
        return total

    def band_one(self, agent: int, load: int) -> int:
        total = 0
        for thr, points, unit in self.bands:
            excess = load - int(thr[agent])
            if excess > 0:
                total += points * (-(-excess // unit))
        return total

    def leave_value(self, i: int) -> int:
        """Objective change when item ``i`` leaves its agent (becomes unassigned)."""
        a = int(self.agent_of[i])
        if a < 0:
            return 0
        row = int(self.rows[i])
        w = int(self.inst.edge_weight[row])
        load = int(self.base[a] + self.added[a])
        change = (
            int(self.penalty[i])
            - int(self.inst.edge_cost[row])
            + self.band_one(a, load - w)
            - self.band_one(a, load)
        )
        if self.quota is not None and self.count[a] <= self.quota[a]:
            change += self.inst.quota_points
        return change

    def price_edges(self, i: int) -> tuple[I64, np.ndarray]:
        """Exact objective change of moving item ``i`` along each of its edges, and whether the
        move keeps capacity, fixed items and the budget (group rules are checked on apply)."""
        inst = self.inst
        sl = inst.edges_of(i)
        agents = inst.edge_agent[sl].astype(np.int64)
        w = inst.edge_weight[sl]
        a = int(self.agent_of[i])
        load = self.base[agents] + self.added[agents]
        delta = inst.edge_cost[sl] + self.band_of(agents, load + w) - self.band_of(agents, load)
        if self.quota is not None:
            delta = delta - inst.quota_points * (self.count[agents] < self.quota[agents])
        # Leaving the current agent: unassigned penalty paid back or the edge cost given up.
        delta = delta + (self.leave_value(i) - int(self.penalty[i]))
        ok = (
            (agents != a)
            & (self.added[agents] + w <= inst.capacity[agents])
            & (self.count[agents] + 1 <= inst.max_count[agents])
        )
        if self.fixed[i] >= 0:
            ok &= agents == self.fixed[i]
        ok &= self.budget_mask(i, agents)
        return delta, ok

    def budget_mask(self, i: int, agents: np.ndarray) -> np.ndarray:
        c = int(self.budget.current[i])
        if c < 0:
            return np.ones(len(agents), dtype=np.bool_)
        a = int(self.agent_of[i])
        was = int(a != c)
        now = (agents != c).astype(np.int64)
        total_ok = self.total - was + now <= self.budget.max_moves
        away_ok = self.away[c] - was + now <= self.budget.away_limit[c]
        onto_ok = self.onto[agents] + now <= self.budget.onto_limit[agents]
        return total_ok & away_ok & onto_ok

    # -- changes ---------------------------------------------------------------------------

    def _count_shift(self, i: int, a: int, b: int) -> None:
        c = int(self.budget.current[i])
        if c < 0:
            return
        if a != c:
            self.total -= 1
            self.away[c] -= 1
            if a >= 0:
                self.onto[a] -= 1
        if b != c:
            self.total += 1
            self.away[c] += 1
            if b >= 0:
                self.onto[b] += 1
        if self.budget.still_eligible[i]:
            self.opened[c] += int(b < 0) - int(a < 0)

    def within_budget(self, agents: list[int]) -> bool:
        b = self.budget
        if self.total > b.max_moves:
            return False
        return all(
            self.away[a] <= b.away_limit[a]
            and self.onto[a] <= b.onto_limit[a]
            and self.opened[a] <= b.open_limit[a]
            for a in agents
            if a >= 0
        )

    def _touched(self, i: int, a: int, b: int) -> list[int]:
        return [int(self.budget.current[i]), a, b]

    def shift(self, i: int, edge: int, check_budget: bool = True) -> bool:
        """Move item ``i`` along ``edge`` (``-1``: unassign it) when every rule allows; returns
        whether it moved.  ``check_budget=False`` is for undoing a change."""
        inst = self.inst
        a = int(self.agent_of[i])
        b = int(inst.edge_agent[edge]) if edge >= 0 else -1
        if a == b:
            return False
        if self.fixed[i] >= 0 and b != self.fixed[i]:
            return False
        if b >= 0:
            w = int(inst.edge_weight[edge])
            if self.added[b] + w > inst.capacity[b] or self.count[b] + 1 > inst.max_count[b]:
                return False
        involved = self.groups.involved(i)
        if involved:
            if a >= 0:
                self.groups.remove(i, a)
            if b >= 0 and not self.groups.allows(i, b):
                if a >= 0:
                    self.groups.add(i, a)
                return False
        self._count_shift(i, a, b)
        if check_budget and not self.within_budget(self._touched(i, a, b)):
            self._count_shift(i, b, a)
            if involved and a >= 0:
                self.groups.add(i, a)
            return False
        if involved and b >= 0:
            self.groups.add(i, b)
        if a >= 0:
            self.added[a] -= int(inst.edge_weight[int(self.rows[i])])
            self.count[a] -= 1
            self.held_by[a].discard(i)
        if b >= 0:
            self.added[b] += int(inst.edge_weight[edge])
            self.count[b] += 1
            self.held_by[b].add(i)
        self.agent_of[i] = b
        self.rows[i] = edge
        return True

    def objective_change(self, moves: list[tuple[int, int]]) -> int:
        """Exact objective change of applying ``moves`` (item, edge or -1) in order, without
        applying them (loads are updated on a scratch copy of the touched agents)."""
        inst = self.inst
        load: dict[int, int] = {}
        cnt: dict[int, int] = {}
        agent: dict[int, int] = {}
        change = 0
        for i, edge in moves:
            if i in agent:
                raise ValueError("an item moves twice in one change")
            a, row = int(self.agent_of[i]), int(self.rows[i])
            if a >= 0:
                w_a = int(inst.edge_weight[row])
                la = load.get(a, int(self.base[a] + self.added[a]))
                na = cnt.get(a, int(self.count[a]))
                change += self.band_one(a, la - w_a) - self.band_one(a, la)
                change -= int(inst.edge_cost[row])
                if self.quota is not None and na <= self.quota[a]:
                    change += inst.quota_points
                load[a], cnt[a] = la - w_a, na - 1
            else:
                change -= int(self.penalty[i])
            if edge >= 0:
                b = int(inst.edge_agent[edge])
                w_b = int(inst.edge_weight[edge])
                lb = load.get(b, int(self.base[b] + self.added[b]))
                nb = cnt.get(b, int(self.count[b]))
                change += self.band_one(b, lb + w_b) - self.band_one(b, lb)
                change += int(inst.edge_cost[edge])
                if self.quota is not None and nb < self.quota[b]:
                    change -= inst.quota_points
                load[b], cnt[b] = lb + w_b, nb + 1
                agent[i] = b
            else:
                change += int(self.penalty[i])
                agent[i] = -1
        return change

    def apply_all(self, moves: list[tuple[int, int]]) -> bool:
        """Apply ``moves`` in order, all or none; the budget is checked after the last one
        (intermediate states may pass through it)."""
        done: list[tuple[int, int]] = []
        for i, edge in moves:
            undo = int(self.rows[i])
            if not self.shift(i, edge, check_budget=False):
                self._undo(done)
                return False
            done.append((i, undo))
        touched = [int(self.budget.current[i]) for i, _ in moves]
        touched += [int(self.inst.edge_agent[e]) if e >= 0 else -1 for _, e in moves]
        touched += [int(self.inst.edge_agent[u]) if u >= 0 else -1 for _, u in done]
        if not self.within_budget(touched):
            self._undo(done)
            return False
        return True

    def _undo(self, done: list[tuple[int, int]]) -> None:
        for i, edge in reversed(done):
            if not self.shift(i, edge, check_budget=False) and int(self.rows[i]) != edge:
                raise AssertionError(f"could not undo the move of item {i}")
