"""Regions: a connected instance cut where few edges cross, each region searched alone, the
whole plan improved across them and bounded by the knapsack bound at the regions' prices."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from assigner.search import background_bound, solve
from assigner.search import regions as regions_module
from assigner.search.background_bound import flow_and_knapsack_bounds
from assigner.search.cpsat import SearchParams
from assigner.search.flow_relaxation import flow_relaxation, item_weights
from assigner.search.independent_parts import Part, part_instance
from assigner.search.instance import (
    AssignmentInstance,
    OpposingSides,
    evaluate,
    feasibility_issues,
)
from assigner.search.regions import region_labels, region_parts
from tests.search.test_search_exact import brute_force


def _counties(
    n_counties: int,
    items_per: int,
    agents_per: int,
    seed: int,
    cross_share: float = 0.05,
    firms: bool = False,
) -> AssignmentInstance:
    """Counties whose items reach every agent of their own county cheaply and, for a share of
    them, one agent of the next county at a higher cost."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int]] = []
    for c in range(n_counties):
        own = range(c * agents_per, (c + 1) * agents_per)
        nxt = ((c + 1) % n_counties) * agents_per
        for i in range(c * items_per, (c + 1) * items_per):
            for a in own:
                rows.append((i, a, int(rng.integers(10, 60))))
            if rng.random() < cross_share:
                rows.append((i, nxt + int(rng.integers(agents_per)), int(rng.integers(60, 90))))
    rows.sort()
    n_items, n_agents = n_counties * items_per, n_counties * agents_per
    item = np.array([r[0] for r in rows], dtype=np.int32)
    weight_of = rng.integers(5, 20, size=n_items)
    return AssignmentInstance(
        n_items=n_items,
        n_agents=n_agents,
        edge_item=item,
        edge_agent=np.array([r[1] for r in rows], dtype=np.int32),
        edge_cost=np.array([r[2] for r in rows], dtype=np.int64),
        edge_weight=weight_of[item].astype(np.int64),
        capacity=np.full(n_agents, 12 * items_per // agents_per, dtype=np.int64),
        max_count=np.full(n_agents, items_per, dtype=np.int64),
        unassigned_penalty=np.full(n_items, 1_000, dtype=np.int64),
        agent_group=(np.arange(n_agents) // 2).astype(np.int32) if firms else None,
    )


def crossing_edges(inst: AssignmentInstance, parts: list[Part]) -> int:
    """Edges whose item and agent lie in different parts."""
    item_part = np.zeros(inst.n_items, dtype=np.int64)
    agent_part = np.zeros(inst.n_agents, dtype=np.int64)
    for k, p in enumerate(parts):
        item_part[p.items] = k
        agent_part[p.agents] = k
    return int(np.count_nonzero(item_part[inst.edge_item] != agent_part[inst.edge_agent]))


def _two_counties() -> AssignmentInstance:
    """County A: items 0-2, agents 0-1; county B: items 3-5, agents 2-3.  Agents 0, 1 and 3
    fit one case each, agent 2 two.  A has three cases for two places, so at home one stays
    out; item 2 may also go to agent 2 across the border, where item 5 (cheap to leave out)
    gives up its place."""
    rows = [
        (0, 0, 10), (0, 1, 12),
        (1, 0, 11), (1, 1, 10),
        (2, 0, 13), (2, 1, 13), (2, 2, 40),
        (3, 2, 10), (3, 3, 12),
        (4, 2, 12), (4, 3, 10),
        (5, 3, 11),
    ]  # fmt: skip
    return AssignmentInstance(
        n_items=6,
        n_agents=4,
        edge_item=np.array([r[0] for r in rows], dtype=np.int32),
        edge_agent=np.array([r[1] for r in rows], dtype=np.int32),
        edge_cost=np.array([r[2] for r in rows], dtype=np.int64),
        edge_weight=np.full(len(rows), 5, dtype=np.int64),
        capacity=np.array([5, 5, 10, 5], dtype=np.int64),
        max_count=np.full(4, 2, dtype=np.int64),
        unassigned_penalty=np.array([500, 500, 500, 500, 500, 30], dtype=np.int64),
    )


@pytest.fixture
def small_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 20)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 50)


