"""Tests that the knapsack Lagrangian bound is a valid lower bound at any prices, at least the
LP bound at the LP's duals, above it where an agent cannot take a fraction of an item, and that
each agent's knapsack is solved exactly (or bounded from below when it is too large)."""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing

import numpy as np
import pytest

from assigner.search import background_bound, solve
from assigner.search import knapsack_bound as knapsack_module
from assigner.search.cpsat import SearchParams
from assigner.search.flow_relaxation import count_flow_bound, flow_relaxation, item_weights
from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    LoadBand,
    band_cost,
    feasibility_issues,
)
from assigner.search.knapsack_bound import (
    KnapsackRelaxation,
    Prices,
    _agent_knapsacks,
    knapsack_bound,
    prices_from_agents,
)
from assigner.search.load_bands import band_arrays, bands_cost
from assigner.search.load_bands import band_cost as agent_band_cost
from assigner.search.lp_bound import solve_lp
from assigner.search.solve import EXACT_MIP_MAX_EDGES, run_search
from tests.search.instances import random_instance
from tests.search.test_search_exact import brute_force


def _random_prices(inst: AssignmentInstance, seed: int) -> Prices:
    rng = np.random.default_rng(seed)
    return Prices(
        item=rng.uniform(-300, 400, size=inst.n_items),
        count=rng.uniform(-20, 60, size=inst.n_agents),
        quota=rng.uniform(-20, 80, size=inst.n_agents),
    )


def _with_fixed(inst: AssignmentInstance) -> AssignmentInstance:
    """The first item with an edge fixed to its first edge's agent."""
    fixed = np.full(inst.n_items, -1, dtype=np.int32)
    with_edge = np.flatnonzero(np.diff(inst.item_offsets) > 0)
    if with_edge.size:
        item = int(with_edge[0])
        fixed[item] = inst.edge_agent[inst.edges_of(item)][0]
    return dataclasses.replace(inst, fixed_agent=fixed)


@pytest.mark.parametrize("seed", range(10))
def test_bound_never_exceeds_the_optimum_at_any_prices(seed: int) -> None:
    """Tests the value at random prices (projected into range) and after subgradient steps
    against the brute-force optimum, on instances with bands, counts, quotas, group rules and
    (odd seeds) a fixed item."""
    inst = random_instance(seed)
    if seed % 2:
        inst = _with_fixed(inst)
    optimum = brute_force(inst)
    if optimum is None:
        pytest.skip("no feasible plan in this draw")
    relax = KnapsackRelaxation(inst)
    for k in range(5):
        value, _taken = relax.evaluate(relax.project(_random_prices(inst, 100 * seed + k)))
        assert value <= optimum + 1e-6
    stepped = knapsack_bound(
        inst, _random_prices(inst, seed), upper_bound=optimum, time_limit_s=5, max_iterations=60
    )
    assert stepped.bound <= optimum
    assert stepped.bound >= np.ceil(stepped.first_value - 1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_at_the_lp_duals_the_bound_is_at_least_the_lp(seed: int) -> None:
    """Tests that at the LP's duals (without group rules, whose duals the bound drops) the
    knapsack value is at least the LP's, and still at most the optimum."""
    inst = dataclasses.replace(
        random_instance(seed, n_items=7, n_agents=3),
        same_agent_cliques=[],
        same_group_cliques=[],
        opposing_sides=[],
    )
    lp = solve_lp(inst)
    optimum = brute_force(inst)
    if optimum is None or lp.prices is None:
        pytest.skip("no feasible plan in this draw")
    relax = KnapsackRelaxation(inst)
    value, _taken = relax.evaluate(relax.project(lp.prices))
    assert value >= lp.bound - 1 + 1e-6  # lp.bound is the LP value rounded up
    assert value <= optimum + 1e-6


def _two_items_one_seat() -> AssignmentInstance:
    """Two items of weight 6 that must be placed; agent 0 (cost 0) has room 10, agent 1 costs
    100: the LP puts 10 of the 12 units on agent 0 (value 33.3), any plan pays 100."""
    return AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([0, 100, 0, 100], dtype=np.int64),
        edge_weight=np.array([6, 6, 6, 6], dtype=np.int64),
        capacity=np.array([10, 100], dtype=np.int64),
        max_count=np.array([5, 5], dtype=np.int64),
        unassigned_penalty=np.array([MUST_ASSIGN, MUST_ASSIGN], dtype=np.int64),
    )


