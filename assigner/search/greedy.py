"""Greedy construction: a feasible start for CP-SAT hints and the any-time fallback.

Items go in order of urgency (fixed first, then must-assign, then by unassigned penalty, fewest
candidates first); each takes its cheapest feasible edge by marginal cost (edge cost plus the
load-band and quota change).  Every hard rule of the instance is respected, so the result is
always feasible (items that fit nowhere stay unassigned).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from assigner.search.instance import I32, I64, MUST_ASSIGN, AssignmentInstance


class GroupState:
    """Which agents / groups each clique and each opposing side already uses."""

    def __init__(self, inst: AssignmentInstance) -> None:
        self.inst = inst
        self.item_cliques: dict[int, list[int]] = defaultdict(list)
        for k, clique in enumerate(inst.same_agent_cliques):
            for i in clique:
                self.item_cliques[int(i)].append(k)
        self.item_group_cliques: dict[int, list[int]] = defaultdict(list)
        for k, clique in enumerate(inst.same_group_cliques):
            for i in clique:
                self.item_group_cliques[int(i)].append(k)
        self.item_sides: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for k, opp in enumerate(inst.opposing_sides):
            for i in opp.side_a:
                self.item_sides[int(i)].append((k, 0))
            for i in opp.side_b:
                self.item_sides[int(i)].append((k, 1))
        self.clique_agents: dict[int, set[int]] = defaultdict(set)
        self.clique_groups: dict[int, set[int]] = defaultdict(set)
        self.side_groups: dict[tuple[int, int], dict[int, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def involved(self, item: int) -> bool:
        return (
            item in self.item_cliques
            or item in self.item_group_cliques
            or (item in self.item_sides)
        )

    def allows(self, item: int, agent: int) -> bool:
        for k in self.item_cliques.get(item, ()):
            if agent in self.clique_agents[k]:
                return False
        group = self.inst.agent_group
        if group is None:
            return True
        g = int(group[agent])
        for k in self.item_group_cliques.get(item, ()):
            if g in self.clique_groups[k]:
                return False
        for k, side in self.item_sides.get(item, ()):
            if self.side_groups[(k, 1 - side)].get(g, 0) > 0:
                return False
        return True

    def add(self, item: int, agent: int) -> None:
        for k in self.item_cliques.get(item, ()):
            self.clique_agents[k].add(agent)
        if self.inst.agent_group is None:
            return
        g = int(self.inst.agent_group[agent])
        for k in self.item_group_cliques.get(item, ()):
            self.clique_groups[k].add(g)
        for k, side in self.item_sides.get(item, ()):
            self.side_groups[(k, side)][g] += 1

    def remove(self, item: int, agent: int) -> None:
        for k in self.item_cliques.get(item, ()):
            self.clique_agents[k].discard(agent)
        if self.inst.agent_group is None:
            return
        g = int(self.inst.agent_group[agent])
        for k in self.item_group_cliques.get(item, ()):
            self.clique_groups[k].discard(g)
        for k, side in self.item_sides.get(item, ()):
            self.side_groups[(k, side)][g] -= 1


def marginal_load_cost(inst: AssignmentInstance, agents: I32 | I64, load: I64, weight: I64) -> I64:
    """Change in band cost when each agent's load grows by the matching weight."""
    delta = np.zeros(len(agents), dtype=np.int64)
    before = load[agents]
    after = before + weight
    for band in inst.bands:
        thr = band.threshold[agents]
        b0 = -(-np.maximum(0, before - thr) // band.unit)
        b1 = -(-np.maximum(0, after - thr) // band.unit)
        delta += band.points * (b1 - b0)
    return delta


def item_order(inst: AssignmentInstance) -> I64:
    n_edges = np.diff(inst.item_offsets)
    must = inst.unassigned_penalty == MUST_ASSIGN
    fixed = inst.fixed_agent >= 0 if inst.fixed_agent is not None else np.zeros(inst.n_items, bool)
    penalty = np.where(must, np.iinfo(np.int64).max // 4, inst.unassigned_penalty)
    # lexsort: last key is primary.
    return np.lexsort((n_edges, -penalty, ~fixed)).astype(np.int64)


def greedy(inst: AssignmentInstance, order: I64 | None = None) -> I32:
    """A feasible assignment vector (agent per item, -1 unassigned)."""
    agent_of = np.full(inst.n_items, -1, dtype=np.int32)
    used_w = np.zeros(inst.n_agents, dtype=np.int64)
    used_n = np.zeros(inst.n_agents, dtype=np.int64)
    load = inst.base().copy()
    count = np.zeros(inst.n_agents, dtype=np.int64)
    quota = inst.quota_short if inst.quota_short is not None else None
    groups = GroupState(inst)
    for item in order if order is not None else item_order(inst):
        i = int(item)
        sl = inst.edges_of(i)
        if sl.start == sl.stop:
            continue
        agents = inst.edge_agent[sl]
        weights = inst.edge_weight[sl]
        fits = (used_w[agents] + weights <= inst.capacity[agents]) & (
            used_n[agents] + 1 <= inst.max_count[agents]
        )
        if inst.fixed_agent is not None and inst.fixed_agent[i] >= 0:
            fits &= agents == inst.fixed_agent[i]
        if not fits.any():
            continue
        cost = inst.edge_cost[sl] + marginal_load_cost(inst, agents, load, weights)
        if quota is not None and inst.quota_points:
            cost = cost - inst.quota_points * (count[agents] < quota[agents])
        penalty = inst.unassigned_penalty[i]
        candidates = np.flatnonzero(fits)
        candidates = candidates[np.argsort(cost[candidates], kind="stable")]
        for k in candidates:
            a = int(agents[k])
            if penalty != MUST_ASSIGN and cost[k] >= penalty:
                break
            if groups.involved(i) and not groups.allows(i, a):
                continue
            agent_of[i] = a
            used_w[a] += weights[k]
            used_n[a] += 1
            load[a] += weights[k]
            count[a] += 1
            groups.add(i, a)
            break
    return agent_of
