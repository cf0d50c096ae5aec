"""Tests that the whole pipeline (eligibility -> scoring -> search -> plan -> verify) gives
verified, reproducible plans that match brute force on small problems."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assigner.domain import CurrentAssignment, InputError, Policy, Problem, default_catalogue
from assigner.domain.fields import MAX_CASE_COUNT, MAX_DISTANCE_KM, MAX_HOURS
from assigner.domain.policy import (
    MAX_MULTIPLIER,
    MAX_POINTS_PER_CNY,
    MAX_POINTS_PER_KM,
    MAX_POINTS_PER_UNIT,
    MAX_UNASSIGNED_POINTS,
    UrgencyBand,
    UtilisationBand,
    Weights,
)
from assigner.engine import prepare, solve_problem
from assigner.search.cpsat import SearchParams
from assigner.search.instance import evaluate, feasibility_issues
from assigner.verify import verify_plan
from scenarios.generator import generate_county
from tests.factory import make_case, make_lawyer, make_problem


def small_problem(seed: int) -> Problem:
    """Three lawyers of two firms, six cases with co-defendants and tight hours."""
    rng = np.random.default_rng(seed)
    lawyers = [
        make_lawyer(
            f"L{k}",
            firm_id="F1" if k < 2 else "F2",
            capacity_hours=float(rng.integers(100, 200)),
            current_load_hours=float(rng.integers(0, 60)),
            max_open_cases=int(rng.integers(4, 8)),
            current_open_cases=2,
            yearly_quota_cases=int(rng.integers(0, 3)),
        )
        for k in range(3)
    ]
    types = ["felony_mid", "felony_low", "dui_low", "misdemeanour_high", "wage_claim", "felony_mid"]
    cases = []
    for k, case_type in enumerate(types):
        extra = {"stage": "litigation"} if case_type == "wage_claim" else {}
        if k in (0, 1):
            extra |= {"matter_id": "M1", "side": "defendant"}
        cases.append(make_case(f"C{k}", case_type=case_type, **extra))
    return make_problem(lawyers=lawyers, cases=cases)


def brute_force_objective(problem: Problem) -> int:
    inst = prepare(problem).instance
    options = [[-1, *inst.edge_agent[inst.edges_of(i)].tolist()] for i in range(inst.n_items)]
    best = None
    for combo in itertools.product(*options):
        vec = np.array(combo, dtype=np.int32)
        if not feasibility_issues(inst, vec):
            total = evaluate(inst, vec).total
            best = total if best is None or total < best else best
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(4))
def test_small_problem_matches_brute_force(seed: int) -> None:
    """Tests that the plan's objective is the brute-force optimum and is reported optimal."""
    problem = small_problem(seed)
    plan = solve_problem(problem, SearchParams(time_limit_s=10, seed=seed))
    assert plan.solver.objective_points == brute_force_objective(problem)
    assert plan.solver.status.value == "optimal"
    assert plan.solver.gap == 0.0
    assert plan.verification is not None and plan.verification.passed


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 1_000_000),
    same_firm=st.booleans(),
    move_pinned=st.booleans(),
)
def test_random_problems_always_verify(seed: int, same_firm: bool, move_pinned: bool) -> None:
    """Tests that random generated problems never yield a plan the verifier rejects."""
    problem = generate_county("tiny", seed)
    problem = problem.model_copy(
        update={
            "policy": Policy(
                codefendants_same_firm_forbidden=same_firm, allow_moving_pinned=move_pinned
            )
        }
    )
    plan = solve_problem(problem, SearchParams(time_limit_s=1.0, seed=seed))
    report = verify_plan(problem, plan)
    assert report.violations == []
    assert plan.kpis.cases == len(problem.cases)
    assert len(plan.assignments) + len(plan.unassigned) == len(problem.cases)
    assert plan.solver.best_bound_points <= plan.solver.objective_points


