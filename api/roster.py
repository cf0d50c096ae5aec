"""Firms and lawyers: create or replace, read, list, delete, with the checks the engine needs.

A record is checked whole before anything is written: the document by its pydantic model, the
catalogue names (practice areas, certifications, subsidy class) by the engine's own
``check_references``, and references to other records against the database.  Every write bumps
the roster revision, which tells each process that its warm roster index is stale.

A replace of a lawyer who holds started or pinned cases must leave the lawyer eligible for them
by the engine's rules (``api.holding``): such a case stays with its lawyer, and a job refuses
the whole caseload otherwise.  The replace locks the lawyer's case rows first (PostgreSQL), as
a mark of one of them does, so that an edit and a mark are checked one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from api import audit, caseload, holding, kept_groups, state
from api.auth import Principal
from api.models import (
    AssignmentRow,
    CaseExclusionRow,
    CaseRefRow,
    CaseRow,
    FirmRow,
    LawyerLoadRow,
    LawyerRow,
    utcnow,
)
from api.problems import FieldError, conflict, invalid, not_found
from api.reads import Reads
from api.schemas import FirmPublic, LawyerPublic
from api.versions import Written, check_version
from assigner.domain import Firm, FirmKind, Lawyer, Policy, Problem, default_catalogue
from assigner.domain.loading import check_references

_EPOCH = utcnow()


def _catalogue_issues(lawyer: Lawyer) -> list[FieldError]:
    """Practice areas, certifications and subsidy class against the catalogue (the engine's
    check; the firm reference is checked against the database instead)."""
    stub_firm = Firm.model_construct(id=lawyer.firm_id, name="", kind=FirmKind.LAW_FIRM)
    problem = Problem.model_construct(
        as_of=_EPOCH, policy=Policy(), catalogue=None, firms=[stub_firm], lawyers=[lawyer], cases=[]
    )
    return [
        FieldError(field=i.field, message=i.message, location="body")
        for i in check_references(problem, default_catalogue())
    ]


def _document_issues(lawyer: Lawyer, firm_ids: set[str] | None, reads: Reads) -> list[FieldError]:
    errors = _catalogue_issues(lawyer)
    known = (
        lawyer.firm_id in firm_ids
        if firm_ids is not None
        else reads.firm_row(lawyer.firm_id) is not None
    )
    if not known:
        errors.append(
            FieldError(field="firm_id", message=f"unknown firm {lawyer.firm_id!r}", location="body")
        )
    return errors


def _stored(row: LawyerRow) -> Lawyer | None:
    """The stored lawyer, or None when the stored document no longer passes the record checks
    (``holding.edit_breaches`` then counts every rule)."""
    try:
        return Lawyer.model_validate(row.document)
    except ValidationError:  # stored before the record checks refused such values
        return None


def _kept_breaches(reads: Reads, row: LawyerRow, edited: Lawyer) -> list[holding.Breach]:
    """What the edit would break for the cases that must stay with the lawyer (started or
    pinned).  Locks every case row the lawyer holds first (PostgreSQL), so that no case is
    marked, and no marked case's hours change, before the edit commits."""
    reads.lock_held(edited.id)
    kept, policy = caseload.kept_cases(reads, edited.id)
    if not kept or policy is None:
        return []
    return holding.edit_breaches(reads, _stored(row), edited, kept, policy, datetime.now(UTC))


def _group_breaches(reads: Reads, row: LawyerRow, edited: Lawyer) -> list[kept_groups.GroupBreach]:
    """The group rules that the lawyer's cases which must stay would newly break with the
    lawyer at another firm (co-defendants or linked cases at one firm where the policy forbids
    it, a firm acting on both sides of a matter): ``kept_groups``."""
    if row.firm_id == edited.firm_id:
        return []
    kept, _ = caseload.kept_cases(reads, edited.id)
    if not kept:
        return []
    edits = [
        kept_groups.Edit(k.case, k.case, edited.id, True, True, moved_lawyer=edited) for k in kept
    ]
    found = kept_groups.new_group_breaches(reads, edits)
    unique = {(b.rule, b.case_ids): b for bs in found.values() for b in bs}
    return list(unique.values())


