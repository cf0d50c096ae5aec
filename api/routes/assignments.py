"""/v1/cases/{id}/assignment: assign (optimistic concurrency), mark started / pinned, and
withdraw (with a reason)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from api import assigning, caseload
from api.deps import (
    INT_PARAM_MAX,
    CaseWriter,
    IfMatch,
    Reader,
    ServicesDep,
    SessionDep,
    WriteSessionDep,
)
from api.problems import ApiProblem, problem_response
from api.routes.common import NOT_FOUND
from api.schemas import (
    AssignmentFlags,
    AssignmentPublic,
    AssignmentRequest,
    WithdrawalPublic,
    WithdrawReason,
)
from api.versions import etag, require_version

router = APIRouter(prefix="/v1/cases/{case_id}/assignment", tags=["assignment"])

REFUSED = problem_response(
    "Refused: stale version, capacity overrun or conflict (see `reason`); nothing was written",
    {
        "type": "/problems/capacity",
        "title": "Capacity exceeded",
        "status": 409,
        "detail": "lawyer L0042 cannot take case C2025-0107: capacity: load 690.0 h + case 57.0 h "
        "= 747.0 h > capacity 700.0 h",
        "instance": "/v1/cases/C2025-0107/assignment",
        "reason": "capacity",
        "case_id": "C2025-0107",
        "lawyer_id": "L0042",
        "reasons": [
            {
                "rule": "capacity",
                "citation": "MoJ order 148 (2023) Art 25 (assignment by headcount and workload)",
                "detail": "load 690.0 h + case 57.0 h = 747.0 h > capacity 700.0 h",
                "conflict": False,
            }
        ],
    },
)
PRECONDITION = problem_response("No version given: send If-Match or expected_version")


@router.get("", response_model=AssignmentPublic, responses={404: NOT_FOUND})
def get_assignment(
    case_id: str, _: Reader, session: SessionDep, response: Response
) -> AssignmentPublic:
    row = caseload.get_case(session, case_id)
    current = caseload.active_assignment(session, row)
    if current is None:
        raise ApiProblem(404, "not-assigned", "Not assigned", f"case {case_id} has no assignment")
    response.headers["ETag"] = etag(row.version)
    return caseload.assignment_public(current, row.version)


@router.put(
    "",
    response_model=AssignmentPublic,
    responses={201: {"model": AssignmentPublic}, 404: NOT_FOUND, 409: REFUSED, 428: PRECONDITION},
)
def put_assignment(
    case_id: str,
    body: Annotated[AssignmentRequest, Body()],
    who: CaseWriter,
    session: WriteSessionDep,
    services: ServicesDep,
    response: Response,
    if_match: IfMatch = None,
) -> AssignmentPublic:
    """Assign the case to a lawyer, or move it to another one.

    The case version you saw is required (If-Match or ``expected_version``).  409 when the
    version is stale, when the lawyer's hours or open-case capacity would overrun, or when a
    hard rule (conflict of interest, qualification, ...) forbids the pair; ``reason`` and
    ``reasons`` say which.  Assigning the lawyer the case already has changes nothing.
    """
    expected = require_version(if_match, body.expected_version)
    outcome = "error"
    try:
        done = assigning.assign(
            session, services.roster, case_id, body.lawyer_id, expected, who, body.note
        )
        outcome = "assigned" if done.changed else "unchanged"
    except ApiProblem as exc:
        outcome = str(exc.extensions.get("reason", exc.kind))
        raise
    finally:
        services.metrics.assignments.labels("assign", outcome).inc()
    response.status_code = 201 if done.changed else 200
    response.headers["ETag"] = etag(done.case.version)
    return caseload.assignment_public(done.assignment, done.case.version)


@router.patch(
    "",
    response_model=AssignmentPublic,
    responses={404: NOT_FOUND, 409: REFUSED, 428: PRECONDITION},
)
def mark_assignment(
    case_id: str,
    body: Annotated[AssignmentFlags, Body()],
    who: CaseWriter,
    session: WriteSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> AssignmentPublic:
    """Mark the current assignment started (work has begun) or pinned (keep this lawyer), or
    clear a mark.  Nightly rebalancing never moves a started or pinned case unless the policy
    allows it.  The case version you saw is required; it grows by one when a mark changes."""
    expected = require_version(if_match, body.expected_version)
    done = assigning.set_flags(session, case_id, body, expected, who)
    response.headers["ETag"] = etag(done.case.version)
    return caseload.assignment_public(done.assignment, done.case.version)


@router.delete(
    "",
    response_model=WithdrawalPublic,
    responses={404: NOT_FOUND, 409: REFUSED, 428: PRECONDITION},
)
def withdraw_assignment(
    case_id: str,
    who: CaseWriter,
    session: WriteSessionDep,
    services: ServicesDep,
    response: Response,
    reason: Annotated[WithdrawReason, Query(description="Why the lawyer is withdrawn.")],
    note: Annotated[str | None, Query(max_length=2000)] = None,
    expected_version: Annotated[int | None, Query(ge=1, le=INT_PARAM_MAX)] = None,
    if_match: IfMatch = None,
) -> WithdrawalPublic:
    """Withdraw the case's lawyer. With ``reason=complaint`` the client's complaint excludes
    that lawyer from this case from now on (Legal Aid Law Art 55)."""
    expected = require_version(if_match, expected_version)
    outcome = "error"
    try:
        done = assigning.withdraw(session, case_id, reason, note, expected, who)
        outcome = "withdrawn"
    except ApiProblem as exc:
        outcome = str(exc.extensions.get("reason", exc.kind))
        raise
    finally:
        services.metrics.assignments.labels("withdraw", outcome).inc()
    response.headers["ETag"] = etag(done.case.version)
    return WithdrawalPublic(
        case_id=case_id,
        lawyer_id=done.lawyer_id,
        reason=reason,
        note=note,
        excluded_from_now_on=done.excluded,
        case_version=done.case.version,
    )
