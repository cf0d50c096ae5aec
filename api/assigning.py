"""Assign and withdraw, safe under concurrent requests.

Two clients assigning the same case, or taking the same lawyer's last capacity, can never both
succeed:

- SQLite: the request's transaction began with ``BEGIN IMMEDIATE`` (``api.db``), so writers run
  one at a time and each sees the last one's commit.
- PostgreSQL: the request locks, in one global order, the rows its checks read: the case and
  its related cases (``SELECT ... FOR UPDATE``, sorted by id), then the load rows of the lawyers
  involved (sorted by id).  A second request for the same case or lawyer waits, then reads the
  committed version and load.

Only then are the case version and the engine's hard rules (capacity with the fresh loads,
conflicts, group rules against the related cases' lawyers) checked; a failed check is a 409
naming the reason, and nothing is written.

A mark that makes a case stay with its lawyer (started or pinned) is checked the same way
(``api.holding``): the lawyer must be eligible for it beside the other cases that must stay.
The mark locks its case row and its related cases' rows, then the lawyer's load row, so that
two marks of one lawyer's cases, or of related cases at one firm, are checked one after the
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api import audit, caseload, holding, kept_groups, state
from api.auth import Principal
from api.caseload import get_case
from api.models import (
    AssignmentRow,
    CaseExclusionRow,
    CaseRow,
    LawyerLoadRow,
    LawyerRow,
    utcnow,
)
from api.problems import ApiProblem, FieldError, conflict, invalid
from api.reads import LOCK_CASES, LOCK_LOADS, Reads
from api.recommending import RosterCache, case_context, case_rows
from api.schemas import AssignmentFlags, ReasonOut, WithdrawReason
from api.versions import check_version
from assigner.eligibility import Rule
from assigner.recommend import Reason, UnknownLawyer
from assigner.search.from_problem import must_stay

_LAWYER_EXISTS = select(LawyerRow.id).where(LawyerRow.id == bindparam("lawyer_id"))


def _lock_cases(session: Session, case_ids: list[str]) -> dict[str, CaseRow]:
    rows = session.execute(LOCK_CASES, {"ids": sorted(case_ids)}).scalars()
    return {r.id: r for r in rows}


def _lock_loads(session: Session, lawyer_ids: set[str]) -> dict[str, LawyerLoadRow]:
    rows = session.execute(LOCK_LOADS, {"ids": sorted(lawyer_ids)}).scalars()
    return {r.lawyer_id: r for r in rows}


def _refusal(
    case_id: str, lawyer_id: str, reasons: list[Reason], *, verb: str = "take", advice: str = ""
) -> ApiProblem:
    """409 with the reason: conflict of interest first, then capacity, else ineligible."""
    if any(r.is_conflict for r in reasons):
        reason, title = "conflict", "Conflict of interest"
    elif any(r.rule == Rule.CAPACITY for r in reasons):
        reason, title = "capacity", "Capacity exceeded"
    else:
        reason, title = "ineligible", "Lawyer not eligible"
    shown = "; ".join(f"{r.rule}: {r.detail}" for r in reasons)
    return conflict(
        reason,
        title,
        f"lawyer {lawyer_id} cannot {verb} case {case_id}: {shown}{advice}",
        case_id=case_id,
        lawyer_id=lawyer_id,
        reasons=[ReasonOut.of(r).model_dump() for r in reasons],
    )


@dataclass(frozen=True)
class Assigned:
    assignment: AssignmentRow
    case: CaseRow
    changed: bool


def assign(
    session: Session,
    cache: RosterCache,
    case_id: str,
    lawyer_id: str,
    expected_version: int,
    who: Principal,
    note: str | None = None,
) -> Assigned:
    _, related = case_rows(session, case_id)  # raises 404 for an unknown case
    locked = _lock_cases(session, [case_id] + [r.id for r in related])
    row = locked[case_id]
    check_version("case", case_id, row.version, expected_version)
    previous = row.assigned_lawyer_id
    if previous == lawyer_id:
        current = session.get(AssignmentRow, row.assignment_id) if row.assignment_id else None
        if current is None:
            raise RuntimeError(f"case {case_id} is assigned but has no active assignment row")
        return Assigned(current, row, changed=False)
    if session.connection().execute(_LAWYER_EXISTS, {"lawyer_id": lawyer_id}).first() is None:
        raise invalid(
            [
                FieldError(
                    field="lawyer_id", message=f"unknown lawyer {lawyer_id!r}", location="body"
                )
            ]
        )
    loads = _lock_loads(session, {lawyer_id} | ({previous} if previous else set()))

    # Every check reads after the locks: the loads, the related cases' lawyers, the version.
    # The case rows are the locked ones (read after the lock), not read a third time.
    ctx = case_context(
        session,
        cache,
        case_id,
        exact_loads={x: (load.assigned_hours, load.assigned_cases) for x, load in loads.items()},
        rows=(row, [locked[r.id] for r in related if r.id in locked]),
    )
    try:
        verdict = ctx.query.assess(lawyer_id)
    except UnknownLawyer as exc:
        raise invalid(
            [FieldError(field="lawyer_id", message=str(exc.args[0]), location="body")]
        ) from exc
    if not verdict.eligible or verdict.scored is None:
        raise _refusal(case_id, lawyer_id, verdict.reasons)
    scored = verdict.scored
    hours = ctx.query.workload_hours
    now = utcnow()
    state.bump_loads(session)

    moved_from = None
    if previous is not None and row.assignment_id is not None:
        old = session.get(AssignmentRow, row.assignment_id)
        if old is not None:
            old.withdrawn_at, old.withdrawn_by = now, who.actor
            old.withdraw_reason, old.withdraw_note = "reassigned", f"reassigned to {lawyer_id}"
        load = loads[previous]
        load.assigned_hours = max(0.0, load.assigned_hours - (row.assigned_hours or 0.0))
        load.assigned_cases = max(0, load.assigned_cases - 1)
        moved_from = previous
    target = loads[lawyer_id]
    target.assigned_hours += hours
    target.assigned_cases += 1
    new = AssignmentRow(
        case_id=case_id,
        lawyer_id=lawyer_id,
        workload_hours=hours,
        cost_points=scored.cost_points,
        terms=scored.terms,
        policy_version=ctx.policy_version,
        assigned_at=now,
        assigned_by=who.actor,
        note=note,
        withdrawn_at=None,
        withdrawn_by=None,
        withdraw_reason=None,
        withdraw_note=None,
    )
    session.add(new)
    session.flush()
    row.assigned_lawyer_id, row.assigned_hours, row.assignment_id = lawyer_id, hours, new.id
    row.version += 1
    row.updated_at = now
    top_terms = ", ".join(
        f"{k} {v}" for k, v in sorted(scored.terms.items(), key=lambda kv: -kv[1]) if v
    )
    audit.record(
        session,
        who,
        "assignment.create",
        "case",
        case_id,
        f"case {case_id} assigned to {lawyer_id}"
        + (f" (moved from {moved_from})" if moved_from else "")
        + f": all hard rules pass; cost {scored.cost_points} points ({top_terms or 'no cost'});"
        f" load after {scored.load_hours_after:g}/{scored.capacity_hours:g} h",
        {
            "lawyer_id": lawyer_id,
            "moved_from": moved_from,
            "cost_points": scored.cost_points,
            "terms": scored.terms,
            "workload_hours": hours,
            "case_version": row.version,
            "note": note,
        },
        policy_version=ctx.policy_version,
    )
    return Assigned(new, row, changed=True)


@dataclass(frozen=True)
class Withdrawn:
    case: CaseRow
    lawyer_id: str
    excluded: bool


def withdraw(
    session: Session,
    case_id: str,
    reason: WithdrawReason,
    note: str | None,
    expected_version: int,
    who: Principal,
) -> Withdrawn:
    row = _lock_cases(session, [case_id]).get(case_id)
    if row is None:
        row = get_case(session, case_id)  # raises 404
    check_version("case", case_id, row.version, expected_version)
    lawyer_id = row.assigned_lawyer_id
    if lawyer_id is None or row.assignment_id is None:
        raise ApiProblem(
            404, "not-assigned", "Not assigned", f"case {case_id} has no assignment to withdraw"
        )
    load = _lock_loads(session, {lawyer_id})[lawyer_id]
    now = utcnow()
    current = session.get(AssignmentRow, row.assignment_id)
    if current is not None:
        current.withdrawn_at, current.withdrawn_by = now, who.actor
        current.withdraw_reason, current.withdraw_note = str(reason), note
    load.assigned_hours = max(0.0, load.assigned_hours - (row.assigned_hours or 0.0))
    load.assigned_cases = max(0, load.assigned_cases - 1)
    excluded = reason is WithdrawReason.COMPLAINT
    if excluded and session.get(CaseExclusionRow, (case_id, lawyer_id)) is None:
        row.complaint_exclusions = [*(row.complaint_exclusions or []), lawyer_id]
        session.add(
            CaseExclusionRow(
                case_id=case_id,
                lawyer_id=lawyer_id,
                reason=note or "complaint",
                created_at=now,
                created_by=who.actor,
            )
        )
    row.assigned_lawyer_id, row.assigned_hours, row.assignment_id = None, None, None
    row.version += 1
    state.bump_loads(session)
    row.updated_at = now
    audit.record(
        session,
        who,
        "assignment.withdraw",
        "case",
        case_id,
        f"lawyer {lawyer_id} withdrawn from case {case_id}: {reason}"
        + (f" ({note})" if note else "")
        + (
            "; the client's complaint excludes this lawyer from the case from now on "
            "(Legal Aid Law Art 55)"
            if excluded
            else ""
        ),
        {"lawyer_id": lawyer_id, "reason": str(reason), "note": note, "case_version": row.version},
    )
    return Withdrawn(row, lawyer_id, excluded)


def _check_mark(
    session: Session, row: CaseRow, started: bool, pinned: bool, before: dict[str, bool]
) -> None:
    """Refuse a mark that makes the case stay with a lawyer the engine finds not eligible for
    it (beside the lawyer's other cases that must stay): every batch and rebalance job would
    refuse the caseload.  Takes the lawyer's load row after the case row (PostgreSQL), so
    that two marks of the same lawyer's cases are checked one after the other."""
    lawyer_id = row.assigned_lawyer_id
    if lawyer_id is None:
        return
    reads = Reads(session)
    _, policy = reads.policy()
    if not must_stay(started, pinned, policy) or must_stay(
        before["started"], before["pinned"], policy
    ):
        return
    reads.load(lawyer_id)
    others, _ = caseload.kept_cases(reads, lawyer_id, besides=row.id)
    marked = caseload.kept_case(caseload.engine_case(row), lawyer_id, started, pinned)
    lawyer = reads.lawyer(lawyer_id)
    found = holding.mark_breach(reads, lawyer, marked, others, policy, datetime.now(UTC))
    if not found:
        case = caseload.engine_case(row)
        edit = kept_groups.Edit(case, case, lawyer_id, kept_before=False, kept_after=True)
        breaches = kept_groups.new_group_breaches(reads, [edit]).get(row.id)
        if breaches:
            raise kept_groups.group_refusal(f"case {row.id}", breaches, case_id=row.id)
    if found:
        raise _refusal(
            row.id,
            lawyer_id,
            [Reason(str(e.rule), e.citation, e.detail) for e in found],
            verb="keep",
            advice=f"; a {marked.marks} case stays with its lawyer, so every batch and "
            "rebalance job would refuse the caseload. Move the case to another lawyer "
            "(PUT /v1/cases/{id}/assignment) or withdraw it (DELETE "
            "/v1/cases/{id}/assignment) instead; nothing was written",
        )


def set_flags(
    session: Session, case_id: str, flags: AssignmentFlags, expected_version: int, who: Principal
) -> Assigned:
    """Mark the case's current assignment started and/or pinned (or clear the marks); the case
    version grows by one, as for any change the rebalance plan depends on.  A mark that would
    keep the case with a lawyer not eligible for it is refused (``_check_mark``).

    The mark locks its case and the related cases (the cases it links, the cases linking it,
    the cases of its matter), as an assignment does: two marks of related cases at different
    lawyers of one firm (opposing sides, co-defendants where the policy keeps them apart) then
    run one after the other, and the second sees the first's mark in its group check."""
    _, related = case_rows(session, case_id)  # raises 404 for an unknown case
    row = _lock_cases(session, [case_id] + [r.id for r in related])[case_id]
    check_version("case", case_id, row.version, expected_version)
    current = session.get(AssignmentRow, row.assignment_id) if row.assignment_id else None
    if row.assigned_lawyer_id is None or current is None:
        raise ApiProblem(
            404, "not-assigned", "Not assigned", f"case {case_id} has no assignment to mark"
        )
    before = {"started": current.started, "pinned": current.pinned}
    after = {
        "started": current.started if flags.started is None else flags.started,
        "pinned": current.pinned if flags.pinned is None else flags.pinned,
    }
    if any(after[k] and not before[k] for k in after):
        _check_mark(session, row, after["started"], after["pinned"], before)
    current.started, current.pinned = after["started"], after["pinned"]
    if after == before:
        return Assigned(current, row, changed=False)
    row.version += 1
    row.updated_at = utcnow()
    shown = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in after.items())
    audit.record(
        session,
        who,
        "assignment.flags",
        "case",
        case_id,
        f"case {case_id} with {current.lawyer_id}: {shown}"
        + (f" ({flags.note})" if flags.note else ""),
        {"before": before, "after": after, "note": flags.note, "case_version": row.version},
    )
    return Assigned(current, row, changed=True)
