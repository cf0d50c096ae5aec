"""Turn a legal-aid problem (after eligibility and scoring) into an AssignmentInstance.

Hours become integer tenths of an hour: case hours rounded up and free capacity rounded down, so
the integer model never admits a load the exact check would refuse.
"""

from __future__ import annotations

import numpy as np

from assigner.domain.arrays import ProblemArrays
from assigner.domain.errors import InputError, InputIssue
from assigner.eligibility import Candidates, GroupConstraints, why_not
from assigner.scoring.costs import EdgeCosts, unassigned_penalty_points
from assigner.search.instance import AssignmentInstance, LoadBand, OpposingSides

DECIHOURS_PER_HOUR = 10
_EPS = 1e-9


def hours_to_units_up(hours: np.ndarray) -> np.ndarray:
    return np.ceil(np.asarray(hours) * DECIHOURS_PER_HOUR - _EPS).astype(np.int64)


def hours_to_units_down(hours: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(hours) * DECIHOURS_PER_HOUR + _EPS).astype(np.int64)


def fixed_lawyers(arrays: ProblemArrays, candidates: Candidates) -> np.ndarray:
    """Per case, the lawyer a pinned or started case must keep (-1 when free to move).

    A case that must stay with a lawyer who is no longer eligible is refused with the rules that
    exclude the pair: the input contradicts itself and only a person can resolve it.
    """
    policy = arrays.problem.policy
    fixed = np.full(arrays.n_cases, -1, dtype=np.int32)
    issues: list[InputIssue] = []
    for ci, case in enumerate(arrays.problem.cases):
        cur = case.current_assignment
        if cur is None:
            continue
        keep = (cur.pinned and not policy.allow_moving_pinned) or (
            cur.started and not policy.allow_moving_started
        )
        if not keep:
            continue
        li = arrays.lawyer_pos[cur.lawyer_id]
        sl = candidates.edges_of_case(ci)
        if not np.any(candidates.lawyer_index[sl] == li):
            rules = ", ".join(e.rule.value for e in why_not(arrays, case.id, cur.lawyer_id))
            issues.append(
                InputIssue(
                    f"cases[{ci}] (id {case.id})",
                    "current_assignment",
                    f"pinned or started with lawyer {cur.lawyer_id}, who is not eligible "
                    f"({rules}); unpin it or change the policy to allow the move",
                )
            )
        fixed[ci] = li
    if issues:
        raise InputError(issues)
    return fixed


def build_instance(
    arrays: ProblemArrays,
    candidates: Candidates,
    costs: EdgeCosts,
    groups: GroupConstraints,
) -> AssignmentInstance:
    w = arrays.problem.policy.weights
    capacity_units = hours_to_units_down(arrays.capacity_hours)
    base_units = hours_to_units_up(arrays.current_load_hours)
    free_units = np.maximum(0, capacity_units - base_units)
    bands = [
        LoadBand(
            threshold=hours_to_units_down(arrays.capacity_hours * band.above_share),
            points=band.points_per_hour,
            unit=DECIHOURS_PER_HOUR,
        )
        for band in w.utilisation_bands
    ]
    case_units = hours_to_units_up(arrays.workload_hours)
    return AssignmentInstance(
        n_items=arrays.n_cases,
        n_agents=arrays.n_lawyers,
        edge_item=candidates.case_index.astype(np.int32),
        edge_agent=candidates.lawyer_index.astype(np.int32),
        edge_cost=costs.total.astype(np.int64),
        edge_weight=case_units[candidates.case_index],
        capacity=free_units,
        max_count=np.maximum(0, arrays.max_open_cases - arrays.current_open_cases).astype(np.int64),
        unassigned_penalty=unassigned_penalty_points(arrays),
        bands=bands,
        base_load=base_units,
        quota_short=arrays.quota_short_cases.astype(np.int64),
        quota_points=w.quota_deficit_points,
        same_agent_cliques=[c.astype(np.int32) for c in groups.same_lawyer_cliques],
        agent_group=arrays.lawyer_firm.astype(np.int32),
        same_group_cliques=[c.astype(np.int32) for c in groups.same_firm_cliques],
        opposing_sides=[
            OpposingSides(a.astype(np.int32), b.astype(np.int32)) for a, b in groups.opposing_sides
        ],
        fixed_agent=fixed_lawyers(arrays, candidates),
    )
