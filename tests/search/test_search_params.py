"""Tests that the search's settings refuse a seed the solvers cannot take, and that a seed at the
top of the range stays usable in the search's sub-solves."""

from __future__ import annotations

import time

import pytest

from assigner.search.cpsat import MAX_SEED, SearchParams, derived_seed
from assigner.search.greedy import greedy
from assigner.search.instance import evaluate
from assigner.search.lns import improve
from tests.search.instances import random_instance


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**40])
def test_seed_outside_the_solvers_range_is_refused(seed: int) -> None:
    """Tests that SearchParams refuses a negative seed or one above 2**31 - 1, naming it."""
    with pytest.raises(ValueError, match="seed"):
        SearchParams(time_limit_s=1.0, seed=seed)


def test_sub_solve_seeds_wrap_within_the_range() -> None:
    """Tests that the seeds of sub-solves stay within [0, MAX_SEED] from any valid seed."""
    assert SearchParams(seed=MAX_SEED).seed == MAX_SEED
    assert derived_seed(5, 3) == 8
    assert derived_seed(MAX_SEED, 1) == 0
    assert all(0 <= derived_seed(MAX_SEED - 2, k) <= MAX_SEED for k in range(10))


@pytest.mark.parametrize("sub_solver", ["cpsat", "highs"])
def test_lns_runs_from_the_largest_seed(sub_solver: str) -> None:
    """Tests that LNS steps, each with its own seed, run from seed MAX_SEED (the step seeds
    used to pass the solvers' range)."""
    inst = random_instance(3, n_items=12, n_agents=4)
    start = greedy(inst)
    params = SearchParams(time_limit_s=1.0, workers=1, seed=MAX_SEED)
    # A far deadline: the step count bounds the work, so the steps run however slow the
    # machine (or a first numba compile) is.
    best, objective, steps = improve(
        inst, start, params, time.monotonic() + 600.0, sub_solver=sub_solver, max_steps=3
    )
    assert steps >= 1
    assert objective == evaluate(inst, best).total <= evaluate(inst, start).total