def _changes_what_it_imputes(row: LawyerRow | None, edited: Lawyer) -> bool:
    """Whether the edit can newly conflict colleagues: the lawyer (new, or moving firm, or with
    other clients or relatives) brings clients or relatives into its firm."""
    if not holding.imputes_conflicts(edited):
        return False
    stored = _stored(row) if row is not None else None
    return (
        stored is None
        or stored.firm_id != edited.firm_id
        or stored.clients != edited.clients
        or stored.relatives != edited.relatives
    )


Members = dict[str, list[tuple[str, dict[str, Any]]]]
"""Per edited lawyer or firm, the lawyers of the firm to check, as stored: (id, document)."""


def _lock_members(reads: Reads, members: Members, also: Iterable[str] = ()) -> Members:
    """Lock the case rows the ``members`` and the ``also`` lawyers hold (PostgreSQL) in one
    statement, in id order, so that two edits lock in the same order and a mark (which locks
    its case row first) waits for the edit or the edit for it; read the members' marked cases;
    for all the edits at once."""
    everyone = {m for ms in members.values() for m, _ in ms}
    reads.prefetch_held(everyone | set(also))
    reads.prefetch_marked(everyone)
    return members


def _colleagues_to_check(reads: Reads, edits: Sequence[Lawyer], replaced: Sequence[str]) -> Members:
    """Per edited lawyer whose edit can newly conflict colleagues, the other lawyers of its
    (new) firm (``_lock_members``, with the ``replaced`` lawyers' own cases)."""
    changing = [lw for lw in edits if _changes_what_it_imputes(reads.lawyer_rows.get(lw.id), lw)]
    reads.prefetch_firms({lw.firm_id for lw in changing})
    members = {
        lw.id: [(m, doc) for m, doc in reads.firm_members(lw.firm_id) if m != lw.id]
        for lw in changing
    }
    return _lock_members(reads, members, replaced)


def _firm_clients_change(row: FirmRow, firm: Firm) -> bool:
    """Whether the edit gives the firm other clients (a stored document that no longer passes
    the record checks counts as changed)."""
    try:
        return Firm.model_validate(row.document).clients != firm.clients
    except ValidationError:
        return True


def _firm_members_to_check(reads: Reads, firms: Sequence[Firm]) -> Members:
    """Per edited firm whose clients change, its lawyers (``_lock_members``)."""
    reads.prefetch_firm_rows(f.id for f in firms)
    changing = [
        f
        for f in firms
        if (row := reads.firm_rows.get(f.id)) is not None and _firm_clients_change(row, f)
    ]
    reads.prefetch_firms(f.id for f in changing)
    return _lock_members(reads, {f.id: reads.firm_members(f.id) for f in changing})


def _member_breaches(
    reads: Reads, edited: Lawyer | Firm, members: Sequence[tuple[str, dict[str, Any]]]
) -> list[tuple[str, holding.Breach]]:
    """What the edit of a lawyer or a firm would break for the cases that must stay with
    ``members`` (lawyers of the firm as stored), as (lawyer id, breach).  A lawyer whose stored
    document no longer passes the record checks is not asked here (every job refuses its cases
    with the engine's own message)."""
    as_of = datetime.now(UTC)
    out: list[tuple[str, holding.Breach]] = []
    for member, doc in members:
        kept, policy = caseload.kept_cases(reads, member)
        if not kept or policy is None:
            continue
        try:
            holder = Lawyer.model_validate(doc)
        except ValidationError:
            continue
        found = holding.member_edit_breaches(reads, holder, kept, policy, as_of, edited)
        out += [(member, b) for b in found]
    return out


def firm_issues(reads: Reads, firms: Sequence[Firm]) -> dict[str, list[FieldError]]:
    """Per firm of an import, by id: the cases that must stay with its lawyers that the row
    (its clients) would make them ineligible for."""
    members = _firm_members_to_check(reads, firms)
    return {
        f.id: holding.colleague_edit_issues(_member_breaches(reads, f, members.get(f.id, [])))
        for f in firms
    }


