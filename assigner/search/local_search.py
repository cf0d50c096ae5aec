"""Shift-move descent with exact objective deltas, vectorised over all edges.

A move sends one item to another agent (or from unassigned to an agent).  Each round scores
every edge at once with numpy: edge cost change, the load-band change at both agents, the quota
change, and feasibility (capacity in weight and count, group rules checked on the chosen few).
The improving moves are applied best first, at most one per agent per round, so the deltas
computed for the round stay exact.
"""

from __future__ import annotations

import time

import numpy as np

from assigner.search.greedy import GroupState
from assigner.search.instance import I32, I64, AssignmentInstance, chosen_edges


def _band_value(inst: AssignmentInstance, agents: I64, load: I64) -> I64:
    total = np.zeros(len(agents), dtype=np.int64)
    for band in inst.bands:
        excess = np.maximum(0, load - band.threshold[agents])
        total += band.points * (-(-excess // band.unit))
    return total


def descend(
    inst: AssignmentInstance, agent_of: I32, deadline: float, max_rounds: int = 10_000
) -> tuple[I32, int]:
    """Apply improving shift moves until none is left or time is up; returns (vector, moves)."""
    agent_of = agent_of.copy()
    rows = chosen_edges(inst, agent_of)
    used = rows[rows >= 0]
    load = inst.base() + np.bincount(
        inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
    ).astype(np.int64)
    added_w = load - inst.base()
    count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents).astype(np.int64)
    quota = inst.quota_short if inst.quota_short is not None else None
    groups = GroupState(inst)
    for i in np.flatnonzero(agent_of >= 0):
        groups.add(int(i), int(agent_of[i]))
    fixed = inst.fixed_agent if inst.fixed_agent is not None else None

    e_item = inst.edge_item
    e_agent = inst.edge_agent.astype(np.int64)
    e_w = inst.edge_weight
    moves = 0
    for _ in range(max_rounds):
        if time.monotonic() > deadline:
            break
        cur_agent = agent_of[e_item].astype(np.int64)
        cur_row = rows[e_item]
        assigned = cur_agent >= 0
        cur_cost = np.where(assigned, inst.edge_cost[np.maximum(cur_row, 0)], 0)
        penalty = np.where(inst.unassigned_penalty < 0, 0, inst.unassigned_penalty)[e_item]
        delta = inst.edge_cost - np.where(assigned, cur_cost, penalty)
        # target agent gains the item
        delta += _band_value(inst, e_agent, load[e_agent] + e_w) - _band_value(
            inst, e_agent, load[e_agent]
        )
        src = np.maximum(cur_agent, 0)
        src_w = np.where(assigned, inst.edge_weight[np.maximum(cur_row, 0)], 0)
        delta += np.where(
            assigned,
            _band_value(inst, src, load[src] - src_w) - _band_value(inst, src, load[src]),
            0,
        )
        if quota is not None and inst.quota_points:
            delta -= inst.quota_points * (count[e_agent] < quota[e_agent])
            delta += np.where(assigned, inst.quota_points * (count[src] <= quota[src]), 0)
        ok = (
            (e_agent != cur_agent)
            & (added_w[e_agent] + e_w <= inst.capacity[e_agent])
            & (count[e_agent] + 1 <= inst.max_count[e_agent])
            & (delta < 0)
        )
        if fixed is not None:
            ok &= fixed[e_item] < 0
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            break
        cand = cand[np.argsort(delta[cand], kind="stable")]
        touched = np.zeros(inst.n_agents, dtype=np.bool_)
        applied = 0
        for e in cand[:512]:
            i, b = int(e_item[e]), int(e_agent[e])
            a = int(agent_of[i])
            if touched[b] or (a >= 0 and touched[a]):
                continue
            if groups.involved(i):
                if a >= 0:
                    groups.remove(i, a)
                if not groups.allows(i, b):
                    if a >= 0:
                        groups.add(i, a)
                    continue
                groups.add(i, b)
            w = int(e_w[e])
            if a >= 0:
                load[a] -= int(inst.edge_weight[rows[i]])
                added_w[a] -= int(inst.edge_weight[rows[i]])
                count[a] -= 1
                touched[a] = True
            load[b] += w
            added_w[b] += w
            count[b] += 1
            touched[b] = True
            agent_of[i] = b
            rows[i] = e
            applied += 1
        moves += applied
        if applied == 0:
            break
    return agent_of, moves
