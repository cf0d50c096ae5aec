"""Cases: create or replace, read, list, delete, and the engine's view of a stored case.

The stored document is what the caller sent, without ``current_assignment`` (the service owns
assignments: ``PUT /v1/cases/{id}/assignment``, and their started / pinned marks: ``PATCH``).
The engine's view adds the current assignment and every complaint exclusion made by a
withdrawal, which outlives any later replacement of the document.

Replacing an assigned case keeps its lawyer; the hours charged to the lawyer follow the
document's workload (refused with 409 ``capacity`` when more hours do not fit the lawyer), and a
started or pinned case must stay one its lawyer can hold (409 ``kept_cases``, ``api.holding``).
On PostgreSQL the replace locks the case row, then the lawyer's load row, as an assignment and a
mark do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api import audit, holding, kept_groups, state
from api.auth import Principal
from api.models import (
    REF_COMPLAINT,
    REF_EXCLUDED,
    REF_LINKED,
    REF_PRIOR,
    REF_WAIVER,
    AssignmentRow,
    CaseRefRow,
    CaseRow,
    LawyerLoadRow,
    LawyerRow,
    utcnow,
)
from api.problems import FieldError, conflict, invalid, not_found
from api.reads import Reads
from api.schemas import AssignmentPublic, CasePublic
from api.versions import Written, check_version
from assigner.domain import Case, CurrentAssignment, Lawyer, Policy, Problem, default_catalogue
from assigner.domain.loading import check_references
from assigner.search.from_problem import must_stay

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # any moment: reference checks ignore it


def _lawyer_refs(case: Case) -> list[tuple[str, str, str]]:
    """(ref kind, field, lawyer id) for every lawyer the document names."""
    refs = []
    if case.prior_lawyer_id is not None:
        refs.append((REF_PRIOR, "prior_lawyer_id", case.prior_lawyer_id))
    refs += [(REF_EXCLUDED, "excluded_lawyer_ids", x) for x in case.excluded_lawyer_ids]
    refs += [(REF_COMPLAINT, "complaint_lawyer_ids", x) for x in case.complaint_lawyer_ids]
    refs += [
        (REF_WAIVER, f"conflict_waivers.{k}.lawyer_id", w.lawyer_id)
        for k, w in enumerate(case.conflict_waivers)
    ]
    return refs


def case_issues(
    case: Case,
    session: Session,
    *,
    lawyer_ids: set[str] | None = None,
    case_ids: set[str] | None = None,
) -> list[FieldError]:
    """Catalogue names by the engine's ``check_references``; lawyer and linked-case references
    against the database (or the given id sets, for a bulk import)."""
    bare = case.model_copy(
        update={
            "prior_lawyer_id": None,
            "excluded_lawyer_ids": [],
            "complaint_lawyer_ids": [],
            "conflict_waivers": [],
            "linked_case_ids": [],
            "current_assignment": None,
        }
    )
    problem = Problem.model_construct(
        as_of=_EPOCH, policy=Policy(), catalogue=None, firms=[], lawyers=[], cases=[bare]
    )
    errors = [
        FieldError(field=i.field, message=i.message, location="body")
        for i in check_references(problem, default_catalogue())
    ]
    for _, field, lawyer_id in _lawyer_refs(case):
        known = (
            lawyer_id in lawyer_ids
            if lawyer_ids is not None
            else session.get(LawyerRow, lawyer_id) is not None
        )
        if not known:
            errors.append(
                FieldError(field=field, message=f"unknown lawyer {lawyer_id!r}", location="body")
            )
    for linked in case.linked_case_ids:
        if linked == case.id:
            errors.append(
                FieldError(
                    field="linked_case_ids", message="a case cannot link to itself", location="body"
                )
            )
            continue
        known = (
            linked in case_ids if case_ids is not None else session.get(CaseRow, linked) is not None
        )
        if not known:
            errors.append(
                FieldError(
                    field="linked_case_ids", message=f"unknown case {linked!r}", location="body"
                )
            )
    return errors


@dataclass(frozen=True)
class Marks:
    """The started and pinned marks of a case's current assignment."""

    started: bool
    pinned: bool


