"""The audit log: every change, with who, when, the policy version in force and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from api import policies
from api.auth import Principal
from api.models import AuditRow, utcnow


def record(
    session: Session,
    who: Principal,
    action: str,
    entity_type: str,
    entity_id: str,
    explanation: str,
    details: dict[str, Any] | None = None,
    *,
    policy_version: int | None = None,
) -> AuditRow:
    """Add an entry in the request's transaction: it commits with the change or not at all."""
    row = AuditRow(
        at=utcnow(),
        actor=who.actor,
        role=str(who.role),
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        policy_version=(
            policy_version if policy_version is not None else policies.current_version(session)
        ),
        explanation=explanation,
        details=details or {},
    )
    session.add(row)
    return row


def entry(
    who: Principal,
    action: str,
    entity_type: str,
    entity_id: str,
    explanation: str,
    details: dict[str, Any],
    policy_version: int,
) -> dict[str, Any]:
    """One audit entry as column values, for :func:`record_many`."""
    return {
        "at": utcnow(),
        "actor": who.actor,
        "role": str(who.role),
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "policy_version": policy_version,
        "explanation": explanation,
        "details": details,
    }


def record_many(session: Session, entries: list[dict[str, Any]]) -> None:
    """Add many entries in one batched INSERT, in the request's transaction."""
    if entries:
        session.execute(insert(AuditRow), entries)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    policy_version: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: Select[Any], f: AuditFilter) -> Select[Any]:
    if f.actor is not None:
        query = query.where(func.lower(AuditRow.actor).contains(f.actor.lower(), autoescape=True))
    if f.action is not None:
        query = query.where(AuditRow.action == f.action)
    if f.entity_type is not None:
        query = query.where(AuditRow.entity_type == f.entity_type)
    if f.entity_id is not None:
        query = query.where(AuditRow.entity_id == f.entity_id)
    if f.policy_version is not None:
        query = query.where(AuditRow.policy_version == f.policy_version)
    if f.since is not None:
        query = query.where(AuditRow.at >= f.since)
    if f.until is not None:
        query = query.where(AuditRow.at < f.until)
    return query


def search(
    session: Session, f: AuditFilter, *, limit: int, offset: int
) -> tuple[list[AuditRow], int]:
    total = session.execute(_filtered(select(func.count(AuditRow.id)), f)).scalar_one()
    rows = session.execute(
        _filtered(select(AuditRow), f).order_by(AuditRow.id.desc()).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)
