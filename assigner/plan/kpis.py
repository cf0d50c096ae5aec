"""Plan KPIs: coverage by priority group, deadline risk, utilisation spread, travel, subsidy,
quota deficits and moves.  Definitions are documented on :class:`assigner.domain.plan.Kpis`."""

from __future__ import annotations

import numpy as np

from assigner.domain.arrays import FloatArray, ProblemArrays
from assigner.domain.plan import GroupShare, Kpis

DEADLINE_RISK_HOURS = 24.0
NO_GROUP = "none"


def gini(values: FloatArray) -> float:
    """Gini coefficient of non-negative values (0 = all equal)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * total))


def compute_kpis(
    arrays: ProblemArrays,
    lawyer_of_case: np.ndarray,
    travel_km: FloatArray,
    subsidy_cny: FloatArray,
    eligible_count: np.ndarray,
) -> Kpis:
    """KPIs of an assignment vector; travel and subsidy are per case (0 when unassigned)."""
    problem = arrays.problem
    assigned = lawyer_of_case >= 0
    n_cases = arrays.n_cases
    n_assigned = int(assigned.sum())
    coverable = int(np.sum(assigned | (eligible_count > 0)))

    groups: dict[str, list[int]] = {}
    for ci, case in enumerate(problem.cases):
        for g in case.priority_groups or [NO_GROUP]:
            groups.setdefault(g, []).append(ci)
    by_group = {}
    for g, idx in sorted(groups.items()):
        got = int(assigned[idx].sum())
        by_group[g] = GroupShare(cases=len(idx), assigned=got, share=got / len(idx))

    risk = int(np.sum(~assigned & (arrays.hours_to_deadline <= DEADLINE_RISK_HOURS)))

    hours = np.bincount(
        lawyer_of_case[assigned],
        weights=arrays.workload_hours[assigned],
        minlength=arrays.n_lawyers,
    )
    counts = np.bincount(lawyer_of_case[assigned], minlength=arrays.n_lawyers)
    accepting = np.array([lw.accepting_new_cases for lw in problem.lawyers], dtype=np.bool_)
    counted = (accepting | (counts > 0)) & (arrays.capacity_hours > 0)
    util = (arrays.current_load_hours[counted] + hours[counted]) / arrays.capacity_hours[counted]

    deficit = np.maximum(0, arrays.quota_short_cases - counts)
    current = arrays.current_lawyer
    moves = int(np.sum(assigned & (current >= 0) & (lawyer_of_case != current)))
    travel = travel_km[assigned]
    return Kpis(
        cases=n_cases,
        assigned=n_assigned,
        assigned_share=n_assigned / n_cases if n_cases else 0.0,
        assigned_share_of_eligible=n_assigned / coverable if coverable else 1.0,
        by_priority_group=by_group,
        deadline_risk=risk,
        utilisation_mean=float(util.mean()) if util.size else 0.0,
        utilisation_p95=float(np.percentile(util, 95)) if util.size else 0.0,
        utilisation_max=float(util.max()) if util.size else 0.0,
        utilisation_gini=gini(util),
        travel_km_total=float(travel.sum()),
        travel_km_mean=float(travel.mean()) if travel.size else 0.0,
        subsidy_cny_total=float(subsidy_cny[assigned].sum()),
        quota_deficit_cases=int(deficit.sum()),
        lawyers_below_quota=int(np.sum(deficit > 0)),
        moves=moves,
    )
