"""The LP's starting basis from a relaxation solution (``lp_basis.py``) and the pricing LP
started from the flow relaxation's basis."""

from __future__ import annotations

import dataclasses

import highspy
import numpy as np
import pytest

from assigner.search import pricing
from assigner.search.flow_relaxation import flow_relaxation
from assigner.search.instance import AssignmentInstance
from assigner.search.knapsack_bound import KnapsackRelaxation, item_duals_for_knapsack
from assigner.search.lp_basis import basis_from_solution
from assigner.search.lp_bound import (
    _highs,
    build_highs_model,
    row_layout,
    solve_lp,
)
from assigner.search.pricing import solve_lp_by_pricing
from tests.search.instances import random_instance


def _without_groups(seed: int, n_items: int, n_agents: int) -> AssignmentInstance:
    """A random instance without group rules (the pricing LP leaves them out), with room for
    every item's hours but not for as many items (the flow, which leaves counts out, breaks
    those limits)."""
    inst = random_instance(seed, n_items=n_items, n_agents=n_agents)
    return dataclasses.replace(
        inst,
        capacity=np.full(n_agents, 40 * n_items // n_agents, dtype=np.int64),
        max_count=np.arange(n_agents, dtype=np.int64) % 3 + n_items // (2 * n_agents),
        same_agent_cliques=[],
        same_group_cliques=[],
        opposing_sides=[],
    )


def _solve_from(inst: AssignmentInstance, x: np.ndarray) -> tuple[highspy.Highs, int, float]:
    """HiGHS on the LP of ``inst`` from the basis of ``x``; the number of basic variables in
    that basis; the LP's objective offset."""
    lp, offset = build_highs_model(inst, integer=False, group_rules=False)
    basis = basis_from_solution(inst, lp, row_layout(inst), x)
    basic = [s == highspy.HighsBasisStatus.kBasic for s in basis.col_status + basis.row_status]
    h = _highs(lp, 20, 1, 0)
    assert h.setBasis(basis) == highspy.HighsStatus.kOk
    h.run()
    return h, int(sum(basic)), offset


def test_the_flows_basis_is_one_basic_per_row_and_solves_to_the_lp() -> None:
    """Tests that the basis of the flow's solution holds one basic variable per row, that the
    flow breaks count limits (so the basis is not already optimal), and that dual simplex
    from it ends at the LP's optimum, with fewer iterations than from the slack basis."""
    inst = _without_groups(5, n_items=200, n_agents=12)
    flow = flow_relaxation(inst)
    assert flow is not None
    counts = np.bincount(inst.edge_agent, weights=flow.x, minlength=inst.n_agents)
    assert np.any(counts > inst.max_count + 1e-6)
    h, basic, offset = _solve_from(inst, flow.x)
    assert basic == h.getNumRow()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    cold_lp, _offset = build_highs_model(inst, integer=False, group_rules=False)
    cold = _highs(cold_lp, 20, 1, 0)
    cold.setOptionValue("presolve", "off")
    cold.run()
    warm_value = h.getInfo().objective_function_value
    assert warm_value == pytest.approx(cold.getInfo().objective_function_value, abs=1e-6)
    assert h.getInfo().simplex_iteration_count < cold.getInfo().simplex_iteration_count
    assert np.ceil(warm_value + offset - 1e-6) == solve_lp(inst).bound


@pytest.mark.parametrize("seed", range(4))
def test_any_values_give_a_basis_that_solves_to_the_lp(seed: int) -> None:
    """Tests values that are no relaxation's solution (random shares, too many positive edges
    for one basis, or none at all): the basis still has one basic variable per row, and HiGHS
    solves from it to the LP's optimum."""
    inst = _without_groups(seed, n_items=40, n_agents=6)
    rng = np.random.default_rng(seed)
    x = rng.random(inst.n_edges) * (seed % 2)
    h, basic, offset = _solve_from(inst, x)
    assert basic == h.getNumRow()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    value = h.getInfo().objective_function_value + offset
    assert np.ceil(value - 1e-6) == solve_lp(inst).bound


def test_pricing_from_the_flows_basis_reaches_the_lp_in_fewer_iterations() -> None:
    """Tests that the LP by pricing started from the flow's basis ends at the full LP's value,
    as it does cold, with fewer simplex iterations over all its solves."""
    inst = _without_groups(7, n_items=400, n_agents=20)
    flow = flow_relaxation(inst)
    assert flow is not None
    cold = solve_lp_by_pricing(inst, 30, core_per_item=2)
    warm = solve_lp_by_pricing(inst, 30, core_per_item=2, start_x=flow.x)
    assert cold.converged and warm.converged
    assert warm.bound == cold.bound == solve_lp(inst).bound
    assert 0 < warm.iterations < cold.iterations


def test_a_load_at_a_threshold_takes_a_tight_rows_slack_into_the_basis() -> None:
    """Tests the other side: with no edge used and two agents' loads exactly at their band
    threshold, neither the band rows nor their excess columns are basic by the values, so the
    slacks of tight rows fill the basis; it still solves to the LP's optimum."""
    inst = _without_groups(2, n_items=40, n_agents=6)
    band = inst.bands[0]
    base = inst.base().copy()
    base[:2] = band.threshold[:2]
    inst = dataclasses.replace(inst, base_load=base)
    h, basic, offset = _solve_from(inst, np.zeros(inst.n_edges))
    assert basic == h.getNumRow()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    value = h.getInfo().objective_function_value + offset
    assert np.ceil(value - 1e-6) == solve_lp(inst).bound


@pytest.mark.parametrize("seed", range(3))
def test_item_duals_for_the_knapsack_stay_optimal_duals(seed: int) -> None:
    """Tests ``item_duals_for_knapsack`` on the LP's own solution: the edges below their upper
    bound keep non-negative reduced costs, the edges held whole non-positive ones (so the
    duals stay feasible, and optimal), an optional item's dual stays at most zero, and some
    item held whole is moved."""
    inst = _without_groups(seed, n_items=60, n_agents=8)
    lp, _offset = build_highs_model(inst, integer=False, group_rules=False)
    h = _highs(lp, 20, 1, 0)
    h.run()
    solution = h.getSolution()
    y = np.asarray(solution.row_dual)[: inst.n_items]
    reduced = np.asarray(solution.col_dual)[: inst.n_edges]
    x = np.asarray(solution.col_value)[: inst.n_edges]
    moved = item_duals_for_knapsack(inst, y, reduced, x) - y
    after = reduced - moved[inst.edge_item]
    whole = x >= 1 - 1e-9
    assert np.all(after[~whole] >= -1e-6)
    assert np.all(after[whole] <= 1e-6)
    optional = inst.unassigned_penalty >= 0
    assert np.all((y + moved)[optional] <= 1e-9)
    assert np.abs(moved).max() > 1.0


def test_item_duals_moved_in_their_range_raise_the_knapsack_bounds_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that the LP by pricing, from the flow's basis and from cold, hands the knapsack
    bound item prices worth more with each item's dual moved within its range than as simplex
    left them (on this instance those are worth no more than the LP bound)."""
    inst = _without_groups(7, n_items=400, n_agents=20)
    flow = flow_relaxation(inst)
    assert flow is not None
    relax = KnapsackRelaxation(inst)

    def first_values() -> list[float]:
        values = []
        for start_x in (None, flow.x):
            priced = solve_lp_by_pricing(inst, 30, core_per_item=2, start_x=start_x)
            assert priced.converged and priced.prices is not None
            values.append(relax.evaluate(relax.project(priced.prices))[0])
        return values

    moved = first_values()
    monkeypatch.setattr(pricing, "item_duals_for_knapsack", lambda _inst, y, _rc, _x: y)
    as_they_came = first_values()
    assert min(moved) >= max(as_they_came) + 5
    assert min(moved) >= solve_lp(inst).bound


def test_start_values_of_the_wrong_length_are_refused() -> None:
    """Tests that ``start_x`` without one value per edge is refused with an error that says
    so, before any LP is built."""
    inst = _without_groups(1, n_items=20, n_agents=4)
    with pytest.raises(ValueError, match="one value per edge"):
        solve_lp_by_pricing(inst, 5, start_x=np.zeros(inst.n_edges + 1))
