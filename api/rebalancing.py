"""Rebalance plans in the service: keep one for review, apply it all at once, or reject it.

A plan (``assigner.rebalance.RebalancePlan``) is made by a ``rebalance`` job or by ``assigner
rebalance --db`` from the full stored state (``api.state_export``) and kept as the job's result
with review status *pending*.  An administrator applies or rejects it.

Applying is all or nothing, in one transaction: the state is read again under locks (SQLite: the
write transaction's database lock; PostgreSQL: the rows of every case, load and lawyer read, then
the service-state row that every assignment and roster write updates), compared with the state
the plan recorded (``apply_check``: case versions, lawyers, loads, flags, policy) and, if
anything differs, refused with 409 ``state-changed`` listing the differences.  Otherwise every
move and backlog assignment is written (the previous assignment withdrawn with reason
``rebalanced``, a new one with the plan's cost terms; loads adjusted; each case's version +1),
each with an audit entry that says why.  The plan was verified against exactly this state, so the
writes need no per-assignment re-check (which could not accept swaps between full lawyers).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from api import audit, state
from api.auth import Principal
from api.models import AssignmentRow, CaseRow, JobRow, LawyerLoadRow, utcnow
from api.problems import conflict, not_found
from api.schemas import JobKind, JobStatus, ReviewStatus
from api.state_export import Scope, StateInput, export_state
from assigner.rebalance import Move, RebalancePlan, StateChanged, apply_check

SHOWN_CHANGES = 100


def plan_of(row: JobRow) -> RebalancePlan:
    if row.result is None or "rebalance" not in row.result:
        raise RuntimeError(f"job {row.id} holds no rebalance plan")
    return RebalancePlan.model_validate(row.result["rebalance"])


def _reviewable(session: Session, job_id: str) -> JobRow:
    row = session.get(JobRow, job_id, with_for_update=True)
    if row is None:
        raise not_found("job", job_id)
    if row.kind != JobKind.REBALANCE:
        raise conflict("not-a-plan", "Not a rebalance plan", f"job {job_id} is a {row.kind} job")
    if row.status != JobStatus.SUCCEEDED:
        raise conflict(
            "no-plan", "No plan to review", f"job {job_id} is {row.status}; it has no plan"
        )
    if row.review_status != ReviewStatus.PENDING:
        raise conflict(
            "reviewed",
            "Plan already reviewed",
            f"the plan of job {job_id} was {row.review_status} by {row.reviewed_by} "
            f"at {row.reviewed_at}",
        )
    return row


def _mark(row: JobRow, status: ReviewStatus, who: Principal, note: str | None) -> None:
    row.review_status = str(status)
    row.reviewed_at = utcnow()
    row.reviewed_by = who.actor
    row.review_note = note


def reject(session: Session, job_id: str, who: Principal, note: str) -> JobRow:
    row = _reviewable(session, job_id)
    _mark(row, ReviewStatus.REJECTED, who, note)
    audit.record(
        session,
        who,
        "rebalance.reject",
        "job",
        job_id,
        f"rebalance plan of job {job_id} rejected: {note}",
        {"fingerprint": plan_of(row).fingerprint},
    )
    return row


def apply(session: Session, job_id: str, who: Principal, note: str | None) -> JobRow:
    """Apply the pending plan of ``job_id`` (409 when the state changed since planning)."""
    row = _reviewable(session, job_id)
    plan = plan_of(row)
    written = write_plan(session, plan, who, f"rebalance job {job_id}")
    _mark(row, ReviewStatus.APPLIED, who, note)
    row.result = {**(row.result or {}), "applied": written}
    audit.record(
        session,
        who,
        "rebalance.apply",
        "job",
        job_id,
        f"rebalance plan of job {job_id} applied: {written['moved']} moves, "
        f"{written['assigned']} backlog cases assigned" + (f" ({note})" if note else ""),
        {"fingerprint": plan.fingerprint, **written},
        policy_version=plan.policy_version,
    )
    return row


def store(session: Session, plan: RebalancePlan, params: dict[str, Any], who: Principal) -> JobRow:
    """Keep a plan made outside the job runner (``assigner rebalance --db``) as a finished
    rebalance job, pending review."""
    now = utcnow()
    row = JobRow(
        id=uuid.uuid4().hex,
        kind=str(JobKind.REBALANCE),
        status=str(JobStatus.SUCCEEDED),
        params=params,
        progress={"phase": "done", "elapsed_s": plan.wall_time_s},
        result={"rebalance": plan.model_dump(mode="json")},
        error=None,
        attempts=1,
        cancel_requested=False,
        runner_id=None,
        heartbeat_at=None,
        created_at=now,
        created_by=who.actor,
        started_at=now,
        finished_at=now,
        review_status=str(ReviewStatus.PENDING),
    )
    session.add(row)
    audit.record(
        session,
        who,
        "rebalance.plan",
        "job",
        row.id,
        f"rebalance plan stored for review: {len(plan.moves)} moves, "
        f"{len(plan.new_assignments)} backlog cases to assign",
        {"fingerprint": plan.fingerprint},
        policy_version=plan.policy_version,
    )
    return row


def _why(move: Move) -> str:
    return (
        f"{move.reason}; score {move.cost_before_points:,} -> {move.cost_after_points:,} points "
        f"({move.score_change_points:+,})"
    )


def locked_state(session: Session) -> StateInput:
    """The whole stored state, read under the locks an apply holds until it commits.

    The rows first (every case, load and lawyer, each kind in id order), then the service-state
    row: the order every assignment, withdrawal and roster write takes its locks in too, so
    that none of them waits for this transaction while it waits for them (PostgreSQL would
    abort one of the two as a deadlock).  A write in flight holds its rows until it commits;
    this transaction reads them after that."""
    now_state = export_state(session, utcnow(), Scope.FULL, lock=True)
    state.bump_loads(session)
    return now_state


def write_plan(
    session: Session, plan: RebalancePlan, who: Principal, origin: str
) -> dict[str, Any]:
    """Check the state now against the plan's and write every change, or raise 409."""
    now_state = locked_state(session)
    try:
        apply_check(plan, now_state.problem, now_state.versions)
    except StateChanged as exc:
        raise conflict(
            "state-changed",
            "State changed since planning",
            f"not applied: {exc}",
            changes=exc.changes[:SHOWN_CHANGES],
            changes_total=len(exc.changes),
        ) from exc

    target = {a.case_id: a for a in plan.plan.assignments}
    moves = {m.case_id: m for m in plan.moves}
    new_reason = {n.case_id: n.reason for n in plan.new_assignments}
    changed = [
        case_id
        for case_id, before in plan.state.cases.items()
        if (target[case_id].lawyer_id if case_id in target else None) != before.lawyer_id
    ]
    rows = now_state.case_rows  # read (and locked) by export_state: no further reads
    loads = {
        r.lawyer_id: r
        for r in session.execute(
            select(LawyerLoadRow).execution_options(populate_existing=True)
        ).scalars()
    }
    now = utcnow()
    # The writes go as batched statements (one INSERT of the new assignments with their ids
    # returned, one of the audit entries, one UPDATE per column set of the cases), not one
    # ORM object per row: a county writes tens of thousands of rows here.
    new_rows: list[dict[str, Any]] = []
    withdrawn: list[dict[str, Any]] = []
    for case_id in changed:
        row = rows[case_id]
        new = target.get(case_id)
        previous = row.assigned_lawyer_id
        if previous is not None:
            move = moves.get(case_id)
            if move is None:
                raise RuntimeError(f"plan moves case {case_id} without a move record")
            if row.assignment_id is not None:
                withdrawn.append(
                    {
                        "id": row.assignment_id,
                        "withdrawn_at": now,
                        "withdrawn_by": who.actor,
                        "withdraw_reason": "rebalanced",
                        "withdraw_note": f"{origin}: {move.reason}",
                    }
                )
            load = loads[previous]
            load.assigned_hours = max(0.0, load.assigned_hours - (row.assigned_hours or 0.0))
            load.assigned_cases = max(0, load.assigned_cases - 1)
        if new is not None:
            new_rows.append(
                {
                    "case_id": case_id,
                    "lawyer_id": new.lawyer_id,
                    "workload_hours": new.workload_hours,
                    "cost_points": new.cost_points,
                    "terms": new.terms,
                    "policy_version": plan.policy_version,
                    "assigned_at": now,
                    "assigned_by": who.actor,
                    "note": origin,
                    "started": False,
                    "pinned": False,
                }
            )
            target_load = loads[new.lawyer_id]
            target_load.assigned_hours += new.workload_hours
            target_load.assigned_cases += 1
    if withdrawn:
        session.execute(update(AssignmentRow), withdrawn)
    assignment_of: dict[str, int] = {}
    if new_rows:
        returned = session.execute(
            insert(AssignmentRow).returning(
                AssignmentRow.case_id, AssignmentRow.id, sort_by_parameter_order=True
            ),
            new_rows,
        )
        assignment_of = {case_id: int(new_id) for case_id, new_id in returned}

    case_updates: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    moved = assigned = opened = 0
    for case_id in changed:
        row = rows[case_id]
        new = target.get(case_id)
        version = row.version + 1
        if new is None:
            opened += 1
        case_updates.append(
            {
                "id": case_id,
                "assigned_lawyer_id": new.lawyer_id if new is not None else None,
                "assigned_hours": new.workload_hours if new is not None else None,
                "assignment_id": assignment_of[case_id] if new is not None else None,
                "version": version,
                "updated_at": now,
            }
        )
        move = moves.get(case_id)
        if move is not None:
            moved += 1
            to = move.to_lawyer_id or "nobody (left open)"
            entries.append(
                audit.entry(
                    who,
                    "rebalance.move",
                    "case",
                    case_id,
                    f"case {case_id} moved from {move.from_lawyer_id} to {to} by {origin}: "
                    + _why(move),
                    {
                        "from": move.from_lawyer_id,
                        "to": move.to_lawyer_id,
                        "kind": str(move.kind),
                        "terms_before": move.terms_before,
                        "terms_after": move.terms_after,
                        "case_version": version,
                    },
                    plan.policy_version,
                )
            )
        elif new is not None:
            assigned += 1
            entries.append(
                audit.entry(
                    who,
                    "rebalance.assign",
                    "case",
                    case_id,
                    f"case {case_id} assigned to {new.lawyer_id} by {origin}: "
                    f"{new_reason.get(case_id, 'backlog')}; cost {new.cost_points:,} points",
                    {
                        "lawyer_id": new.lawyer_id,
                        "terms": new.terms,
                        "workload_hours": new.workload_hours,
                        "case_version": version,
                    },
                    plan.policy_version,
                )
            )
    for case_id in changed:  # the loaded rows must not flush stale values over the update
        session.expunge(rows[case_id])
    if case_updates:
        session.execute(update(CaseRow), case_updates)
    audit.record_many(session, entries)
    return {
        "moved": moved,
        "assigned": assigned,
        "left_open": opened,
        "cases_written": len(changed),
    }
