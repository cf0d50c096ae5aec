"""The stored state as an engine Problem: for the batch assignment job, for the rebalance job
and its apply check, and as the database baseline of a what-if scenario.

Two scopes:

- ``batch``: the unassigned cases, plus the assigned cases they are related to (co-defendants,
  linked cases), pinned to their lawyers so that the group rules hold against them;
- ``full``: every open case (every case the service holds), each assigned one with its current
  lawyer and its started / pinned flags.

Loads: a lawyer's document carries the work outside the service; ``lawyer_loads`` the hours and
cases the service assigned (``api.models``).  The engine adds the hours of every assigned case
in the problem itself, so a lawyer's load in the problem is the document's plus the service's,
net of the assigned cases the problem includes.  In the ``full`` scope that is the document's
load (every assigned case is in the problem).

``versions`` are the case record versions the state was read at (every case in the problem).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import policies
from api.caseload import engine_case
from api.models import AssignmentRow, CaseRefRow, CaseRow, FirmRow, LawyerLoadRow, LawyerRow
from assigner.domain import Case, CurrentAssignment, Firm, Lawyer, Problem


class Scope(StrEnum):
    BATCH = "batch"
    FULL = "full"


@dataclass(frozen=True)
class StateInput:
    problem: Problem
    versions: dict[str, int]  # case id -> record version read
    open_case_ids: frozenset[str]  # the cases without a lawyer when the state was read
    case_rows: dict[str, CaseRow]  # the rows read (kept: the session holds them weakly)


@dataclass(frozen=True)
class _StoredCase:
    row: CaseRow
    started: bool
    pinned: bool


def _case_rows(session: Session, scope: Scope, lock: bool) -> list[_StoredCase]:
    query = (
        select(CaseRow, AssignmentRow.started, AssignmentRow.pinned)
        .outerjoin(AssignmentRow, AssignmentRow.id == CaseRow.assignment_id)
        .order_by(CaseRow.id)
    )
    if lock:
        query = query.with_for_update(of=CaseRow)
    stored = [
        _StoredCase(row, bool(started), bool(pinned))
        for row, started, pinned in session.execute(query).all()
    ]
    if scope is Scope.FULL:
        return stored
    open_ids = {s.row.id for s in stored if s.row.assigned_lawyer_id is None}
    matters = {
        s.row.matter_id
        for s in stored
        if s.row.assigned_lawyer_id is None and s.row.matter_id is not None
    }
    linked = {
        x
        for s in stored
        if s.row.assigned_lawyer_id is None
        for x in s.row.document.get("linked_case_ids") or []
    }
    linking = (
        set(
            session.execute(
                select(CaseRefRow.case_id).where(
                    CaseRefRow.kind == "linked_case", CaseRefRow.ref_id.in_(open_ids)
                )
            ).scalars()
        )
        if open_ids
        else set()
    )
    related = [
        s
        for s in stored
        if s.row.assigned_lawyer_id is not None
        and (s.row.matter_id in matters or s.row.id in linked or s.row.id in linking)
    ]
    # The related assigned cases are context only: pinned, so the batch never moves them.
    return [s for s in stored if s.row.id in open_ids] + [
        _StoredCase(s.row, s.started, True) for s in related
    ]


def export_state(
    session: Session, as_of: datetime, scope: Scope, *, lock: bool = False, name: str = ""
) -> StateInput:
    """The state in ``scope`` as a Problem.  ``lock`` takes row locks on the cases, lawyers and
    loads read (PostgreSQL; SQLite write transactions hold the database lock already), so that
    nothing the state depends on changes before the transaction ends."""
    _, policy = policies.current(session)
    stored = _case_rows(session, scope, lock)
    included = {s.row.id for s in stored}
    cases: list[Case] = []
    in_problem_hours: dict[str, float] = {}
    in_problem_count: dict[str, int] = {}
    for s in stored:
        case = engine_case(s.row)
        update: dict[str, Any] = {
            "linked_case_ids": [x for x in case.linked_case_ids if x in included]
        }
        lawyer_id = s.row.assigned_lawyer_id
        if lawyer_id is not None:
            update["current_assignment"] = CurrentAssignment(
                lawyer_id=lawyer_id, started=s.started, pinned=s.pinned
            )
            in_problem_hours[lawyer_id] = in_problem_hours.get(lawyer_id, 0.0) + (
                s.row.assigned_hours or 0.0
            )
            in_problem_count[lawyer_id] = in_problem_count.get(lawyer_id, 0) + 1
        cases.append(case.model_copy(update=update))

    load_query = select(
        LawyerLoadRow.lawyer_id, LawyerLoadRow.assigned_hours, LawyerLoadRow.assigned_cases
    )
    lawyer_query = select(LawyerRow.document).order_by(LawyerRow.id)
    if lock:
        load_query = load_query.order_by(LawyerLoadRow.lawyer_id).with_for_update()
        lawyer_query = lawyer_query.with_for_update()
    loads = {lid: (hours, count) for lid, hours, count in session.execute(load_query)}
    lawyers = []
    for doc in session.execute(lawyer_query).scalars():
        lw = Lawyer.model_validate(doc)
        hours, count = loads.get(lw.id, (0.0, 0))
        net_hours = lw.current_load_hours + hours - in_problem_hours.get(lw.id, 0.0)
        net_count = lw.current_open_cases + count - in_problem_count.get(lw.id, 0)
        lawyers.append(
            lw.model_copy(
                update={
                    # rounding: hours summed in another order differ in the last bits
                    "current_load_hours": max(0.0, round(net_hours, 6)),
                    "current_open_cases": max(0, net_count),
                }
            )
        )
    firms = [
        Firm.model_validate(doc)
        for doc in session.execute(select(FirmRow.document).order_by(FirmRow.id)).scalars()
    ]
    problem = Problem(
        name=name or f"{scope}-state",
        as_of=as_of,
        policy=policy,
        firms=firms,
        lawyers=lawyers,
        cases=cases,
    )
    return StateInput(
        problem,
        {s.row.id: s.row.version for s in stored},
        frozenset(s.row.id for s in stored if s.row.assigned_lawyer_id is None),
        {s.row.id: s.row for s in stored},
    )


def snapshot_from_url(url: str) -> Problem:
    """A what-if scenario's ``database_url`` baseline: the full stored state of the service
    database at ``url``, read without changing it (the schema must be at the newest migration).
    Raises ``SnapshotUnavailableError`` saying why it cannot be read."""
    from api.db import DatabaseNotReady, open_existing
    from api.scenario_jobs import SERVICE_STATE_URL
    from scenarios.whatif.errors import SnapshotUnavailableError

    if url == SERVICE_STATE_URL:
        raise SnapshotUnavailableError(
            f"{url} names the stored state of the service running a scenario job (POST "
            "/v1/jobs with kind scenario); anywhere else give the database's URL, e.g. "
            "sqlite:///assigner.db"
        )
    try:
        db = open_existing(url)
    except DatabaseNotReady as exc:
        raise SnapshotUnavailableError(str(exc)) from exc
    try:
        with db.transaction(write=False) as session:
            try:
                state = export_state(session, datetime.now(UTC), Scope.FULL, name="snapshot")
            except RuntimeError as exc:  # no policy yet
                raise SnapshotUnavailableError(f"{url!r}: {exc}") from exc
        return state.problem
    finally:
        db.dispose()