def assignment_field_errors(
    case: Case, held: str | None, marks: Marks | None = None
) -> list[FieldError]:
    """A document may repeat the service's current assignment, never set or change one: not
    the lawyer, not its marks (when ``marks`` are known), and it may not exclude the lawyer
    who holds the case (withdraw first; a withdrawal for a complaint records the complaint)."""
    errors = []
    current = case.current_assignment
    if current is not None and current.lawyer_id != held:
        errors.append(
            FieldError(
                field="current_assignment",
                message="assignments are made with PUT /v1/cases/{id}/assignment; the document "
                f"may only repeat the current one ({held!r})",
                location="body",
            )
        )
    elif current is not None and marks is not None:
        for name in ("started", "pinned"):
            stored = getattr(marks, name)
            if name in current.model_fields_set and getattr(current, name) != stored:
                errors.append(
                    FieldError(
                        field=f"current_assignment.{name}",
                        message=f"the mark is set with PATCH /v1/cases/{{id}}/assignment "
                        f'{{"{name}": {str(not stored).lower()}}}; the document may only '
                        f"repeat it ({str(stored).lower()})",
                        location="body",
                    )
                )
    for field, names, advice in (
        (
            "excluded_lawyer_ids",
            case.excluded_lawyer_ids,
            "withdraw the assignment first (DELETE /v1/cases/{id}/assignment), then exclude "
            "the lawyer",
        ),
        (
            "complaint_lawyer_ids",
            case.complaint_lawyer_ids,
            "withdraw the assignment with reason complaint (DELETE "
            "/v1/cases/{id}/assignment?reason=complaint), which records the complaint",
        ),
    ):
        if held is not None and held in names:
            errors.append(
                FieldError(
                    field=field,
                    message=f"names {held}, who holds the case; {advice}",
                    location="body",
                )
            )
    return errors


def assignment_field_error(case: Case, held: str | None) -> FieldError | None:
    """The first of ``assignment_field_errors`` (the marks unknown)."""
    errors = assignment_field_errors(case, held)
    return errors[0] if errors else None


def _groups(case: Case) -> str:
    return "," + ",".join(case.priority_groups) + ","


class CaseLike(Protocol):
    """What the engine view needs of a stored case (an ORM row or a Core row)."""

    @property
    def document(self) -> dict[str, Any]: ...

    @property
    def assigned_lawyer_id(self) -> str | None: ...

    @property
    def complaint_exclusions(self) -> list[str]: ...


def engine_case(row: CaseLike) -> Case:
    """The case as the engine sees it: with its current assignment and every complaint."""
    doc = dict(row.document)
    complaints = list(doc.get("complaint_lawyer_ids") or [])
    complaints += [x for x in row.complaint_exclusions or () if x not in complaints]
    doc["complaint_lawyer_ids"] = complaints
    doc["current_assignment"] = (
        {"lawyer_id": row.assigned_lawyer_id} if row.assigned_lawyer_id is not None else None
    )
    return Case.model_validate(doc)


def assignment_public(row: AssignmentRow, case_version: int) -> AssignmentPublic:
    return AssignmentPublic(
        id=row.id,
        case_id=row.case_id,
        lawyer_id=row.lawyer_id,
        workload_hours=row.workload_hours,
        cost_points=row.cost_points,
        terms={k: int(v) for k, v in row.terms.items()},
        policy_version=row.policy_version,
        assigned_at=row.assigned_at,
        assigned_by=row.assigned_by,
        note=row.note,
        started=row.started,
        pinned=row.pinned,
        case_version=case_version,
    )


def case_public(row: CaseRow, assignment: AssignmentRow | None) -> CasePublic:
    case = engine_case(row)
    if case.current_assignment is not None and assignment is not None:
        case = case.model_copy(
            update={
                "current_assignment": CurrentAssignment(
                    lawyer_id=case.current_assignment.lawyer_id,
                    started=assignment.started,
                    pinned=assignment.pinned,
                )
            }
        )
    return CasePublic.model_validate(
        {
            **case.model_dump(),
            "version": row.version,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "assignment": assignment_public(assignment, row.version) if assignment else None,
        }
    )


def get_case(session: Session, case_id: str, *, lock: bool = False) -> CaseRow:
    row = session.get(CaseRow, case_id, with_for_update=lock)
    if row is None:
        raise not_found("case", case_id)
    return row


def active_assignment(session: Session, row: CaseRow) -> AssignmentRow | None:
    if row.assignment_id is None:
        return None
    return session.get(AssignmentRow, row.assignment_id)


def public_of(session: Session, row: CaseRow) -> CasePublic:
    return case_public(row, active_assignment(session, row))


