"""The one entry point that the CLI and the service both call: Problem in, verified Plan out.

Pipeline: eligibility -> scoring -> search -> plan -> verify (DESIGN.md "Pipeline").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from assigner.domain.arrays import ProblemArrays, build_arrays
from assigner.domain.loading import validate_problem
from assigner.domain.plan import Plan
from assigner.domain.problem import Problem
from assigner.eligibility import (
    Candidates,
    EligibilityTables,
    GroupConstraints,
    build_candidates,
    eligibility_tables,
    group_constraints,
)
from assigner.plan.build import build_plan
from assigner.scoring.costs import EdgeCosts, score_edges
from assigner.search.cpsat import ProgressFn, SearchParams
from assigner.search.from_problem import build_instance
from assigner.search.instance import AssignmentInstance
from assigner.search.solve import run_search
from assigner.verify import assert_valid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """Everything before search, kept so explain and recommend need not redo it."""

    arrays: ProblemArrays
    tables: EligibilityTables
    candidates: Candidates
    costs: EdgeCosts
    groups: GroupConstraints
    instance: AssignmentInstance


def prepare(problem: Problem) -> Prepared:
    validate_problem(problem)
    return prepare_arrays(build_arrays(problem))


def prepare_arrays(arrays: ProblemArrays) -> Prepared:
    """``prepare`` for a problem already checked (``validate_problem``) and in arrays."""
    t0 = time.monotonic()
    tables = eligibility_tables(arrays)
    candidates = build_candidates(arrays, tables=tables)
    costs = score_edges(
        arrays, candidates.case_index, candidates.lawyer_index, candidates.travel_km
    )
    groups = group_constraints(arrays)
    instance = build_instance(arrays, candidates, costs, groups)
    log.info(
        "prepared %d cases x %d lawyers: %d edges in %.2f s",
        arrays.n_cases,
        arrays.n_lawyers,
        instance.n_edges,
        time.monotonic() - t0,
    )
    return Prepared(arrays, tables, candidates, costs, groups, instance)


def solve_problem(
    problem: Problem, params: SearchParams | None = None, progress: ProgressFn | None = None
) -> Plan:
    """Solve and verify; raises ``InputError`` on bad input, ``PlanViolation`` never escapes
    silently: a plan that fails verification is an error, not an answer."""
    params = params or SearchParams()
    prepared = prepare(problem)
    outcome = run_search(prepared.instance, params, progress)
    plan = build_plan(
        prepared.arrays, prepared.candidates, prepared.costs, prepared.instance, outcome, params
    )
    plan.verification = assert_valid(problem, plan)
    return plan
