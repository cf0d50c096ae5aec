"""Why this lawyer, and why not that one: explanations of a plan for one case."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assigner.domain.plan import Plan
from assigner.eligibility import why_not
from assigner.engine import Prepared
from assigner.scoring.costs import TERMS
from assigner.search.instance import evaluate


@dataclass(frozen=True)
class Option:
    lawyer_id: str
    cost_points: int
    terms: dict[str, int]
    travel_km: float


@dataclass(frozen=True)
class WhyNot:
    lawyer_id: str
    eligible: bool
    reasons: list[str]
    cost_points: int | None = None
    terms: dict[str, int] | None = None


@dataclass(frozen=True)
class CaseExplanation:
    case_id: str
    assigned_lawyer_id: str | None
    chosen: Option | None
    unassigned_reason: str | None
    alternatives: list[Option] = field(default_factory=list)
    why_not: WhyNot | None = None


def _options(prepared: Prepared, case_index: int) -> list[Option]:
    cand = prepared.candidates
    sl = cand.edges_of_case(case_index)
    out = []
    for row in range(sl.start, sl.stop):
        out.append(
            Option(
                lawyer_id=prepared.arrays.lawyer_ids[int(cand.lawyer_index[row])],
                cost_points=int(prepared.costs.total[row]),
                terms=prepared.costs.breakdown(row),
                travel_km=round(float(cand.travel_km[row]), 3),
            )
        )
    return sorted(out, key=lambda o: (o.cost_points, o.lawyer_id))


def _plan_loads(prepared: Prepared, plan: Plan) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    arrays = prepared.arrays
    hours = arrays.current_load_hours.copy()
    count = arrays.current_open_cases.astype(np.int64).copy()
    lawyer_of: dict[str, str] = {}
    for a in plan.assignments:
        li = arrays.lawyer_pos[a.lawyer_id]
        hours[li] += a.workload_hours
        count[li] += 1
        lawyer_of[a.case_id] = a.lawyer_id
    return hours, count, lawyer_of


def _plan_reasons(prepared: Prepared, plan: Plan, case_index: int, lawyer_id: str) -> list[str]:
    """Plan-level reasons an eligible lawyer did not get the case: capacity used by the plan,
    or a group rule with another case of the plan."""
    arrays = prepared.arrays
    problem = arrays.problem
    case = problem.cases[case_index]
    hours, count, lawyer_of = _plan_loads(prepared, plan)
    li = arrays.lawyer_pos[lawyer_id]
    reasons = []
    own = lawyer_of.get(case.id) == lawyer_id
    extra_h = 0.0 if own else float(arrays.workload_hours[case_index])
    if hours[li] + extra_h > arrays.capacity_hours[li] + 1e-9:
        reasons.append(
            f"capacity: the plan already gives this lawyer {hours[li]:.1f} of "
            f"{arrays.capacity_hours[li]:.1f} hours; this case needs "
            f"{arrays.workload_hours[case_index]:.1f}"
        )
    if not own and count[li] + 1 > arrays.max_open_cases[li]:
        reasons.append(
            f"capacity: {count[li]} open cases in the plan, at most {arrays.max_open_cases[li]}"
        )
    groups = prepared.groups
    firm_of = {lw.id: lw.firm_id for lw in problem.lawyers}
    for clique in groups.same_lawyer_cliques:
        if case_index in clique:
            for other in clique:
                oid = arrays.case_ids[int(other)]
                if int(other) != case_index and lawyer_of.get(oid) == lawyer_id:
                    reasons.append(
                        f"codefendants/linked cases: case {oid} of the same group is with this "
                        "lawyer (SPC 2021 interpretation Art 43)"
                    )
    for clique in groups.same_firm_cliques:
        if case_index in clique:
            for other in clique:
                oid = arrays.case_ids[int(other)]
                other_l = lawyer_of.get(oid)
                if (
                    int(other) != case_index
                    and other_l is not None
                    and firm_of[other_l] == firm_of[lawyer_id]
                ):
                    reasons.append(
                        f"codefendants/linked cases: case {oid} is with the same firm "
                        "(policy: codefendants_same_firm_forbidden)"
                    )
    for side_a, side_b in groups.opposing_sides:
        for mine, theirs in ((side_a, side_b), (side_b, side_a)):
            if case_index in mine:
                for other in theirs:
                    oid = arrays.case_ids[int(other)]
                    other_l = lawyer_of.get(oid)
                    if other_l is not None and firm_of[other_l] == firm_of[lawyer_id]:
                        reasons.append(
                            f"opposing sides: case {oid} on the other side of the matter is "
                            "with the same firm (Conduct Norms Art 51)"
                        )
    return reasons


def explain_case(
    prepared: Prepared, plan: Plan, case_id: str, lawyer_id: str | None = None, top_k: int = 5
) -> CaseExplanation:
    """Explain a case of ``plan``; with ``lawyer_id``, also why that lawyer was not chosen."""
    arrays = prepared.arrays
    if case_id not in arrays.case_pos:
        raise KeyError(f"unknown case {case_id!r}")
    if lawyer_id is not None and lawyer_id not in arrays.lawyer_pos:
        raise KeyError(f"unknown lawyer {lawyer_id!r}")
    ci = arrays.case_pos[case_id]
    options = _options(prepared, ci)
    assigned = next((a for a in plan.assignments if a.case_id == case_id), None)
    chosen = None
    if assigned is not None:
        chosen = Option(
            assigned.lawyer_id, assigned.cost_points, assigned.terms, assigned.travel_km
        )
    unassigned = next((u for u in plan.unassigned if u.case_id == case_id), None)
    alternatives = [o for o in options if chosen is None or o.lawyer_id != chosen.lawyer_id]

    detail = None
    if lawyer_id is not None:
        exclusions = why_not(arrays, case_id, lawyer_id, tables=prepared.tables)
        if exclusions:
            detail = WhyNot(
                lawyer_id=lawyer_id,
                eligible=False,
                reasons=[f"{e.rule.value}: {e.detail} ({e.citation})" for e in exclusions],
            )
        else:
            option = next(o for o in options if o.lawyer_id == lawyer_id)
            reasons = _plan_reasons(prepared, plan, ci, lawyer_id)
            if chosen is not None and chosen.lawyer_id == lawyer_id:
                reasons = ["this lawyer is the one assigned"]
            elif chosen is not None and not reasons:
                diff = {
                    t: option.terms[t] - chosen.terms[t]
                    for t in TERMS
                    if option.terms[t] != chosen.terms[t]
                }
                reasons.append(_move_reason(prepared, plan, ci, lawyer_id, diff))
            elif not reasons:
                reasons.append("eligible; the plan left the case unassigned")
            detail = WhyNot(
                lawyer_id=lawyer_id,
                eligible=True,
                reasons=reasons,
                cost_points=option.cost_points,
                terms=option.terms,
            )
    return CaseExplanation(
        case_id=case_id,
        assigned_lawyer_id=assigned.lawyer_id if assigned else None,
        chosen=chosen,
        unassigned_reason=unassigned.reason.value if unassigned else None,
        alternatives=alternatives[:top_k],
        why_not=detail,
    )


def _move_reason(
    prepared: Prepared, plan: Plan, case_index: int, lawyer_id: str, diff: dict[str, int]
) -> str:
    """What moving the case from its lawyer to ``lawyer_id`` would change in the objective:
    the case's own cost (its terms) and what the two lawyers' loads and quotas add, from the
    plan's objective with the case moved and as it is."""
    inst, arrays = prepared.instance, prepared.arrays
    vector = np.full(inst.n_items, -1, dtype=np.int32)
    for a in plan.assignments:
        vector[arrays.case_pos[a.case_id]] = arrays.lawyer_pos[a.lawyer_id]
    before = evaluate(inst, vector)
    vector[case_index] = arrays.lawyer_pos[lawyer_id]
    after = evaluate(inst, vector)
    own, load, quota = (
        after.edge - before.edge,
        after.load - before.load,
        after.quota - before.quota,
    )
    change = after.total - before.total
    parts = [f"the case's own cost {own:+d} ({_fmt_terms(diff)})"]
    if load:
        parts.append(f"the lawyers' utilisation bands {load:+d}")
    if quota:
        parts.append(f"yearly quotas {quota:+d}")
    effect = ", ".join(parts)
    if change > 0:
        return (
            f"eligible, but moving the case to this lawyer would add {change} points to the "
            f"plan's objective: {effect}"
        )
    return (
        f"eligible, and moving the case to this lawyer alone would change the plan's objective "
        f"by {change:+d} points ({effect}); the search did not make that move"
    )


def _fmt_terms(diff: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:+d}" for k, v in diff.items()) or "no term differs"
