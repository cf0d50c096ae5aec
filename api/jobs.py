"""Jobs: submit, poll progress, cancel; state in the database so that no job is lost.

A :class:`JobRunner` thread in the server claims queued jobs (a conditional UPDATE, so two
servers never run one job), runs each solve in a spawned child process (so cancel stops it at
once), writes progress (objective, bound, gap, elapsed) and a heartbeat while it runs, and keeps
the result.  A running job whose heartbeat is older than ``job_lease_s`` was interrupted (the
server was killed or restarted): it is re-queued and run again from the start, or marked failed
once it has been tried ``job_max_attempts`` times.  A graceful shutdown re-queues its job at
once, without counting the attempt.

Kinds: ``batch_assignment`` (assign the open, unassigned caseload now; with ``apply`` the plan's
assignments are committed, each re-checked under the same locks as a single assignment).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api import assigning, audit, policies
from api.auth import Principal, Role
from api.caseload import engine_case
from api.db import Database
from api.job_worker import run_batch_assignment
from api.metrics import Metrics
from api.models import CaseRefRow, CaseRow, FirmRow, JobRow, LawyerLoadRow, LawyerRow, utcnow
from api.problems import ApiProblem, conflict, not_found
from api.recommending import RosterCache
from api.schemas import JobCreate, JobKind, JobProgress, JobPublic, JobStatus
from api.settings import Settings
from assigner.domain import Case, CurrentAssignment, Firm, Lawyer, Plan, Problem

log = logging.getLogger(__name__)

FINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
_APPLY_CHUNK = 50


# ---- the jobs resource -----------------------------------------------------------------------


def job_public(row: JobRow) -> JobPublic:
    return JobPublic(
        id=row.id,
        kind=JobKind(row.kind),
        status=JobStatus(row.status),
        params=row.params,
        progress=JobProgress.model_validate(row.progress) if row.progress else None,
        result=row.result,
        error=row.error,
        attempts=row.attempts,
        cancel_requested=row.cancel_requested,
        created_at=row.created_at,
        created_by=row.created_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def create_job(session: Session, body: JobCreate, who: Principal) -> JobRow:
    row = JobRow(
        id=uuid.uuid4().hex,
        kind=str(body.kind),
        status=str(JobStatus.QUEUED),
        params=body.params.model_dump(mode="json"),
        progress=None,
        result=None,
        error=None,
        attempts=0,
        cancel_requested=False,
        runner_id=None,
        heartbeat_at=None,
        created_at=utcnow(),
        created_by=who.actor,
        started_at=None,
        finished_at=None,
    )
    session.add(row)
    audit.record(
        session, who, "job.create", "job", row.id, f"{body.kind} job queued", {"params": row.params}
    )
    return row


def get_job(session: Session, job_id: str) -> JobRow:
    row = session.get(JobRow, job_id)
    if row is None:
        raise not_found("job", job_id)
    return row


def list_jobs(
    session: Session, status: JobStatus | None, kind: JobKind | None, limit: int, offset: int
) -> tuple[list[JobRow], int]:
    query = select(JobRow)
    if status is not None:
        query = query.where(JobRow.status == str(status))
    if kind is not None:
        query = query.where(JobRow.kind == str(kind))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(JobRow.created_at.desc(), JobRow.id).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)


def cancel_job(session: Session, job_id: str, who: Principal) -> JobRow:
    row = session.get(JobRow, job_id, with_for_update=True)
    if row is None:
        raise not_found("job", job_id)
    if row.status in FINAL:
        raise conflict("finished", "Job finished", f"job {job_id} is already {row.status}")
    if row.status == JobStatus.QUEUED:
        row.status = str(JobStatus.CANCELLED)
        row.finished_at = utcnow()
        row.error = f"cancelled by {who.actor} before it started"
    row.cancel_requested = True
    audit.record(session, who, "job.cancel", "job", job_id, f"cancel requested for job {job_id}")
    return row


# ---- the batch assignment problem -------------------------------------------------------------


@dataclass(frozen=True)
class BatchInput:
    problem: Problem
    versions: dict[str, int]  # unassigned case id -> version seen


def batch_problem(session: Session, as_of: datetime) -> BatchInput:
    """Roster + the unassigned cases + the assigned cases they are related to (pinned to their
    lawyers, so group rules hold against them), with loads net of those pinned cases."""
    _, policy = policies.current(session)
    open_rows = list(
        session.execute(
            select(CaseRow).where(CaseRow.assigned_lawyer_id.is_(None)).order_by(CaseRow.id)
        ).scalars()
    )
    open_ids = {r.id for r in open_rows}
    matters = {r.matter_id for r in open_rows if r.matter_id is not None}
    linked = {x for r in open_rows for x in r.document.get("linked_case_ids") or []}
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
    pinned_rows = [
        r
        for r in session.execute(
            select(CaseRow).where(CaseRow.assigned_lawyer_id.is_not(None)).order_by(CaseRow.id)
        ).scalars()
        if r.matter_id in matters or r.id in linked or r.id in linking
    ]
    rows = open_rows + pinned_rows
    included = {r.id for r in rows}
    cases: list[Case] = []
    pinned_hours: dict[str, float] = {}
    for r in rows:
        case = engine_case(r)
        update_: dict[str, Any] = {
            "linked_case_ids": [x for x in case.linked_case_ids if x in included]
        }
        if r.assigned_lawyer_id is not None:
            update_["current_assignment"] = CurrentAssignment(
                lawyer_id=r.assigned_lawyer_id, pinned=True
            )
            pinned_hours[r.assigned_lawyer_id] = pinned_hours.get(r.assigned_lawyer_id, 0.0) + (
                r.assigned_hours or 0.0
            )
        cases.append(case.model_copy(update=update_))
    pinned_count: dict[str, int] = {}
    for r in pinned_rows:
        assert r.assigned_lawyer_id is not None
        pinned_count[r.assigned_lawyer_id] = pinned_count.get(r.assigned_lawyer_id, 0) + 1

    loads = {
        lawyer_id: (hours, count)
        for lawyer_id, hours, count in session.execute(
            select(
                LawyerLoadRow.lawyer_id, LawyerLoadRow.assigned_hours, LawyerLoadRow.assigned_cases
            )
        )
    }
    lawyers = []
    for doc in session.execute(select(LawyerRow.document).order_by(LawyerRow.id)).scalars():
        lw = Lawyer.model_validate(doc)
        hours, count = loads.get(lw.id, (0.0, 0))
        lawyers.append(
            lw.model_copy(
                update={
                    "current_load_hours": max(
                        0.0, lw.current_load_hours + hours - pinned_hours.get(lw.id, 0.0)
                    ),
                    "current_open_cases": max(
                        0, lw.current_open_cases + count - pinned_count.get(lw.id, 0)
                    ),
                }
            )
        )
    firms = [
        Firm.model_validate(doc)
        for doc in session.execute(select(FirmRow.document).order_by(FirmRow.id)).scalars()
    ]
    problem = Problem(
        name="batch-assignment",
        as_of=as_of,
        policy=policy,
        firms=firms,
        lawyers=lawyers,
        cases=cases,
    )
    return BatchInput(problem, {r.id: r.version for r in open_rows})


def apply_plan(
    db: Database, cache: RosterCache, plan: Plan, batch: BatchInput, who: Principal, job_id: str
) -> dict[str, Any]:
    """Commit the plan's assignments of the open cases, in chunks; each is re-checked under
    locks like a single assignment and skipped, with its reason, when it no longer holds."""
    applied: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    todo = [a for a in plan.assignments if a.case_id in batch.versions]
    for start in range(0, len(todo), _APPLY_CHUNK):
        with db.transaction(write=True) as session:
            for a in todo[start : start + _APPLY_CHUNK]:
                try:
                    with session.begin_nested():
                        done = assigning.assign(
                            session,
                            cache,
                            a.case_id,
                            a.lawyer_id,
                            batch.versions[a.case_id],
                            who,
                            note=f"batch assignment job {job_id}",
                        )
                    applied.append(
                        {
                            "case_id": a.case_id,
                            "lawyer_id": a.lawyer_id,
                            "case_version": done.case.version,
                        }
                    )
                except ApiProblem as exc:
                    skipped.append(
                        {
                            "case_id": a.case_id,
                            "lawyer_id": a.lawyer_id,
                            "reason": exc.extensions.get("reason", exc.kind),
                            "detail": exc.detail,
                        }
                    )
    moved = [
        a.case_id for a in plan.assignments if a.case_id not in batch.versions and a.moved_from
    ]
    return {"applied": applied, "skipped": skipped, "not_moved": moved}


# ---- the runner ------------------------------------------------------------------------------


class JobRunner:
    """One thread that runs queued jobs one at a time, each solve in a child process."""

    def __init__(
        self, db: Database, settings: Settings, metrics: Metrics, cache: RosterCache
    ) -> None:
        self.db = db
        self.settings = settings
        self.metrics = metrics
        self.cache = cache
        self.runner_id = uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = multiprocessing.get_context("spawn")

    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    # -- recovery and claiming --

    def recover(self) -> int:
        """Re-queue (or fail, past the attempt limit) running jobs whose heartbeat is stale."""
        stale_before = utcnow() - timedelta(seconds=self.settings.job_lease_s)
        with self.db.transaction(write=False) as session:
            stale = (
                session.execute(
                    select(JobRow.id).where(
                        JobRow.status == str(JobStatus.RUNNING),
                        (JobRow.heartbeat_at.is_(None)) | (JobRow.heartbeat_at < stale_before),
                    )
                )
                .scalars()
                .all()
            )
        recovered = 0
        for job_id in stale:
            with self.db.transaction(write=True) as session:
                row = session.get(JobRow, job_id, with_for_update=True)
                if row is None or row.status != JobStatus.RUNNING:
                    continue
                if row.heartbeat_at is not None and row.heartbeat_at >= stale_before:
                    continue
                when = utcnow().isoformat(timespec="seconds")
                if row.attempts >= self.settings.job_max_attempts:
                    row.status = str(JobStatus.FAILED)
                    row.finished_at = utcnow()
                    row.error = (
                        f"interrupted (server restart or crash; last heartbeat "
                        f"{row.heartbeat_at}) after {row.attempts} attempt(s); not retried"
                    )
                    self.metrics.jobs.labels(row.kind, row.status).inc()
                    log.warning("job %s failed after interruption", job_id)
                else:
                    row.status = str(JobStatus.QUEUED)
                    row.runner_id = None
                    row.error = (
                        f"interrupted (server restart or crash), re-queued at {when}; "
                        f"attempt {row.attempts} of {self.settings.job_max_attempts} was lost"
                    )
                    log.warning("job %s interrupted; re-queued", job_id)
                recovered += 1
        return recovered

    def _claim(self) -> JobRow | None:
        with self.db.transaction(write=False) as session:
            job_id = session.execute(
                select(JobRow.id)
                .where(JobRow.status == str(JobStatus.QUEUED))
                .order_by(JobRow.created_at, JobRow.id)
                .limit(1)
            ).scalar_one_or_none()
        if job_id is None:
            return None
        now = utcnow()
        with self.db.transaction(write=True) as session:
            claimed = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == str(JobStatus.QUEUED))
                .values(
                    status=str(JobStatus.RUNNING),
                    runner_id=self.runner_id,
                    attempts=JobRow.attempts + 1,
                    started_at=now,
                    heartbeat_at=now,
                    cancel_requested=False,
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return session.get(JobRow, job_id)

    # -- running --

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.recover()
                job = self._claim()
                if job is None:
                    self._stop.wait(self.settings.job_poll_s)
                    continue
                self._run(job)
            except Exception:
                log.exception("job runner step failed; retrying")
                self._stop.wait(self.settings.job_poll_s)

    def _finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        progress: dict[str, Any] | None = None,
    ) -> None:
        with self.db.transaction(write=True) as session:
            row = session.get(JobRow, job_id, with_for_update=True)
            if row is None or row.runner_id != self.runner_id or row.status != JobStatus.RUNNING:
                log.warning("job %s changed hands; result of this run dropped", job_id)
                return
            row.status = str(status)
            row.finished_at = utcnow()
            row.result = result
            if error is not None or status is not JobStatus.SUCCEEDED:
                row.error = error
            if progress is not None:
                row.progress = progress
            self.metrics.jobs.labels(row.kind, row.status).inc()

    def _requeue(self, job_id: str) -> None:
        """Graceful shutdown: put the job back at once; the attempt does not count."""
        with self.db.transaction(write=True) as session:
            session.execute(
                update(JobRow)
                .where(
                    JobRow.id == job_id,
                    JobRow.runner_id == self.runner_id,
                    JobRow.status == str(JobStatus.RUNNING),
                )
                .values(
                    status=str(JobStatus.QUEUED),
                    runner_id=None,
                    attempts=JobRow.attempts - 1,
                    error="re-queued: the server stopped",
                )
            )

    def _beat(self, job_id: str, progress: dict[str, Any] | None) -> bool:
        """Heartbeat and progress; True when a cancel was asked."""
        with self.db.transaction(write=True) as session:
            row = session.get(JobRow, job_id)
            if row is None or row.runner_id != self.runner_id:
                return True
            row.heartbeat_at = utcnow()
            if progress is not None:
                row.progress = progress
            return bool(row.cancel_requested)

    def _run(self, job: JobRow) -> None:
        job_id, params = job.id, dict(job.params)
        log.info("job %s (%s) started, attempt %d", job_id, job.kind, job.attempts)
        started = time.monotonic()
        with self.db.transaction(write=False) as session:
            batch = batch_problem(session, datetime.now(UTC))
        if not batch.versions:
            self._finish(
                job_id,
                JobStatus.SUCCEEDED,
                result={"plan": None, "note": "no unassigned cases"},
                progress=JobProgress(elapsed_s=0.0).model_dump(),
            )
            return
        receiver, sender = self._context.Pipe(duplex=False)
        child = self._context.Process(
            target=run_batch_assignment,
            args=(sender, batch.problem.model_dump_json(), params, os.getpid()),
            name=f"job-{job_id[:8]}",
            daemon=True,
        )
        child.start()
        sender.close()
        latest: dict[str, Any] | None = None
        plan_json: str | None = None
        error: str | None = None
        beat_every = max(0.1, min(1.0, self.settings.job_lease_s / 3))
        last_beat = 0.0
        try:
            while True:
                if receiver.poll(0.1):
                    try:
                        kind, payload = receiver.recv()
                    except EOFError:
                        break
                    if kind == "progress":
                        latest = payload
                    elif kind == "plan":
                        plan_json = payload
                        break
                    else:
                        error = str(payload)
                        break
                elif not child.is_alive():
                    break
                if self._stop.is_set():
                    child.terminate()
                    self._requeue(job_id)
                    return
                if time.monotonic() - last_beat >= beat_every:
                    last_beat = time.monotonic()
                    elapsed = {"elapsed_s": round(last_beat - started, 3)}
                    shown = {**(latest or {"phase": "starting"}), **elapsed}
                    if self._beat(job_id, shown):
                        child.terminate()
                        self._finish(
                            job_id,
                            JobStatus.CANCELLED,
                            error="cancelled while running",
                            progress=shown,
                        )
                        return
        finally:
            child.join(10)
            if child.is_alive():
                child.kill()
            receiver.close()
        final = {**(latest or {}), "elapsed_s": round(time.monotonic() - started, 3)}
        if plan_json is None:
            self._finish(
                job_id,
                JobStatus.FAILED,
                error=error or f"the solver process ended with exit code {child.exitcode}",
                progress=final,
            )
            return
        plan = Plan.model_validate_json(plan_json)
        result: dict[str, Any] = {"plan": plan.model_dump(mode="json")}
        if params.get("apply"):
            who = Principal(
                key_id=f"job-{job_id[:8]}", name=f"job {job_id} ({job.created_by})", role=Role.ADMIN
            )
            result["applied"] = apply_plan(self.db, self.cache, plan, batch, who, job_id)
        self._finish(job_id, JobStatus.SUCCEEDED, result=result, progress=final)
        log.info("job %s succeeded in %.1f s", job_id, time.monotonic() - started)