def put_case(
    session: Session,
    case: Case,
    who: Principal,
    expected: int | None = None,
    *,
    lawyer_ids: set[str] | None = None,
    case_ids: set[str] | None = None,
    checked: bool = False,
    reads: Reads | None = None,
) -> Written:
    """Create or replace a case.  An assigned case keeps its lawyer, who is charged the hours
    the new document gives (``_recharge``); a ``current_assignment`` in the document must
    repeat the service's (``assignment_field_errors``).  ``reads``: what the request has read
    already (a bulk import, ``prefetch_puts``)."""
    reads = reads if reads is not None else Reads(session)
    row = reads.case_row(case.id)
    held, assignment, marks = _holding(reads, row)
    errors = [] if checked else case_issues(case, session, lawyer_ids=lawyer_ids, case_ids=case_ids)
    if row is None and expected is not None and not errors:
        raise not_found("case", case.id)
    if row is not None and not errors:
        # Before the assignment fields: a document read before a mark or a withdrawal repeats
        # the assignment as it was then, and is stale rather than wrong.
        check_version("case", case.id, row.version, expected)
    errors += assignment_field_errors(case, held, marks)
    if errors:
        # In a bulk import (``checked``) the error would otherwise not say which case.
        raise invalid(errors, detail=f"case {case.id}: {errors[0].message}" if checked else None)
    if not checked:
        edit = _group_edit(reads, case, row, held, marks)
        found = kept_groups.new_group_breaches(reads, [edit], lock=True).get(case.id)
        if found:
            raise kept_groups.group_refusal(f"case {case.id}", found, case_id=case.id)
    now = utcnow()
    doc = case.model_dump(mode="json")
    doc["current_assignment"] = None
    fields = {
        "case_type": case.case_type,
        "stage": case.stage,
        "jurisdiction": case.jurisdiction,
        "matter_id": case.matter_id,
        "priority_groups": _groups(case),
        "received_at": case.received_at,
        "assign_by": case.assign_by,
        "document": doc,
    }
    recharged: tuple[float, float] | None = None
    if row is None:
        row = CaseRow(
            id=case.id,
            version=1,
            created_at=now,
            updated_at=now,
            assigned_lawyer_id=None,
            assigned_hours=None,
            assignment_id=None,
            complaint_exclusions=[],
            **fields,
        )
        session.add(row)
        reads.case_rows[case.id] = row
        created = True
    else:
        if held is not None:
            load = reads.load(held)
            lawyer = reads.lawyer(held)
            # Hours first: more hours than fit are a 409 capacity, as for an assignment.  A
            # refusal after this point rolls the request back, the new charge with it.
            recharged = _recharge(row, assignment, load, lawyer, case)
            if marks is not None:
                breaches = _kept_case_breaches(reads, row, marks, case, lawyer)
                if breaches:
                    raise holding.edit_refusal(held, breaches)
        for key, value in fields.items():
            setattr(row, key, value)
        row.version += 1
        row.updated_at = now
        created = False
        session.execute(delete(CaseRefRow).where(CaseRefRow.case_id == case.id))
    session.flush()
    refs = {(kind, ref) for kind, _, ref in _lawyer_refs(case)}
    refs |= {(REF_LINKED, x) for x in case.linked_case_ids}
    session.add_all(CaseRefRow(case_id=case.id, kind=k, ref_id=r) for k, r in sorted(refs))
    audit.record(
        session,
        who,
        "case.create" if created else "case.replace",
        "case",
        case.id,
        f"case {case.id} {'created' if created else 'replaced'}"
        + (
            f"; hours charged to {held} {recharged[0]:g} h -> {recharged[1]:g} h"
            if recharged
            else ""
        ),
        {"version": row.version}
        | ({"lawyer_id": held, "charged_hours": list(recharged)} if recharged else {}),
        policy_version=reads.policy_version(),
    )
    if recharged:
        state.bump_loads(session)  # the service-state row last, as in every write
    return Written(created, row.version)


def _holding(
    reads: Reads, row: CaseRow | None
) -> tuple[str | None, AssignmentRow | None, Marks | None]:
    """The stored case's lawyer, its active assignment and that assignment's marks (None for
    a new case or one not assigned)."""
    held = row.assigned_lawyer_id if row is not None else None
    assignment = (
        reads.assignment(row.assignment_id)
        if row is not None and held is not None and row.assignment_id is not None
        else None
    )
    marks = Marks(assignment.started, assignment.pinned) if assignment is not None else None
    return held, assignment, marks


def _group_edit(
    reads: Reads, case: Case, row: CaseRow | None, held: str | None, marks: Marks | None
) -> kept_groups.Edit:
    """The case document as a write leaves it, for the group rules between the cases that
    must stay (``kept_groups``); its marks do not change with its document."""
    before = None
    if row is not None:
        try:
            before = Case.model_validate(row.document)
        except ValidationError:
            before = None  # checked as a new document
    kept = False
    if held is not None and marks is not None and (marks.started or marks.pinned):
        _, policy = reads.policy()
        kept = must_stay(marks.started, marks.pinned, policy)
    return kept_groups.Edit(case, before, held, kept, kept)


