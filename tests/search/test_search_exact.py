"""Tests that the search matches brute force on small instances and always stays feasible."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assigner.search import solve
from assigner.search.cpsat import SearchParams
from assigner.search.greedy import greedy
from assigner.search.instance import AssignmentInstance, evaluate, feasibility_issues
from assigner.search.solve import run_search
from tests.search.instances import random_instance


def brute_force(inst: AssignmentInstance) -> int | None:
    options = []
    for i in range(inst.n_items):
        sl = inst.edges_of(i)
        opts = [-1, *inst.edge_agent[sl].tolist()]
        options.append(opts)
    best = None
    for combo in itertools.product(*options):
        vec = np.array(combo, dtype=np.int32)
        if feasibility_issues(inst, vec):
            continue
        total = evaluate(inst, vec).total
        best = total if best is None or total < best else best
    return best


@pytest.mark.parametrize("seed", range(12))
def test_cpsat_matches_brute_force(seed: int) -> None:
    """Tests that the solver's proven optimum equals the brute-force optimum."""
    inst = random_instance(seed)
    expected = brute_force(inst)
    outcome = run_search(inst, SearchParams(time_limit_s=10, workers=2, seed=0))
    assert outcome.proven_optimal
    assert outcome.objective == expected
    assert outcome.bound == pytest.approx(expected)
    assert not feasibility_issues(inst, outcome.agent_of_item)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_items=st.integers(1, 9), n_agents=st.integers(1, 4))
def test_greedy_is_always_feasible(seed: int, n_items: int, n_agents: int) -> None:
    """Tests that the greedy construction never breaks a hard constraint."""
    inst = random_instance(seed, n_items=n_items, n_agents=n_agents)
    vec = greedy(inst)
    assert feasibility_issues(inst, vec) == []


def test_deterministic_mode_loads_compiled_code_outside_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that deterministic mode loads (or compiles) the numba code before its budget
    starts, so that a cold cache cannot change where its wall-clock safety limits fall; with
    a wall-clock budget the loading is not forced."""
    calls: list[float] = []

    def slow_warm_up() -> None:
        calls.append(time.monotonic())
        time.sleep(1.0)

    monkeypatch.setattr(solve, "warm_up", slow_warm_up)
    inst = random_instance(3, n_items=5, n_agents=3)
    began = time.monotonic()
    out = run_search(inst, SearchParams(time_limit_s=0.5, workers=1, seed=0, deterministic=True))
    elapsed = time.monotonic() - began
    assert len(calls) == 1
    # The search's own clock starts after the one-second load.
    assert out.wall_time_s <= elapsed - 1.0
    run_search(inst, SearchParams(time_limit_s=0.5, workers=1, seed=0))
    assert len(calls) == 1


def test_deterministic_mode_repeats() -> None:
    """Tests that deterministic mode with one seed gives the same assignment twice."""
    inst = random_instance(3, n_items=9, n_agents=4)
    params = SearchParams(time_limit_s=2, workers=2, seed=5, deterministic=True)
    a = run_search(inst, params)
    b = run_search(inst, params)
    assert np.array_equal(a.agent_of_item, b.agent_of_item)
    assert a.objective == b.objective
