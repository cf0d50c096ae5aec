"""Tests that the county-scale bound and start methods (pricing LP, core Lagrangian, LP rounding,
core problem) keep their promises on small instances checked by brute force."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pytest

from assigner.search import pricing, solve
from assigner.search.core import core_edges, cost_rank
from assigner.search.cpsat import SearchParams
from assigner.search.greedy import greedy
from assigner.search.instance import AssignmentInstance, evaluate, feasibility_issues, with_edges
from assigner.search.lagrangian import lagrangian_bound
from assigner.search.lp_bound import MipResult, solve_lp
from assigner.search.pricing import solve_lp_by_pricing
from assigner.search.rounding import lp_rounding
from assigner.search.solve import constant_cost, relative_gap, run_search
from tests.search.instances import random_instance
from tests.search.test_search_exact import brute_force


@pytest.mark.parametrize("seed", range(8))
def test_pricing_bound_never_exceeds_the_optimum(seed: int) -> None:
    """Tests that the bound of the LP by pricing, from a one-edge core, is a valid lower bound
    and, once no edge prices out, at most the full LP bound."""
    inst = random_instance(seed, n_items=7, n_agents=3)
    optimum = brute_force(inst)
    assert optimum is not None
    result = solve_lp_by_pricing(inst, 10, core_per_item=1, added_per_item=1)
    assert result.bound <= optimum
    if result.converged:
        assert result.bound <= solve_lp(inst).bound


@pytest.mark.parametrize("seed", range(8))
def test_core_lagrangian_bound_never_exceeds_the_optimum(seed: int) -> None:
    """Tests that the Lagrangian stepping on a one-edge core still proves only valid bounds."""
    inst = random_instance(seed, n_items=7, n_agents=3)
    optimum = brute_force(inst)
    assert optimum is not None
    result = lagrangian_bound(inst, optimum, time_limit_s=1, core=cost_rank(inst) < 1)
    assert result.bound <= optimum


def test_pricing_matches_the_full_lp_on_a_larger_instance() -> None:
    """Tests that pricing from a small core reaches the full LP's value when the instance has
    no group rules (the pricing LP leaves those out)."""
    inst = dataclasses.replace(
        random_instance(3, n_items=60, n_agents=8),
        same_agent_cliques=[],
        same_group_cliques=[],
        opposing_sides=[],
    )
    full = solve_lp(inst)
    priced = solve_lp_by_pricing(inst, 20, core_per_item=1, added_per_item=1)
    assert priced.converged
    assert priced.bound == full.bound


@pytest.mark.parametrize(("n_agents", "added_per_item"), [(8, 1), (20, 5)])
def test_pricing_resolves_by_primal_or_dual_simplex_and_reaches_the_lp(
    n_agents: int, added_per_item: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that a re-solve taking in fewer columns than the LP has rows runs primal simplex and
    one taking in more runs dual simplex, and that either way pricing ends at the full LP's
    value (20 agents, 5 edges per item added: the first re-solve takes in more columns than
    the LP has rows)."""
    inst = dataclasses.replace(
        random_instance(3, n_items=60, n_agents=n_agents),
        same_agent_cliques=[],
        same_group_cliques=[],
        opposing_sides=[],
    )
    chosen: list[tuple[int, int, int]] = []
    rule = pricing.resolve_strategy

    def spy(added_columns: int, rows: int) -> int:
        strategy = rule(added_columns, rows)
        chosen.append((added_columns, rows, strategy))
        return strategy

    monkeypatch.setattr(pricing, "resolve_strategy", spy)
    priced = solve_lp_by_pricing(inst, 20, core_per_item=1, added_per_item=added_per_item)
    assert priced.converged
    assert priced.bound == solve_lp(inst).bound
    assert chosen
    for added, rows, strategy in chosen:
        expected = pricing.PRIMAL_SIMPLEX if added <= rows else pricing.DUAL_SIMPLEX
        assert strategy == expected
    if added_per_item == 5:
        assert any(s == pricing.DUAL_SIMPLEX for _, _, s in chosen)
    else:
        assert all(s == pricing.PRIMAL_SIMPLEX for _, _, s in chosen)


