"""Turn a legal-aid problem (after eligibility and scoring) into an AssignmentInstance.

Hours become integer tenths of an hour: case hours rounded up and free capacity rounded down, so
the integer model never admits a load the exact check would refuse.
"""

from __future__ import annotations

import numpy as np

from assigner.domain.arrays import ProblemArrays
from assigner.domain.errors import InputError, InputIssue
from assigner.domain.policy import Policy
from assigner.eligibility import Candidates, GroupConstraints, why_not
from assigner.scoring.costs import EdgeCosts, unassigned_penalty_points
from assigner.search.instance import AssignmentInstance, LoadBand, OpposingSides

_EPS = 1e-6  # of a unit: hours on the grid (``units_per_hour``) convert exactly


def hours_to_units_up(hours: np.ndarray, per_hour: int) -> np.ndarray:
    """Hours in the engine's units (``ProblemArrays.units_per_hour``), rounded up."""
    return np.ceil(np.asarray(hours) * per_hour - _EPS).astype(np.int64)


def hours_to_units_down(hours: np.ndarray, per_hour: int) -> np.ndarray:
    """Hours in the engine's units, rounded down."""
    return np.floor(np.asarray(hours) * per_hour + _EPS).astype(np.int64)


def must_stay(started: bool, pinned: bool, policy: Policy) -> bool:
    """A case marked ``started`` / ``pinned`` stays with its lawyer unless the policy allows
    moving such cases."""
    return (pinned and not policy.allow_moving_pinned) or (
        started and not policy.allow_moving_started
    )


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
        if not must_stay(cur.started, cur.pinned, policy):
            continue
        li = arrays.lawyer_pos[cur.lawyer_id]
        sl = candidates.edges_of_case(ci)
        if not np.any(candidates.lawyer_index[sl] == li):
            rules = ", ".join(e.rule.value for e in why_not(arrays, case.id, cur.lawyer_id))
            marks = " and ".join(
                m for m, on in (("started", cur.started), ("pinned", cur.pinned)) if on
            )
            issues.append(
                InputIssue(
                    f"cases[{ci}] (id {case.id})",
                    "current_assignment",
                    f"{marks} with lawyer {cur.lawyer_id}, who is not eligible ({rules}); "
                    "move it to another lawyer, clear the mark, or change the policy to allow "
                    "the move",
                    (case.id,),
                )
            )
        fixed[ci] = li
    if issues:
        raise InputError(issues)
    return fixed


def check_fixed_together(
    arrays: ProblemArrays,
    groups: GroupConstraints,
    fixed: np.ndarray,
    case_units: np.ndarray,
    free_units: np.ndarray,
    count_room: np.ndarray,
) -> None:
    """The cases that must stay, taken together: each lawyer's hours and open-case count, and
    the group rules between them (co-defendants, linked cases, opposing sides).  Each case may
    fit its lawyer alone and still not together with the others; the input then contradicts
    itself and only a person can resolve it, so it is refused naming the lawyer and the
    cases."""
    issues: list[InputIssue] = []
    held = np.flatnonzero(fixed >= 0)
    lawyers = arrays.lawyer_ids
    per_hour = arrays.units_per_hour
    for li in np.unique(fixed[held]):
        mine = held[fixed[held] == li]
        hours = int(case_units[mine].sum())
        ids = tuple(arrays.case_ids[int(c)] for c in mine)
        names = ", ".join(ids)
        record = f"lawyers[{int(li)}] (id {lawyers[int(li)]})"
        if hours > free_units[li]:
            issues.append(
                InputIssue(
                    record,
                    "capacity_hours",
                    f"the cases that must stay with this lawyer (started or pinned: {names}) "
                    f"need {hours / per_hour:g} h, more than the "
                    f"{free_units[li] / per_hour:g} h free; move one, clear its mark "
                    "or raise the capacity",
                    ids,
                )
            )
        if mine.size > count_room[li]:
            issues.append(
                InputIssue(
                    record,
                    "max_open_cases",
                    f"the cases that must stay with this lawyer (started or pinned: {names}) "
                    f"are {mine.size}, more than the {int(count_room[li])} open cases free; "
                    "move one, clear its mark or raise the limit",
                    ids,
                )
            )
    for broken in groups.violations(fixed):
        first = broken.case_indices[0]
        issues.append(
            InputIssue(
                f"cases[{first}] (id {arrays.case_ids[first]})",
                "current_assignment",
                f"the cases that must stay where they are break a rule together: "
                f"{broken.detail} ({broken.citation}); move one of them or clear its mark",
                tuple(arrays.case_ids[int(c)] for c in broken.case_indices),
            )
        )
    if issues:
        raise InputError(issues)


def utilisation_bands(arrays: ProblemArrays) -> list[LoadBand]:
    """The policy's utilisation bands as the instance's load bands: each started hour above a
    band's share of a lawyer's capacity (in the engine's units, rounded down) costs its points.
    Loads lie on the units' grid, so rounding the threshold down to it counts the same started
    hours as the exact threshold does."""
    per_hour = arrays.units_per_hour
    return [
        LoadBand(
            threshold=hours_to_units_down(arrays.capacity_hours * band.above_share, per_hour),
            points=band.points_per_hour,
            unit=per_hour,
        )
        for band in arrays.problem.policy.weights.utilisation_bands
    ]


def build_instance(
    arrays: ProblemArrays,
    candidates: Candidates,
    costs: EdgeCosts,
    groups: GroupConstraints,
) -> AssignmentInstance:
    w = arrays.problem.policy.weights
    per_hour = arrays.units_per_hour
    capacity_units = hours_to_units_down(arrays.capacity_hours, per_hour)
    base_units = hours_to_units_up(arrays.current_load_hours, per_hour)
    free_units = np.maximum(0, capacity_units - base_units)
    bands = utilisation_bands(arrays)
    case_units = hours_to_units_up(arrays.workload_hours, per_hour)
    count_room = np.maximum(0, arrays.max_open_cases - arrays.current_open_cases).astype(np.int64)
    fixed = fixed_lawyers(arrays, candidates)
    check_fixed_together(arrays, groups, fixed, case_units, free_units, count_room)
    return AssignmentInstance(
        n_items=arrays.n_cases,
        n_agents=arrays.n_lawyers,
        edge_item=candidates.case_index.astype(np.int32),
        edge_agent=candidates.lawyer_index.astype(np.int32),
        edge_cost=costs.total.astype(np.int64),
        edge_weight=case_units[candidates.case_index],
        capacity=free_units,
        max_count=count_room,
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
        fixed_agent=fixed,
    )
