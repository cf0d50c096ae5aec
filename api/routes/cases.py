"""/v1/cases: the caseload."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response

from api import caseload, examples
from api.deps import (
    CaseWriter,
    IfMatch,
    PagingDep,
    Reader,
    ServicesDep,
    SessionDep,
    WriteSessionDep,
)
from api.importing import RecordKind
from api.routes.common import (
    IMPORT_RESPONSES,
    NOT_FOUND,
    STALE,
    AllOrNothing,
    RawBody,
    import_body,
    import_records,
    same_id,
)
from api.schemas import CasePage, CasePublic, CaseWrite, ImportReport
from api.versions import etag, parse_if_match
from assigner.domain.problem import Timestamp

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.put(
    "/{case_id}",
    response_model=CasePublic,
    responses={201: {"model": CasePublic, "description": "Created"}, 404: NOT_FOUND, 409: STALE},
)
def put_case(
    case_id: str,
    case: Annotated[
        CaseWrite, Body(openapi_examples={"detained defendant": {"value": examples.CASE}})
    ],
    who: CaseWriter,
    session: WriteSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> CasePublic:
    """Create or replace a case. Assignments are not part of the document: use
    ``PUT /v1/cases/{id}/assignment`` (and ``PATCH`` for its started / pinned marks); the
    document may repeat the current one, and may not exclude the case's own lawyer (422).
    A new workload of an assigned case is charged to its lawyer (409 ``capacity`` when it does
    not fit); a started or pinned case must stay one its lawyer can hold (409 ``kept_cases``)."""
    same_id(case_id, case.id)
    written = caseload.put_case(session, case.record(), who, parse_if_match(if_match))
    response.status_code = 201 if written.created else 200
    response.headers["ETag"] = etag(written.version)
    session.flush()
    return caseload.public_of(session, caseload.get_case(session, case_id))


@router.get("/{case_id}", response_model=CasePublic, responses={404: NOT_FOUND})
def get_case(case_id: str, _: Reader, session: SessionDep, response: Response) -> CasePublic:
    row = caseload.get_case(session, case_id)
    response.headers["ETag"] = etag(row.version)
    return caseload.public_of(session, row)


@router.get("", response_model=CasePage)
def list_cases(
    _: Reader,
    session: SessionDep,
    paging: PagingDep,
    case_type: Annotated[str | None, Query()] = None,
    status: Annotated[Literal["assigned", "unassigned"] | None, Query()] = None,
    lawyer_id: Annotated[str | None, Query(description="Cases assigned to this lawyer.")] = None,
    jurisdiction: Annotated[str | None, Query()] = None,
    matter_id: Annotated[str | None, Query()] = None,
    priority_group: Annotated[str | None, Query()] = None,
    assign_by_before: Annotated[Timestamp | None, Query()] = None,
    assign_by_after: Annotated[Timestamp | None, Query()] = None,
) -> CasePage:
    items, total = caseload.list_cases(
        session,
        caseload.CaseFilter(
            case_type=case_type,
            status=status,
            lawyer_id=lawyer_id,
            jurisdiction=jurisdiction,
            matter_id=matter_id,
            priority_group=priority_group,
            assign_by_before=assign_by_before,
            assign_by_after=assign_by_after,
        ),
        limit=paging.limit,
        offset=paging.offset,
    )
    return CasePage(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.delete("/{case_id}", status_code=204, responses={404: NOT_FOUND, 409: STALE})
def delete_case(
    case_id: str, who: CaseWriter, session: WriteSessionDep, if_match: IfMatch = None
) -> None:
    """Delete an unassigned case that no other case links to."""
    caseload.delete_case(session, case_id, who, parse_if_match(if_match))


@router.post(
    "/import",
    response_model=ImportReport,
    openapi_extra=import_body("Case"),
    responses=IMPORT_RESPONSES,
)
def import_cases(
    body: RawBody,
    who: CaseWriter,
    session: WriteSessionDep,
    services: ServicesDep,
    all_or_nothing: AllOrNothing = False,
) -> ImportReport:
    """Create or replace many cases from JSON or CSV; rejected rows are reported."""
    return import_records(RecordKind.CASE, body, who, session, services, all_or_nothing)
