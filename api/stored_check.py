"""Stored records against today's record checks.

The record checks tighten from one version to the next (ids without '/', dates before
9000-01-01, ...).  A firm, lawyer or case stored before such a change keeps its old document,
and the service reads it with today's checks: a GET of it fails, and every batch and rebalance
job refuses the caseload.  ``assigner db check`` lists such records, by id and field, so that
an administrator can correct them (PUT the corrected record, or delete it) after an upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import CaseRow, FirmRow, LawyerRow
from api.problems import error_message
from assigner.domain import Case, Firm, Lawyer

# Rows read per round trip: a county's caseload in a few statements, without holding every
# document in memory at once.
ROWS_PER_READ = 2_000

_TABLES: tuple[tuple[str, type[FirmRow | LawyerRow | CaseRow], type[BaseModel]], ...] = (
    ("firm", FirmRow, Firm),
    ("lawyer", LawyerRow, Lawyer),
    ("case", CaseRow, Case),
)


@dataclass(frozen=True)
class StoredIssue:
    """One field of a stored record that today's checks refuse."""

    kind: str  # firm, lawyer or case
    record_id: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f".{self.field}" if self.field else ""
        return f"{self.kind} {self.record_id}{where}: {self.message}"


@dataclass
class Checked:
    """How many records of each kind were read."""

    counts: dict[str, int]


def stored_record_issues(session: Session, checked: Checked | None = None) -> Iterator[StoredIssue]:
    """Every field of every stored firm, lawyer and case document that today's record checks
    refuse, kind after kind, in id order; ``checked`` counts the records read."""
    for kind, row_type, model in _TABLES:
        query = (
            select(row_type.id, row_type.document)
            .order_by(row_type.id)
            .execution_options(yield_per=ROWS_PER_READ)
        )
        read = 0
        for record_id, document in session.execute(query):
            read += 1
            try:
                model.model_validate(document)
            except ValidationError as exc:
                for e in exc.errors():
                    field = ".".join(str(p) for p in e["loc"])
                    yield StoredIssue(kind, str(record_id), field, error_message(e))
        if checked is not None:
            checked.counts[kind] = read
