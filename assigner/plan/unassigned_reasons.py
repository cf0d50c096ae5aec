"""Why the plan leaves each case out that has an eligible lawyer: no eligible lawyer has room
for it; or those that have are barred by a group rule (a co-defendant or linked case with the
lawyer, or with the firm under the one-firm rule; the other side of the matter in the firm);
or one may take it and placing the case there would cost more points than its unassigned
penalty; or placing it would have lowered the objective and the search did not get there.

The plan's own loads decide: each eligible lawyer's hours and open cases after the plan, the
group rules against the cases placed, and the change of the objective that placing the case
alone would make (its edge cost, the lawyer's load-band step and quota credit, less its
penalty).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from assigner.domain.plan import UnassignedReason
from assigner.search.instance import AssignmentInstance, chosen_edges
from assigner.search.load_bands import band_arrays, band_cost


class _GroupRules:
    """The group rules of the instance that involve the given items, for one item at a time:
    whether putting it on an agent breaks one against the agents of the other items."""

    def __init__(self, inst: AssignmentInstance, items: np.ndarray) -> None:
        wanted = set(items.tolist())
        self.same_agent: dict[int, list[np.ndarray]] = defaultdict(list)
        self.same_group: dict[int, list[np.ndarray]] = defaultdict(list)
        self.opposing: dict[int, list[np.ndarray]] = defaultdict(list)
        for clique in inst.same_agent_cliques:
            for i in wanted.intersection(clique.tolist()):
                self.same_agent[i].append(clique)
        for clique in inst.same_group_cliques:
            for i in wanted.intersection(clique.tolist()):
                self.same_group[i].append(clique)
        for sides in inst.opposing_sides:
            for one, other in ((sides.side_a, sides.side_b), (sides.side_b, sides.side_a)):
                for i in wanted.intersection(one.tolist()):
                    self.opposing[i].append(other)
        self.group = inst.agent_group

    def allow(self, item: int, agent: int, agent_of_item: np.ndarray) -> bool:
        for clique in self.same_agent.get(item, ()):
            others = agent_of_item[clique[clique != item]]
            if np.any(others == agent):
                return False
        if self.group is None:
            return True
        group = self.group[agent]
        for members in (*self.same_group.get(item, ()), *self.opposing.get(item, ())):
            others = agent_of_item[members[members != item]]
            others = others[others >= 0]
            if np.any(self.group[others] == group):
                return False
        return True


def unassigned_reasons(
    inst: AssignmentInstance, agent_of_item: np.ndarray, eligible_count: np.ndarray
) -> dict[int, UnassignedReason]:
    """The reason of every item ``agent_of_item`` leaves out (-1), by item."""
    out = np.flatnonzero(agent_of_item < 0)
    reasons: dict[int, UnassignedReason] = {}
    has_edge = np.diff(inst.item_offsets) > 0
    waiting = [int(k) for k in out if eligible_count[k] > 0 and has_edge[k]]
    for left_out in out:
        reasons[int(left_out)] = (
            UnassignedReason.NO_ELIGIBLE_LAWYER
            if eligible_count[left_out] == 0
            else UnassignedReason.CAPACITY_EXHAUSTED
        )
    if not waiting:
        return reasons
    rows = chosen_edges(inst, agent_of_item)
    used = rows[rows >= 0]
    assigned = np.bincount(
        inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
    ).astype(np.int64)
    load = inst.base() + assigned
    count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents).astype(np.int64)
    threshold, points, unit = band_arrays(inst)
    short = inst.quota_short if inst.quota_short is not None else np.zeros(inst.n_agents, np.int64)
    rules = _GroupRules(inst, np.array(waiting, dtype=np.int64))
    for i in waiting:
        room = False
        fits = False
        cheaper = False
        for e in range(inst.item_offsets[i], inst.item_offsets[i + 1]):
            a, w = int(inst.edge_agent[e]), int(inst.edge_weight[e])
            if assigned[a] + w > inst.capacity[a] or count[a] + 1 > inst.max_count[a]:
                continue
            room = True
            if not rules.allow(i, a, agent_of_item):
                continue
            fits = True
            step = band_cost(threshold, points, unit, a, int(load[a] + w)) - band_cost(
                threshold, points, unit, a, int(load[a])
            )
            credit = inst.quota_points if count[a] < short[a] else 0
            if int(inst.edge_cost[e]) + step - credit < int(inst.unassigned_penalty[i]):
                cheaper = True
                break
        reasons[i] = (
            UnassignedReason.CAPACITY_EXHAUSTED
            if not room
            else UnassignedReason.GROUP_RULES
            if not fits
            else UnassignedReason.NOT_PLACED_IN_TIME
            if cheaper
            else UnassignedReason.COSTS_MORE_THAN_PENALTY
        )
    return reasons
