"""Placing the waiting items all at once (``lns.place_waiting``): what its neighbourhood
frees, and that it makes room that takes moves in step with each other."""

from __future__ import annotations

import time

import numpy as np
import pytest

from assigner.search import lns, lp_bound
from assigner.search.cpsat import SearchParams
from assigner.search.greedy import greedy
from assigner.search.instance import I32, AssignmentInstance, evaluate, feasibility_issues
from assigner.search.lns import Neighbourhoods, place_waiting
from assigner.search.lp_bound import MipResult
from tests.search.instances import random_instance


def _chain(n_links: int) -> tuple[AssignmentInstance, I32]:
    """Lawyers 0..n_links, each taking one case.  Case ``k`` (k < n_links) sits with lawyer
    ``k`` and may move on to lawyer ``k + 1`` (10 points); the last case has only lawyer 0 and
    waits.  Placing it takes every case of the chain moving on at once."""
    n_agents = n_links + 1
    items, agents, costs = [], [], []
    for k in range(n_links):
        items += [k, k]
        agents += [k, k + 1]
        costs += [0, 10]
    items.append(n_links)
    agents.append(0)
    costs.append(0)
    inst = AssignmentInstance(
        n_items=n_links + 1,
        n_agents=n_agents,
        edge_item=np.array(items, dtype=np.int32),
        edge_agent=np.array(agents, dtype=np.int32),
        edge_cost=np.array(costs, dtype=np.int64),
        edge_weight=np.ones(len(items), dtype=np.int64),
        capacity=np.full(n_agents, 100, dtype=np.int64),
        max_count=np.ones(n_agents, dtype=np.int64),
        unassigned_penalty=np.full(n_links + 1, 1_000, dtype=np.int64),
    )
    plan = np.arange(n_links + 1, dtype=np.int32)
    plan[n_links] = -1
    return inst, plan


def test_the_first_ring_frees_the_waiting_items_and_what_their_lawyers_hold() -> None:
    """Tests that without a second ring the neighbourhood is the waiting items and every case
    held by a lawyer one of them could go to, and None once nothing waits."""
    inst = random_instance(3, n_items=60, n_agents=12)
    plan = greedy(inst)
    hoods = Neighbourhoods(inst, None, 0)
    waiting = np.flatnonzero((plan < 0) & (np.diff(inst.item_offsets) > 0))
    assert waiting.size  # this instance leaves cases out
    ring = set(inst.edge_agent[np.isin(inst.edge_item, waiting)].tolist())
    free = hoods.around_all_waiting(0, plan)
    assert free is not None
    expected = set(waiting.tolist()) | set(np.flatnonzero(np.isin(plan, list(ring))).tolist())
    assert set(free.tolist()) == expected
    placed = plan.copy()
    placed[waiting] = inst.edge_agent[inst.item_offsets[waiting]]  # rules aside: none waits
    assert hoods.around_all_waiting(0, placed) is None


def test_the_second_ring_adds_the_lawyers_the_held_cases_could_move_to() -> None:
    """Tests that one lawyer of the second ring adds, on the chain, the next lawyer's case."""
    inst, plan = _chain(3)
    hoods = Neighbourhoods(inst, None, 0)
    first = hoods.around_all_waiting(0, plan)
    second = hoods.around_all_waiting(1, plan)
    assert first is not None and second is not None
    assert set(first.tolist()) == {0, 3}  # the waiting case and lawyer 0's
    assert set(second.tolist()) == {0, 1, 3}  # and lawyer 1's, where case 0 could go


def test_place_waiting_widens_the_ring_until_the_chain_moves_at_once() -> None:
    """Tests that a waiting case whose only lawyer is full is placed by moving every case of a
    chain of three on at once: the first ring alone cannot, so the ring widens."""
    inst, plan = _chain(3)
    assert evaluate(inst, plan).total == 1_000
    best, obj, rounds = place_waiting(
        inst, plan, SearchParams(10.0, 1, 0, True), time.monotonic() + 60, step_time_s=5.0
    )
    assert best.tolist() == [1, 2, 3, 0]
    assert obj == evaluate(inst, best).total == 30
    assert feasibility_issues(inst, best) == []
    assert rounds >= 2


def test_place_waiting_stops_at_the_size_limit_and_never_worsens() -> None:
    """Tests that where no waiting item's first ring fits in the size limit no subproblem is
    solved (the plan comes back unchanged after no round), and that on random instances the
    result breaks no rule and is never worse than its start."""
    inst, plan = _chain(3)
    best, obj, rounds = place_waiting(
        inst, plan, SearchParams(10.0, 1, 0, True), time.monotonic() + 60, max_items=1
    )
    assert rounds == 0 and best.tolist() == plan.tolist() and obj == 1_000
    for seed in range(4):
        inst = random_instance(seed, n_items=40, n_agents=8)
        start = greedy(inst)
        best, obj, _rounds = place_waiting(
            inst, start, SearchParams(10.0, 1, seed, True), time.monotonic() + 60, step_time_s=1.0
        )
        assert feasibility_issues(inst, best) == []
        assert obj == evaluate(inst, best).total <= evaluate(inst, start).total


