"""The count prices of the flow on case counts alone, and the bounds over a whole instance that
use them (``background_bound.flow_and_knapsack_bounds``)."""

from __future__ import annotations

import numpy as np
import pytest

from assigner.search.background_bound import ForkedBound, flow_and_knapsack_bounds
from assigner.search.count_flow_prices import count_flow_prices
from assigner.search.flow_relaxation import flow_prices, flow_relaxation, item_weights
from assigner.search.instance import MUST_ASSIGN, AssignmentInstance
from tests.search.test_knapsack_bound import spy_on_item_prices
from tests.search.test_search_exact import brute_force


def _one_seat_at_the_cheap_lawyer(penalty: int = MUST_ASSIGN) -> AssignmentInstance:
    """Two cases of one hour; lawyer 0 costs nothing for either but takes one case more (count
    limit 1, hours to spare); lawyer 1 costs 10 for each and takes both.  Only the count limit
    keeps the second case from lawyer 0: the optimum is 10."""
    return AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([0, 10, 0, 10], dtype=np.int64),
        edge_weight=np.ones(4, dtype=np.int64),
        capacity=np.full(2, 100, dtype=np.int64),
        max_count=np.array([1, 2], dtype=np.int64),
        unassigned_penalty=np.full(2, penalty, dtype=np.int64),
    )


def test_a_binding_count_limit_is_priced_at_what_one_more_case_would_save() -> None:
    """Tests that the lawyer whose count limit binds is priced at the 10 points one more case
    there would save, and the lawyer with room at zero."""
    prices = count_flow_prices(_one_seat_at_the_cheap_lawyer())
    assert prices is not None
    assert prices.tolist() == [10.0, 0.0]


def test_a_penalty_below_the_saving_caps_the_price() -> None:
    """Tests that where leaving a case out costs 4, below the 10 that lawyer 1 costs, the
    second case is left out in the flow and lawyer 0's count is worth 4."""
    prices = count_flow_prices(_one_seat_at_the_cheap_lawyer(penalty=4))
    assert prices is not None
    assert prices.tolist() == [4.0, 0.0]


def test_no_room_for_a_case_that_must_be_assigned_gives_no_prices() -> None:
    """Tests that a case that must be assigned and has no room even by counts gives None."""
    inst = _one_seat_at_the_cheap_lawyer()
    inst.max_count[:] = [1, 0]
    assert count_flow_prices(inst) is None


def test_the_count_prices_lift_the_bound_to_the_optimum_where_counts_bind() -> None:
    """Tests that the hours flow, which ignores count limits, bounds 0 here, and that the
    knapsack bound at the count prices reaches the optimum, 10, where the flow's prices alone
    give 0; the forked process sends every bound and ``result`` keeps the highest."""
    inst = _one_seat_at_the_cheap_lawyer()
    flow = flow_relaxation(inst, item_weights(inst))
    assert flow is not None and flow.bound == 0
    weights = item_weights(inst)
    assert weights is not None
    bounds = list(flow_and_knapsack_bounds(inst, weights))
    # The flow; the count prices with the prices per hour of the flow that pays them; the
    # plain flow's prices per hour with the count prices, and without them.
    assert bounds == [0.0, 10.0, 10.0, 0.0]
    assert brute_force(inst) == 10
    with ForkedBound(lambda: flow_and_knapsack_bounds(inst, weights), "test-bounds") as child:
        assert child.result(None) == 10.0
        assert not child.late


def test_the_prices_per_hour_pay_the_count_prices_first() -> None:
    """Tests ``flow_prices`` where hours bind: lawyer 0 has one hour for two one-hour cases it
    would take at no cost (lawyer 1 costs 10), so an hour there is worth 10; with a count price
    of 3 on lawyer 0 paid on its arcs, the hour is worth the 7 left."""
    inst = _one_seat_at_the_cheap_lawyer()
    inst.capacity[:] = [1, 100]
    inst.max_count[:] = [10, 10]
    weights = item_weights(inst)
    assert weights is not None
    free = flow_prices(inst, weights, np.zeros(2))
    paying = flow_prices(inst, weights, np.array([3.0, 0.0]))
    assert free is not None and paying is not None
    assert free.per_weight.tolist() == [10.0, 0.0]
    assert paying.per_weight.tolist() == [7.0, 0.0]
    # The flow's solution: each case sends all of its hour somewhere (one hour fits at 0).
    for priced in (free, paying):
        assert priced.x.shape == (inst.n_edges,)
        assert np.bincount(inst.edge_item, weights=priced.x).tolist() == [1.0, 1.0]


def test_the_paying_flows_solution_prices_its_whole_cases_for_the_knapsack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that ``flow_and_knapsack_bounds`` hands the knapsack bound, at the prices per hour
    that pay the count prices, that flow's solution (so the cases it holds whole are priced
    within their range), and at the plain flow's prices none (its solution is not at those
    count prices)."""
    inst = _one_seat_at_the_cheap_lawyer()
    weights = item_weights(inst)
    assert weights is not None
    given = spy_on_item_prices(monkeypatch)
    assert list(flow_and_knapsack_bounds(inst, weights)) == [0.0, 10.0, 10.0, 0.0]
    assert len(given) == 3
    assert given[0] is not None and given[0].shape == (inst.n_edges,)
    assert given[1] is None and given[2] is None