def lawyer_issues(
    reads: Reads, lawyers: Sequence[Lawyer], firm_ids: set[str]
) -> dict[str, list[FieldError]]:
    """Everything that rejects each row of a lawyer import, by lawyer id: the document's
    errors, the cases that must stay with the lawyer that the row would make the lawyer
    ineligible for, and those of the lawyers of its firm.  Rows are checked in order, each
    against the stored lawyers as the rows accepted before it leave them (``Reads.stage_lawyer``),
    as the same rows sent one by one as PUTs would be: two rows that only together conflict a
    kept case (a colleague's new client, then the case's lawyer joining that firm) do not both
    pass.  What the checks read is read for all rows first (in chunks), so that the number of
    statements does not grow with the rows: the stored lawyers; for each row that replaces one,
    the cases the lawyer holds (locked) and those of them marked; the members of the firms the
    rows bring clients or relatives into; and, for the lawyers keeping cases, the policy and
    the firms (stored and new)."""
    errors = {lw.id: _document_issues(lw, firm_ids, reads) for lw in lawyers}
    reads.prefetch_lawyer_rows(lw.id for lw in lawyers)
    valid = [lw for lw in lawyers if not errors[lw.id]]
    replaced = [lw for lw in valid if reads.lawyer_rows[lw.id] is not None]
    changing = _colleagues_to_check(reads, valid, [lw.id for lw in replaced])
    reads.prefetch_marked(lw.id for lw in replaced)
    keeping = [lw for lw in replaced if caseload.kept_cases(reads, lw.id)[0]]
    stored_firms = {row.firm_id for lw in keeping if (row := reads.lawyer_rows[lw.id]) is not None}
    reads.prefetch_firms({lw.firm_id for lw in keeping} | stored_firms)
    for lw in valid:
        row = reads.lawyer_rows[lw.id]
        if row is not None:
            errors[lw.id] += holding.edit_issues(_kept_breaches(reads, row, lw))
            errors[lw.id] += kept_groups.breach_issues(_group_breaches(reads, row, lw))
        if lw.id in changing:
            members = [(m, doc) for m, doc in reads.firm_members(lw.firm_id) if m != lw.id]
            errors[lw.id] += holding.colleague_edit_issues(_member_breaches(reads, lw, members))
        if not errors[lw.id]:
            reads.stage_lawyer(lw, stored=row is not None)
    return errors


def _areas(lawyer: Lawyer) -> str:
    return "," + ",".join(pa.area for pa in lawyer.practice_areas) + ","


