"""Tests that the count-aware flow bound (the flow relaxation with the count rows priced in by
Lagrangian multipliers, solved on a core of arcs) proves only valid bounds, never falls below the
plain flow once converged, and honours its time limit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assigner.search import flow_relaxation as fr
from assigner.search.flow_relaxation import count_flow_bound, flow_relaxation
from assigner.search.instance import MUST_ASSIGN, AssignmentInstance
from tests.search.instances import random_instance
from tests.search.test_search_exact import brute_force


def _tight(seed: int, n_items: int = 5, n_agents: int = 3) -> AssignmentInstance:
    """A random instance whose agents may take one or two items each; every odd seed makes
    every third item with an edge a must-assign item."""
    inst = random_instance(seed, n_items=n_items, n_agents=n_agents)
    rng = np.random.default_rng(seed + 100)
    inst = dataclasses.replace(inst, max_count=rng.integers(1, 3, size=n_agents).astype(np.int64))
    if seed % 2:
        has_edge = np.diff(inst.item_offsets) > 0
        must = has_edge & (np.arange(inst.n_items) % 3 == 0)
        penalty = np.where(must, MUST_ASSIGN, inst.unassigned_penalty).astype(np.int64)
        inst = dataclasses.replace(inst, unassigned_penalty=penalty)
    return inst


@pytest.mark.parametrize("from_scratch", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_count_bound_is_valid_and_at_least_the_plain_flow(
    seed: int, from_scratch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests the bound against brute force with tight count limits, starting from the plain
    flow or (``from_scratch``) from a one-arc-per-item core that pricing has to grow."""
    if from_scratch:
        monkeypatch.setattr(fr, "PLAIN_FIRST_SHARE", 0.0)
    inst = _tight(seed)
    optimum = brute_force(inst)
    plain = flow_relaxation(inst)
    if optimum is None or plain is None:
        pytest.skip("no feasible plan in this draw")
    relaxed = count_flow_bound(
        inst, upper_bound=optimum, time_limit_s=10.0, core_size=1, max_flow_solves=60
    )
    assert relaxed is not None
    assert relaxed.bound <= optimum
    assert relaxed.plain_bound == plain.bound
    assert relaxed.bound >= plain.bound
    # The fractional plan sends each item at most once and keeps the weight capacities.
    shares = np.bincount(inst.edge_item, weights=relaxed.x, minlength=inst.n_items)
    assert np.all(shares <= 1 + 1e-9)
    load = np.bincount(inst.edge_agent, weights=relaxed.x * inst.edge_weight, minlength=3)
    assert np.all(load <= inst.capacity + 1e-6)


def _count_binds() -> AssignmentInstance:
    """Two items that both prefer agent 0 (cost 10 against 100 at agent 1); agent 0 has room
    for both but may take one: the optimum is 110, the plain flow's 20."""
    return AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([10, 100, 10, 100], dtype=np.int64),
        edge_weight=np.array([5, 5, 5, 5], dtype=np.int64),
        capacity=np.array([100, 100], dtype=np.int64),
        max_count=np.array([1, 2], dtype=np.int64),
        unassigned_penalty=np.array([1000, 1000], dtype=np.int64),
    )


def test_count_bound_beats_the_plain_flow_where_the_count_binds() -> None:
    """Tests that pricing the count row lifts the bound from the plain flow's 20 to the
    optimum 110 (the LP's: the count row is all that binds)."""
    inst = _count_binds()
    assert brute_force(inst) == 110
    plain = flow_relaxation(inst)
    assert plain is not None and plain.bound == 20
    relaxed = count_flow_bound(inst, upper_bound=110, time_limit_s=10.0, max_flow_solves=200)
    assert relaxed is not None
    assert relaxed.bound == 110
    assert relaxed.multipliers[0] > 0 and relaxed.multipliers[1] == 0


def test_zero_prices_converge_to_the_plain_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that with no count row to price (every limit above the agent's reach) and the core
    grown from one arc per item until pricing finds no cheaper arc, the bound is the plain
    full flow's, with the same rounding."""
    monkeypatch.setattr(fr, "PLAIN_FIRST_SHARE", 0.0)
    base = random_instance(4, n_items=60, n_agents=8)
    inst = dataclasses.replace(base, max_count=np.full(8, base.n_items, dtype=np.int64))
    plain = flow_relaxation(inst)
    assert plain is not None
    relaxed = count_flow_bound(inst, time_limit_s=10.0, core_size=1, max_flow_solves=100)
    assert relaxed is not None
    assert relaxed.flow_solves > 1  # the one-arc core did not suffice: pricing grew it
    assert relaxed.steps == 0
    assert relaxed.plain_bound == plain.bound
    assert relaxed.bound == plain.bound
    assert np.all(relaxed.multipliers == 0)


def test_tiny_time_limit_stops_after_one_flow_solve() -> None:
    """Tests that a time limit too short for anything still gives a valid bound after exactly
    one flow solve (the plain flow is not solved first: it does not fit)."""
    inst = _tight(2)
    optimum = brute_force(inst)
    assert optimum is not None
    relaxed = count_flow_bound(inst, upper_bound=optimum, time_limit_s=1e-9, core_size=1)
    assert relaxed is not None
    assert relaxed.flow_solves == 1
    assert relaxed.bound <= optimum