def test_labels_find_the_counties(small_regions: None) -> None:
    """Tests that the propagation puts each county's agents and items in one region of their
    own, so that only the few cross-county edges cross regions."""
    inst = _counties(4, 60, 6, seed=1)
    item_region, agent_region = region_labels(inst)
    county_of_agent = np.arange(inst.n_agents) // 6
    county_of_item = np.arange(inst.n_items) // 60
    assert len(set(agent_region.tolist())) == 4
    for c in range(4):
        assert len(set(agent_region[county_of_agent == c].tolist())) == 1
        assert len(set(item_region[county_of_item == c].tolist())) == 1
    parts = region_parts(inst)
    assert len(parts) == 4
    own = county_of_item[inst.edge_item] == county_of_agent[inst.edge_agent]
    assert crossing_edges(inst, parts) == int(np.count_nonzero(~own))


def test_small_labels_join_a_neighbour(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that regions under the minimum size are merged into others (here all into one:
    no region holds 1,000 items), so that a scattered instance is not cut into crumbs."""
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 1_000)
    inst = _counties(4, 60, 6, seed=2)
    assert len(region_parts(inst)) == 1


def test_a_firm_stays_in_one_region(small_regions: None) -> None:
    """Tests that the agents of one agent group share a region even when the group straddles
    two counties, and that fixed items follow their agent."""
    inst = _counties(3, 60, 6, seed=3, firms=True)
    group = inst.agent_group
    assert group is not None
    group = group.copy()
    group[5] = group[6]  # agent 5 (county 0) joins the firm of agent 6 (county 1)
    inst.agent_group = group
    fixed = np.full(inst.n_items, -1, dtype=np.int32)
    fixed[0] = 5
    inst.fixed_agent = fixed
    item_region, agent_region = region_labels(inst)
    for g in np.unique(group):
        assert len(set(agent_region[group == g].tolist())) == 1
    assert item_region[0] == agent_region[5]
    sl = inst.edges_of(0)
    assert np.any(agent_region[inst.edge_agent[sl]] == item_region[0])


def test_region_instances_keep_only_their_own_edges(small_regions: None) -> None:
    """Tests that a region's instance drops the edges to other regions and keeps the rest."""
    inst = _counties(3, 60, 6, seed=4)
    parts = region_parts(inst)
    total = 0
    for p in parts:
        sub = part_instance(inst, p, inside_only=True)
        assert sub.n_items == p.items.size and sub.n_agents == p.agents.size
        assert sub.n_edges == p.n_edges
        total += sub.n_edges
    assert total == inst.n_edges - crossing_edges(inst, parts)
    with pytest.raises(ValueError, match="outside the part"):
        part_instance(inst, parts[0])


def test_search_by_regions_gives_a_valid_plan_and_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests on a tiny two-county instance, cut into its counties, that the plan breaks no rule,
    that its bound is at most the brute-force optimum, and that the one case whose own county
    is full is placed across the border by the descent over the whole."""
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 2)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 3)
    inst = _two_counties()
    parts = region_parts(inst)
    assert [p.agents.tolist() for p in parts] == [[0, 1], [2, 3]]
    out = solve.run_search(inst, SearchParams(5.0, 1, 0, True))
    assert "regions" in out.method
    assert feasibility_issues(inst, out.agent_of_item) == []
    assert out.objective == evaluate(inst, out.agent_of_item).total
    optimum = brute_force(inst)
    assert optimum is not None
    assert out.bound <= optimum <= out.objective
    assert out.agent_of_item[2] == 2  # across the border: no room at home
    assert out.objective == optimum
    assert "flow relaxation bound over the whole" in str(out.phases[-1]["phase"])


def test_regions_fall_back_to_the_knapsack_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that where the whole instance's flow would not fit its time, the bound is the
    knapsack bound at the regions' flow prices, and still at most the optimum."""
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 2)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 3)
    monkeypatch.setattr(solve, "estimated_seconds", lambda inst: 1e9)
    inst = _two_counties()
    out = solve.run_search(inst, SearchParams(3.0, 1, 0, False))
    assert "regions" in out.method
    assert "knapsack bound at the regions' prices" in str(out.phases[-1]["phase"])
    assert feasibility_issues(inst, out.agent_of_item) == []
    optimum = brute_force(inst)
    assert optimum is not None
    assert out.bound <= optimum <= out.objective


