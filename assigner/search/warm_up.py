"""Compile the search's numba code (or load it from numba's on-disk cache) before a first
search needs it: about 17 s the first time on an installation, well under a second from the
cache.  The service does it on a thread at start-up, the benchmarks before their timed runs,
the Docker image at build."""

from __future__ import annotations

import functools

import numpy as np

from assigner.search.compiled_moves import CompiledMoves
from assigner.search.flow_relaxation import count_flow_bound
from assigner.search.independent_parts import independent_parts
from assigner.search.instance import AssignmentInstance, LoadBand
from assigner.search.knapsack_bound import Prices, knapsack_bound
from assigner.search.local_search import descend
from assigner.search.regions import region_labels


@functools.cache
def warm_up() -> None:
    """Run the decomposition, the region labels, the compiled passes, descent, the
    count-priced flow bound and the knapsack bound on a two-item instance whose count limit
    binds (so that every kernel runs), once per process."""
    inst = AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([1, 9, 1, 9], dtype=np.int64),
        edge_weight=np.array([3, 3, 3, 3], dtype=np.int64),
        capacity=np.array([6, 6], dtype=np.int64),
        max_count=np.array([1, 2], dtype=np.int64),
        unassigned_penalty=np.array([100, 100], dtype=np.int64),
        bands=[LoadBand(np.array([1, 1], dtype=np.int64), 1, 1)],
    )
    independent_parts(inst)
    region_labels(inst)
    CompiledMoves(inst).improve(np.array([0, 1], dtype=np.int32), float("inf"))
    descend(inst, np.array([1, 1], dtype=np.int32), float("inf"))
    count_flow_bound(inst, time_limit_s=1.0, max_flow_solves=2)
    prices = Prices(item=np.array([20.0, 20.0]), count=np.zeros(2), quota=np.zeros(2))
    knapsack_bound(inst, prices, upper_bound=30.0, time_limit_s=1.0, max_iterations=2)
