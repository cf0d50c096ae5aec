"""Tests of the decomposition into independent parts and of the search part by part."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assigner.search import independent_parts as parts_module
from assigner.search.cpsat import Progress, SearchParams
from assigner.search.independent_parts import independent_parts, part_instance
from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    LoadBand,
    OpposingSides,
    evaluate,
    feasibility_issues,
)
from assigner.search.solve import run_search, trivial_bound
from tests.search.test_search_exact import brute_force


def disjoint_union(a: AssignmentInstance, b: AssignmentInstance) -> AssignmentInstance:
    """``a`` and ``b`` side by side: ``b``'s items and agents numbered after ``a``'s."""
    ni, na = a.n_items, a.n_agents

    def shifted(groups: list[np.ndarray], by: int) -> list[np.ndarray]:
        return [np.asarray(g, dtype=np.int32) + by for g in groups]

    def joined(x: np.ndarray | None, y: np.ndarray | None, n_x: int, n_y: int) -> np.ndarray:
        x = np.zeros(n_x, dtype=np.int64) if x is None else x
        y = np.zeros(n_y, dtype=np.int64) if y is None else y
        return np.concatenate([x, y])

    assert [(band.points, band.unit) for band in a.bands] == [
        (band.points, band.unit) for band in b.bands
    ]
    assert a.quota_points == b.quota_points
    return AssignmentInstance(
        n_items=ni + b.n_items,
        n_agents=na + b.n_agents,
        edge_item=np.concatenate([a.edge_item, b.edge_item + ni]).astype(np.int32),
        edge_agent=np.concatenate([a.edge_agent, b.edge_agent + na]).astype(np.int32),
        edge_cost=np.concatenate([a.edge_cost, b.edge_cost]),
        edge_weight=np.concatenate([a.edge_weight, b.edge_weight]),
        capacity=np.concatenate([a.capacity, b.capacity]),
        max_count=np.concatenate([a.max_count, b.max_count]),
        unassigned_penalty=np.concatenate([a.unassigned_penalty, b.unassigned_penalty]),
        bands=[
            LoadBand(np.concatenate([x.threshold, y.threshold]), x.points, x.unit)
            for x, y in zip(a.bands, b.bands, strict=True)
        ],
        base_load=joined(a.base_load, b.base_load, na, b.n_agents),
        quota_short=joined(a.quota_short, b.quota_short, na, b.n_agents),
        quota_points=a.quota_points,
        same_agent_cliques=shifted(a.same_agent_cliques, 0) + shifted(b.same_agent_cliques, ni),
        # Agent groups (firms) numbered apart: the two halves share none.
        agent_group=joined(
            a.agent_group, None if b.agent_group is None else b.agent_group + 100, na, b.n_agents
        ).astype(np.int32),
        same_group_cliques=shifted(a.same_group_cliques, 0) + shifted(b.same_group_cliques, ni),
        opposing_sides=[
            *a.opposing_sides,
            *(OpposingSides(s.side_a + ni, s.side_b + ni) for s in b.opposing_sides),
        ],
    )


def half(seed: int, n_items: int = 5, n_agents: int = 3) -> AssignmentInstance:
    """Every item a candidate of every agent (one component), with an agent clique (items 0,
    1), a firm clique (1, 2) and opposing sides (2 against 3)."""
    rng = np.random.default_rng(seed)
    n_e = n_items * n_agents
    weight = rng.integers(5, 30, size=n_items)
    return AssignmentInstance(
        n_items=n_items,
        n_agents=n_agents,
        edge_item=np.repeat(np.arange(n_items), n_agents).astype(np.int32),
        edge_agent=np.tile(np.arange(n_agents), n_items).astype(np.int32),
        edge_cost=rng.integers(0, 200, size=n_e).astype(np.int64),
        edge_weight=np.repeat(weight, n_agents).astype(np.int64),
        capacity=rng.integers(30, 60, size=n_agents).astype(np.int64),
        max_count=rng.integers(2, 4, size=n_agents).astype(np.int64),
        unassigned_penalty=rng.integers(300, 600, size=n_items).astype(np.int64),
        bands=[LoadBand(rng.integers(10, 30, size=n_agents).astype(np.int64), 7, 10)],
        base_load=rng.integers(0, 10, size=n_agents).astype(np.int64),
        quota_short=rng.integers(0, 2, size=n_agents).astype(np.int64),
        quota_points=50,
        same_agent_cliques=[np.array([0, 1], dtype=np.int32)],
        agent_group=np.array([a % 2 for a in range(n_agents)], dtype=np.int32),
        same_group_cliques=[np.array([1, 2], dtype=np.int32)],
        opposing_sides=[OpposingSides(np.array([2], dtype=np.int32), np.array([3], np.int32))],
    )


def two_halves(seed: int) -> AssignmentInstance:
    return disjoint_union(half(seed), half(seed + 50, n_items=4))


def test_disjoint_halves_are_two_parts_whose_objectives_add_up() -> None:
    """Tests that two instances side by side split into two parts (smallest first), each
    holding its own items and agents, and that any plan's objective is the sum of its parts'."""
    inst = two_halves(3)
    parts = independent_parts(inst, min_edges=1)
    assert len(parts) == 2
    assert [p.n_edges for p in parts] == sorted(p.n_edges for p in parts)
    assert sorted(np.concatenate([p.items for p in parts]).tolist()) == list(range(9))
    for p in parts:
        assert set(p.items.tolist()) in ({0, 1, 2, 3, 4}, {5, 6, 7, 8})
    rng = np.random.default_rng(0)
    for _ in range(20):
        vector = np.full(inst.n_items, -1, dtype=np.int32)
        for i in range(inst.n_items):
            sl = inst.edges_of(i)
            if sl.stop > sl.start and rng.random() < 0.8:
                vector[i] = int(rng.choice(inst.edge_agent[sl]))
        total = 0
        for p in parts:
            sub = part_instance(inst, p)
            local_agent = np.searchsorted(p.agents, vector[p.items])
            local = np.where(vector[p.items] >= 0, local_agent, -1).astype(np.int32)
            total += evaluate(sub, local).total
        assert total == evaluate(inst, vector).total


def test_a_part_keeps_its_share_of_each_rule() -> None:
    """Tests that a part keeps the group rules of its own items, renumbered."""
    inst = two_halves(5)
    parts = independent_parts(inst, min_edges=1)
    assert len(parts) == 2
    for p in parts:
        sub = part_instance(inst, p)
        assert [c.tolist() for c in sub.same_agent_cliques] == [[0, 1]]
        assert [c.tolist() for c in sub.same_group_cliques] == [[1, 2]]
        assert [(s.side_a.tolist(), s.side_b.tolist()) for s in sub.opposing_sides] == [([2], [3])]
        assert sub.n_edges == p.n_edges == sub.n_items * sub.n_agents


@pytest.mark.parametrize("rule", ["firm clique", "opposing sides", "edge"])
def test_a_rule_across_the_halves_keeps_them_one_part(rule: str) -> None:
    """Tests that items tied by a firm clique, by opposing sides or by a shared agent across
    the halves keep the instance whole: each rule alone joins the two halves."""
    inst = two_halves(7)
    assert len(independent_parts(inst, min_edges=1)) == 2
    item_a = int(inst.edge_item[0])
    item_b = int(inst.edge_item[-1])
    if rule == "firm clique":
        inst.same_group_cliques.append(np.array([item_a, item_b], dtype=np.int32))
    elif rule == "opposing sides":
        inst.opposing_sides.append(
            OpposingSides(np.array([item_a], dtype=np.int32), np.array([item_b], dtype=np.int32))
        )
    else:
        inst = AssignmentInstance(
            **{
                **{f: getattr(inst, f) for f in _fields(inst)},
                "edge_item": np.append(inst.edge_item, inst.n_items - 1).astype(np.int32),
                "edge_agent": np.append(inst.edge_agent, 0).astype(np.int32),
                "edge_cost": np.append(inst.edge_cost, 5),
                "edge_weight": np.append(inst.edge_weight, inst.edge_weight[-1]),
            }
        )
    assert len(independent_parts(inst, min_edges=1)) == 1


def _fields(inst: AssignmentInstance) -> list[str]:
    return [f for f in inst.__dataclass_fields__ if f != "item_offsets"]


def test_an_agent_clique_across_parts_needs_no_link() -> None:
    """Tests that a same-agent clique whose items lie in different halves does not join them
    (with no agent in common they can never share one)."""
    inst = two_halves(9)
    inst.same_agent_cliques.append(np.array([0, 6], dtype=np.int32))
    assert len(independent_parts(inst, min_edges=1)) == 2


def test_small_components_are_packed_and_the_lone_items_join_the_first_part() -> None:
    """Tests the packing: components below the part size go together, smallest first, a last
    short group joins the part before, and items and agents without edges go to part one."""
    inst = disjoint_union(two_halves(11), half(12, n_items=4, n_agents=1))
    sizes = sorted(p.n_edges for p in independent_parts(inst, min_edges=1))
    assert sizes == [4, 12, 15]
    assert [p.n_edges for p in independent_parts(inst, min_edges=sum(sizes))] == [31]
    assert [p.n_edges for p in independent_parts(inst, min_edges=16)] == [31]
    assert [p.n_edges for p in independent_parts(inst, min_edges=15)] == [16, 15]
    # One item and one agent without edges: the item's only edge and the agent's only edge
    # dropped.
    keep = np.ones(inst.n_edges, dtype=bool)
    keep[[0, 1, 2]] = False  # item 0's edges
    keep[inst.edge_agent == inst.n_agents - 1] = False
    bare = AssignmentInstance(
        **{
            **{f: getattr(inst, f) for f in _fields(inst)},
            "edge_item": inst.edge_item[keep],
            "edge_agent": inst.edge_agent[keep],
            "edge_cost": inst.edge_cost[keep],
            "edge_weight": inst.edge_weight[keep],
        }
    )
    parts = independent_parts(bare, min_edges=1)
    assert 0 in parts[0].items.tolist()
    assert inst.n_agents - 1 in parts[0].agents.tolist()
    vector = np.full(bare.n_items, -1, dtype=np.int32)
    total = sum(
        evaluate(part_instance(bare, p), np.full(p.items.size, -1, dtype=np.int32)).total
        for p in parts
    )
    assert total == evaluate(bare, vector).total


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_search_by_parts_finds_the_optimum_with_a_valid_bound(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests the search part by part on two halves: the plan keeps every rule, its objective is
    the optimum (each half is small enough for the exact MIP), the bound is valid, the phases
    name both parts, and progress reports whole plans only."""
    monkeypatch.setattr(parts_module, "MIN_PART_EDGES", 1)
    inst = two_halves(seed)
    reports: list[Progress] = []
    out = run_search(inst, SearchParams(time_limit_s=4, workers=2, seed=0), reports.append)
    assert out.method.startswith("2 independent parts")
    assert not feasibility_issues(inst, out.agent_of_item)
    optimum = sum(
        brute_force(part_instance(inst, p)) or 0 for p in independent_parts(inst, min_edges=1)
    )
    assert out.bound <= optimum <= out.objective
    assert out.objective == evaluate(inst, out.agent_of_item).total
    assert out.objective == optimum
    assert [str(p["phase"])[:8] for p in out.phases] == ["part 1/2", "part 2/2"]
    assert all(r.objective >= optimum and r.bound <= optimum for r in reports)


