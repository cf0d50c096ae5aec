"""Jobs: submit, poll progress, cancel; state in the database so that no job is lost.

A :class:`JobRunner` thread in the server claims queued jobs (a conditional UPDATE, so two
servers never run one job), runs each solve in a spawned child process (so cancel stops it at
once), writes progress (objective, bound, gap, elapsed) and a heartbeat while it runs, and keeps
the result.  A running job whose heartbeat is older than ``job_lease_s`` was interrupted (the
server was killed or restarted): it is re-queued and run again from the start, or marked failed
once it has been tried ``job_max_attempts`` times.  A graceful shutdown re-queues its job at
once, without counting the attempt.  A re-queued job's ``error`` says why it runs again; when it
then succeeds, ``error`` is cleared and that message kept as the result's ``retry_note``.

Kinds:

- ``batch_assignment``: assign the open, unassigned caseload now; with ``apply`` the plan's
  assignments are committed, each re-checked under the same locks as a single assignment (the
  result's ``open_cases`` then counts those written, ``planned_open_cases`` the plan's);
- ``rebalance``: a plan of moves from the full stored state within a move budget
  (``assigner.rebalance``), kept for review (``api.rebalancing``: apply or reject); with
  ``apply`` it is applied when the job ends (refused, and left pending, when the state changed);
- ``scenario``: a what-if scenario (``scenarios.whatif``) on a generated tier or on the stored
  state; the KPIs are the result, the HTML report a job artifact.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api import assigning, audit, rebalancing
from api.auth import Principal, Role
from api.db import Database
from api.job_worker import run_batch_assignment, run_rebalance, run_scenario_job
from api.metrics import Metrics
from api.models import JobArtifactRow, JobRow, utcnow
from api.problems import ApiProblem, conflict, not_found
from api.recommending import RosterCache
from api.scenario_jobs import REPORT_ARTIFACT, check_scenario_document, uses_service_state
from api.schemas import (
    JobCreate,
    JobKind,
    JobProgress,
    JobPublic,
    JobStatus,
    ReviewStatus,
    ScenarioJobCreate,
)
from api.settings import Settings
from api.state_export import Scope, StateInput, export_state
from assigner.domain import Plan
from assigner.rebalance import RebalancePlan

log = logging.getLogger(__name__)

FINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
RETRY_NOTE = "retry_note"
"""The key of a succeeded job's result that keeps why an earlier attempt did not finish."""
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
        review_status=ReviewStatus(row.review_status) if row.review_status else None,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
    )


def create_job(session: Session, body: JobCreate, who: Principal) -> JobRow:
    if isinstance(body, ScenarioJobCreate):
        check_scenario_document(body.params.scenario)
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


def get_artifact(session: Session, job_id: str, name: str) -> JobArtifactRow:
    get_job(session, job_id)  # 404 for an unknown job
    row = session.get(JobArtifactRow, (job_id, name))
    if row is None:
        raise not_found("job artifact", f"{job_id}/{name}")
    return row


def get_report(session: Session, job_id: str) -> JobArtifactRow:
    """The HTML report of a scenario job; 409 ``no-report`` for a job of another kind, or a
    scenario job that has not succeeded (the report is written when it does)."""
    job = get_job(session, job_id)
    if job.kind != JobKind.SCENARIO:
        raise conflict(
            "no-report",
            "No report",
            f"job {job_id} is a {job.kind} job; only scenario jobs have a report",
        )
    if job.status != JobStatus.SUCCEEDED:
        raise conflict(
            "no-report",
            "No report",
            f"job {job_id} is {job.status}; a scenario job's report is there once it has succeeded",
        )
    return get_artifact(session, job_id, REPORT_ARTIFACT)


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


# ---- what each kind does ---------------------------------------------------------------------