def test_the_bounds_over_the_whole_run_on_the_second_core(small_regions: None) -> None:
    """Tests that with two workers the bounds over the whole (the flow relaxation, then the
    knapsack bounds at its prices) run in a forked process from the start and give the highest
    of them, and with one worker the flow relaxation first on the one core gives its own
    (deterministic mode)."""
    inst = _counties(3, 40, 6, seed=7, cross_share=0.3)
    weights = item_weights(inst)
    assert weights is not None
    flow = flow_relaxation(inst, weights)
    assert flow is not None
    bounds = list(flow_and_knapsack_bounds(inst, weights))
    assert bounds[0] == flow.bound and len(bounds) == 4
    beside = solve.run_search(inst, SearchParams(5.0, 2, 0, True))
    alone = solve.run_search(inst, SearchParams(5.0, 1, 0, True))
    assert "regions" in beside.method
    assert beside.phases[-1]["phase"] == (
        "flow relaxation and knapsack bounds over the whole (second core, from the start)"
    )
    assert alone.phases[-1]["phase"] == "flow relaxation bound over the whole"
    assert beside.bound == min(max(bounds), beside.objective)
    assert alone.bound == min(flow.bound, alone.objective)
    assert feasibility_issues(inst, beside.agent_of_item) == []
    # Every bound sent, uncapped, is at most both plans' objectives (a valid lower bound).
    assert max(bounds) <= min(beside.objective, alone.objective)


def test_a_flow_that_finds_nothing_leaves_the_knapsack_bound(
    small_regions: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that where the flow in the forked process sends no bound, the bound over the whole
    is the knapsack bound (at zero prices: the regions priced nothing, the flow was to fit),
    still at most the optimum of the two-county instance."""
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 2)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 3)
    monkeypatch.setattr(background_bound, "flow_relaxation", lambda inst, weight: None)
    inst = _two_counties()
    out = solve.run_search(inst, SearchParams(3.0, 2, 0, False))
    assert "regions" in out.method
    assert "knapsack bound at the regions' prices" in str(out.phases[-1]["phase"])
    optimum = brute_force(inst)
    assert optimum is not None
    assert out.bound <= optimum <= out.objective
    assert out.bound > solve.trivial_bound(inst)


def _sleeps(*_args: object, **_kwargs: object) -> None:
    """Work that outlasts any test's time limit (the forked process running it is stopped)."""
    time.sleep(600)


def test_a_late_flow_leaves_the_trivial_bound(
    small_regions: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that where the flow in the forked process has not answered by the deadline, the
    search returns its plan with the trivial bound and starts no other bound (there is no
    time left for one)."""
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 2)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 3)
    monkeypatch.setattr(background_bound, "flow_relaxation", _sleeps)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("no bound may start after the deadline")

    monkeypatch.setattr(solve, "_regions_knapsack_bound", refuse)
    inst = _two_counties()
    out = solve.run_search(inst, SearchParams(2.0, 2, 0, False))
    assert "regions" in out.method
    assert out.phases[-1]["phase"] == (
        "flow relaxation over the whole not done by the deadline: the trivial bound"
    )
    assert out.bound == min(solve.trivial_bound(inst), out.objective)
    assert feasibility_issues(inst, out.agent_of_item) == []


def test_a_knapsack_bound_past_the_deadline_leaves_the_trivial_bound(
    small_regions: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that the knapsack bound over the whole, where the flow found nothing, runs in a
    forked process that the deadline stops: one that never answers leaves the trivial bound
    and the plan."""
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 2)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 3)
    monkeypatch.setattr(background_bound, "flow_relaxation", lambda inst, weight: None)
    monkeypatch.setattr(solve, "knapsack_bound", _sleeps)
    inst = _two_counties()
    out = solve.run_search(inst, SearchParams(2.0, 2, 0, False))
    assert out.phases[-1]["phase"] == (
        "knapsack bound at the regions' prices not done by the deadline: the trivial bound"
    )
    assert out.bound == min(solve.trivial_bound(inst), out.objective)
    assert feasibility_issues(inst, out.agent_of_item) == []


