"""Tables: the roster and caseload as JSON documents of the domain models, plus the columns the
service filters, locks and counts on.  Alembic reads ``Base.metadata`` (api/alembic/env.py).

Load model: a lawyer's document carries the work *outside* the service
(``current_load_hours``, ``current_open_cases``); ``lawyer_loads`` counts what the service has
assigned on top.  The effective load is their sum.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the service stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Document = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: Document,
    }


class ServiceState(Base):
    """One row of counters, so that a process can tell with one read whether what it keeps
    in memory is current: ``roster_revision`` grows with every firm or lawyer write (the warm
    roster index), ``loads_revision`` with every assignment or withdrawal (the load arrays).

    Bumping ``loads_revision`` in the assignment's own transaction also orders assignment
    commits on PostgreSQL (the row lock is held to the commit), so the counter never runs
    ahead of or behind the loads it stands for."""

    __tablename__ = "service_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_revision: Mapped[int] = mapped_column(Integer, default=0)
    loads_revision: Mapped[int] = mapped_column(Integer, default=0)


class FirmRow(Base):
    __tablename__ = "firms"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LawyerRow(Base):
    __tablename__ = "lawyers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    firm_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("firms.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    accepting_new_cases: Mapped[bool] = mapped_column(Boolean, index=True)
    areas: Mapped[str] = mapped_column(
        String(1024), doc="Practice areas as ',a,b,' for filtering by area."
    )
    document: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LawyerLoadRow(Base):
    """What the service has assigned to a lawyer; the row assignment locks."""

    __tablename__ = "lawyer_loads"

    lawyer_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("lawyers.id", ondelete="CASCADE"), primary_key=True
    )
    assigned_hours: Mapped[float] = mapped_column(Float, default=0.0)
    assigned_cases: Mapped[int] = mapped_column(Integer, default=0)


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    case_type: Mapped[str] = mapped_column(String(128), index=True)
    stage: Mapped[str] = mapped_column(String(128))
    jurisdiction: Mapped[str | None] = mapped_column(String(128), index=True)
    matter_id: Mapped[str | None] = mapped_column(String(128), index=True)
    priority_groups: Mapped[str] = mapped_column(
        String(1024), doc="Priority groups as ',a,b,' for filtering by group."
    )
    received_at: Mapped[datetime]
    assign_by: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    assigned_lawyer_id: Mapped[str | None] = mapped_column(
        String(128), ForeignKey("lawyers.id", ondelete="RESTRICT"), index=True
    )
    assigned_hours: Mapped[float | None] = mapped_column(Float)
    assignment_id: Mapped[int | None] = mapped_column(Integer)
    complaint_exclusions: Mapped[list[str]] = mapped_column(
        Document, doc="Lawyers excluded by complaint withdrawals (also in case_exclusions)."
    )
    document: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# ``CaseRefRow.kind``: what a case's document names.
REF_PRIOR, REF_EXCLUDED, REF_COMPLAINT, REF_WAIVER, REF_LINKED = (
    "prior_lawyer",
    "excluded_lawyer",
    "complaint_lawyer",
    "waiver_lawyer",
    "linked_case",
)


class CaseRefRow(Base):
    """References from a case to lawyers and other cases, kept so a referenced record cannot
    be deleted from under the case (the engine refuses unknown references)."""

    __tablename__ = "case_refs"

    case_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    ref_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class CaseExclusionRow(Base):
    """A lawyer excluded from a case by a withdrawal for a complaint (Legal Aid Law Art 55);
    it outlives any later replacement of the case document."""

    __tablename__ = "case_exclusions"

    case_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    lawyer_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))


class AssignmentRow(Base):
    """Every assignment ever made; the active one has ``withdrawn_at`` NULL."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    lawyer_id: Mapped[str] = mapped_column(String(128), index=True)
    workload_hours: Mapped[float] = mapped_column(Float)
    cost_points: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]]
    policy_version: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(128))
    withdraw_reason: Mapped[str | None] = mapped_column(String(32))
    withdraw_note: Mapped[str | None] = mapped_column(Text)
    started: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=false(),
        doc="Work on the case has started with this lawyer (moved only if the policy allows).",
    )
    pinned: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=false(),
        doc="Kept with this lawyer by a person's decision (moved only if the policy allows).",
    )


class PolicyRow(Base):
    __tablename__ = "policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]]
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    params: Mapped[dict[str, Any]]
    progress: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    runner_id: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    review_status: Mapped[str | None] = mapped_column(
        String(32), doc="Rebalance plans: pending, applied or rejected."
    )
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    review_note: Mapped[str | None] = mapped_column(Text)


class JobArtifactRow(Base):
    """A file a job produced (the HTML report of a scenario job), served by the API."""

    __tablename__ = "job_artifacts"

    job_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    policy_version: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
