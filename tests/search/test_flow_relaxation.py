"""Tests that the flow relaxation (the LP as a min-cost flow of hours) proves only valid bounds,
matches the LP it relaxes, refuses instances it does not model, and serves the large search."""

from __future__ import annotations

import dataclasses
import multiprocessing
from typing import Any

import numpy as np
import pytest

from assigner.search import count_repair, rounding, solve
from assigner.search import flow_relaxation as flow_relaxation_module
from assigner.search.cpsat import SearchParams
from assigner.search.flow_relaxation import COST_SCALE, flow_relaxation, item_weights
from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    feasibility_issues,
)
from assigner.search.lp_bound import solve_lp
from assigner.search.pricing import PricingResult
from tests.search.instances import random_instance
from tests.search.test_search_exact import brute_force


def _with_fixed_item(inst: AssignmentInstance) -> AssignmentInstance:
    """The instance with its first item that has an edge fixed to that edge's agent."""
    fixed = np.full(inst.n_items, -1, dtype=np.int32)
    item = int(inst.edge_item[0])
    fixed[item] = inst.edge_agent[0]
    return dataclasses.replace(inst, fixed_agent=fixed)


def _large_path(monkeypatch: pytest.MonkeyPatch, lp_at_scale: bool = False) -> None:
    """Thresholds lowered so that a small instance takes the large (flow-first) path; the LP by
    pricing after the flow only with ``lp_at_scale`` (whatever the budget)."""
    monkeypatch.setattr(solve, "LP_MAX_EDGES", 0)
    monkeypatch.setattr(solve, "PRICING_MAX_EDGES", 0)
    monkeypatch.setattr(solve, "LP_AT_SCALE_SHARE", 1e9 if lp_at_scale else 0.0)


@pytest.mark.parametrize("seed", range(10))
def test_flow_bound_never_exceeds_the_optimum(seed: int) -> None:
    """Tests the bound against brute force, with optional, must-assign and fixed items."""
    inst = random_instance(seed, n_items=7, n_agents=3)
    if seed % 2:
        has_edge = np.diff(inst.item_offsets) > 0
        must = np.where(has_edge & (np.arange(inst.n_items) % 3 == 0), MUST_ASSIGN, 0)
        inst = dataclasses.replace(
            inst, unassigned_penalty=np.where(must == MUST_ASSIGN, must, inst.unassigned_penalty)
        )
    if seed % 3 == 0:
        inst = _with_fixed_item(inst)
    optimum = brute_force(inst)
    assert optimum is not None  # every draw here has a feasible plan
    relaxed = flow_relaxation(inst)
    assert relaxed is not None
    assert relaxed.bound <= optimum


def test_flow_matches_the_lp_it_relaxes() -> None:
    """Tests that without count, quota and group rows the flow's value is the LP's, less at
    most the rounding of unit costs (total weight / COST_SCALE points)."""
    base = random_instance(4, n_items=60, n_agents=8)
    inst = dataclasses.replace(
        base,
        max_count=np.full(base.n_agents, base.n_items, dtype=np.int64),
        quota_short=None,
        quota_points=0,
        same_agent_cliques=[],
        same_group_cliques=[],
        opposing_sides=[],
    )
    relaxed = flow_relaxation(inst)
    assert relaxed is not None
    lp = solve_lp(inst)
    weights = item_weights(inst)
    assert weights is not None
    rounding = float(weights.sum()) / COST_SCALE
    assert lp.bound - rounding - 1 <= relaxed.bound <= lp.bound
    # Each item's shares add up to at most one, and the flow respects capacities.
    shares = np.bincount(inst.edge_item, weights=relaxed.x, minlength=inst.n_items)
    assert np.all(shares <= 1 + 1e-9)
    load = np.bincount(inst.edge_agent, weights=relaxed.x * inst.edge_weight, minlength=8)
    assert np.all(load <= inst.capacity + 1e-6)