def test_every_coverable_case_assigned_on_demo() -> None:
    """Tests that the demo county gets every case that has an eligible lawyer assigned."""
    problem = generate_county("demo", 7)
    plan = solve_problem(problem, SearchParams(time_limit_s=3.0, seed=7))
    assert plan.kpis.assigned_share_of_eligible == 1.0
    assert plan.verification is not None and plan.verification.passed


def test_deterministic_mode_gives_same_plan() -> None:
    """Tests that deterministic mode with the same seed gives the same assignments."""
    problem = generate_county("tiny", 3)
    params = SearchParams(time_limit_s=1.0, seed=11, deterministic=True)
    a = solve_problem(problem, params)
    b = solve_problem(problem, params)
    assert [(x.case_id, x.lawyer_id) for x in a.assignments] == [
        (x.case_id, x.lawyer_id) for x in b.assignments
    ]
    assert a.solver.objective_points == b.solver.objective_points


def test_pinned_case_keeps_its_lawyer() -> None:
    """Tests that a pinned case stays with its lawyer although another is cheaper."""
    far = make_lawyer("L1", location={"lat": 40.2, "lon": 116.4}, max_travel_km=100)
    near = make_lawyer("L2")
    case = make_case("C1", current_assignment=CurrentAssignment(lawyer_id="L1", pinned=True))
    plan = solve_problem(make_problem(lawyers=[far, near], cases=[case]), SearchParams(2.0))
    assert [(a.case_id, a.lawyer_id) for a in plan.assignments] == [("C1", "L1")]


@pytest.mark.parametrize(
    ("lawyer", "cases", "expected"),
    [
        # 120 h free (160 - 40); 70 h each fits alone, not together.
        (
            {},
            [{"workload_hours": 70}, {"workload_hours": 70}],
            "lawyers[0] (id L1).capacity_hours: the cases that must stay with this lawyer "
            "(started or pinned: C1, C2) need 140 h, more than the 120 h free",
        ),
        # One open case free (4 - 3).
        (
            {"max_open_cases": 4},
            [{"workload_hours": 10}, {"workload_hours": 10}],
            "lawyers[0] (id L1).max_open_cases: the cases that must stay with this lawyer "
            "(started or pinned: C1, C2) are 2, more than the 1 open cases free",
        ),
        # Co-defendants of one matter never share a lawyer.
        (
            {},
            [{"matter_id": "M1", "workload_hours": 10}, {"matter_id": "M1", "workload_hours": 10}],
            "cases[0] (id C1).current_assignment: the cases that must stay where they are break "
            "a rule together",
        ),
    ],
)
def test_cases_that_must_stay_are_checked_together(
    lawyer: dict[str, Any], cases: list[dict[str, Any]], expected: str
) -> None:
    """Tests that pinned cases that each fit their lawyer alone but not together are refused
    as input naming the lawyer and the cases (once a solve broke on them), and that the issue
    lists the cases (the service's batch holds back the open cases related to them)."""
    held = CurrentAssignment(lawyer_id="L1", pinned=True)
    problem = make_problem(
        lawyers=[make_lawyer("L1", **lawyer), make_lawyer("L2")],
        cases=[
            make_case(f"C{k + 1}", current_assignment=held, **extra)
            for k, extra in enumerate(cases)
        ],
    )
    with pytest.raises(InputError) as info:
        solve_problem(problem, SearchParams(1.0))
    [issue] = [i for i in info.value.issues if expected in str(i)]
    assert issue.case_ids == ("C1", "C2")


def test_a_case_that_must_stay_with_an_ineligible_lawyer_is_named() -> None:
    """Tests that a pinned case whose lawyer is no longer eligible (no longer practises
    criminal defence) is refused with an issue naming the case, and listing it for callers
    that can leave it out."""
    labour_only = make_lawyer("L1", practice_areas=[{"area": "labour", "level": 3, "years": 2}])
    held = CurrentAssignment(lawyer_id="L1", pinned=True)
    problem = make_problem(
        lawyers=[labour_only, make_lawyer("L2")],
        cases=[make_case("C1", current_assignment=held), make_case("C2")],
    )
    with pytest.raises(InputError) as info:
        solve_problem(problem, SearchParams(1.0))
    [issue] = info.value.issues
    assert (issue.record, issue.field, issue.case_ids) == (
        "cases[0] (id C1)",
        "current_assignment",
        ("C1",),
    )
    assert "pinned with lawyer L1, who is not eligible (practice_area)" in issue.message