@pytest.mark.parametrize("seed", range(6))
def test_lp_rounding_and_core_keep_hard_rules(seed: int) -> None:
    """Tests that LP rounding breaks no hard rule other than leaving must-assign items out, and
    that a plan of the core problem is a plan of the whole with the same objective."""
    inst = random_instance(seed, n_items=30, n_agents=5)
    lp = solve_lp(inst)
    rounded = lp_rounding(inst, lp.x)
    assert all("must be assigned" in s for s in feasibility_issues(inst, rounded))
    start = greedy(inst)
    core = with_edges(inst, core_edges(inst, start, lp.x, None))
    assert feasibility_issues(core, start) == feasibility_issues(inst, start)
    assert evaluate(core, start) == evaluate(inst, start)


def test_cost_rank_orders_each_items_edges() -> None:
    """Tests that rank 0 is each item's cheapest edge, by cost and by a float guide."""
    inst = random_instance(5, n_items=20, n_agents=6)
    guide = np.random.default_rng(0).normal(size=inst.n_edges)
    guide[::5] = np.inf
    for values, rank in ((inst.edge_cost, cost_rank(inst)), (guide, cost_rank(inst, guide))):
        for i in range(inst.n_items):
            sl = inst.edges_of(i)
            if sl.stop > sl.start:
                assert values[sl][rank[sl] == 0][0] == values[sl].min()


def test_gap_leaves_out_what_every_plan_pays() -> None:
    """Tests that penalties of items no agent can take stay out of the gap's denominator."""
    inst = random_instance(2, n_items=8, n_agents=3)
    none = np.diff(inst.item_offsets) == 0
    assert none.any()
    constant = constant_cost(inst)
    assert constant == int(inst.unassigned_penalty[none].clip(0).sum()) > 0
    assert relative_gap(constant + 110, constant + 100, constant) == pytest.approx(10 / 110)
    outcome = run_search(inst, SearchParams(2, 1, 0))
    assert outcome.constant_cost == constant
    assert outcome.gap == relative_gap(outcome.objective, outcome.bound, constant)


def test_core_mip_gets_its_minimum_time_when_little_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests the core MIP's time: with a short budget it gets ``CORE_MIP_MIN_S`` (up to
    ``CORE_MIP_MAX_SHARE`` of the time left), more than ``CORE_MIP_SHARE_OF_REMAINING`` would
    give; with a long one that share.  Its first call in a search spies the time it is given."""
    assert solve.core_mip_seconds(3.9) == pytest.approx(solve.CORE_MIP_MAX_SHARE * 3.9)
    assert solve.core_mip_seconds(5.0) == pytest.approx(solve.CORE_MIP_MIN_S)
    assert solve.core_mip_seconds(60.0) == pytest.approx(solve.CORE_MIP_SHARE_OF_REMAINING * 60)
    monkeypatch.setattr(solve, "EXACT_MIP_MAX_EDGES", 0)  # the core path on a small instance
    given: list[tuple[float, float]] = []  # (time limit, time left by the test's clock)
    real_mip = solve.solve_mip

    def spy(inst: AssignmentInstance, time_limit_s: float, **kwargs: Any) -> MipResult:
        given.append((time_limit_s, began + budget_s - time.monotonic()))
        return real_mip(inst, time_limit_s, **kwargs)

    monkeypatch.setattr(solve, "solve_mip", spy)
    inst = random_instance(3, n_items=40, n_agents=6)
    budget_s = 2.0
    began = time.monotonic()
    run_search(inst, SearchParams(time_limit_s=budget_s, workers=1, seed=0))
    assert given, "the search ran no core MIP"
    limit_s, left_s = given[0]
    # The search's clock starts a moment after the test's: it has at most ``left_s`` left.
    assert limit_s >= 0.65 * left_s > 0
