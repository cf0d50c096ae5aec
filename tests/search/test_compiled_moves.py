"""Tests that the compiled passes (shift, swap, ejection) find the improving moves, keep every
hard rule, and leave fixed items and items under group rules where they are."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from assigner.search.compiled_moves import CompiledMoves
from assigner.search.greedy import greedy
from assigner.search.instance import (
    I32,
    AssignmentInstance,
    LoadBand,
    chosen_edges,
    evaluate,
    feasibility_issues,
)
from assigner.search.local_search import _State, descend
from tests.search.instances import random_instance


def _two_full_agents(fixed: bool = False) -> AssignmentInstance:
    """Two agents, each full with the item the other one takes more cheaply: no shift is
    possible (weight capacity), only the swap lowers the cost."""
    return AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([100, 10, 10, 100], dtype=np.int64),
        edge_weight=np.array([30, 30, 30, 30], dtype=np.int64),
        capacity=np.array([30, 30], dtype=np.int64),
        max_count=np.array([5, 5], dtype=np.int64),
        unassigned_penalty=np.array([1000, 1000], dtype=np.int64),
        fixed_agent=np.array([0, -1], dtype=np.int32) if fixed else None,
    )


def test_swap_alone_reaches_what_shifts_cannot() -> None:
    inst = _two_full_agents()
    start = np.array([0, 1], dtype=np.int32)
    shifted, moves = descend(inst, start, float("inf"), compiled=False)
    assert moves == 0 and evaluate(inst, shifted).total == 200
    swapped, moves = descend(inst, start, float("inf"))
    assert swapped.tolist() == [1, 0]
    assert moves == 1 and evaluate(inst, swapped).total == 20


def test_fixed_item_is_not_swapped() -> None:
    inst = _two_full_agents(fixed=True)
    start = np.array([0, 1], dtype=np.int32)
    vec, swaps = CompiledMoves(inst).one_pass("swap", start, float("inf"))
    assert swaps == 0 and vec.tolist() == [0, 1]


def test_item_under_a_group_rule_is_not_swapped() -> None:
    inst = dataclasses.replace(
        _two_full_agents(), same_agent_cliques=[np.array([0, 1], dtype=np.int32)]
    )
    vec, swaps = CompiledMoves(inst).one_pass(
        "swap", np.array([0, 1], dtype=np.int32), float("inf")
    )
    assert swaps == 0 and vec.tolist() == [0, 1]


def test_swap_prices_the_load_band() -> None:
    """The same two agents with the edge costs equal: only the load bands tell the swap apart,
    and the heavier item must go to the agent whose band starts higher."""
    inst = dataclasses.replace(
        _two_full_agents(),
        edge_cost=np.array([10, 10, 10, 10], dtype=np.int64),
        edge_weight=np.array([40, 40, 10, 10], dtype=np.int64),
        capacity=np.array([50, 50], dtype=np.int64),
        bands=[LoadBand(np.array([20, 45], dtype=np.int64), points=3, unit=5)],
    )
    start = np.array([0, 1], dtype=np.int32)  # agent 0 carries 40 against a threshold of 20
    before = evaluate(inst, start).total
    vec, swaps = CompiledMoves(inst).one_pass("swap", start, float("inf"))
    assert swaps == 1 and vec.tolist() == [1, 0]
    assert evaluate(inst, vec).total == before - 3 * 4  # four started units of 5 fewer


def test_ejection_reaches_what_shifts_and_swaps_cannot() -> None:
    """Item 0 would go to agent 1 far more cheaply, but agent 1 may hold one item only; its
    item 1 has no edge to agent 0 (no swap) and goes on to agent 2 at a small cost."""
    inst = AssignmentInstance(
        n_items=2,
        n_agents=3,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 1, 2], dtype=np.int32),
        edge_cost=np.array([100, 10, 10, 20], dtype=np.int64),
        edge_weight=np.array([5, 5, 5, 5], dtype=np.int64),
        capacity=np.array([50, 50, 50], dtype=np.int64),
        max_count=np.array([5, 1, 5], dtype=np.int64),
        unassigned_penalty=np.array([1000, 1000], dtype=np.int64),
    )
    start = np.array([0, 1], dtype=np.int32)
    passes = CompiledMoves(inst)
    for kind in ("shift", "swap"):
        assert passes.one_pass(kind, start, float("inf"))[1] == 0
    vec, moved = passes.one_pass("ejection", start, float("inf"))
    assert moved == 1 and vec.tolist() == [1, 2]
    assert evaluate(inst, vec).total == 30
    assert not feasibility_issues(inst, vec)


def _two_items_at_agent_0(max_count_1: int, quota_points: int) -> AssignmentInstance:
    return AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([50, 10, 50, 10], dtype=np.int64),
        edge_weight=np.array([5, 5, 5, 5], dtype=np.int64),
        capacity=np.array([50, 50], dtype=np.int64),
        max_count=np.array([5, max_count_1], dtype=np.int64),
        unassigned_penalty=np.array([1000, 1000], dtype=np.int64),
        quota_short=np.array([1, 0], dtype=np.int64),
        quota_points=quota_points,
    )


@pytest.mark.parametrize(
    ("max_count_1", "quota_points", "moved"),
    [(5, 0, 2), (1, 0, 1), (5, 100, 1)],
    ids=["free", "count-limit", "quota"],
)
def test_shift_pass_prices_quota_and_count(max_count_1: int, quota_points: int, moved: int) -> None:
    """Both items save 40 at agent 1.  Either agent 1's count limit or agent 0's quota (100
    points for the item it falls short) alone keeps the second one at agent 0."""
    inst = _two_items_at_agent_0(max_count_1, quota_points)
    start = np.array([0, 0], dtype=np.int32)
    vec, applied = CompiledMoves(inst).one_pass("shift", start, float("inf"))
    assert applied == moved
    assert int(np.sum(vec == 1)) == moved
    assert not feasibility_issues(inst, vec)


def test_unknown_kind_of_move_is_refused() -> None:
    inst = _two_full_agents()
    with pytest.raises(ValueError, match="unknown kind of move 'rotate'"):
        CompiledMoves(inst).one_pass("rotate", np.array([0, 1], dtype=np.int32), 0.0)


def _random_gap(seed: int, n_items: int = 14, n_agents: int = 4) -> AssignmentInstance:
    """Dense random instance with agent-dependent weights, load bands, count limits and a
    quota; no group rules, so that every item may swap."""
    rng = np.random.default_rng(seed)
    items = np.repeat(np.arange(n_items), n_agents).astype(np.int32)
    agents = np.tile(np.arange(n_agents), n_items).astype(np.int32)
    keep = rng.random(items.size) < 0.8
    return AssignmentInstance(
        n_items=n_items,
        n_agents=n_agents,
        edge_item=items[keep],
        edge_agent=agents[keep],
        edge_cost=rng.integers(0, 100, size=int(keep.sum())).astype(np.int64),
        edge_weight=rng.integers(5, 30, size=int(keep.sum())).astype(np.int64),
        capacity=rng.integers(60, 90, size=n_agents).astype(np.int64),
        max_count=np.full(n_agents, 6, dtype=np.int64),
        unassigned_penalty=np.full(n_items, 500, dtype=np.int64),
        bands=[LoadBand(rng.integers(20, 50, size=n_agents).astype(np.int64), 4, 10)],
        quota_short=np.ones(n_agents, dtype=np.int64),
        quota_points=30,
    )


def _best_shift_delta(inst: AssignmentInstance, vec: I32) -> int:
    """The best objective change of any feasible shift of an assigned item."""
    before = evaluate(inst, vec).total
    best = 0
    for e in range(inst.n_edges):
        i, b = int(inst.edge_item[e]), int(inst.edge_agent[e])
        if vec[i] < 0 or vec[i] == b:
            continue
        cand = vec.copy()
        cand[i] = b
        if not feasibility_issues(inst, cand):
            best = min(best, evaluate(inst, cand).total - before)
    return best


def _best_swap_delta(inst: AssignmentInstance, vec: I32) -> int:
    """The best objective change of any feasible swap, by evaluating every pair."""
    before = evaluate(inst, vec).total
    best = 0
    held = np.flatnonzero(vec >= 0)
    pairs = set(zip(inst.edge_item.tolist(), inst.edge_agent.tolist(), strict=True))
    for i, j in itertools.combinations(held.tolist(), 2):
        a, b = int(vec[i]), int(vec[j])
        if a == b or (i, b) not in pairs or (j, a) not in pairs:
            continue
        cand = vec.copy()
        cand[i], cand[j] = b, a
        if not feasibility_issues(inst, cand):
            best = min(best, evaluate(inst, cand).total - before)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_passes_end_where_no_improving_swap_is_left(seed: int) -> None:
    inst = _random_gap(seed)
    vec = greedy(inst)
    assert not feasibility_issues(inst, vec)
    swapper = CompiledMoves(inst)
    total = evaluate(inst, vec).total
    for _ in range(50):
        vec, swaps = swapper.one_pass("swap", vec, float("inf"))
        assert not feasibility_issues(inst, vec)
        after = evaluate(inst, vec).total
        assert after <= total - swaps  # each swap lowers the objective by at least one point
        total = after
        if swaps == 0:
            break
    assert swaps == 0
    assert _best_swap_delta(inst, vec) == 0


@pytest.mark.parametrize("seed", range(8))
def test_improve_ends_in_a_local_optimum_of_shifts_and_swaps(seed: int) -> None:
    inst = _random_gap(seed, n_items=18)
    vec = greedy(inst)
    before = evaluate(inst, vec).total
    vec, moves = CompiledMoves(inst).improve(vec, float("inf"))
    assert not feasibility_issues(inst, vec)
    assert evaluate(inst, vec).total <= before - moves
    assert _best_shift_delta(inst, vec) == 0
    assert _best_swap_delta(inst, vec) == 0


def test_random_draws_leave_swaps_to_find() -> None:
    """The draws above are not all swap-free from the start (else the test could not fail)."""
    found = 0
    for seed in range(8):
        inst = _random_gap(seed)
        found += CompiledMoves(inst).one_pass("swap", greedy(inst), float("inf"))[1]
    assert found > 0


def test_warm_up_compiles_every_kernel() -> None:
    from assigner.search import compiled_moves, flow_relaxation
    from assigner.search.warm_up import warm_up

    warm_up()
    kernels = [
        compiled_moves._shift_pass,
        compiled_moves._swap_pass,
        compiled_moves._ejection_pass,
        compiled_moves._ejection_estimates,
        flow_relaxation._row_minima,
        flow_relaxation._mark_cheapest,
    ]
    assert all(kernel.signatures for kernel in kernels)


@pytest.mark.parametrize("seed", range(12))
def test_shift_pricing_matches_the_objective_on_every_edge(seed: int) -> None:
    """Tests the compiled pricing of every shift move that the shift rounds start from: an
    edge is marked improving exactly when moving its item there keeps capacity, count and the
    fixed items and lowers the objective (group rules aside: ``try_move`` checks those), and
    its delta is then the objective's change."""
    inst = random_instance(seed, n_items=8, n_agents=3)
    if seed % 2:
        fixed = np.full(inst.n_items, -1, dtype=np.int32)
        with_edge = np.flatnonzero(np.diff(inst.item_offsets) > 0)
        fixed[with_edge[0]] = inst.edge_agent[inst.edges_of(int(with_edge[0]))][0]
        inst = dataclasses.replace(inst, fixed_agent=fixed)
    vec = greedy(inst)
    state = _State(inst, vec.copy())
    delta, ok = state.all_deltas()
    before = evaluate(inst, vec).total
    added = np.bincount(
        inst.edge_agent[chosen_edges(inst, vec)[vec >= 0]],
        weights=inst.edge_weight[chosen_edges(inst, vec)[vec >= 0]],
        minlength=inst.n_agents,
    )
    count = np.bincount(vec[vec >= 0], minlength=inst.n_agents)
    for e in range(inst.n_edges):
        i, b = int(inst.edge_item[e]), int(inst.edge_agent[e])
        moved = vec.copy()
        moved[i] = b
        change = evaluate(inst, moved).total - before
        fits = (
            vec[i] != b
            and added[b] + inst.edge_weight[e] <= inst.capacity[b]
            and count[b] + 1 <= inst.max_count[b]
            and (inst.fixed_agent is None or inst.fixed_agent[i] < 0)
        )
        assert ok[e] == (fits and change < 0), (seed, e)
        if ok[e]:
            assert delta[e] == change