def test_deterministic_search_by_parts_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that in deterministic mode the search part by part gives the same plan twice."""
    monkeypatch.setattr(parts_module, "MIN_PART_EDGES", 1)
    inst = two_halves(21)
    params = SearchParams(time_limit_s=2, workers=1, seed=3, deterministic=True)
    first = run_search(inst, params)
    again = run_search(inst, params)
    assert first.method.startswith("2 independent parts")
    assert np.array_equal(first.agent_of_item, again.agent_of_item)
    assert first.bound == again.bound


def test_trivial_bound_takes_each_item_at_its_cheapest_option() -> None:
    """Tests the bound each part starts from: every item at its cheapest edge or, when it may
    stay out, at its penalty if that is lower; infinite when a must-assign item has no edge."""
    inst = half(4)
    cheapest = inst.edge_cost.reshape(inst.n_items, inst.n_agents).min(axis=1)
    expected = np.minimum(cheapest, inst.unassigned_penalty).sum()
    assert trivial_bound(inst) == expected
    keep = inst.edge_item != 0
    stranded = AssignmentInstance(
        **{
            **{f: getattr(inst, f) for f in _fields(inst)},
            "edge_item": inst.edge_item[keep],
            "edge_agent": inst.edge_agent[keep],
            "edge_cost": inst.edge_cost[keep],
            "edge_weight": inst.edge_weight[keep],
        }
    )
    assert (
        trivial_bound(stranded)
        == expected - min(cheapest[0], inst.unassigned_penalty[0]) + (inst.unassigned_penalty[0])
    )
    penalty = stranded.unassigned_penalty.copy()
    penalty[0] = MUST_ASSIGN
    assert trivial_bound(dataclasses.replace(stranded, unassigned_penalty=penalty)) == float("inf")


@pytest.mark.parametrize("field", ["edge_agent", "fixed_agent", "same_group_cliques"])
def test_an_index_out_of_range_is_refused(field: str) -> None:
    """Tests that an agent or item index outside the instance is refused with an error naming
    what it is, before the compiled union (which does not check bounds) sees it."""
    inst = half(2)
    if field == "edge_agent":
        inst.edge_agent[-1] = inst.n_agents
    elif field == "fixed_agent":
        inst.fixed_agent = np.full(inst.n_items, -1, dtype=np.int32)
        inst.fixed_agent[0] = inst.n_agents + 3
    else:
        inst.same_group_cliques.append(np.array([0, inst.n_items], dtype=np.int32))
    expected = {
        "edge_agent": "an edge names an agent",
        "fixed_agent": "a fixed agent lies",
        "same_group_cliques": "a group rule names an item",
    }[field]
    with pytest.raises(ValueError, match=expected):
        independent_parts(inst)
