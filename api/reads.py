"""What a write request reads of the stored records, each read once and kept for the request.

A single PUT reads each record on first use, as it always did.  A bulk import first reads those
of all its rows, in chunks of ``ID_CHUNK`` ids (the ``prefetch_*`` methods), so that the number
of statements of an import does not grow with its rows; what a row then asks for is kept here
(an id read and not found is kept as missing).

What is kept stays true for the request.  ORM rows are the session's own objects, so a row an
earlier row of the import changed is seen changed, as a read after the flush would see it;
lawyer documents, firms and the policy are not written by the requests that read them here.  A
lawyer import checks every row before it writes the first, each row against the stored lawyers
as the rows accepted before it leave them (``stage_lawyer``): the firms' members then read as
they will be once those rows are written.  Rows that a single PUT locks
(``SELECT ... FOR UPDATE`` on PostgreSQL) are locked by the prefetch too, in the same order:
case rows, then load rows, each sorted by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from api import policies
from api.models import AssignmentRow, CaseRow, FirmRow, LawyerLoadRow, LawyerRow, PolicyRow
from assigner.domain import Lawyer, Policy

# Ids per statement: a statement takes a bounded number of parameters.
ID_CHUNK = 1000

_FIRMS = select(FirmRow).where(FirmRow.id.in_(bindparam("ids", expanding=True)))
_LAWYERS = select(LawyerRow).where(LawyerRow.id.in_(bindparam("ids", expanding=True)))
# The lock statements, prepared once (``api.assigning`` takes them too): building one on each
# call costs a fifth of a millisecond of CPU, and an IN list of any length binds as one
# expanding parameter.  Rows are locked in one global order (ids sorted), so that two requests
# never wait for each other in a cycle.
LOCK_CASES = (
    select(CaseRow)
    .where(CaseRow.id.in_(bindparam("ids", expanding=True)))
    .order_by(CaseRow.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_ASSIGNMENTS = select(AssignmentRow).where(AssignmentRow.id.in_(bindparam("ids", expanding=True)))
LOCK_LOADS = (
    select(LawyerLoadRow)
    .where(LawyerLoadRow.lawyer_id.in_(bindparam("ids", expanding=True)))
    .order_by(LawyerLoadRow.lawyer_id)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LAWYER_DOCUMENTS = select(LawyerRow.id, LawyerRow.document).where(
    LawyerRow.id.in_(bindparam("ids", expanding=True))
)
_LOCK_HELD = (
    select(CaseRow.id)
    .where(CaseRow.assigned_lawyer_id.in_(bindparam("ids", expanding=True)))
    .order_by(CaseRow.id)
    .with_for_update()
)
_MARKED = (
    select(CaseRow, AssignmentRow.started, AssignmentRow.pinned)
    .join(AssignmentRow, AssignmentRow.id == CaseRow.assignment_id)
    .where(
        CaseRow.assigned_lawyer_id.in_(bindparam("ids", expanding=True)),
        or_(AssignmentRow.started, AssignmentRow.pinned),
    )
    .order_by(CaseRow.id)
    .execution_options(populate_existing=True)
)
_MEMBERS = (
    select(LawyerRow.firm_id, LawyerRow.id, LawyerRow.document)
    .where(LawyerRow.firm_id.in_(bindparam("ids", expanding=True)))
    .order_by(LawyerRow.id)
)

Marked = tuple[CaseRow, bool, bool]


def chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """The distinct ids, sorted (the order rows are locked in), ``ID_CHUNK`` at a time."""
    distinct = sorted(set(ids))
    for start in range(0, len(distinct), ID_CHUNK):
        yield distinct[start : start + ID_CHUNK]


class Reads:
    """The stored records one request reads, by id, read once (see the module docstring).

    The ``*_rows`` dicts are the ORM rows read so far (None: not stored); a write that adds a
    row puts it there."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.firm_rows: dict[str, FirmRow | None] = {}
        self.lawyer_rows: dict[str, LawyerRow | None] = {}
        self.case_rows: dict[str, CaseRow | None] = {}
        self._assignments: dict[int, AssignmentRow | None] = {}
        self._loads: dict[str, LawyerLoadRow | None] = {}
        self._documents: dict[str, dict[str, Any] | None] = {}
        self._held_locked: set[str] = set()
        self._marked: dict[str, list[Marked]] = {}
        self._members: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._staged: dict[str, dict[str, Any]] = {}
        self._policy: tuple[PolicyRow, Policy] | None = None
        self._policy_version: int | None = None

    def _missing(self, ids: Iterable[str], kept: dict[str, Any] | set[str]) -> list[str]:
        return [x for x in ids if x not in kept]

    # ---- firms and lawyers -----------------------------------------------------------------

    def firm_row(self, firm_id: str) -> FirmRow | None:
        if firm_id not in self.firm_rows:
            self.firm_rows[firm_id] = self.session.get(FirmRow, firm_id)
        return self.firm_rows[firm_id]

    def prefetch_firm_rows(self, ids: Iterable[str]) -> None:
        for chunk in chunks(self._missing(ids, self.firm_rows)):
            found = {r.id: r for r in self.session.scalars(_FIRMS, {"ids": chunk})}
            self.firm_rows.update({x: found.get(x) for x in chunk})

    def lawyer_row(self, lawyer_id: str) -> LawyerRow | None:
        if lawyer_id not in self.lawyer_rows:
            self.lawyer_rows[lawyer_id] = self.session.get(LawyerRow, lawyer_id)
        return self.lawyer_rows[lawyer_id]

    def prefetch_lawyer_rows(self, ids: Iterable[str]) -> None:
        for chunk in chunks(self._missing(ids, self.lawyer_rows)):
            found = {r.id: r for r in self.session.scalars(_LAWYERS, {"ids": chunk})}
            self.lawyer_rows.update({x: found.get(x) for x in chunk})

    def firm_members(self, firm_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The firm's lawyers as stored, (id, document) in id order, with the staged lawyers
        (``stage_lawyer``) in their new documents and firms."""
        if firm_id not in self._members:
            self.prefetch_firms([firm_id])
        stored = self._members[firm_id]
        if not self._staged:
            return stored
        members = {m: doc for m, doc in stored if m not in self._staged}
        members.update((m, doc) for m, doc in self._staged.items() if doc.get("firm_id") == firm_id)
        return sorted(members.items())

    def stage_lawyer(self, lawyer: Lawyer, stored: bool) -> None:
        """Read the lawyer as ``lawyer`` from now on (an accepted row of a lawyer import, not
        yet written), in its firm's members (``firm_members``) and as a document
        (``lawyer_document``); a lawyer not ``stored`` holds no cases."""
        doc = lawyer.model_dump(mode="json")
        self._staged[lawyer.id] = doc
        self._documents[lawyer.id] = doc
        if not stored:
            self._marked[lawyer.id] = []
            self._held_locked.add(lawyer.id)

    def prefetch_firms(self, ids: Iterable[str]) -> None:
        """The firms' rows and their lawyers' documents (``firm_members``)."""
        wanted = list(ids)
        self.prefetch_firm_rows(wanted)
        for chunk in chunks(self._missing(wanted, self._members)):
            for firm_id in chunk:
                self._members[firm_id] = []
            for firm_id, lawyer_id, doc in self.session.execute(_MEMBERS, {"ids": chunk}):
                self._members[firm_id].append((lawyer_id, doc))

    def lawyer_document(self, lawyer_id: str) -> dict[str, Any] | None:
        """The lawyer's stored document as stored (None: no such lawyer), read from the
        database (never a copy the session holds from before a lock: read it after the load
        row is locked)."""
        if lawyer_id not in self._documents:
            self.prefetch_lawyers([lawyer_id])
        return self._documents[lawyer_id]

    def lawyer(self, lawyer_id: str) -> Lawyer:
        """The lawyer's stored document (``lawyer_document``), as the engine reads it."""
        doc = self.lawyer_document(lawyer_id)
        if doc is None:
            raise NoResultFound(f"lawyer {lawyer_id} is not stored")
        return Lawyer.model_validate(doc)

    def lawyer_documents_unlocked(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The lawyers' documents (the staged ones as staged), for a check that takes no lock
        on them: those not read yet are read without being kept, so that ``lawyer_document``
        still reads them after the caller's locks."""
        wanted = set(ids)
        out = {x: doc for x in wanted if (doc := self._documents.get(x)) is not None}
        for chunk in chunks(wanted - set(self._documents)):
            out.update(
                {x: doc for x, doc in self.session.execute(_LAWYER_DOCUMENTS, {"ids": chunk})}
            )
        return out

    def prefetch_lawyers(self, ids: Iterable[str]) -> None:
        """The lawyers' stored documents (``lawyer``)."""
        for chunk in chunks(self._missing(ids, self._documents)):
            found = {x: doc for x, doc in self.session.execute(_LAWYER_DOCUMENTS, {"ids": chunk})}
            self._documents.update({x: found.get(x) for x in chunk})

    # ---- cases, assignments and loads ------------------------------------------------------

    def case_row(self, case_id: str) -> CaseRow | None:
        """The case row, locked (PostgreSQL)."""
        if case_id not in self.case_rows:
            self.case_rows[case_id] = self.session.get(CaseRow, case_id, with_for_update=True)
        return self.case_rows[case_id]

    def prefetch_case_rows(self, ids: Iterable[str]) -> None:
        for chunk in chunks(self._missing(ids, self.case_rows)):
            found = {r.id: r for r in self.session.scalars(LOCK_CASES, {"ids": chunk})}
            self.case_rows.update({x: found.get(x) for x in chunk})

    def assignment(self, assignment_id: int) -> AssignmentRow | None:
        if assignment_id not in self._assignments:
            self._assignments[assignment_id] = self.session.get(AssignmentRow, assignment_id)
        return self._assignments[assignment_id]

    def prefetch_assignments(self, ids: Iterable[int]) -> None:
        wanted = sorted({x for x in ids if x not in self._assignments})
        for start in range(0, len(wanted), ID_CHUNK):
            chunk = wanted[start : start + ID_CHUNK]
            found = {r.id: r for r in self.session.scalars(_ASSIGNMENTS, {"ids": chunk})}
            self._assignments.update({x: found.get(x) for x in chunk})

    def load(self, lawyer_id: str) -> LawyerLoadRow | None:
        """The lawyer's load row, locked and read after the lock (PostgreSQL; take it after
        the case rows, as an assignment does)."""
        if lawyer_id not in self._loads:
            self.prefetch_loads([lawyer_id])
        return self._loads[lawyer_id]

    def prefetch_loads(self, ids: Iterable[str]) -> None:
        for chunk in chunks(self._missing(ids, self._loads)):
            found = {r.lawyer_id: r for r in self.session.scalars(LOCK_LOADS, {"ids": chunk})}
            self._loads.update({x: found.get(x) for x in chunk})

    def lock_held(self, lawyer_id: str) -> None:
        """Lock every case row the lawyer holds, in id order (PostgreSQL), so that no mark or
        hours of those cases changes before the transaction ends."""
        self.prefetch_held([lawyer_id])

    def prefetch_held(self, ids: Iterable[str]) -> None:
        """``lock_held`` for every lawyer (their cases together, in id order)."""
        for chunk in chunks(self._missing(ids, self._held_locked)):
            self.session.execute(_LOCK_HELD, {"ids": chunk}).all()
            self._held_locked.update(chunk)

    def marked(self, lawyer_id: str) -> list[Marked]:
        """The cases the lawyer holds that are started or pinned, with their marks, in id
        order (read after the caller's locks)."""
        if lawyer_id not in self._marked:
            self.prefetch_marked([lawyer_id])
        return self._marked[lawyer_id]

    def prefetch_marked(self, ids: Iterable[str]) -> None:
        for chunk in chunks(self._missing(ids, self._marked)):
            for lawyer_id in chunk:
                self._marked[lawyer_id] = []
            for row, started, pinned in self.session.execute(_MARKED, {"ids": chunk}).all():
                assert row.assigned_lawyer_id is not None  # the statement asks for it
                self._marked[row.assigned_lawyer_id].append((row, bool(started), bool(pinned)))

    # ---- policy ----------------------------------------------------------------------------

    def policy(self) -> tuple[PolicyRow, Policy]:
        """The policy in force."""
        if self._policy is None:
            self._policy = policies.current(self.session)
        return self._policy

    def policy_version(self) -> int:
        """The version of the policy in force, for audit entries."""
        if self._policy is not None:
            return self._policy[0].version
        if self._policy_version is None:
            self._policy_version = policies.current_version(self.session)
        return self._policy_version
