"""Tests that the search matches brute force on small instances and always stays feasible."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_deterministic_mode_repeats() -> None:
    """Tests that deterministic mode with one seed gives the same assignment twice."""
    inst = random_instance(3, n_items=9, n_agents=4)
    params = SearchParams(time_limit_s=2, workers=2, seed=5, deterministic=True)
    a = run_search(inst, params)
    b = run_search(inst, params)
    assert np.array_equal(a.agent_of_item, b.agent_of_item)
    assert a.objective == b.objective