def test_whole_items_lift_the_bound_above_the_lp() -> None:
    """Tests that where the LP splits an item to fill a capacity, the knapsack bound (each
    agent takes whole items) climbs from the LP's 34 to the optimum 100."""
    inst = _two_items_one_seat()
    lp = solve_lp(inst)
    assert lp.bound == 34
    assert lp.prices is not None
    result = knapsack_bound(inst, lp.prices, upper_bound=100, time_limit_s=5, max_iterations=200)
    assert result.bound > lp.bound
    assert result.bound >= 95
    assert result.bound <= 100


def test_whole_hours_lift_the_bound_above_the_lp() -> None:
    """Tests the load band alone: one item of weight 15 on an agent whose band starts at 10 and
    charges 7 per started unit of 10: the LP pays 7 x 0.5, the plan 7."""
    inst = AssignmentInstance(
        n_items=1,
        n_agents=1,
        edge_item=np.array([0], dtype=np.int32),
        edge_agent=np.array([0], dtype=np.int32),
        edge_cost=np.array([3], dtype=np.int64),
        edge_weight=np.array([15], dtype=np.int64),
        capacity=np.array([100], dtype=np.int64),
        max_count=np.array([5], dtype=np.int64),
        unassigned_penalty=np.array([MUST_ASSIGN], dtype=np.int64),
        bands=[LoadBand(np.array([10], dtype=np.int64), 7, 10)],
    )
    lp = solve_lp(inst)
    assert lp.bound == 7  # 3 + 3.5, rounded up
    assert lp.prices is not None
    result = knapsack_bound(inst, lp.prices, upper_bound=10, time_limit_s=5, max_iterations=50)
    assert result.bound == 10