def _worse_swap(inst: AssignmentInstance, vec: I32) -> I32:
    """``vec`` with the first feasible swap that raises the objective applied: a move made
    between two calls of ``improve`` (by the shift rounds or an LNS step, say)."""
    before = evaluate(inst, vec).total
    pairs = set(zip(inst.edge_item.tolist(), inst.edge_agent.tolist(), strict=True))
    for i, j in itertools.combinations(np.flatnonzero(vec >= 0).tolist(), 2):
        a, b = int(vec[i]), int(vec[j])
        if a == b or (i, b) not in pairs or (j, a) not in pairs:
            continue
        cand = vec.copy()
        cand[i], cand[j] = b, a
        if not feasibility_issues(inst, cand) and evaluate(inst, cand).total > before:
            return cand
    raise AssertionError("no worsening swap in this draw")


@pytest.mark.parametrize("seed", range(8))
def test_improve_again_after_outside_moves_ends_in_a_local_optimum(seed: int) -> None:
    """A second call reuses the first one's record of which agents changed: the agents the
    moves in between touched must be priced again, or swaps through them would be missed."""
    inst = _random_gap(seed, n_items=18)
    passes = CompiledMoves(inst)
    vec, _ = passes.improve(greedy(inst), float("inf"))
    moved = _worse_swap(inst, vec)
    vec, _ = passes.improve(moved, float("inf"))
    assert not feasibility_issues(inst, vec)
    assert _best_shift_delta(inst, vec) == 0
    assert _best_swap_delta(inst, vec) == 0


def test_an_unchanged_plan_leaves_no_agent_to_price_again() -> None:
    """Once a call has converged, every agent has been walked after its last change, so the
    next swap and ejection passes skip every pair; a pass then changes nothing and leaves
    the record so."""
    inst = _random_gap(3, n_items=18)
    passes = CompiledMoves(inst)
    vec, moves = passes.improve(greedy(inst), float("inf"))
    assert moves > 0
    plan = passes._plan(vec)
    assert (plan.swap_walked >= 0).all()
    assert (plan.changed_at < plan.swap_walked).all()
    assert passes._pass("swap", plan, float("inf")) == 0
    assert passes._pass("ejection", plan, float("inf")) == 0
    assert (plan.changed_at < plan.swap_walked).all()
