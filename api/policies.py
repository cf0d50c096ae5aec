"""Versioned policy: the current one, and new versions by an administrator."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import PolicyRow, utcnow
from api.problems import FieldError, invalid
from assigner.domain import Policy, default_catalogue
from assigner.domain.loading import policy_issues


def current_version(session: Session) -> int:
    version = session.execute(select(func.max(PolicyRow.version))).scalar_one_or_none()
    if version is None:
        raise RuntimeError("no policy version in the database; the service seeds version 1")
    return int(version)


def get_version(session: Session, version: int) -> PolicyRow | None:
    return session.get(PolicyRow, version)


def current(session: Session) -> tuple[PolicyRow, Policy]:
    row = session.execute(
        select(PolicyRow).order_by(PolicyRow.version.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise RuntimeError("no policy version in the database; the service seeds version 1")
    return row, as_policy(row)


def as_policy(row: PolicyRow) -> Policy:
    return Policy.model_validate(row.document)


def ensure_initial(session: Session) -> None:
    """Version 1 is the engine's default policy, written once into an empty database."""
    if session.execute(select(func.count()).select_from(PolicyRow)).scalar_one() == 0:
        session.add(
            PolicyRow(
                version=1,
                document=Policy(version=1).model_dump(mode="json"),
                note="engine default policy",
                created_at=utcnow(),
                created_by="system",
            )
        )


def check_policy(policy: Policy) -> None:
    """Refuse (422) a policy naming a priority group the service's catalogue does not know."""
    issues = policy_issues(policy, default_catalogue())
    if issues:
        raise invalid(
            [
                FieldError(field=f"policy.{i.field}", message=i.message, location="body")
                for i in issues
            ]
        )


def add_version(session: Session, policy: Policy, note: str, actor: str) -> PolicyRow:
    """Store ``policy`` as the next version; its own ``version`` field is overwritten.  A
    policy ``check_policy`` refuses is refused."""
    check_policy(policy)
    version = current_version(session) + 1
    stored = policy.model_copy(update={"version": version})
    row = PolicyRow(
        version=version,
        document=stored.model_dump(mode="json"),
        note=note,
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row
