"""/v1/jobs: batch work that outlives a request (and a server restart); the review of rebalance
plans (apply / reject) and the reports of scenario jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import HTMLResponse

from api import jobs, rebalancing
from api.deps import Admin, PagingDep, Reader, SessionDep, WriteSessionDep
from api.problems import problem_response
from api.routes.common import NOT_FOUND
from api.schemas import (
    JobCreate,
    JobKind,
    JobPage,
    JobPublic,
    JobStatus,
    RejectRequest,
    ReviewRequest,
)

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.post("", response_model=JobPublic, status_code=202)
def submit_job(
    body: Annotated[JobCreate, Body()], who: Admin, session: WriteSessionDep, response: Response
) -> JobPublic:
    """Queue a job (administrator); poll ``Location`` for its progress and result."""
    row = jobs.create_job(session, body, who)
    response.headers["Location"] = f"/v1/jobs/{row.id}"
    return jobs.job_public(row)


@router.get("/{job_id}", response_model=JobPublic, responses={404: NOT_FOUND})
def get_job(job_id: str, _: Reader, session: SessionDep) -> JobPublic:
    """Status, progress (phase, objective, bound, gap, elapsed) and, when done, the result."""
    return jobs.job_public(jobs.get_job(session, job_id))


@router.get("", response_model=JobPage)
def list_jobs(
    _: Reader,
    session: SessionDep,
    paging: PagingDep,
    status: Annotated[JobStatus | None, Query()] = None,
    kind: Annotated[JobKind | None, Query()] = None,
) -> JobPage:
    rows, total = jobs.list_jobs(session, status, kind, paging.limit, paging.offset)
    return JobPage(
        items=[jobs.job_public(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    status_code=202,
    responses={404: NOT_FOUND, 409: problem_response("The job has already finished")},
)
def cancel_job(job_id: str, who: Admin, session: WriteSessionDep) -> JobPublic:
    """Cancel a queued job at once, or stop a running one within a moment (administrator)."""
    return jobs.job_public(jobs.cancel_job(session, job_id, who))


STATE_CHANGED = problem_response(
    "Not applied: the state changed since the plan was made (`changes` lists how), or the "
    "plan is not pending review; nothing was written",
    {
        "type": "/problems/state-changed",
        "title": "State changed since planning",
        "status": 409,
        "detail": "not applied: the state changed since the plan was made: case C0107: "
        "version 3 -> 4",
        "instance": "/v1/jobs/6f1c.../apply",
        "reason": "state-changed",
        "changes": ["case C0107: version 3 -> 4"],
        "changes_total": 1,
    },
)


@router.post(
    "/{job_id}/apply",
    response_model=JobPublic,
    responses={404: NOT_FOUND, 409: STATE_CHANGED},
)
def apply_plan(
    job_id: str,
    who: Admin,
    session: WriteSessionDep,
    body: Annotated[ReviewRequest | None, Body()] = None,
) -> JobPublic:
    """Apply a rebalance job's plan after review (administrator): every move and backlog
    assignment in one transaction, or nothing.  409 ``state-changed`` when any case, lawyer,
    load, mark or the policy changed since planning; plan again then."""
    return jobs.job_public(rebalancing.apply(session, job_id, who, body.note if body else None))


@router.post(
    "/{job_id}/reject",
    response_model=JobPublic,
    responses={404: NOT_FOUND, 409: problem_response("The plan is not pending review")},
)
def reject_plan(
    job_id: str, who: Admin, session: WriteSessionDep, body: Annotated[RejectRequest, Body()]
) -> JobPublic:
    """Reject a rebalance job's plan (administrator), saying why; nothing is changed."""
    return jobs.job_public(rebalancing.reject(session, job_id, who, body.note))


@router.get(
    "/{job_id}/report",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}},
        404: NOT_FOUND,
        409: problem_response(
            "The job has no report: it is not a scenario job, or it has not succeeded",
            {
                "type": "/problems/no-report",
                "title": "No report",
                "status": 409,
                "detail": "job 6f1c... is a batch_assignment job; only scenario jobs have a report",
                "instance": "/v1/jobs/6f1c.../report",
                "reason": "no-report",
            },
        ),
    },
)
def scenario_report(job_id: str, _: Reader, session: SessionDep) -> HTMLResponse:
    """The HTML report of a succeeded scenario job (charts embedded); 409 ``no-report`` for a
    job of another kind or a scenario job that has not succeeded."""
    row = jobs.get_report(session, job_id)
    return HTMLResponse(row.content, media_type=row.media_type)
