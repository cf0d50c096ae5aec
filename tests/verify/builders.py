"""Tiny problems and hand-built plans for the verifier tests.

Plans are assembled here with plain arithmetic so that every figure (travel, subsidy, KPIs,
objective) is consistent with the problem; a test then breaks exactly one rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from assigner.domain import (
    Assignment,
    Case,
    Firm,
    FirmKind,
    Kpis,
    Lawyer,
    Location,
    ObjectiveBreakdown,
    Plan,
    PracticeArea,
    Problem,
    ProviderKind,
    SolverReport,
    SolveStatus,
    Unassigned,
    UnassignedReason,
    default_catalogue,
)
from assigner.domain.plan import GroupShare
from assigner.search.solve import relative_gap

AS_OF = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
HERE = Location(lat=39.9, lon=116.4)
CATALOGUE = default_catalogue()
UNASSIGNED_PENALTY = 1000


def firm(firm_id: str, **kw: Any) -> Firm:
    data: dict[str, Any] = {"id": firm_id, "name": f"Firm {firm_id}", "kind": FirmKind.LAW_FIRM}
    data.update(kw)
    return Firm(**data)


def lawyer(lawyer_id: str, firm_id: str = "F1", **kw: Any) -> Lawyer:
    data: dict[str, Any] = {
        "id": lawyer_id,
        "name": f"Lawyer {lawyer_id}",
        "firm_id": firm_id,
        "kind": ProviderKind.PRACTISING_LAWYER,
        "location": HERE,
        "practice_areas": [
            PracticeArea(area="criminal_defence", level=4, years=10),
            PracticeArea(area="criminal_victim", level=3, years=5),
            PracticeArea(area="family", level=3, years=5),
            PracticeArea(area="general_advice", level=3, years=5),
        ],
        "capacity_hours": 200,
        "max_open_cases": 10,
    }
    data.update(kw)
    return Lawyer(**data)


def case(case_id: str, case_type: str = "felony_low", **kw: Any) -> Case:
    stages = CATALOGUE.case_types[case_type].subsidy_cny_by_stage
    data: dict[str, Any] = {
        "id": case_id,
        "case_type": case_type,
        "stage": "trial" if "trial" in stages else next(iter(stages)),
        "location": HERE,
        "received_at": AS_OF - timedelta(days=1),
        "assign_by": AS_OF + timedelta(days=3),
    }
    data.update(kw)
    return Case(**data)


def problem(
    lawyers: list[Lawyer], cases: list[Case], firms: list[Firm] | None = None, **kw: Any
) -> Problem:
    if firms is None:
        firms = [firm("F1"), firm("F2"), firm("F3")]
    return Problem(as_of=AS_OF, firms=firms, lawyers=lawyers, cases=cases, **kw)


def km_between(a: Location, b: Location) -> float:
    """Haversine on the mean Earth radius."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def hours_of(c: Case) -> float:
    return c.workload_hours or CATALOGUE.case_types[c.case_type].workload_hours


def assignment(prob: Problem, case_id: str, lawyer_id: str) -> Assignment:
    c = next(x for x in prob.cases if x.id == case_id)
    lw = next(x for x in prob.lawyers if x.id == lawyer_id)
    km = km_between(lw.location, c.location)
    terms = {"fit": 5, "travel": round(km * 10)}
    current = c.current_assignment
    return Assignment(
        case_id=case_id,
        lawyer_id=lawyer_id,
        cost_points=sum(terms.values()),
        terms=terms,
        travel_km=km,
        workload_hours=hours_of(c),
        subsidy_cny=CATALOGUE.case_types[c.case_type].subsidy_cny_by_stage[c.stage]
        * CATALOGUE.subsidy_class_multiplier[lw.subsidy_class],
        moved_from=current.lawyer_id
        if current is not None and current.lawyer_id != lawyer_id
        else None,
    )


def unassigned(
    case_id: str, reason: UnassignedReason | None = None, eligible: int = 1
) -> Unassigned:
    return Unassigned(
        case_id=case_id,
        reason=reason or UnassignedReason.CAPACITY_EXHAUSTED,
        penalty_points=UNASSIGNED_PENALTY,
        eligible_lawyers=eligible,
    )


def gini_of(xs: list[float]) -> float:
    xs = sorted(xs)
    n, total = len(xs), sum(xs)
    if not n or total == 0:
        return 0.0
    return sum((2 * i - n - 1) * x for i, x in enumerate(xs, start=1)) / (n * total)


