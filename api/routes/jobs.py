"""/v1/jobs: batch work that outlives a request (and a server restart)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from api import jobs
from api.deps import Admin, PagingDep, Reader, SessionDep, WriteSessionDep
from api.problems import problem_response
from api.routes.common import NOT_FOUND
from api.schemas import JobCreate, JobKind, JobPage, JobPublic, JobStatus

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