def group_issues(reads: Reads, cases: Sequence[Case]) -> dict[str, list[FieldError]]:
    """Per case of an import, by id: the group rules that cases which must stay with their
    lawyers would newly break together once the rows are written (``kept_groups``)."""
    reads.prefetch_case_rows(c.id for c in cases)
    rows = {c.id: reads.case_rows[c.id] for c in cases}
    reads.prefetch_assignments(
        r.assignment_id
        for r in rows.values()
        if r is not None and r.assigned_lawyer_id is not None and r.assignment_id is not None
    )
    edits = []
    for case in cases:
        row = rows[case.id]
        held, _, marks = _holding(reads, row)
        edits.append(_group_edit(reads, case, row, held, marks))
    found = kept_groups.new_group_breaches(reads, edits, lock=True)
    return {case_id: kept_groups.breach_issues(b) for case_id, b in found.items()}


def prefetch_puts(reads: Reads, cases: Sequence[Case]) -> None:
    """Read, for all of ``cases`` at once, what ``put_case`` reads for each (a bulk import):
    the case rows (locked), the assignments, load rows (locked, after the case rows) and
    documents of the lawyers holding them; for a case that must stay with its lawyer, the
    policy, the lawyer's other such cases and the lawyer's firm."""
    reads.prefetch_case_rows(c.id for c in cases)
    held = [
        row
        for row in (reads.case_rows[c.id] for c in cases)
        if row is not None and row.assigned_lawyer_id is not None
    ]
    if not held:
        return
    reads.prefetch_assignments(r.assignment_id for r in held if r.assignment_id is not None)
    lawyer_ids = {r.assigned_lawyer_id for r in held if r.assigned_lawyer_id is not None}
    reads.prefetch_loads(lawyer_ids)
    reads.prefetch_lawyers(lawyer_ids)
    marked = [
        (r.assigned_lawyer_id, a)
        for r in held
        if r.assignment_id is not None
        and (a := reads.assignment(r.assignment_id)) is not None
        and (a.started or a.pinned)
    ]
    if not marked:
        return
    _, policy = reads.policy()
    keeping = {
        lawyer_id
        for lawyer_id, a in marked
        if lawyer_id is not None and must_stay(a.started, a.pinned, policy)
    }
    reads.prefetch_marked(keeping)
    documents = [reads.lawyer_document(x) for x in keeping]
    reads.prefetch_firms(
        d["firm_id"] for d in documents if d is not None and isinstance(d.get("firm_id"), str)
    )


def kept_case(case: Case, lawyer_id: str, started: bool, pinned: bool) -> holding.KeptCase:
    marked = CurrentAssignment(lawyer_id=lawyer_id, started=started, pinned=pinned)
    return holding.KeptCase(case.model_copy(update={"current_assignment": marked}), started, pinned)


def kept_cases(
    reads: Reads, lawyer_id: str, *, besides: str | None = None
) -> tuple[list[holding.KeptCase], Policy | None]:
    """The cases the lawyer holds that must stay with the lawyer under the policy in force
    (other than ``besides``), read after the caller's locks; and that policy, when any case
    is marked."""
    marked = [m for m in reads.marked(lawyer_id) if m[0].id != besides]
    if not marked:
        return [], None
    _, policy = reads.policy()
    kept = [
        kept_case(engine_case(row), lawyer_id, started, pinned)
        for row, started, pinned in marked
        if must_stay(started, pinned, policy)
    ]
    return kept, policy


def _kept_case_breaches(
    reads: Reads, row: CaseRow, marks: Marks, case: Case, lawyer: Lawyer
) -> list[holding.Breach]:
    """What the new document would break for a case that must stay with its lawyer (read
    after the case row and the lawyer's load row are locked, as a mark reads them)."""
    if not (marks.started or marks.pinned):
        return []
    _, policy = reads.policy()
    if not must_stay(marks.started, marks.pinned, policy):
        return []
    others, _ = kept_cases(reads, lawyer.id, besides=case.id)
    return holding.case_edit_breaches(
        reads,
        lawyer,
        kept_case(engine_case(row), lawyer.id, marks.started, marks.pinned),
        kept_case(case, lawyer.id, marks.started, marks.pinned),
        others,
        policy,
        datetime.now(UTC),
    )


