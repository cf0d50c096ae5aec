"""Whether a Plan was made from a Problem: an explanation mixes the two, so they must match.

A plan records the problem's name and policy version, every case (assigned or not) and, per
assignment, the lawyer and the case's workload.  A problem regenerated, edited or from another
day differs in one of them; explaining a plan against it would show one document's choice next
to the other's alternatives.
"""

from __future__ import annotations

from assigner.domain.arrays import ProblemArrays
from assigner.domain.plan import Plan

SHOWN = 3
"""Ids shown per kind of difference."""

WORKLOAD_TOLERANCE_HOURS = 1e-6


def _some(ids: list[str]) -> str:
    more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more


def plan_mismatches(arrays: ProblemArrays, plan: Plan) -> list[str]:
    """Why ``plan`` was not made from the problem in ``arrays``, one reason per difference;
    empty when the plan's name, policy version, cases, lawyers and workloads are the
    problem's."""
    problem = arrays.problem
    reasons = []
    if plan.problem_name != problem.name:
        reasons.append(
            f"the plan is for problem {plan.problem_name!r}, the problem is {problem.name!r}"
        )
    if plan.policy_version != problem.policy.version:
        reasons.append(
            f"the plan was made under policy version {plan.policy_version}, the problem has "
            f"version {problem.policy.version}"
        )
    planned = [a.case_id for a in plan.assignments] + [u.case_id for u in plan.unassigned]
    planned_set = set(planned)
    extra = [c for c in planned if c not in arrays.case_pos]
    if extra:
        reasons.append(f"cases in the plan but not in the problem: {_some(extra)}")
    missing = [c for c in arrays.case_ids if c not in planned_set]
    if missing:
        reasons.append(f"cases in the problem but not in the plan: {_some(missing)}")
    lawyers = sorted({a.lawyer_id for a in plan.assignments} - set(arrays.lawyer_pos))
    if lawyers:
        reasons.append(f"lawyers in the plan but not in the problem: {_some(lawyers)}")
    changed = [
        f"{a.case_id} ({a.workload_hours:g} h in the plan, "
        f"{float(arrays.workload_hours[arrays.case_pos[a.case_id]]):g} h in the problem)"
        for a in plan.assignments
        if a.case_id in arrays.case_pos
        and abs(a.workload_hours - float(arrays.workload_hours[arrays.case_pos[a.case_id]]))
        > WORKLOAD_TOLERANCE_HOURS
    ]
    if changed:
        reasons.append(f"workloads differ: {_some(changed)}")
    return reasons