def _agent_brute_force(
    weight: np.ndarray, cost: np.ndarray, room: int, load0: int, band: LoadBand
) -> float:
    best = float("inf")
    for mask in itertools.product([False, True], repeat=len(weight)):
        chosen = np.array(mask, dtype=np.bool_)
        w = int(weight[chosen].sum())
        if w > room:
            continue
        total = float(cost[chosen].sum())
        excess = max(0, load0 + w - int(band.threshold[0]))
        total += band.points * -(-excess // band.unit)
        best = min(best, total)
    return best


@pytest.mark.parametrize("few_weights", [False, True])
@pytest.mark.parametrize("seed", range(25))
def test_each_agent_knapsack_is_exact_or_a_lower_bound(seed: int, few_weights: bool) -> None:
    """Tests one agent's knapsack (items of negative cost, a capacity, a load band) against
    enumeration of every subset: exact with room for its table, a lower bound without, and the
    set it reports always fits and, when exact, costs what it says.  With few weights and costs
    nearly in proportion to them, many items share each weight class of the table."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 15 if few_weights else 11))
    weights = np.array([3, 6, 10]) if few_weights else np.arange(1, 30)
    weight = rng.choice(weights, size=k).astype(np.int64)
    # With few weights, costs nearly in proportion to weight: reduced costs near zero, so that
    # the items stay free after fixing and the table decides them.
    cost = (
        -(7.0 * weight + rng.integers(0, 4, size=k)) if few_weights else -rng.uniform(1, 90, size=k)
    )
    room = int(rng.integers(0, 120))
    load0 = int(rng.integers(0, 40))
    band = LoadBand(np.array([int(rng.integers(0, 80))], dtype=np.int64), 9, 10)
    expected = _agent_brute_force(weight, cost, room, load0, band)
    args = (
        np.array([0, k], dtype=np.int64),
        weight,
        cost,
        np.array([room], dtype=np.int64),
        np.array([load0], dtype=np.int64),
        band.threshold.reshape(1, 1),
        np.array([band.points], dtype=np.int64),
        np.array([band.unit], dtype=np.int64),
    )
    value, take, exact = _agent_knapsacks(*args, 10**9)
    assert exact[0]
    assert value[0] == pytest.approx(expected)
    assert int(weight[take].sum()) <= room
    load = np.array([load0 + int(weight[take].sum())], dtype=np.int64)
    one_band = dataclasses.replace(_two_items_one_seat(), n_agents=1, bands=[band])
    assert float(cost[take].sum()) + band_cost(one_band, load) == pytest.approx(expected)
    lower, take_lower, exact_lower = _agent_knapsacks(*args, 0)
    assert lower[0] <= expected + 1e-6
    assert int(weight[take_lower].sum()) <= room
    assert exact_lower[0] == (k == 0)


def test_search_reports_the_knapsack_bound_above_the_lp() -> None:
    """Tests that a search above the exact MIP's size runs the knapsack bound from the LP's
    duals and reports a bound no worse than the LP's (deterministic mode: fixed work)."""
    rng = np.random.default_rng(3)
    n_items, n_agents = 300, 20
    item = np.repeat(np.arange(n_items), n_agents).astype(np.int32)
    agent = np.tile(np.arange(n_agents), n_items).astype(np.int32)
    weight = rng.integers(5, 25, size=item.size).astype(np.int64)
    inst = AssignmentInstance(  # heavier is cheaper, capacities tight: GAP type D
        n_items=n_items,
        n_agents=n_agents,
        edge_item=item,
        edge_agent=agent,
        edge_cost=(111 - 4 * weight + rng.integers(0, 20, size=item.size)).astype(np.int64),
        edge_weight=weight,
        capacity=np.full(n_agents, int(0.8 * weight.sum() / n_agents**2), dtype=np.int64),
        max_count=np.full(n_agents, 40, dtype=np.int64),
        unassigned_penalty=np.full(n_items, MUST_ASSIGN, dtype=np.int64),
    )
    assert inst.n_edges > EXACT_MIP_MAX_EDGES
    lp = solve_lp(inst)
    outcome = run_search(inst, SearchParams(time_limit_s=2, workers=2, seed=0, deterministic=True))
    phases = [str(p["phase"]) for p in outcome.phases]
    assert any(p.startswith("knapsack bound") for p in phases)
    assert lp.bound <= outcome.bound <= outcome.objective


@pytest.mark.parametrize("seed", range(4))
def test_the_background_bound_adds_the_knapsack_bound_to_the_count_priced_flow(
    seed: int,
) -> None:
    """Tests the forked process's work, run here in-process: the count-priced flow, then the
    knapsack bound from its prices; the one number it sends is at least the plain flow's
    bound and at most the optimum."""
    inst = dataclasses.replace(
        random_instance(seed, n_items=7, n_agents=3),
        max_count=np.array([1, 2, 2], dtype=np.int64),
    )
    optimum = brute_force(inst)
    flow = flow_relaxation(inst)
    if optimum is None or flow is None:
        pytest.skip("no feasible plan in this draw")
    weight = item_weights(inst)
    assert weight is not None
    receiving, sending = multiprocessing.Pipe(duplex=False)
    background_bound.send_result(
        sending,
        lambda: background_bound.count_then_knapsack_bound(
            inst, weight, flow, flow.bound * 1.015, 2.0 + background_bound.CHILD_MARGIN_S
        ),
    )
    sent = receiving.recv()
    assert isinstance(sent, float)
    assert flow.bound <= sent <= optimum


def test_item_prices_from_agent_prices_are_each_items_cheapest_option() -> None:
    """Tests the item prices read off agent prices: at a weight price of 10 for agent 0 each
    item of ``_two_items_one_seat`` costs 60 there and 100 at agent 1, so its price is 60; at
    those prices agent 0 takes one whole item and the value is 60 (the optimum is 100)."""
    inst = _two_items_one_seat()
    prices = prices_from_agents(inst, np.array([10.0, 0.0]), np.zeros(2))
    assert prices.item.tolist() == [60.0, 60.0]
    relax = KnapsackRelaxation(inst)
    value, taken = relax.evaluate(prices)
    # 60 + 60 from the item rows, -60 from agent 0's one item, nothing from agent 1.
    assert value == pytest.approx(60.0)
    assert taken.size == 1


@pytest.mark.parametrize("seed", range(3))
def test_items_held_whole_priced_in_their_range_raise_the_count_flows_knapsack_start(
    seed: int,
) -> None:
    """Tests the prices the background bound hands the knapsack bound: read off the
    count-priced flow's agent prices with its solution given, the items it holds whole are
    priced between their own edge and their next option, and the knapsack's first value is
    higher than with every item at its cheapest option."""
    inst = _counts_bind(seed)
    weight = item_weights(inst)
    flow = flow_relaxation(inst)
    assert weight is not None and flow is not None
    relaxed = count_flow_bound(inst, weight, time_limit_s=10, max_flow_solves=15, start=flow)
    assert relaxed is not None and relaxed.bound > flow.bound
    relax = KnapsackRelaxation(inst)

    def first_value(x: np.ndarray | None) -> float:
        prices = prices_from_agents(inst, relaxed.agent_price, relaxed.multipliers, x=x)
        return relax.evaluate(relax.project(prices))[0]

    assert first_value(relaxed.x) >= first_value(None) + 5


def test_the_background_bound_prices_the_items_by_the_count_priced_flows_solution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that ``count_then_knapsack_bound`` hands the count-priced flow's solution to
    ``prices_from_agents`` (so the items it holds whole are priced within their range)."""
    inst = _counts_bind(0)
    weight = item_weights(inst)
    flow = flow_relaxation(inst)
    assert weight is not None and flow is not None
    given = spy_on_item_prices(monkeypatch)
    bound = background_bound.count_then_knapsack_bound(
        inst, weight, flow, flow.bound * 1.2, 4.0 + background_bound.CHILD_MARGIN_S
    )
    assert bound is not None and bound >= flow.bound
    assert len(given) == 1 and given[0] is not None and given[0].shape == (inst.n_edges,)


def spy_on_item_prices(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray | None]:
    """Wraps ``background_bound``'s ``prices_from_agents``; returns the list that records the
    relaxation solution ``x`` of each call (None where none was given)."""
    given: list[np.ndarray | None] = []

    def spy(
        inst: AssignmentInstance,
        per_weight: np.ndarray,
        count: np.ndarray,
        x: np.ndarray | None = None,
    ) -> Prices:
        given.append(x)
        return prices_from_agents(inst, per_weight, count, x=x)

    monkeypatch.setattr(background_bound, "prices_from_agents", spy)
    return given


def _counts_bind(seed: int) -> AssignmentInstance:
    """A random instance without group rules, with room for every item's hours but not for as
    many items at the cheap agents: the count limits bind."""
    n_items, n_agents = 300, 15
    return dataclasses.replace(
        random_instance(seed, n_items=n_items, n_agents=n_agents),
        capacity=np.full(n_agents, 40 * n_items // n_agents, dtype=np.int64),
        max_count=np.arange(n_agents, dtype=np.int64) % 3 + n_items // (2 * n_agents),
        same_agent_cliques=[],
        same_group_cliques=[],
        opposing_sides=[],
    )


@pytest.mark.parametrize("seed", range(3))
def test_search_starts_the_knapsack_bound_from_the_pricing_lp(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests the pricing path (thresholds lowered so a small instance takes it): the knapsack
    bound starts from the pricing LP's duals and the reported bound stays at most the
    optimum."""
    monkeypatch.setattr(solve, "LP_MAX_EDGES", 0)
    monkeypatch.setattr(solve, "EXACT_MIP_MAX_EDGES", 0)
    inst = random_instance(seed, n_items=7, n_agents=3)
    optimum = brute_force(inst)
    if optimum is None:
        pytest.skip("no feasible plan in this draw")
    outcome = solve.run_search(inst, SearchParams(time_limit_s=3, workers=2, seed=0))
    phases = [str(p["phase"]) for p in outcome.phases]
    assert any(p.startswith("lp bound by pricing") for p in phases)
    assert any(p.startswith("knapsack bound") for p in phases)
    assert outcome.bound <= optimum <= outcome.objective


@pytest.mark.parametrize("banded", [True, False])
def test_load_bands_leave_the_second_core_to_the_knapsack_bound(
    banded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests the LP path above the exact MIP's size (threshold lowered): with load bands the
    MIP over all edges does not run and the knapsack bound takes the second core; without
    them the MIP runs.  Either way the plan keeps every rule and the bound stays valid."""
    monkeypatch.setattr(solve, "EXACT_MIP_MAX_EDGES", 0)
    inst = random_instance(2, n_items=7, n_agents=3)
    if not banded:
        inst = dataclasses.replace(inst, bands=[])
    assert solve._mip_over_all_edges(inst) is not banded
    optimum = brute_force(inst)
    assert optimum is not None
    outcome = solve.run_search(inst, SearchParams(time_limit_s=3, workers=2, seed=0))
    phases = [str(p["phase"]) for p in outcome.phases]
    assert any(p.startswith("mip ") for p in phases) is not banded
    assert not feasibility_issues(inst, outcome.agent_of_item)
    assert outcome.bound <= optimum <= outcome.objective


def test_a_wider_table_values_the_first_prices_exactly_when_time_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests the wider first evaluation: with tables too small for any agent (every agent at its
    priced-load value) and time for it, the bound's first value is the exact relaxation's at
    those prices; without the time it stays the priced-load value, which is lower here."""
    inst = random_instance(3, n_items=12, n_agents=3)
    prices = _random_prices(inst, 3)
    relax = KnapsackRelaxation(inst)
    exact_value, _ = relax.evaluate(relax.project(prices), 10**9)
    monkeypatch.setattr(knapsack_module, "MAX_CELLS", 0)
    narrow_value, _ = relax.evaluate(relax.project(prices))
    assert relax.inexact_agents > 0
    assert narrow_value < exact_value - 1e-6
    with_time = knapsack_bound(inst, prices, float("inf"), time_limit_s=60, max_iterations=0)
    assert with_time.first_value == pytest.approx(exact_value)
    monkeypatch.setattr(knapsack_module, "WIDE_TIME_FACTOR", 1e12)
    without = knapsack_bound(inst, prices, float("inf"), time_limit_s=60, max_iterations=0)
    assert without.first_value == pytest.approx(narrow_value)


def test_a_solution_of_the_wrong_length_is_refused() -> None:
    """Tests that ``prices_from_agents`` refuses an ``x`` without one value per edge, with an
    error that says so."""
    inst = _two_items_one_seat()
    with pytest.raises(ValueError, match="one value per edge"):
        prices_from_agents(inst, np.zeros(2), np.zeros(2), x=np.ones(inst.n_edges - 1))


def test_bands_cost_is_band_cost_for_many_agents() -> None:
    """Tests that the numpy ``bands_cost`` (recommendations) gives the compiled ``band_cost``
    (search, bounds) of each agent at each load, steps and thresholds alike."""
    rng = np.random.default_rng(4)
    n = 40
    bands = [
        LoadBand(threshold=rng.integers(0, 900, n), points=5, unit=10),
        LoadBand(threshold=rng.integers(500, 1200, n), points=20, unit=10),
    ]
    inst = AssignmentInstance(
        n_items=0,
        n_agents=n,
        edge_item=np.zeros(0, np.int32),
        edge_agent=np.zeros(0, np.int32),
        edge_cost=np.zeros(0, np.int64),
        edge_weight=np.zeros(0, np.int64),
        capacity=np.full(n, 2000, np.int64),
        max_count=np.full(n, 100, np.int64),
        unassigned_penalty=np.zeros(0, np.int64),
        bands=bands,
    )
    threshold, points, unit = band_arrays(inst)
    agents = np.arange(n, dtype=np.int64)
    load = rng.integers(0, 1500, n)
    expected = [agent_band_cost(threshold, points, unit, a, int(load[a])) for a in range(n)]
    assert bands_cost(bands, agents, load).tolist() == expected
    assert sum(expected) > 0
