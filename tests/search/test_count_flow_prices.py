"""The count prices of the flow on case counts alone, and the bounds over a whole instance that
use them (``background_bound.flow_and_knapsack_bounds``)."""

from __future__ import annotations

import numpy as np
import pytest

from assigner.search.background_bound import (
    ALTERNATING_ROUNDS,
    ForkedBound,
    flow_and_knapsack_bounds,
)
from assigner.search.count_flow_prices import count_flow_prices
from assigner.search.flow_relaxation import flow_prices, flow_relaxation, item_weights
from assigner.search.instance import MUST_ASSIGN, AssignmentInstance
from tests.search.instances import random_instance
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
    # The flow; the count prices with the prices per hour of the flow that pays them; since
    # that beats the flow, two rounds of count prices and prices per hour set from each
    # other; the plain flow's prices per hour with the count prices, and without them.
    assert len(bounds) == 2 + 2 * ALTERNATING_ROUNDS + 2
    assert bounds[:2] == [0.0, 10.0] and bounds[-2:] == [10.0, 0.0]
    assert max(bounds) == 10.0
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
    assert free.tolist() == [10.0, 0.0]
    assert paying.tolist() == [7.0, 0.0]


def test_count_prices_go_with_the_prices_per_hour_paid_on_the_edges() -> None:
    """Tests ``count_flow_prices`` with prices per hour: where lawyer 0's hour costs 3, a case
    there costs 3 and one more case saves 10 - 3 = 7; at 12 an hour lawyer 0 is no cheaper
    than lawyer 1 and its count is worth nothing."""
    inst = _one_seat_at_the_cheap_lawyer()
    assert count_flow_prices(inst, per_weight=np.array([3.0, 0.0])) == pytest.approx([7.0, 0.0])
    assert count_flow_prices(inst, per_weight=np.array([12.0, 0.0])) == pytest.approx([0.0, 0.0])


def test_alternating_count_prices_and_prices_per_hour_raise_the_bound() -> None:
    """Tests the rounds of count prices and prices per hour set from each other on an
    instance where they pay (8 cases, 3 lawyers): the first pair's knapsack bound is 1,247;
    the rounds reach 1,293, above it and above the plain flow's prices (1,255 at most), and
    every value stays at most the optimum, 1,385."""
    inst = random_instance(13, n_items=8, n_agents=3)
    weights = item_weights(inst)
    assert weights is not None
    bounds = list(flow_and_knapsack_bounds(inst, weights))
    flow, first = bounds[0], bounds[1]
    rounds, fallback = bounds[2:-2], bounds[-2:]
    assert first > flow
    assert len(rounds) == 2 * ALTERNATING_ROUNDS
    assert max(rounds) == 1293.0 and first == 1247.0 and max(fallback) == 1255.0
    optimum = brute_force(inst)
    assert optimum == 1385 and max(bounds) <= optimum


def test_no_alternating_rounds_where_the_count_prices_do_not_beat_the_flow() -> None:
    """Tests that where the first pair's knapsack bound is below the flow's (8 cases, 3
    lawyers: 979 against 1,302) no rounds run: the flow, that value, the two at the plain
    flow's prices per hour."""
    inst = random_instance(3, n_items=8, n_agents=3)
    weights = item_weights(inst)
    assert weights is not None
    bounds = list(flow_and_knapsack_bounds(inst, weights))
    assert bounds == [1302.0, 979.0, 981.0, 1470.0]
    optimum = brute_force(inst)
    assert optimum is not None and max(bounds) <= optimum