def test_group_rules_hold_across_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that opposing sides split between regions are never put in one firm: each firm
    lies in one region, so the regions' plans together break no group rule."""
    monkeypatch.setattr(regions_module, "MIN_REGION_ITEMS", 20)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 50)
    inst = _counties(3, 40, 6, seed=5, cross_share=0.3, firms=True)
    inst.opposing_sides = [
        OpposingSides(np.array([i], dtype=np.int32), np.array([i + 40], dtype=np.int32))
        for i in range(0, 40, 3)
    ]
    out = solve.run_search(inst, SearchParams(5.0, 1, 0, True))
    assert "regions" in out.method
    assert feasibility_issues(inst, out.agent_of_item) == []
    assert out.bound <= out.objective


def test_an_instance_up_to_the_size_is_never_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that a connected instance of at most ``REGION_MIN_ITEMS`` items (every county
    tier) is searched whole: the region labels are not even computed."""

    def refuse(inst: AssignmentInstance) -> list[object]:
        raise AssertionError("regions computed for a small instance")

    monkeypatch.setattr(solve, "region_parts", refuse)
    monkeypatch.setattr(regions_module, "REGION_MIN_ITEMS", 240)
    inst = _counties(4, 60, 6, seed=6)
    out = solve.run_search(inst, SearchParams(2.0, 1, 0, True))
    assert "regions" not in out.method
    assert feasibility_issues(inst, out.agent_of_item) == []


def test_labels_refuse_an_agent_outside_the_instance() -> None:
    """Tests that an edge naming an agent outside the instance is refused with a clear error
    before the compiled propagation (which does not check bounds) reads it."""
    inst = _two_counties()
    inst.edge_agent = inst.edge_agent.copy()
    inst.edge_agent[3] = inst.n_agents
    with pytest.raises(ValueError, match=r"outside 0\.\.3"):
        region_labels(inst)


def test_the_budget_counts_the_time_the_regions_take_to_find(
    monkeypatch: pytest.MonkeyPatch, small_regions: None
) -> None:
    """Tests that the time spent labelling the regions comes off the search's budget (the
    regions' search is given at most the budget less that time), and that deterministic mode,
    whose work limits follow the budget, keeps the whole budget."""
    inst = _counties(3, 40, 6, seed=7, cross_share=0.3)
    real_labels, real_search = solve.region_parts, solve._search_by_regions
    given: list[float] = []

    def slow_labels(instance: AssignmentInstance) -> list[Part]:
        time.sleep(0.5)
        return real_labels(instance)

    def search(
        instance: AssignmentInstance, params: SearchParams, *args: Any
    ) -> solve.SearchOutcome:
        given.append(params.time_limit_s)
        return real_search(instance, params, *args)

    monkeypatch.setattr(solve, "region_parts", slow_labels)
    monkeypatch.setattr(solve, "_search_by_regions", search)
    timed = solve.run_search(inst, SearchParams(3.0, 1, 0))
    kept = solve.run_search(inst, SearchParams(3.0, 1, 0, True))
    assert "regions" in timed.method and "regions" in kept.method
    assert given[0] <= 3.0 - 0.5
    assert given[1] == 3.0
    assert feasibility_issues(inst, timed.agent_of_item) == []