def test_flow_support_prices_make_every_item_indifferent_between_its_flow_edges() -> None:
    """Tests the agents' prices read off the flow's support: non-negative, and an item the flow
    splits pays the same per unit of weight (its edge's rounded unit cost plus the agent's
    price) on each agent it is split over, as complementary slackness asks."""
    base = random_instance(4, n_items=60, n_agents=8)
    inst = dataclasses.replace(base, quota_short=None, quota_points=0)
    plain = flow_relaxation(inst)
    assert plain is not None and plain.support_price is None
    relaxed = flow_relaxation(inst, with_prices=True)
    assert relaxed is not None and relaxed.support_price is not None
    price = relaxed.support_price
    assert price.shape == (inst.n_agents,) and np.all(price >= 0)
    unit = (inst.edge_cost * COST_SCALE // inst.edge_weight) / COST_SCALE
    on = np.flatnonzero(relaxed.x > 1e-9)
    per_unit = unit[on] + price[inst.edge_agent[on]]
    split = 0
    for item in np.unique(inst.edge_item[on]):
        mine = per_unit[inst.edge_item[on] == item]
        split += mine.size > 1
        assert np.ptp(mine) <= 1e-9
    assert split > 0  # the draw splits some item, so the check above compares something


@pytest.mark.parametrize("seed", range(6))
def test_flow_support_prices_are_the_whole_residual_graphs(seed: int) -> None:
    """Tests ``support_prices`` against the potentials over every arc of the flow's residual
    graph (what ``flow_prices`` computed before it read them off the support): the same prices,
    with and without count prices on the arcs."""
    inst = random_instance(seed, n_items=40, n_agents=6)
    net = flow_relaxation_module._network_of(inst, None)
    assert net is not None
    per_item = np.zeros(net.m, dtype=np.int64) if seed % 2 else (np.arange(net.m) * 7) % 23
    unit = (net.row_cost + per_item[net.row_agent]) // net.row_weight
    flow, tails, heads, caps, costs = flow_relaxation_module._flow_network(
        net, np.arange(net.rows.size), unit
    )
    assert flow.solve() == flow.OPTIMAL
    flows = flow.flows(np.arange(tails.size))
    dist = flow_relaxation_module.potentials(net.n + net.m + 1, tails, heads, caps, costs, flows)
    sink = net.n + net.m
    whole = flow_relaxation_module._per_weight(
        np.maximum(dist[sink] - dist[net.n : sink], flow_relaxation_module._floor_prices(net))
    )
    assert np.array_equal(flow_relaxation_module.support_prices(net, unit, flows), whole)


def test_flow_support_price_of_a_full_agent_lies_between_its_items_regrets() -> None:
    """Tests that an agent whose hours the flow uses up is priced (and one with room is not): two
    items of 10 hours each prefer agent 0, which has room for one; the one that gains more there
    (40 points against 20 by the other agent) takes it, so agent 0's price per hour lies between
    the two gains per hour (2 and 4)."""
    inst = AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([10, 30, 10, 50], dtype=np.int64),
        edge_weight=np.full(4, 10, dtype=np.int64),
        capacity=np.array([10, 100], dtype=np.int64),
        max_count=np.array([5, 5], dtype=np.int64),
        unassigned_penalty=np.full(2, MUST_ASSIGN, dtype=np.int64),
    )
    relaxed = flow_relaxation(inst, with_prices=True)
    assert relaxed is not None and relaxed.support_price is not None
    assert relaxed.x.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert 2.0 <= relaxed.support_price[0] <= 4.0
    assert relaxed.support_price[1] == 0.0


def test_flow_refuses_weights_that_depend_on_the_agent() -> None:
    """Tests that an instance whose item weighs differently per agent (GAP) is not modelled."""
    inst = random_instance(1, n_items=10, n_agents=3)
    assert item_weights(inst) is not None
    two_edges = int(np.flatnonzero(np.diff(inst.item_offsets) >= 2)[0])
    weight = inst.edge_weight.copy()
    weight[inst.item_offsets[two_edges]] += 1
    changed = dataclasses.replace(inst, edge_weight=weight)
    assert item_weights(changed) is None
    assert flow_relaxation(changed) is None