def ceiling_weights() -> Weights:
    """Every weight of the policy at its ceiling (``assigner/domain/policy.py``)."""
    top = {
        name: MAX_POINTS_PER_UNIT
        for name, field in Weights.model_fields.items()
        if field.annotation is int and name not in ("unassigned_points", "travel_points_per_km")
    }
    assert len(top) >= 7  # the integer weights are all there
    return Weights(
        **top,
        travel_points_per_km=MAX_POINTS_PER_KM,
        unassigned_points=MAX_UNASSIGNED_POINTS,
        subsidy_points_per_cny=MAX_POINTS_PER_CNY,
        priority_group_multiplier=dict.fromkeys(
            default_catalogue().priority_groups, MAX_MULTIPLIER
        ),
        urgency_bands=[
            UrgencyBand(within_hours=24, multiplier=MAX_MULTIPLIER),
            UrgencyBand(within_hours=MAX_HOURS, multiplier=MAX_MULTIPLIER),
        ],
        utilisation_bands=[UtilisationBand(above_share=0.0, points_per_hour=MAX_POINTS_PER_UNIT)],
    )


def test_weights_at_their_ceilings_give_a_verified_plan() -> None:
    """Tests that the policy's ceilings keep the objective within 64-bit integers: every weight
    at its ceiling, cases with every multiplier and a lawyer across the world, and the plan
    still verifies (its reported costs add up exactly)."""
    lawyers = [
        make_lawyer("L1", capacity_hours=MAX_HOURS, max_open_cases=6),  # 3 open already
        make_lawyer(
            "L2",
            location={"lat": -34.3, "lon": -71.1},  # the antipode of the cases, about
            max_travel_km=MAX_DISTANCE_KM,
            capacity_hours=MAX_HOURS,
            max_open_cases=MAX_CASE_COUNT,
        ),
    ]
    cases = [make_case(f"C{k}", priority_groups=["minor"], workload_hours=100) for k in range(6)]
    policy = Policy(weights=ceiling_weights())
    problem = make_problem(lawyers=lawyers, cases=cases, policy=policy)
    plan = solve_problem(problem, SearchParams(time_limit_s=5, seed=0))
    assert plan.verification is not None and plan.verification.passed
    assert 0 < plan.solver.objective_points < 2**62
    assert plan.solver.best_bound_points <= plan.solver.objective_points
    # The far lawyer takes the cases the near one has no room for (cheaper than leaving them).
    assert {a.lawyer_id for a in plan.assignments} == {"L1", "L2"}


@pytest.mark.parametrize("deterministic", [False, True])
def test_demo_county_solves_with_every_weight_at_its_ceiling(deterministic: bool) -> None:
    """Tests that the LP solver copes with the largest costs the policy allows (with the
    multipliers' old ceiling of 100 HiGHS failed on this county: "excessive dual values")."""
    problem = generate_county("demo", 1)
    problem = problem.model_copy(update={"policy": Policy(weights=ceiling_weights())})
    plan = solve_problem(problem, SearchParams(time_limit_s=3, seed=0, deterministic=deterministic))
    assert plan.verification is not None and plan.verification.passed
    assert plan.solver.best_bound_points <= plan.solver.objective_points


def test_problem_without_cases_is_proven_optimal() -> None:
    """Tests that a problem whose cases can go nowhere (here: none at all) reports its one plan
    as optimal with a zero gap, although the lawyers' loads outside it cost band points that
    the relaxations price below the plan's steps."""
    lawyers = [make_lawyer("L1", current_load_hours=150.55), make_lawyer("L2")]
    plan = solve_problem(make_problem(lawyers=lawyers, cases=[]), SearchParams(1.0))
    assert plan.objective.utilisation_points > 0
    assert plan.solver.status.value == "optimal"
    assert plan.solver.best_bound_points == plan.solver.objective_points
    assert plan.solver.gap == 0.0


