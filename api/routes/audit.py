"""/v1/audit: every change, with who, when, the policy version and the explanation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import audit
from api.deps import INT_PARAM_MAX, PagingDep, Reader, SessionDep
from api.schemas import AuditEntry, AuditPage
from assigner.domain.problem import Timestamp

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def search_audit(
    _: Reader,
    session: SessionDep,
    paging: PagingDep,
    actor: Annotated[
        str | None,
        Query(
            description="Part of the actor (key name or id), in any case; % and _ match themselves."
        ),
    ] = None,
    action: Annotated[str | None, Query(examples=["assignment.create"])] = None,
    entity_type: Annotated[str | None, Query(examples=["case"])] = None,
    entity_id: Annotated[str | None, Query()] = None,
    policy_version: Annotated[int | None, Query(ge=1, le=INT_PARAM_MAX)] = None,
    since: Annotated[Timestamp | None, Query(description="At or after (ISO 8601).")] = None,
    until: Annotated[Timestamp | None, Query(description="Before (ISO 8601).")] = None,
) -> AuditPage:
    """Newest first."""
    rows, total = audit.search(
        session,
        audit.AuditFilter(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            policy_version=policy_version,
            since=since,
            until=until,
        ),
        limit=paging.limit,
        offset=paging.offset,
    )
    return AuditPage(
        items=[AuditEntry.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
