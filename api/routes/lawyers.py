"""/v1/lawyers: the providers of the roster, with the load the service has assigned them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from api import examples, roster
from api.deps import (
    Admin,
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
from api.schemas import ImportReport, LawyerPage, LawyerPublic, LawyerWrite
from api.versions import etag, parse_if_match
from assigner.domain import ProviderKind

router = APIRouter(prefix="/v1/lawyers", tags=["lawyers"])


@router.put(
    "/{lawyer_id}",
    response_model=LawyerPublic,
    responses={201: {"model": LawyerPublic, "description": "Created"}, 404: NOT_FOUND, 409: STALE},
)
def put_lawyer(
    lawyer_id: str,
    lawyer: Annotated[
        LawyerWrite, Body(openapi_examples={"staff lawyer": {"value": examples.LAWYER}})
    ],
    who: Admin,
    session: WriteSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> LawyerPublic:
    """Create or replace a lawyer (administrator). ``current_load_hours`` and
    ``current_open_cases`` are work outside the service; what the service assigns is added.
    A replace that would make the lawyer ineligible for a started or pinned case is refused
    (409 ``kept_cases``, each case with the rules it would break): withdraw, unmark or move
    the case first."""
    same_id(lawyer_id, lawyer.id)
    written = roster.put_lawyer(session, lawyer.record(), who, parse_if_match(if_match))
    response.status_code = 201 if written.created else 200
    response.headers["ETag"] = etag(written.version)
    return roster.lawyer_public(*roster.get_lawyer(session, lawyer_id))


@router.get("/{lawyer_id}", response_model=LawyerPublic, responses={404: NOT_FOUND})
def get_lawyer(lawyer_id: str, _: Reader, session: SessionDep, response: Response) -> LawyerPublic:
    row, load = roster.get_lawyer(session, lawyer_id)
    response.headers["ETag"] = etag(row.version)
    return roster.lawyer_public(row, load)


@router.get("", response_model=LawyerPage)
def list_lawyers(
    _: Reader,
    session: SessionDep,
    paging: PagingDep,
    firm_id: Annotated[str | None, Query()] = None,
    kind: Annotated[ProviderKind | None, Query()] = None,
    area: Annotated[str | None, Query(description="Practice area the lawyer has.")] = None,
    accepting: Annotated[bool | None, Query(description="accepting_new_cases")] = None,
    name: Annotated[str | None, Query(description="Part of the name, any case.")] = None,
) -> LawyerPage:
    rows, total = roster.list_lawyers(
        session,
        firm_id=firm_id,
        kind=kind,
        area=area,
        accepting=accepting,
        name=name,
        limit=paging.limit,
        offset=paging.offset,
    )
    return LawyerPage(
        items=[roster.lawyer_public(r, load) for r, load in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.delete("/{lawyer_id}", status_code=204, responses={404: NOT_FOUND, 409: STALE})
def delete_lawyer(
    lawyer_id: str, who: Admin, session: WriteSessionDep, if_match: IfMatch = None
) -> None:
    """Delete a lawyer who holds no case and whom no case names (administrator)."""
    roster.delete_lawyer(session, lawyer_id, who, parse_if_match(if_match))


@router.post(
    "/import",
    response_model=ImportReport,
    openapi_extra=import_body("Lawyer"),
    responses=IMPORT_RESPONSES,
)
def import_lawyers(
    body: RawBody,
    who: Admin,
    session: WriteSessionDep,
    services: ServicesDep,
    all_or_nothing: AllOrNothing = False,
) -> ImportReport:
    """Create or replace many lawyers from JSON or CSV; rejected rows are reported."""
    return import_records(RecordKind.LAWYER, body, who, session, services, all_or_nothing)