def _search_small(inst: AssignmentInstance, workers: int = 1) -> list[str]:
    """Runs the search on a small instance and checks the plan and bound against brute force;
    returns the phases it went through."""
    optimum = brute_force(inst)
    assert optimum is not None
    outcome = solve.run_search(inst, SearchParams(3, workers, 0))
    assert not feasibility_issues(inst, outcome.agent_of_item)
    assert outcome.bound <= optimum <= outcome.objective
    relaxed = flow_relaxation(inst)
    assert relaxed is not None and outcome.bound >= relaxed.bound
    return [str(p["phase"]) for p in outcome.phases]


def test_large_search_takes_its_bound_and_start_from_the_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests the large-instance path (thresholds lowered so a small instance takes it): the plan
    keeps every hard rule and the bound comes from the flow and never exceeds the optimum."""
    _large_path(monkeypatch)
    phases = _search_small(random_instance(6, n_items=7, n_agents=3))
    assert "flow relaxation bound" in phases
    assert not any(p.startswith("lp bound by pricing") for p in phases)


@pytest.mark.parametrize("repaired", [False, True])
def test_large_search_rounds_the_flow_with_its_agents_prices(
    monkeypatch: pytest.MonkeyPatch, repaired: bool
) -> None:
    """Tests that the large path rounds the flow's solution with the agents' prices read off
    the flow (``lp_rounding``'s ``agent_price``), not without them; with the count limits put
    back (``repair_counts``), that solution repaired, with the same prices."""
    _large_path(monkeypatch)
    calls: list[tuple[np.ndarray, np.ndarray | None]] = []
    repairs: list[np.ndarray] = []

    def recording(
        inst: AssignmentInstance, x: np.ndarray, price: np.ndarray | None = None
    ) -> np.ndarray:
        calls.append((x, price))
        return rounding.lp_rounding(inst, x, price)

    def repairing(
        inst: AssignmentInstance, x: np.ndarray, time_limit_s: float, max_rounds: int | None
    ) -> count_repair.CountRepair | None:
        result = count_repair.repair_counts(inst, x, time_limit_s, max_rounds)
        if result is None or not repaired:
            return None
        repairs.append(result.x)
        return result

    monkeypatch.setattr(solve, "lp_rounding", recording)
    monkeypatch.setattr(solve, "repair_counts", repairing)
    inst = random_instance(6, n_items=7, n_agents=3)
    _search_small(inst)
    relaxed = flow_relaxation(inst, with_prices=True)
    assert relaxed is not None and relaxed.support_price is not None
    assert calls and all(price is not None for _, price in calls)
    x, price = calls[0]
    assert price is not None and np.array_equal(price, relaxed.support_price)
    # This draw's flow puts an agent above its count limit, so there is a repair to round.
    assert len(repairs) == int(repaired)
    assert np.array_equal(x, repairs[0] if repaired else relaxed.x)
    if repaired:
        assert not np.array_equal(x, relaxed.x)


def _record_repairs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, int | None]]:
    """The search's calls of ``repair_counts`` (its time limit and rounds), each passed on."""
    called: list[tuple[float, int | None]] = []

    def recording(
        inst: AssignmentInstance, x: np.ndarray, time_limit_s: float, max_rounds: int | None
    ) -> count_repair.CountRepair | None:
        called.append((time_limit_s, max_rounds))
        return count_repair.repair_counts(inst, x, time_limit_s, max_rounds)

    monkeypatch.setattr(solve, "repair_counts", recording)
    return called


def test_large_search_skips_the_count_repair_without_time_for_the_rounding_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that the repair of the count limits does not start when less than twice its share of
    the budget is left (here its share is 60%): the flow's own solution is rounded instead, and
    with a share of 10% the same draw is repaired."""
    _large_path(monkeypatch)
    called = _record_repairs(monkeypatch)
    inst = random_instance(6, n_items=7, n_agents=3)
    monkeypatch.setattr(solve, "COUNT_REPAIR_SHARE", 0.6)
    phases = _search_small(inst)
    assert not called and not any(p.startswith("count limits put back") for p in phases)
    monkeypatch.setattr(solve, "COUNT_REPAIR_SHARE", 0.1)
    phases = _search_small(inst)
    assert len(called) == 1 and any(p.startswith("count limits put back") for p in phases)


def test_deterministic_large_search_repairs_the_counts_by_rounds_not_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that in deterministic mode (where time limits are only a safety net, and the time
    left is the whole budget) the repair of the count limits runs, capped by its rounds
    (``COUNT_REPAIR_ROUNDS``), and two runs give the same plan."""
    _large_path(monkeypatch)
    called = _record_repairs(monkeypatch)
    inst = random_instance(6, n_items=7, n_agents=3)
    params = SearchParams(3, 1, 0, True)
    plans = [solve.run_search(inst, params) for _ in range(2)]
    assert [max_rounds for _, max_rounds in called] == [solve.COUNT_REPAIR_ROUNDS] * 2
    assert all(
        any(str(p["phase"]).startswith("count limits put back") for p in plan.phases)
        for plan in plans
    )
    assert np.array_equal(plans[0].agent_of_item, plans[1].agent_of_item)
    assert not feasibility_issues(inst, plans[0].agent_of_item)


def test_large_search_builds_no_greedy_plan_when_the_flow_rounds_to_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that on the large path greedy is not built (3.8 s on county-L) when the flow's
    rounding keeps every rule: the search succeeds with greedy made to fail."""
    _large_path(monkeypatch)

    def no_greedy(*_args: object) -> None:
        raise AssertionError("greedy was built")

    monkeypatch.setattr(solve, "_first_plan", no_greedy)
    phases = _search_small(random_instance(6, n_items=7, n_agents=3))
    assert "lp rounding" in phases


@pytest.mark.parametrize("failure", ["rounding breaks a rule", "flow has no solution"])
def test_large_search_falls_back_to_greedy(monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    """Tests the large path when the flow gives no start: its rounding puts every item on its
    first agent (over the count limits), or the flow finds no solution; the plan then starts
    from greedy and still keeps every rule."""
    _large_path(monkeypatch)
    inst = random_instance(6, n_items=7, n_agents=3)
    if failure == "rounding breaks a rule":
        has_edges = np.diff(inst.item_offsets) > 0
        first = inst.edge_agent[np.minimum(inst.item_offsets[:-1], inst.n_edges - 1)]
        overloaded = np.where(has_edges, first, -1).astype(np.int32)
        assert any(
            "count" in issue or "capacity" in issue
            for issue in feasibility_issues(inst, overloaded)
        )
        monkeypatch.setattr(solve, "lp_rounding", lambda *_args: overloaded)
    else:
        monkeypatch.setattr(solve, "flow_relaxation", lambda *_args, **_kwargs: None)
    optimum = brute_force(inst)
    outcome = solve.run_search(inst, SearchParams(3, 1, 0))
    assert not feasibility_issues(inst, outcome.agent_of_item)
    assert optimum is not None and outcome.bound <= optimum <= outcome.objective
    assert "greedy" in [p["phase"] for p in outcome.phases]


def test_large_search_prices_the_count_limits_on_the_second_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests the large path with two workers: the count-priced flow bound runs in a forked
    process beside the search and is collected before the end; the bound stays valid."""
    _large_path(monkeypatch)
    phases = _search_small(random_instance(6, n_items=7, n_agents=3), workers=2)
    assert "count-priced flow and knapsack bound" in phases


def _spy_on_pricing_starts(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    """Records the flow relaxations the search solves and the ``start_x`` it gives the LP by
    pricing."""
    flows: list[Any] = []
    starts: list[Any] = []
    real_flow, real_pricing = solve.flow_relaxation, solve.solve_lp_by_pricing

    def flow(*args: Any, **kw: Any) -> Any:
        flows.append(real_flow(*args, **kw))
        return flows[-1]

    def pricing(*args: Any, **kw: Any) -> PricingResult:
        starts.append(kw.get("start_x"))
        return real_pricing(*args, **kw)

    monkeypatch.setattr(solve, "flow_relaxation", flow)
    monkeypatch.setattr(solve, "solve_lp_by_pricing", pricing)
    return flows, starts


def test_medium_search_seeds_the_pricing_lp_with_the_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests the medium path (the LP threshold lowered): the flow runs, the pricing LP starts
    from its support and its basis instead of Lagrangian steps, and the bound stays valid."""
    monkeypatch.setattr(solve, "LP_MAX_EDGES", 0)
    flows, starts = _spy_on_pricing_starts(monkeypatch)
    phases = _search_small(random_instance(6, n_items=7, n_agents=3))
    assert "flow relaxation bound" in phases
    assert any(p.startswith("lp bound by pricing") for p in phases)
    assert "lagrangian bound" not in phases
    assert len(flows) == 1 and len(starts) == 1 and starts[0] is flows[0].x


def test_a_search_that_fails_stops_its_background_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that when the search raises after starting the count-priced bound's process (here
    the rounding of the flow fails), the process is stopped rather than left running."""
    _large_path(monkeypatch)

    def broken(*_args: object) -> None:
        assert multiprocessing.active_children(), "the background process should be running"
        raise RuntimeError("rounding failed")

    monkeypatch.setattr(solve, "lp_rounding", broken)
    with pytest.raises(RuntimeError, match="rounding failed"):
        solve.run_search(random_instance(6, n_items=7, n_agents=3), SearchParams(3, 2, 0))
    assert not multiprocessing.active_children()


def test_medium_search_tries_noisy_roundings_and_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests the medium path's roundings of the LP solution with noise: in deterministic mode
    a fixed number of them, the plan keeps every rule, its bound stays valid, and a second run
    with the same seed gives the same plan."""
    monkeypatch.setattr(solve, "LP_MAX_EDGES", 0)
    inst = random_instance(6, n_items=7, n_agents=3)
    params = SearchParams(time_limit_s=3, workers=1, seed=4, deterministic=True)
    first = solve.run_search(inst, params)
    phases = [str(p["phase"]) for p in first.phases]
    assert f"noisy lp roundings ({rounding.NOISY_ROUNDINGS_DETERMINISTIC})" in phases
    optimum = brute_force(inst)
    assert optimum is not None and first.bound <= optimum <= first.objective
    assert not feasibility_issues(inst, first.agent_of_item)
    again = solve.run_search(inst, params)
    assert np.array_equal(first.agent_of_item, again.agent_of_item)


def test_progress_reports_only_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that on the large path, where the flow's bound comes before any plan, progress
    reports phases with a plan only (no objective -1 reaches a job's progress)."""
    _large_path(monkeypatch)
    seen: list[solve.Progress] = []
    outcome = solve.run_search(
        random_instance(6, n_items=7, n_agents=3), SearchParams(3, 1, 0), progress=seen.append
    )
    assert outcome.phases[0]["objective"] == -1  # the flow's bound, before the rounding
    assert seen and all(p.objective >= 0 for p in seen)


def test_short_budget_takes_the_lp_by_pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that the LP over all edges runs only where it fits the budget: with fewer edges per
    second allowed than the instance has, the search takes the LP by pricing (keeping every rule
    and a valid bound); in deterministic mode the budget does not decide it."""
    inst = random_instance(6, n_items=7, n_agents=3)
    optimum = brute_force(inst)
    assert optimum is not None
    # Splitting the instance takes a little of the budget: 1.5 s leaves room for 1 s of LP.
    monkeypatch.setattr(solve, "LP_EDGES_PER_SECOND", inst.n_edges)
    fits = solve.run_search(inst, SearchParams(time_limit_s=1.5, workers=1, seed=0))
    assert not any("pricing" in str(p["phase"]) for p in fits.phases)
    monkeypatch.setattr(solve, "LP_EDGES_PER_SECOND", inst.n_edges / 2 - 1)
    short = solve.run_search(inst, SearchParams(time_limit_s=2, workers=1, seed=0))
    assert any("lp bound by pricing" in str(p["phase"]) for p in short.phases)
    assert not feasibility_issues(inst, short.agent_of_item)
    assert short.bound <= optimum <= short.objective
    steady = solve.run_search(
        inst, SearchParams(time_limit_s=2, workers=1, seed=0, deterministic=True)
    )
    assert not any("pricing" in str(p["phase"]) for p in steady.phases)


def test_waiting_cases_get_the_focused_repair_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that the focused repair around waiting cases (items with an edge left out) runs
    above the size of the MIP over all edges too: with that size and the LP's set to zero (so
    the instance takes the pricing path), a case too heavy for its only lawyer waits and the
    repair runs; the plan keeps every rule."""
    monkeypatch.setattr(solve, "LP_MAX_EDGES", 0)
    monkeypatch.setattr(solve, "FULL_MIP_MAX_EDGES", 0)
    inst = AssignmentInstance(
        n_items=3,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1, 2], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1, 0], dtype=np.int32),
        edge_cost=np.array([5, 9, 7, 3, 1], dtype=np.int64),
        edge_weight=np.array([10, 10, 20, 20, 90], dtype=np.int64),
        capacity=np.array([50, 50], dtype=np.int64),
        max_count=np.array([3, 3], dtype=np.int64),
        unassigned_penalty=np.array([MUST_ASSIGN, 100, 400], dtype=np.int64),
    )
    out = solve.run_search(inst, SearchParams(time_limit_s=1, workers=1, seed=0))
    phases = [str(p["phase"]) for p in out.phases]
    assert "focused lns" in phases
    assert not feasibility_issues(inst, out.agent_of_item)
    assert out.agent_of_item.tolist() == [0, 1, -1]