def apply_plan(
    db: Database, cache: RosterCache, plan: Plan, batch: StateInput, who: Principal, job_id: str
) -> dict[str, Any]:
    """Commit the plan's assignments of the open cases, in chunks; each is re-checked under
    locks like a single assignment and skipped, with its reason, when it no longer holds."""
    applied: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    todo = [a for a in plan.assignments if a.case_id in batch.open_case_ids]
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
        a.case_id for a in plan.assignments if a.case_id not in batch.open_case_ids and a.moved_from
    ]
    return {"applied": applied, "skipped": skipped, "not_moved": moved}


def _open_case_counts(batch: StateInput, assigned: int, held_back: int) -> dict[str, int]:
    """The batch's own figures: its plan (and its KPIs) also holds the assigned cases related
    to open ones, kept with their lawyers."""
    return {
        "cases": len(batch.open_case_ids),
        "assigned": assigned,
        "held_back": held_back,
        "unassigned": len(batch.open_case_ids) - assigned - held_back,
    }


def _planned_open_cases(plan: Plan, batch: StateInput) -> int:
    """How many of the batch's open cases its plan assigns."""
    return sum(1 for a in plan.assignments if a.case_id in batch.open_case_ids)


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
        review: ReviewStatus | None = None,
    ) -> None:
        """Record the job's end.  A success has no error: the message an earlier attempt left
        (re-queued by a stop or after a crash) moves to the result's ``retry_note``, since
        ``error`` is what went wrong with the job and nothing did."""
        if status is JobStatus.SUCCEEDED and (error is not None or result is None):
            raise ValueError(f"job {job_id}: a success has a result and no error, got {error!r}")
        with self.db.transaction(write=True) as session:
            row = session.get(JobRow, job_id, with_for_update=True)
            if row is None or row.runner_id != self.runner_id or row.status != JobStatus.RUNNING:
                log.warning("job %s changed hands; result of this run dropped", job_id)
                return
            if status is JobStatus.SUCCEEDED and row.error is not None and result is not None:
                result = {**result, RETRY_NOTE: row.error}
            row.status = str(status)
            row.finished_at = utcnow()
            row.result = result
            row.error = error
            if progress is not None:
                row.progress = progress
            if review is not None:
                row.review_status = str(review)
                if review is ReviewStatus.APPLIED:
                    row.reviewed_at, row.reviewed_by = utcnow(), row.created_by
                    row.review_note = "applied by the job (apply: true), without review"
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

    def _prepare(self, job: JobRow) -> _ChildWork | dict[str, Any]:
        """What the job's child process runs, or the result at once when there is nothing
        to solve."""
        params = dict(job.params)
        now = datetime.now(UTC)
        if job.kind == JobKind.BATCH_ASSIGNMENT:
            with self.db.transaction(write=False) as session:
                batch = export_state(session, now, Scope.BATCH, name="batch-assignment")
            if not batch.open_case_ids:
                return {"plan": None, "note": "no unassigned cases"}
            return _ChildWork(
                run_batch_assignment,
                (batch.problem.model_dump_json(), params),
                lambda text: self._batch_result(job, params, batch, text),
            )
        if job.kind == JobKind.REBALANCE:
            with self.db.transaction(write=False) as session:
                full = export_state(session, now, Scope.FULL, name="rebalance")
            if not full.problem.cases:
                return {"rebalance": None, "note": "no open cases"}
            return _ChildWork(
                run_rebalance,
                (full.problem.model_dump_json(), full.versions, params),
                lambda text: self._rebalance_result(job, params, text),
                review=ReviewStatus.PENDING,
            )
        if job.kind == JobKind.SCENARIO:
            scenario = params["scenario"]
            baseline_json = None
            if uses_service_state(scenario):
                with self.db.transaction(write=False) as session:
                    baseline_json = export_state(
                        session, now, Scope.FULL, name="service-state"
                    ).problem.model_dump_json()
            return _ChildWork(
                run_scenario_job,
                (scenario, baseline_json),
                lambda text: self._scenario_result(job, text),
            )
        raise RuntimeError(f"job {job.id}: unknown kind {job.kind!r}")

    def _batch_result(
        self, job: JobRow, params: dict[str, Any], batch: StateInput, text: str
    ) -> dict[str, Any]:
        """The batch's result.  ``open_cases`` counts what the batch leaves true of its cases:
        the plan's assignments without ``apply`` (nothing is written), the assignments written
        with it, where an assignment the apply skipped (its lawyer went on leave meanwhile, say)
        leaves its case open and counted ``unassigned``; ``planned_open_cases`` then keeps the
        plan's counts beside them."""
        solved = json.loads(text)
        plan = Plan.model_validate(solved["plan"])
        held_back = len(solved["held_back"])
        planned = _open_case_counts(batch, _planned_open_cases(plan, batch), held_back)
        result: dict[str, Any] = {
            "plan": plan.model_dump(mode="json"),
            "open_cases": planned,
            "held_back": solved["held_back"],
        }
        if params.get("apply"):
            applied = apply_plan(self.db, self.cache, plan, batch, _job_actor(job), job.id)
            result["applied"] = applied
            result["open_cases"] = _open_case_counts(batch, len(applied["applied"]), held_back)
            result["planned_open_cases"] = planned
        return result

    def _rebalance_result(self, job: JobRow, params: dict[str, Any], text: str) -> dict[str, Any]:
        plan = RebalancePlan.model_validate_json(text)
        result: dict[str, Any] = {"rebalance": plan.model_dump(mode="json")}
        if params.get("apply"):
            try:
                with self.db.transaction(write=True) as session:
                    result["applied"] = rebalancing.write_plan(
                        session, plan, _job_actor(job), f"rebalance job {job.id}"
                    )
            except ApiProblem as exc:
                result["apply_refused"] = {"detail": exc.detail, **exc.extensions}
        return result

    def _scenario_result(self, job: JobRow, text: str) -> dict[str, Any]:
        payload = json.loads(text)
        with self.db.transaction(write=True) as session:
            session.merge(
                JobArtifactRow(
                    job_id=job.id,
                    name=REPORT_ARTIFACT,
                    media_type="text/html; charset=utf-8",
                    content=payload["report_html"],
                    created_at=utcnow(),
                )
            )
        return {"scenario": payload["results"], "report": f"/v1/jobs/{job.id}/report"}

    def _run(self, job: JobRow) -> None:
        job_id = job.id
        log.info("job %s (%s) started, attempt %d", job_id, job.kind, job.attempts)
        started = time.monotonic()
        work = self._prepare(job)
        if isinstance(work, dict):
            self._finish(
                job_id,
                JobStatus.SUCCEEDED,
                result=work,
                progress=JobProgress(elapsed_s=round(time.monotonic() - started, 3)).model_dump(),
            )
            return
        receiver, sender = self._context.Pipe(duplex=False)
        child = self._context.Process(
            target=work.target,
            args=(sender, *work.args, os.getpid()),
            name=f"job-{job_id[:8]}",
            daemon=True,
        )
        child.start()
        sender.close()
        latest: dict[str, Any] | None = None
        output: str | None = None
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
                        output = payload
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
        if output is None:
            self._finish(
                job_id,
                JobStatus.FAILED,
                error=error or f"the solver process ended with exit code {child.exitcode}",
                progress=final,
            )
            return
        result = work.finish(output)
        review = work.review
        if review is ReviewStatus.PENDING and "applied" in result:
            review = ReviewStatus.APPLIED
        self._finish(job_id, JobStatus.SUCCEEDED, result=result, progress=final, review=review)
        log.info("job %s succeeded in %.1f s", job_id, time.monotonic() - started)


@dataclass(frozen=True)
class _ChildWork:
    """A job's solve: the child entry point (``api.job_worker``), its arguments after the
    pipe, and how its output becomes the job's result (run in the runner's thread)."""

    target: Callable[..., None]
    args: tuple[Any, ...]
    finish: Callable[[str], dict[str, Any]]
    review: ReviewStatus | None = None


def _job_actor(job: JobRow) -> Principal:
    return Principal(
        key_id=f"job-{job.id[:8]}", name=f"job {job.id} ({job.created_by})", role=Role.ADMIN
    )