def _recharge(
    row: CaseRow,
    assignment: AssignmentRow | None,
    load: LawyerLoadRow | None,
    lawyer: Lawyer,
    case: Case,
) -> tuple[float, float] | None:
    """Charge the lawyer holding the case the hours the new document gives, in place of the
    hours charged so far; more hours than fit the lawyer's capacity are refused with 409
    ``capacity`` (fewer are always accepted).  The hours before and after, when they
    changed."""
    lawyer_id = lawyer.id
    charged = row.assigned_hours or 0.0
    assigned = load.assigned_hours if load is not None else 0.0
    besides = lawyer.current_load_hours + assigned - charged
    hours, over = holding.hours_fit(lawyer, case, besides, utcnow())
    if hours == charged:
        return None
    if hours > charged and over is not None:
        raise conflict(
            "capacity",
            "Capacity exceeded",
            f"lawyer {lawyer_id} holds case {case.id} and cannot take its new workload of "
            f"{hours:g} h (charged {charged:g} h so far): {over.rule}: {over.detail}; nothing "
            "was written",
            case_id=case.id,
            lawyer_id=lawyer_id,
            workload_hours=hours,
            charged_hours=charged,
            reasons=holding.reason_dicts([over]),
        )
    if load is not None:
        load.assigned_hours = max(0.0, assigned - charged + hours)
    row.assigned_hours = hours
    if assignment is not None:
        assignment.workload_hours = hours
    return charged, hours


@dataclass(frozen=True)
class CaseFilter:
    case_type: str | None = None
    status: str | None = None  # "assigned" | "unassigned"
    lawyer_id: str | None = None
    jurisdiction: str | None = None
    matter_id: str | None = None
    priority_group: str | None = None
    assign_by_before: datetime | None = None
    assign_by_after: datetime | None = None


def list_cases(
    session: Session, f: CaseFilter, *, limit: int, offset: int
) -> tuple[list[CasePublic], int]:
    query = select(CaseRow)
    if f.case_type is not None:
        query = query.where(CaseRow.case_type == f.case_type)
    if f.status == "assigned":
        query = query.where(CaseRow.assigned_lawyer_id.is_not(None))
    elif f.status == "unassigned":
        query = query.where(CaseRow.assigned_lawyer_id.is_(None))
    if f.lawyer_id is not None:
        query = query.where(CaseRow.assigned_lawyer_id == f.lawyer_id)
    if f.jurisdiction is not None:
        query = query.where(CaseRow.jurisdiction == f.jurisdiction)
    if f.matter_id is not None:
        query = query.where(CaseRow.matter_id == f.matter_id)
    if f.priority_group is not None:
        query = query.where(
            CaseRow.priority_groups.contains(f",{f.priority_group},", autoescape=True)
        )
    if f.assign_by_before is not None:
        query = query.where(CaseRow.assign_by < f.assign_by_before)
    if f.assign_by_after is not None:
        query = query.where(CaseRow.assign_by >= f.assign_by_after)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = list(session.execute(query.order_by(CaseRow.id).limit(limit).offset(offset)).scalars())
    ids = [r.assignment_id for r in rows if r.assignment_id is not None]
    assignments = (
        {
            a.id: a
            for a in session.execute(
                select(AssignmentRow).where(AssignmentRow.id.in_(ids))
            ).scalars()
        }
        if ids
        else {}
    )
    items = [
        case_public(r, assignments.get(r.assignment_id) if r.assignment_id is not None else None)
        for r in rows
    ]
    return items, int(total)


def delete_case(session: Session, case_id: str, who: Principal, expected: int | None) -> None:
    row = get_case(session, case_id, lock=True)
    check_version("case", case_id, row.version, expected)
    if row.assigned_lawyer_id is not None:
        raise conflict(
            "assigned",
            "Case is assigned",
            f"case {case_id} is assigned to {row.assigned_lawyer_id}; withdraw the assignment "
            "first (DELETE /v1/cases/{id}/assignment)",
        )
    linking = (
        session.execute(
            select(CaseRefRow.case_id)
            .where(CaseRefRow.kind == REF_LINKED, CaseRefRow.ref_id == case_id)
            .limit(5)
        )
        .scalars()
        .all()
    )
    if linking:
        raise conflict(
            "referenced",
            "Case linked from other cases",
            f"cases {', '.join(linking)} link to case {case_id}; unlink them first",
            referenced_by=list(linking),
        )
    session.delete(row)
    audit.record(session, who, "case.delete", "case", case_id, f"case {case_id} deleted")