@pytest.mark.parametrize("workers", [1, 2])
def test_long_budget_runs_the_lp_by_pricing_after_the_flow(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Tests the large path with a budget long enough for the LP by pricing: the flow's rounding
    is the first plan, the LP converges and its solution is rounded; with two workers the
    count-priced flow's process is stopped once the LP converged; plan and bound stay valid."""
    _large_path(monkeypatch, lp_at_scale=True)
    seeds: list[np.ndarray] = []
    real_pricing = solve.solve_lp_by_pricing

    def pricing(
        inst: AssignmentInstance, time_limit_s: float, seed_edges: np.ndarray, **kw: Any
    ) -> PricingResult:
        seeds.append(seed_edges.copy())
        return real_pricing(inst, time_limit_s, seed_edges, **kw)

    monkeypatch.setattr(solve, "solve_lp_by_pricing", pricing)
    phases = _search_small(random_instance(6, n_items=7, n_agents=3), workers=workers)
    assert phases[:2] == ["flow relaxation bound", "flow rounding"]
    assert any(p.startswith("lp bound by pricing") and "converged" in p for p in phases)
    assert "count-priced flow and knapsack bound" not in phases
    assert len(seeds) == 1 and seeds[0].any()
    assert not multiprocessing.active_children()


def test_long_budget_lp_starts_from_the_flows_basis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that on the large path the LP by pricing starts from the flow's solution."""
    _large_path(monkeypatch, lp_at_scale=True)
    flows, starts = _spy_on_pricing_starts(monkeypatch)
    _search_small(random_instance(6, n_items=7, n_agents=3))
    assert len(flows) == 1 and len(starts) == 1 and starts[0] is flows[0].x


def test_long_budget_lp_needs_the_time_its_estimate_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests the gate of the LP by pricing above its size: with an estimate just over the share
    of the budget it does not run (the flow stays the start), just under it does."""
    inst = random_instance(6, n_items=7, n_agents=3)
    _large_path(monkeypatch)
    monkeypatch.setattr(solve, "LP_AT_SCALE_SHARE", 0.5)
    budget_s = 3.0
    monkeypatch.setattr(solve, "LP_AT_SCALE_SECONDS_PER_EDGE", 0.5 * budget_s / inst.n_edges * 1.01)
    over = solve.run_search(inst, SearchParams(budget_s, 1, 0))
    assert not any("pricing" in str(p["phase"]) for p in over.phases)
    monkeypatch.setattr(solve, "LP_AT_SCALE_SECONDS_PER_EDGE", 0.5 * budget_s / inst.n_edges * 0.99)
    under = solve.run_search(inst, SearchParams(budget_s, 1, 0))
    assert any("lp bound by pricing" in str(p["phase"]) for p in under.phases)
    assert not feasibility_issues(inst, under.agent_of_item)


def test_long_budget_lp_far_from_converged_leaves_the_bound_to_the_count_priced_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests the large path when the LP by pricing stops with duals far from the LP's (its
    restricted value well above its bound): its solution is still rounded, but the knapsack
    bound does not start from those duals and the count-priced flow's process keeps the
    second core and gives the bound; plan and bound stay valid."""
    _large_path(monkeypatch, lp_at_scale=True)
    monkeypatch.setattr(solve, "EXACT_MIP_MAX_EDGES", 0)  # the knapsack bound could start
    real_pricing = solve.solve_lp_by_pricing

    def stopped_early(*args: Any, **kw: Any) -> PricingResult:
        result = real_pricing(*args, **kw)
        return dataclasses.replace(
            result, converged=False, restricted=result.bound + 1e3 * (1 + abs(result.bound))
        )

    monkeypatch.setattr(solve, "solve_lp_by_pricing", stopped_early)
    phases = _search_small(random_instance(6, n_items=7, n_agents=3), workers=2)
    assert any(p.startswith("lp bound by pricing") and "converged" not in p for p in phases)
    assert "count-priced flow and knapsack bound" in phases
    assert not any(p.startswith("knapsack bound") for p in phases)


@pytest.mark.parametrize("share_of_threshold", [0.5, 2.0])
def test_long_budget_lp_near_enough_hands_the_second_core_to_the_knapsack_bound(
    monkeypatch: pytest.MonkeyPatch, share_of_threshold: float
) -> None:
    """Tests the threshold that decides whether an LP by pricing stopped before converging has
    duals near enough to start the knapsack bound (county-L: at the fourth round, 0.15% off, its
    knapsack value is above the count-priced flow's): at half ``LP_AT_SCALE_DUAL_GAP`` the
    knapsack bound starts and the count-priced flow's process stops; at twice it, the process
    keeps the second core."""
    _large_path(monkeypatch, lp_at_scale=True)
    monkeypatch.setattr(solve, "EXACT_MIP_MAX_EDGES", 0)
    real_pricing = solve.solve_lp_by_pricing
    bounds: list[float] = []

    def stopped_early(*args: Any, **kw: Any) -> PricingResult:
        result = real_pricing(*args, **kw)
        bounds.append(result.bound)
        off = share_of_threshold * solve.LP_AT_SCALE_DUAL_GAP * abs(result.bound)
        return dataclasses.replace(result, converged=False, restricted=result.bound + off)

    monkeypatch.setattr(solve, "solve_lp_by_pricing", stopped_early)
    phases = _search_small(random_instance(6, n_items=7, n_agents=3), workers=2)
    assert bounds and bounds[0] > 0
    near = share_of_threshold < 1
    assert any(p.startswith("knapsack bound") for p in phases) == near
    assert ("count-priced flow and knapsack bound" in phases) == (not near)
    assert not multiprocessing.active_children()
