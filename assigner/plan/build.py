"""Assemble the Plan document from a search outcome: assignments with their score breakdown,
unassigned cases with reasons, KPIs, objective, bound and gap."""

from __future__ import annotations

import numpy as np

from assigner.domain.arrays import ProblemArrays
from assigner.domain.plan import (
    Assignment,
    ObjectiveBreakdown,
    Plan,
    SolverReport,
    SolveStatus,
    Unassigned,
)
from assigner.eligibility import Candidates
from assigner.plan.kpis import compute_kpis
from assigner.plan.unassigned_reasons import unassigned_reasons
from assigner.scoring.costs import EdgeCosts
from assigner.search.cpsat import SearchParams
from assigner.search.instance import AssignmentInstance, chosen_edges
from assigner.search.solve import SearchOutcome


def build_plan(
    arrays: ProblemArrays,
    candidates: Candidates,
    costs: EdgeCosts,
    inst: AssignmentInstance,
    outcome: SearchOutcome,
    params: SearchParams,
) -> Plan:
    problem = arrays.problem
    lawyer_of_case = outcome.agent_of_item
    rows = chosen_edges(inst, lawyer_of_case)
    travel = np.zeros(arrays.n_cases)
    subsidy = np.zeros(arrays.n_cases)
    assignments: list[Assignment] = []
    unassigned: list[Unassigned] = []
    rules = [r.value for r in candidates.rules]
    reasons = unassigned_reasons(inst, lawyer_of_case, candidates.eligible_count)
    for ci, case in enumerate(problem.cases):
        row = int(rows[ci])
        if row >= 0:
            li = int(lawyer_of_case[ci])
            travel[ci] = float(candidates.travel_km[row])
            subsidy[ci] = float(costs.subsidy_cny[row])
            current = case.current_assignment
            moved = (
                current.lawyer_id
                if current is not None and current.lawyer_id != arrays.lawyer_ids[li]
                else None
            )
            assignments.append(
                Assignment(
                    case_id=case.id,
                    lawyer_id=arrays.lawyer_ids[li],
                    cost_points=int(costs.total[row]),
                    terms=costs.breakdown(row),
                    travel_km=round(travel[ci], 3),
                    workload_hours=float(arrays.workload_hours[ci]),
                    subsidy_cny=float(subsidy[ci]),
                    moved_from=moved,
                )
            )
            travel[ci] = round(travel[ci], 3)
        else:
            eligible = int(candidates.eligible_count[ci])
            counts = candidates.excluded_counts[ci]
            unassigned.append(
                Unassigned(
                    case_id=case.id,
                    reason=reasons[ci],
                    penalty_points=int(inst.unassigned_penalty[ci]),
                    excluded_by={rules[j]: int(n) for j, n in enumerate(counts) if n > 0},
                    eligible_lawyers=eligible,
                )
            )
    kpis = compute_kpis(arrays, lawyer_of_case, travel, subsidy, candidates.eligible_count)
    parts = outcome.parts
    status = SolveStatus.OPTIMAL if outcome.proven_optimal else SolveStatus.FEASIBLE
    return Plan(
        problem_name=problem.name,
        policy_version=problem.policy.version,
        assignments=assignments,
        unassigned=unassigned,
        kpis=kpis,
        objective=ObjectiveBreakdown(
            edge_points=parts.edge,
            unassigned_points=parts.unassigned,
            utilisation_points=parts.load,
            quota_points=parts.quota,
        ),
        solver=SolverReport(
            status=status,
            objective_points=parts.total,
            best_bound_points=float(outcome.bound),
            gap=outcome.gap,
            wall_time_s=round(outcome.wall_time_s, 3),
            time_limit_s=params.time_limit_s,
            seed=params.seed,
            workers=params.workers,
            deterministic=params.deterministic,
            method=outcome.method,
            edges=inst.n_edges,
            phases=outcome.phases,
        ),
    )