def firm_public(row: FirmRow) -> FirmPublic:
    return FirmPublic.model_validate(
        {
            **row.document,
            "version": row.version,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )


def lawyer_public(row: LawyerRow, load: LawyerLoadRow | None) -> LawyerPublic:
    doc = row.document
    hours = load.assigned_hours if load else 0.0
    cases = load.assigned_cases if load else 0
    return LawyerPublic.model_validate(
        {
            **doc,
            "version": row.version,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "assigned_hours": hours,
            "assigned_cases": cases,
            "effective_load_hours": float(doc.get("current_load_hours", 0.0)) + hours,
            "effective_open_cases": int(doc.get("current_open_cases", 0)) + cases,
        }
    )


# ---- firms ---------------------------------------------------------------------------------


def put_firm(
    session: Session,
    firm: Firm,
    who: Principal,
    expected: int | None = None,
    *,
    checked: bool = False,
    reads: Reads | None = None,
) -> Written:
    """Create or replace; ``checked`` when ``firm_issues`` already ran (bulk import, with its
    ``reads``).  A replace whose clients would make a lawyer of the firm ineligible for a case
    that must stay with the lawyer (started or pinned) is refused with 409 ``kept_cases`` naming
    each case, its lawyer and the rule."""
    reads = reads if reads is not None else Reads(session)
    now = utcnow()
    doc = firm.model_dump(mode="json")
    row = reads.firm_row(firm.id)
    if row is None and expected is not None:
        raise not_found("firm", firm.id)
    if row is not None:
        check_version("firm", firm.id, row.version, expected)
    if not checked and row is not None:
        members = _firm_members_to_check(reads, [firm]).get(firm.id, [])
        breaches = _member_breaches(reads, firm, members)
        if breaches:
            raise holding.colleague_refusal(f"firm {firm.id}", breaches, firm_id=firm.id)
    if row is None:
        row = FirmRow(
            id=firm.id,
            name=firm.name,
            kind=str(firm.kind),
            document=doc,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        reads.firm_rows[firm.id] = row
        created = True
    else:
        row.name, row.kind, row.document = firm.name, str(firm.kind), doc
        row.version += 1
        row.updated_at = now
        created = False
    state.bump_roster(session)
    audit.record(
        session,
        who,
        "firm.create" if created else "firm.replace",
        "firm",
        firm.id,
        f"firm {firm.id} {'created' if created else 'replaced'}",
        {"version": row.version},
        policy_version=reads.policy_version(),
    )
    return Written(created, row.version)


def get_firm(session: Session, firm_id: str) -> FirmRow:
    row = session.get(FirmRow, firm_id)
    if row is None:
        raise not_found("firm", firm_id)
    return row


def list_firms(
    session: Session, *, kind: str | None, name: str | None, limit: int, offset: int
) -> tuple[list[FirmRow], int]:
    query = select(FirmRow)
    if kind is not None:
        query = query.where(FirmRow.kind == kind)
    if name is not None:
        query = query.where(func.lower(FirmRow.name).contains(name.lower(), autoescape=True))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(FirmRow.id).limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


def delete_firm(session: Session, firm_id: str, who: Principal, expected: int | None) -> None:
    row = get_firm(session, firm_id)
    check_version("firm", firm_id, row.version, expected)
    members = (
        session.execute(select(LawyerRow.id).where(LawyerRow.firm_id == firm_id).limit(5))
        .scalars()
        .all()
    )
    if members:
        raise conflict(
            "referenced",
            "Firm in use",
            f"firm {firm_id} still has lawyers ({', '.join(members)}...); move or delete them",
            referenced_by=list(members),
        )
    session.delete(row)
    state.bump_roster(session)
    audit.record(session, who, "firm.delete", "firm", firm_id, f"firm {firm_id} deleted")


# ---- lawyers -------------------------------------------------------------------------------


def put_lawyer(
    session: Session,
    lawyer: Lawyer,
    who: Principal,
    expected: int | None = None,
    *,
    firm_ids: set[str] | None = None,
    checked: bool = False,
    reads: Reads | None = None,
) -> Written:
    """Create or replace; ``checked`` when ``lawyer_issues`` already ran (bulk import, with
    its ``reads``).  A replace that would make the lawyer ineligible for a case that must stay
    with the lawyer (started or pinned) is refused with 409 ``kept_cases`` naming each case
    and rule."""
    reads = reads if reads is not None else Reads(session)
    if not checked:
        errors = _document_issues(lawyer, firm_ids, reads)
        if errors:
            raise invalid(errors)
    now = utcnow()
    doc = lawyer.model_dump(mode="json")
    row = reads.lawyer_row(lawyer.id)
    if row is None and expected is not None:
        raise not_found("lawyer", lawyer.id)
    if row is not None:
        check_version("lawyer", lawyer.id, row.version, expected)
    if not checked:
        held = [lawyer.id] if row is not None else []
        members = _colleagues_to_check(reads, [lawyer], held).get(lawyer.id, [])
        breaches = _kept_breaches(reads, row, lawyer) if row is not None else []
        if breaches:
            raise holding.edit_refusal(lawyer.id, breaches)
        group_breaches = _group_breaches(reads, row, lawyer) if row is not None else []
        if group_breaches:
            raise kept_groups.group_refusal(
                f"lawyer {lawyer.id}", group_breaches, lawyer_id=lawyer.id
            )
        colleague_breaches = _member_breaches(reads, lawyer, members)
        if colleague_breaches:
            raise holding.colleague_refusal(
                f"lawyer {lawyer.id}", colleague_breaches, lawyer_id=lawyer.id
            )
    fields: dict[str, Any] = {
        "firm_id": lawyer.firm_id,
        "name": lawyer.name,
        "kind": str(lawyer.kind),
        "accepting_new_cases": lawyer.accepting_new_cases,
        "areas": _areas(lawyer),
        "document": doc,
    }
    if row is None:
        row = LawyerRow(id=lawyer.id, version=1, created_at=now, updated_at=now, **fields)
        session.add(row)
        reads.lawyer_rows[lawyer.id] = row
        session.flush()  # the load row's foreign key needs the lawyer row first
        session.add(LawyerLoadRow(lawyer_id=lawyer.id, assigned_hours=0.0, assigned_cases=0))
        created = True
    else:
        for key, value in fields.items():
            setattr(row, key, value)
        row.version += 1
        row.updated_at = now
        created = False
    state.bump_roster(session)
    audit.record(
        session,
        who,
        "lawyer.create" if created else "lawyer.replace",
        "lawyer",
        lawyer.id,
        f"lawyer {lawyer.id} {'created' if created else 'replaced'}",
        {"version": row.version},
        policy_version=reads.policy_version(),
    )
    return Written(created, row.version)


def get_lawyer(session: Session, lawyer_id: str) -> tuple[LawyerRow, LawyerLoadRow | None]:
    row = session.get(LawyerRow, lawyer_id)
    if row is None:
        raise not_found("lawyer", lawyer_id)
    return row, session.get(LawyerLoadRow, lawyer_id)


def list_lawyers(
    session: Session,
    *,
    firm_id: str | None,
    kind: str | None,
    area: str | None,
    accepting: bool | None,
    name: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[LawyerRow, LawyerLoadRow | None]], int]:
    query = select(LawyerRow)
    if firm_id is not None:
        query = query.where(LawyerRow.firm_id == firm_id)
    if kind is not None:
        query = query.where(LawyerRow.kind == kind)
    if area is not None:
        query = query.where(LawyerRow.areas.contains(f",{area},", autoescape=True))
    if accepting is not None:
        query = query.where(LawyerRow.accepting_new_cases == accepting)
    if name is not None:
        query = query.where(func.lower(LawyerRow.name).contains(name.lower(), autoescape=True))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = query.order_by(LawyerRow.id).limit(limit).offset(offset).subquery()
    rows = session.execute(
        select(LawyerRow, LawyerLoadRow)
        .join(page, page.c.id == LawyerRow.id)
        .outerjoin(LawyerLoadRow, LawyerLoadRow.lawyer_id == LawyerRow.id)
        .order_by(LawyerRow.id)
    ).all()
    return [(r[0], r[1]) for r in rows], int(total)


def delete_lawyer(session: Session, lawyer_id: str, who: Principal, expected: int | None) -> None:
    row, _ = get_lawyer(session, lawyer_id)
    check_version("lawyer", lawyer_id, row.version, expected)
    assigned = (
        session.execute(select(CaseRow.id).where(CaseRow.assigned_lawyer_id == lawyer_id).limit(5))
        .scalars()
        .all()
    )
    if assigned:
        raise conflict(
            "referenced",
            "Lawyer has cases",
            f"lawyer {lawyer_id} holds cases ({', '.join(assigned)}); withdraw them first",
            referenced_by=list(assigned),
        )
    referring = (
        session.execute(
            select(CaseRefRow.case_id)
            .where(CaseRefRow.ref_id == lawyer_id, CaseRefRow.kind != "linked_case")
            .union(select(CaseExclusionRow.case_id).where(CaseExclusionRow.lawyer_id == lawyer_id))
            .limit(5)
        )
        .scalars()
        .all()
    )
    if referring:
        raise conflict(
            "referenced",
            "Lawyer referenced by cases",
            f"cases {', '.join(referring)} name lawyer {lawyer_id} (prior lawyer, exclusion or "
            "complaint); the engine refuses unknown references, so it cannot be deleted",
            referenced_by=list(referring),
        )
    history = session.execute(
        select(exists().where(AssignmentRow.lawyer_id == lawyer_id))
    ).scalar_one()
    session.execute(delete(LawyerLoadRow).where(LawyerLoadRow.lawyer_id == lawyer_id))
    session.delete(row)
    state.bump_roster(session)
    audit.record(
        session,
        who,
        "lawyer.delete",
        "lawyer",
        lawyer_id,
        f"lawyer {lawyer_id} deleted",
        {"had_assignments": bool(history)},
    )
