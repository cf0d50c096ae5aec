"""Tests that each search component keeps hard rules and gives valid bounds."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assigner.search.cpsat import SearchParams
from assigner.search.greedy import greedy
from assigner.search.instance import evaluate, feasibility_issues
from assigner.search.lagrangian import lagrangian_bound
from assigner.search.lns import improve, sub_instance
from assigner.search.local_search import descend
from assigner.search.lp_bound import solve_lp, solve_mip
from tests.search.instances import random_instance
from tests.search.test_search_exact import brute_force


@pytest.mark.parametrize("seed", range(8))
def test_bounds_never_exceed_the_optimum(seed: int) -> None:
    """Tests that the LP and Lagrangian bounds are at most the brute-force optimum."""
    inst = random_instance(seed)
    optimum = brute_force(inst)
    assert optimum is not None
    assert solve_lp(inst).bound <= optimum
    assert lagrangian_bound(inst, optimum, time_limit_s=2).bound <= optimum


@pytest.mark.parametrize("seed", range(6))
def test_exact_mip_finds_the_optimum(seed: int) -> None:
    """Tests that the MIP with integer load bands returns the brute-force optimum."""
    inst = random_instance(seed)
    result = solve_mip(inst, 10, exact_bands=True)
    assert result.agent_of_item is not None
    assert evaluate(inst, result.agent_of_item).total == brute_force(inst)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_items=st.integers(1, 9), n_agents=st.integers(1, 4))
def test_descent_keeps_feasibility_and_never_worsens(
    seed: int, n_items: int, n_agents: int
) -> None:
    """Tests that shift descent stays feasible and never raises the objective."""
    inst = random_instance(seed, n_items=n_items, n_agents=n_agents)
    start = greedy(inst)
    after, _ = descend(inst, start, time.monotonic() + 5)
    assert feasibility_issues(inst, after) == []
    assert evaluate(inst, after).total <= evaluate(inst, start).total


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_items=st.integers(2, 9), n_agents=st.integers(1, 4))
def test_sub_instance_solutions_are_feasible_in_the_whole(
    seed: int, n_items: int, n_agents: int
) -> None:
    """Tests that any feasible answer of an LNS subproblem is feasible for the whole instance."""
    inst = random_instance(seed, n_items=n_items, n_agents=n_agents)
    incumbent = greedy(inst)
    rng = np.random.default_rng(seed)
    free = np.sort(rng.choice(n_items, size=max(1, n_items // 2), replace=False)).astype(np.int32)
    sub = sub_instance(inst, free, incumbent)
    answer = solve_mip(sub.inst, 5, exact_bands=True).agent_of_item
    assert answer is not None  # the incumbent's restriction is always feasible
    whole = incumbent.copy()
    whole[sub.items] = answer
    assert feasibility_issues(inst, whole) == []


def test_lns_improves_or_keeps() -> None:
    """Tests that LNS returns a feasible vector no worse than its start."""
    inst = random_instance(4, n_items=9, n_agents=4)
    start = greedy(inst)
    best, objective, steps = improve(
        inst,
        start,
        SearchParams(2, 1, 0),
        time.monotonic() + 2,
        sub_solver="highs",
        neighbourhood_items=4,
        step_time_s=0.3,
    )
    assert steps > 0
    assert feasibility_issues(inst, best) == []
    assert objective == evaluate(inst, best).total <= evaluate(inst, start).total


def test_unknown_subproblem_solver_is_refused() -> None:
    """Tests that LNS names an unknown subproblem solver instead of falling back."""
    inst = random_instance(1)
    with pytest.raises(ValueError, match="unknown subproblem solver 'gurobi'"):
        improve(inst, greedy(inst), SearchParams(1), time.monotonic() + 1, sub_solver="gurobi")