def _chain_beside_a_full_office() -> tuple[AssignmentInstance, I32]:
    """The chain of three (``_chain``: cases 0-3, lawyers 0-3, case 3 waiting) beside lawyer 4,
    who holds cases 4-13 (ten, its limit) and is the only lawyer of case 14, which waits at a
    higher penalty (5,000).  Case 14's first ring frees eleven cases."""
    chain, chain_plan = _chain(3)
    items = [*chain.edge_item.tolist(), *range(4, 15)]
    return (
        AssignmentInstance(
            n_items=15,
            n_agents=5,
            edge_item=np.array(items, dtype=np.int32),
            edge_agent=np.array([*chain.edge_agent.tolist(), *[4] * 11], dtype=np.int32),
            edge_cost=np.array([*chain.edge_cost.tolist(), *[0] * 11], dtype=np.int64),
            edge_weight=np.ones(len(items), dtype=np.int64),
            capacity=np.full(5, 100, dtype=np.int64),
            max_count=np.array([1, 1, 1, 1, 10], dtype=np.int64),
            unassigned_penalty=np.array([1_000] * 14 + [5_000], dtype=np.int64),
        ),
        np.array([*chain_plan.tolist(), *[4] * 10, -1], dtype=np.int32),
    )


def test_a_waiting_case_whose_ring_does_not_fit_leaves_room_for_the_others() -> None:
    """Tests that with a size limit the waiting cases whose first ring would not fit stay out
    of the subproblem instead of stopping the placement: case 14 (the costlier, first in line;
    eleven cases) is left out, case 3's chain (four cases) still moves on at once."""
    inst, plan = _chain_beside_a_full_office()
    assert feasibility_issues(inst, plan) == []
    hoods = Neighbourhoods(inst, None, 0)
    whole = hoods.around_all_waiting(0, plan)
    assert whole is not None and set(whole.tolist()) == {0, 3, *range(4, 15)}
    capped = hoods.around_all_waiting(0, plan, max_items=4)
    assert capped is not None and set(capped.tolist()) == {0, 3}
    assert hoods.around_all_waiting(0, plan, max_items=1) is None  # no ring fits
    best, obj, rounds = place_waiting(
        inst,
        plan,
        SearchParams(10.0, 1, 0, True),
        time.monotonic() + 60,
        step_time_s=5.0,
        max_items=4,
    )
    assert best[:4].tolist() == [1, 2, 3, 0] and best[14] == -1
    assert obj == evaluate(inst, best).total == 30 + 5_000
    assert feasibility_issues(inst, best) == []
    assert rounds >= 2


def test_edges_of_items_lists_each_items_edges_in_turn() -> None:
    """Tests that the vectorised edge rows of a set of items are the rows of ``edges_of`` for
    each item in the order given, items without edges and repeats included."""
    inst = random_instance(7, n_items=30, n_agents=5)
    counts = np.diff(inst.item_offsets)
    assert (counts == 0).any()  # this instance has items without edges
    items = np.array([5, 0, 29, 5, *np.flatnonzero(counts == 0)[:2]], dtype=np.int64)
    expected = [r for i in items for r in range(inst.item_offsets[i], inst.item_offsets[i + 1])]
    assert inst.edges_of_items(items).tolist() == expected
    assert inst.edges_of_items(np.zeros(0, dtype=np.int64)).tolist() == []


def _chain_with_a_cheaper_seat_in_the_ring() -> tuple[AssignmentInstance, I32]:
    """The chain of three in hours (cases 0-2 of 5 hours at lawyers 0-2, each able to move on
    to the next lawyer for 10 points; lawyer 3 empty; case 3, 5 hours, waits) with lawyer 4
    as case 3's second lawyer.  Lawyer 0 (6 hours) also holds case 4 (1 hour, 10 points
    there, 0 at lawyer 4); lawyer 4 (6 hours) holds case 5 (5 hours).  The first ring (lawyers
    0 and 4) can move case 4 to lawyer 4, which gains 10 and leaves the same subproblem;
    placing case 3 needs the chain (case 5 costs more to leave out than case 3)."""
    items = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    agents = [0, 1, 1, 2, 2, 3, 0, 4, 0, 4, 4]
    costs = [0, 10, 0, 10, 0, 10, 0, 0, 10, 0, 0]
    weights = [5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 5]
    inst = AssignmentInstance(
        n_items=6,
        n_agents=5,
        edge_item=np.array(items, dtype=np.int32),
        edge_agent=np.array(agents, dtype=np.int32),
        edge_cost=np.array(costs, dtype=np.int64),
        edge_weight=np.array(weights, dtype=np.int64),
        capacity=np.array([6, 5, 5, 5, 6], dtype=np.int64),
        max_count=np.full(5, 10, dtype=np.int64),
        unassigned_penalty=np.array([1_000] * 5 + [5_000], dtype=np.int64),
    )
    return inst, np.array([0, 1, 2, -1, 0, 4], dtype=np.int32)


def test_a_subproblem_solved_to_optimality_is_not_solved_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that after a round whose gain was a move within the rings (case 4 to lawyer 4,
    solved to optimality, case 3 still waiting) the next round widens the rings instead of
    solving the same subproblem again, and that the wider one places case 3 by the chain."""
    inst, plan = _chain_with_a_cheaper_seat_in_the_ring()
    assert feasibility_issues(inst, plan) == []
    assert evaluate(inst, plan).total == 1_010
    solved: list[tuple[list[int], str]] = []

    def recording(sub: AssignmentInstance, *args: object, **kwargs: object) -> MipResult:
        result = lp_bound.solve_mip(sub, *args, **kwargs)  # type: ignore[arg-type]
        solved.append((sorted(np.unique(sub.edge_item).tolist()), result.status))
        return result

    monkeypatch.setattr(lns, "solve_mip", recording)
    best, obj, rounds = place_waiting(
        inst, plan, SearchParams(10.0, 1, 0, True), time.monotonic() + 60, step_time_s=5.0
    )
    assert best.tolist() == [1, 2, 3, 0, 4, 4]
    assert obj == evaluate(inst, best).total == 30
    assert feasibility_issues(inst, best) == []
    assert solved[0][1] == "Optimal"
    assert rounds == len(solved) == 2  # the first ring, then the wider one
    assert len(solved[1][0]) > len(solved[0][0])