def assemble(
    prob: Problem,
    assignments: list[Assignment],
    unassigned_cases: list[Unassigned],
    *,
    status: SolveStatus = SolveStatus.OPTIMAL,
    bound_offset: float = 0.0,
) -> Plan:
    """A plan whose KPIs and objective are those of the given entries."""
    cases = {c.id: c for c in prob.cases}
    done = {a.case_id for a in assignments if a.case_id in cases}
    no_eligible = {
        u.case_id
        for u in unassigned_cases
        if u.reason == UnassignedReason.NO_ELIGIBLE_LAWYER and u.case_id not in done
    }
    n = len(prob.cases)
    k = sum(1 for c in prob.cases if c.id in done)
    eligible = sum(1 for c in prob.cases if c.id not in no_eligible)
    groups: dict[str, list[int]] = {}
    for c in prob.cases:
        for g in c.priority_groups or ["none"]:
            tally = groups.setdefault(g, [0, 0])
            tally[0] += 1
            tally[1] += int(c.id in done)
    per_lawyer: dict[str, list[Case]] = {}
    for a in assignments:
        if a.case_id in cases:
            per_lawyer.setdefault(a.lawyer_id, []).append(cases[a.case_id])
    util = [
        (lw.current_load_hours + sum(hours_of(c) for c in per_lawyer.get(lw.id, [])))
        / lw.capacity_hours
        for lw in prob.lawyers
        if lw.capacity_hours > 0 and (lw.accepting_new_cases or lw.id in per_lawyer)
    ]
    deficits = [
        max(0, lw.yearly_quota_cases - lw.cases_this_year - len(per_lawyer.get(lw.id, [])))
        for lw in prob.lawyers
    ]
    moves = 0
    for a in assignments:
        current = cases[a.case_id].current_assignment if a.case_id in cases else None
        moves += int(current is not None and current.lawyer_id != a.lawyer_id)
    travel = [a.travel_km for a in assignments]
    kpis = Kpis(
        cases=n,
        assigned=k,
        assigned_share=k / n if n else 0.0,
        assigned_share_of_eligible=k / eligible if eligible else 1.0,
        by_priority_group={
            g: GroupShare(cases=c, assigned=a, share=a / c) for g, (c, a) in groups.items()
        },
        deadline_risk=sum(
            1
            for c in prob.cases
            if c.id not in done and c.assign_by - prob.as_of <= timedelta(hours=24)
        ),
        utilisation_mean=float(np.mean(util)) if util else 0.0,
        utilisation_p95=float(np.percentile(util, 95)) if util else 0.0,
        utilisation_max=max(util) if util else 0.0,
        utilisation_gini=gini_of(util),
        travel_km_total=sum(travel),
        travel_km_mean=sum(travel) / len(travel) if travel else 0.0,
        subsidy_cny_total=sum(a.subsidy_cny for a in assignments),
        quota_deficit_cases=sum(deficits),
        lawyers_below_quota=sum(1 for d in deficits if d > 0),
        moves=moves,
    )
    # Each started hour above a band's share of capacity (the test problems' hours are in
    # tenths, so plain hours with a small tolerance count them exactly).
    band_points = 0
    for lw in prob.lawyers:
        load = lw.current_load_hours + sum(hours_of(c) for c in per_lawyer.get(lw.id, []))
        for band in prob.policy.weights.utilisation_bands:
            excess = load - lw.capacity_hours * band.above_share
            if excess > 1e-9:
                band_points += band.points_per_hour * math.ceil(excess - 1e-9)
    objective = ObjectiveBreakdown(
        edge_points=sum(a.cost_points for a in assignments),
        unassigned_points=sum(u.penalty_points for u in unassigned_cases),
        utilisation_points=band_points,
        quota_points=prob.policy.weights.quota_deficit_points * sum(deficits),
    )
    total = (
        objective.edge_points
        + objective.unassigned_points
        + objective.utilisation_points
        + objective.quota_points
    )
    constant = sum(u.penalty_points for u in unassigned_cases if u.eligible_lawyers == 0)
    solver = SolverReport(
        status=status,
        objective_points=total,
        best_bound_points=total + bound_offset,
        gap=relative_gap(total, total + bound_offset, constant),
        wall_time_s=0.1,
        time_limit_s=10.0,
        seed=0,
        workers=1,
        deterministic=True,
        method="hand",
        edges=len(assignments),
    )
    return Plan(
        problem_name=prob.name,
        policy_version=prob.policy.version,
        assignments=assignments,
        unassigned=unassigned_cases,
        kpis=kpis,
        objective=objective,
        solver=solver,
    )


def build_plan(
    prob: Problem, mapping: dict[str, str], unassigned_cases: Iterable[Unassigned] = ()
) -> Plan:
    """Assign ``mapping`` (case -> lawyer); every other case is unassigned."""
    given = list(unassigned_cases)
    named = {u.case_id for u in given}
    rest = [unassigned(c.id) for c in prob.cases if c.id not in mapping and c.id not in named]
    assignments = [assignment(prob, cid, lid) for cid, lid in mapping.items()]
    return assemble(prob, assignments, given + rest)
