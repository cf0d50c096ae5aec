"""Small random AssignmentInstances with every kind of side rule, for search tests."""

from __future__ import annotations

import numpy as np

from assigner.search.instance import AssignmentInstance, LoadBand, OpposingSides


def random_instance(seed: int, n_items: int = 6, n_agents: int = 3) -> AssignmentInstance:
    rng = np.random.default_rng(seed)
    items, agents = [], []
    for i in range(n_items):
        k = int(rng.integers(0, n_agents + 1))
        for a in sorted(rng.choice(n_agents, size=k, replace=False).tolist()):
            items.append(i)
            agents.append(a)
    n_e = len(items)
    weight_of_item = rng.integers(5, 40, size=n_items)
    inst = AssignmentInstance(
        n_items=n_items,
        n_agents=n_agents,
        edge_item=np.array(items, dtype=np.int32),
        edge_agent=np.array(agents, dtype=np.int32),
        edge_cost=rng.integers(0, 200, size=n_e).astype(np.int64),
        edge_weight=weight_of_item[np.array(items, dtype=np.int64)].astype(np.int64)
        if n_e
        else np.zeros(0, dtype=np.int64),
        capacity=rng.integers(20, 80, size=n_agents).astype(np.int64),
        max_count=rng.integers(1, 4, size=n_agents).astype(np.int64),
        unassigned_penalty=rng.integers(150, 600, size=n_items).astype(np.int64),
        bands=[
            LoadBand(
                threshold=rng.integers(10, 40, size=n_agents).astype(np.int64), points=7, unit=10
            )
        ],
        base_load=rng.integers(0, 10, size=n_agents).astype(np.int64),
        quota_short=rng.integers(0, 2, size=n_agents).astype(np.int64),
        quota_points=50,
        same_agent_cliques=[np.array([0, 1], dtype=np.int32)] if n_items > 1 else [],
        agent_group=np.array([a % 2 for a in range(n_agents)], dtype=np.int32),
        same_group_cliques=[np.array([2, 3], dtype=np.int32)] if n_items > 3 else [],
        opposing_sides=[OpposingSides(np.array([4], dtype=np.int32), np.array([5], np.int32))]
        if n_items > 5
        else [],
    )
    return inst