def test_problem_without_lawyers_leaves_every_case_out() -> None:
    """Tests that cases with no lawyer at all (every lawyer removed, as a what-if may do) give
    a verified plan with each case left out for want of an eligible lawyer, proven optimal;
    the group rules' check of the cases that must stay once indexed an empty firm table."""
    cases = [make_case("C1", matter_id="M1"), make_case("C2", matter_id="M1")]
    problem = make_problem(firms=[], lawyers=[], cases=cases)
    plan = solve_problem(problem, SearchParams(1.0))
    assert plan.assignments == []
    assert sorted(u.case_id for u in plan.unassigned) == ["C1", "C2"]
    assert {str(u.reason) for u in plan.unassigned} == {"no_eligible_lawyer"}
    assert verify_plan(problem, plan).passed
    assert plan.solver.status.value == "optimal"


def test_deterministic_mode_places_every_case_of_a_small_county() -> None:
    """Tests that deterministic mode on one worker (what-if scenarios run this way) places
    every case of the tiny county (seed 7) and proves the plan optimal: CP-SAT alone, on its
    deterministic time, once stopped with a case left out; the exact MIP runs first now."""
    problem = generate_county("tiny", 7)
    plan = solve_problem(problem, SearchParams(20.0, workers=1, seed=0, deterministic=True))
    assert plan.unassigned == []
    assert plan.solver.status.value == "optimal"
    assert verify_plan(problem, plan).passed


@pytest.mark.parametrize(
    ("capacity", "load", "hours"),
    [
        (27.5, 0.0, (13.75, 13.75)),  # quarter hours: hundredths
        (100.0, 64.96, (35.04,)),  # a load and a case in hundredths
        (0.19, 0.0, (0.09, 0.09)),  # small ones
        (100.0, 99.997, (0.003,)),  # thousandths
    ],
)
def test_hours_that_exactly_fill_a_capacity_are_assigned(
    capacity: float, load: float, hours: tuple[float, ...]
) -> None:
    """Tests that cases whose hours exactly fill the only lawyer's free capacity are all
    assigned and the plan is optimal and verified: the engine counts hours on the coarsest
    grid (tenths, hundredths, thousandths) the data lies on.  In tenths, rounded against the
    lawyer, one case was left out and the plan was called optimal, its bound above a plan
    that placed both."""
    problem = make_problem(
        lawyers=[make_lawyer("L1", capacity_hours=capacity, current_load_hours=load)],
        cases=[make_case(f"C{k + 1}", workload_hours=h) for k, h in enumerate(hours)],
    )
    plan = solve_problem(problem, SearchParams(2.0))
    assert len(plan.assignments) == len(hours), plan.unassigned
    assert plan.verification.passed
    assert plan.solver.best_bound_points <= plan.solver.objective_points


def test_a_load_just_under_a_band_pays_nothing_for_it() -> None:
    """Tests that a lawyer left at 69.99 h of 100 h (69.94 h of load and a 0.05 h case) pays
    no utilisation points for the band above 70%: in tenths, rounded up, the load was 70.0
    h and a started hour above the band was charged."""
    policy = Policy.model_validate(
        {"weights": {"utilisation_bands": [{"above_share": 0.7, "points_per_hour": 1000}]}}
    )
    problem = make_problem(
        lawyers=[make_lawyer("L1", capacity_hours=100.0, current_load_hours=69.94)],
        cases=[make_case("C1", workload_hours=0.05)],
        policy=policy,
    )
    plan = solve_problem(problem, SearchParams(1.0))
    assert [a.case_id for a in plan.assignments] == ["C1"]
    assert plan.objective.utilisation_points == 0
