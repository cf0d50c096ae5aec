"""Tests that on small states the rebalance optimum under a move budget equals brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from assigner.domain import CurrentAssignment, Policy, Problem, Weights, default_catalogue
from assigner.engine import prepare
from assigner.rebalance import rebalance
from assigner.search.cpsat import SearchParams
from assigner.search.instance import evaluate, feasibility_issues
from tests.factory import make_case, make_lawyer, make_problem

PARAMS = SearchParams(time_limit_s=5.0, workers=1, seed=0)


def small_state(seed: int) -> Problem:
    """Three lawyers; five cases, two per lawyer at most, each client with a random prior
    lawyer (continuity 300 points) and moves cheap (stability 100), so several moves pay; one
    backlog case; capacities random but holding the current cases (the state is valid)."""
    rng = np.random.default_rng(seed)
    catalogue = default_catalogue()
    types = ["felony_low", "dui_low", "misdemeanour_high", "felony_low", "dui_low", "felony_mid"]
    holders = [f"L{(k + seed) % 3}" for k in range(5)]
    held = {f"L{k}": 0.0 for k in range(3)}
    for k, holder in enumerate(holders):
        held[holder] += catalogue.case_types[types[k]].workload_hours
    lawyers = []
    for k in range(3):
        load = float(rng.integers(0, 60))
        lawyers.append(
            make_lawyer(
                f"L{k}",
                firm_id="F1" if k < 2 else "F2",
                capacity_hours=load + held[f"L{k}"] + float(rng.integers(0, 70)),
                current_load_hours=load,
                max_open_cases=int(rng.integers(4, 7)),
                current_open_cases=2,
            )
        )
    cases = []
    for k, case_type in enumerate(types):
        extra: dict[str, object] = {"prior_lawyer_id": f"L{int(rng.integers(3))}"}
        if k < 5:
            extra["current_assignment"] = CurrentAssignment(
                lawyer_id=holders[k], started=bool(k == 4 and seed % 2 == 0)
            )
        cases.append(make_case(f"C{k}", case_type=case_type, **extra))
    policy = Policy(weights=Weights(stability_points=100))
    return make_problem(lawyers=lawyers, cases=cases, policy=policy)


def brute_force(problem: Problem, max_moves: int | None) -> int:
    """The optimum over every vector within the budget in which no case whose lawyer is still
    eligible is left open (these states are valid, so the hard rules force no case off)."""
    prepared = prepare(problem)
    inst, current = prepared.instance, prepared.arrays.current_lawyer
    options = []
    for i in range(inst.n_items):
        agents = inst.edge_agent[inst.edges_of(i)].tolist()
        options.append(agents if current[i] in agents else [-1, *agents])
    best: int | None = None
    for combo in itertools.product(*options):
        vec = np.array(combo, dtype=np.int32)
        moves = int(np.sum((current >= 0) & (vec != current)))
        if max_moves is not None and moves > max_moves:
            continue
        if feasibility_issues(inst, vec):
            continue
        total = evaluate(inst, vec).total
        best = total if best is None or total < best else best
    assert best is not None
    return best


def test_budget_of_one_binds_and_matches_brute_force() -> None:
    """Tests that with a budget of one move the plan is the brute-force optimum under that
    budget, which is worse than the optimum without a budget (the budget binds)."""
    problem = small_state(0)
    unlimited = brute_force(problem, None)
    with_one = brute_force(problem, 1)
    assert with_one > unlimited
    plan = rebalance(problem, 1, None, PARAMS)
    assert plan.budget.moves_used <= 1
    assert plan.after.total_points == with_one
    assert plan.plan.solver.status.value == "optimal"


@pytest.mark.parametrize(("seed", "max_moves"), [(s, m) for s in range(1, 5) for m in (0, 1, 2)])
def test_small_states_match_brute_force(seed: int, max_moves: int) -> None:
    """Tests that the rebalance objective equals the brute-force optimum under the budget."""
    problem = small_state(seed)
    plan = rebalance(problem, max_moves, None, PARAMS)
    assert plan.budget.moves_required == 0
    assert plan.after.total_points == brute_force(problem, max_moves)
