"""/v1/firms: the firms of the roster."""

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
from api.schemas import FirmPage, FirmPublic, FirmWrite, ImportReport
from api.versions import etag, parse_if_match
from assigner.domain import FirmKind

router = APIRouter(prefix="/v1/firms", tags=["firms"])


@router.put(
    "/{firm_id}",
    response_model=FirmPublic,
    responses={201: {"model": FirmPublic, "description": "Created"}, 404: NOT_FOUND, 409: STALE},
)
def put_firm(
    firm_id: str,
    firm: Annotated[FirmWrite, Body(openapi_examples={"centre": {"value": examples.FIRM}})],
    who: Admin,
    session: WriteSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> FirmPublic:
    """Create or replace a firm (administrator). If-Match makes the replace conditional."""
    same_id(firm_id, firm.id)
    written = roster.put_firm(session, firm.record(), who, parse_if_match(if_match))
    response.status_code = 201 if written.created else 200
    response.headers["ETag"] = etag(written.version)
    return roster.firm_public(roster.get_firm(session, firm_id))


@router.get("/{firm_id}", response_model=FirmPublic, responses={404: NOT_FOUND})
def get_firm(firm_id: str, _: Reader, session: SessionDep, response: Response) -> FirmPublic:
    row = roster.get_firm(session, firm_id)
    response.headers["ETag"] = etag(row.version)
    return roster.firm_public(row)


@router.get("", response_model=FirmPage)
def list_firms(
    _: Reader,
    session: SessionDep,
    paging: PagingDep,
    kind: Annotated[FirmKind | None, Query()] = None,
    name: Annotated[str | None, Query(description="Part of the name, any case.")] = None,
) -> FirmPage:
    rows, total = roster.list_firms(
        session, kind=kind, name=name, limit=paging.limit, offset=paging.offset
    )
    return FirmPage(
        items=[roster.firm_public(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.delete("/{firm_id}", status_code=204, responses={404: NOT_FOUND, 409: STALE})
def delete_firm(
    firm_id: str, who: Admin, session: WriteSessionDep, if_match: IfMatch = None
) -> None:
    """Delete a firm that has no lawyers (administrator)."""
    roster.delete_firm(session, firm_id, who, parse_if_match(if_match))


@router.post(
    "/import",
    response_model=ImportReport,
    openapi_extra=import_body("Firm"),
    responses=IMPORT_RESPONSES,
)
def import_firms(
    body: RawBody,
    who: Admin,
    session: WriteSessionDep,
    services: ServicesDep,
    all_or_nothing: AllOrNothing = False,
) -> ImportReport:
    """Create or replace many firms from JSON or CSV; rejected rows are reported."""
    return import_records(RecordKind.FIRM, body, who, session, services, all_or_nothing)
