"""Group rules between the cases that must stay with their lawyers (started or pinned).

Co-defendants of one matter and a case with the cases it links may not share a lawyer (SPC 2021
criminal procedure interpretation Art 43), nor a firm where the policy says so, and one firm may
not act on opposing sides of a matter (Lawyer Practice Conduct Norms Art 51).  A batch or
rebalance job cannot move a case that must stay, so two such cases that break one of these rules
together make every job refuse the caseload ("the cases that must stay where they are break a
rule together": ``check_fixed_together`` in ``assigner.search.from_problem``).  An assignment is
checked against its related cases' lawyers when it is made; this module checks the writes that
change the groups or what must stay afterwards: a case document that links other cases or
changes its matter or side (a PUT or an import row), and a mark that makes a case stay.

The check is the engine's own (``group_constraints(...).violations``) over a small Problem: the
edited cases and every stored case a group rule can join with them (the cases they link, the
cases linking them and the other cases those link, the cases of their matters), each case that
must stay fixed on its lawyer.  Only a violation the stored state did not have refuses the
write; in an import, rows are checked together (each with the others' new documents), and a
new violation rejects the last row it involves, as the same writes one after the other would.
A mark has locked its case and the related cases before this check reads them
(``api.assigning.set_flags``), a lawyer edit the cases the lawyer holds (``api.roster``), and a
case PUT or import locks the cases it joins as it reads them, so a mark and any of these writes
of a related case run one after the other (on PostgreSQL; SQLite runs writers one at a time).
The PUT holds its own case row first, so it and a mark can each wait for the other: PostgreSQL
then ends one as a deadlock, which the service answers as a lock wait that ran out (nothing
written, try again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import bindparam, or_, select

from api.models import REF_LINKED, AssignmentRow, CaseRefRow, CaseRow
from api.problems import ApiProblem, FieldError, conflict
from api.reads import Reads, chunks
from assigner.domain import Case, Firm, FirmKind, Lawyer, Policy, Problem
from assigner.domain.arrays import build_arrays
from assigner.eligibility import group_constraints
from assigner.search.from_problem import must_stay

_LINKING = select(CaseRefRow.case_id).where(
    CaseRefRow.kind == REF_LINKED, CaseRefRow.ref_id.in_(bindparam("ids", expanding=True))
)
_IN_MATTERS = select(CaseRow.id).where(CaseRow.matter_id.in_(bindparam("ids", expanding=True)))
_CASES = select(CaseRow.id, CaseRow.document, CaseRow.assigned_lawyer_id).where(
    CaseRow.id.in_(bindparam("ids", expanding=True))
)
# The same, locking the rows in id order (PostgreSQL), for a case write that joins them.
_CASES_LOCKED = _CASES.order_by(CaseRow.id).with_for_update(of=CaseRow)
_MARKS = (
    select(CaseRow.id, AssignmentRow.started, AssignmentRow.pinned)
    .join(AssignmentRow, AssignmentRow.id == CaseRow.assignment_id)
    .where(
        CaseRow.id.in_(bindparam("ids", expanding=True)),
        or_(AssignmentRow.started, AssignmentRow.pinned),
    )
)


@dataclass(frozen=True)
class Edit:
    """A case as a write leaves it: its new document (``after``), the stored one (``before``,
    None for a new case), its lawyer, whether it must stay before and after, and, for an edit
    of the lawyer (a move to another firm), the lawyer's new record."""

    after: Case
    before: Case | None
    lawyer_id: str | None
    kept_before: bool
    kept_after: bool
    moved_lawyer: Lawyer | None = None  # the case's lawyer as the write leaves it (a new firm)

    @property
    def changes_groups(self) -> bool:
        """Whether the write can newly join two cases that must stay in a group rule."""
        if (self.kept_after and not self.kept_before) or self.moved_lawyer is not None:
            return True
        if self.kept_after:
            return self.before is None or _group_fields(self.after) != _group_fields(self.before)
        # A case that need not stay breaks no rule itself (a job can move it); it can only join
        # two that must stay, by linking both (a case and its linked cases are one group).
        added = set(self.after.linked_case_ids) - set(
            self.before.linked_case_ids if self.before is not None else ()
        )
        return len(self.after.linked_case_ids) >= 2 and bool(added)

    @property
    def kept(self) -> bool:
        """Whether the case must stay before or after the write."""
        return self.kept_before or self.kept_after


def _group_fields(case: Case) -> tuple[object, ...]:
    return (sorted(case.linked_case_ids), case.matter_id, case.side)


@dataclass(frozen=True)
class GroupBreach:
    """A group rule that cases which must stay would break together, as the engine words it."""

    rule: str
    citation: str
    detail: str
    case_ids: tuple[str, ...]


# Cases by id, the lawyer each case that must stay stays with, and the lawyers' records.
State = tuple[dict[str, Case], dict[str, str], dict[str, Lawyer]]


@dataclass
class _Stored:
    """The stored cases around the edits: documents, lawyers and which must stay."""

    cases: dict[str, Case]
    lawyer_of: dict[str, str]
    kept: set[str]


def _read_around(reads: Reads, edits: Sequence[Edit], lock: bool) -> _Stored:
    """Every stored case a group rule can join with the edited cases, in a fixed number of
    statements (chunked by id); with ``lock``, their rows locked (PostgreSQL), so that a mark
    of one of them waits for the write or the write for the mark."""
    session = reads.session
    edited = {e.after.id for e in edits}
    docs = [d for e in edits for d in (e.after, e.before) if d is not None]
    wanted = {x for d in docs for x in d.linked_case_ids}
    # Groups through other cases' links and through matters matter only to a case that must
    # stay (one that need not joins cases through its own links alone).
    kept = [e for e in edits if e.kept]
    linking: set[str] = set()
    for chunk in chunks({e.after.id for e in kept}):
        linking.update(session.scalars(_LINKING, {"ids": chunk}))
    matters = {
        d.matter_id
        for e in kept
        for d in (e.after, e.before)
        if d is not None and d.matter_id is not None
    }
    for chunk in chunks(matters):
        wanted.update(session.scalars(_IN_MATTERS, {"ids": chunk}))
    cases: dict[str, Case] = {}
    lawyer_of: dict[str, str] = {}

    def read(ids: Iterable[str]) -> None:
        for chunk in chunks(set(ids) - set(cases) - edited):
            statement = _CASES_LOCKED if lock else _CASES
            for case_id, doc, lawyer_id in session.execute(statement, {"ids": chunk}):
                try:
                    cases[case_id] = Case.model_validate(doc)
                except ValidationError:
                    continue  # a job refuses such a case with the engine's own message
                if lawyer_id is not None:
                    lawyer_of[case_id] = lawyer_id

    read(wanted | linking)
    # The other cases that the cases linking an edited case link: one clique with it.
    read(x for case_id in linking if case_id in cases for x in cases[case_id].linked_case_ids)
    staying: set[str] = set()
    _, policy = reads.policy()
    for chunk in chunks(lawyer_of):
        for case_id, started, pinned in session.execute(_MARKS, {"ids": chunk}):
            if must_stay(bool(started), bool(pinned), policy):
                staying.add(case_id)
    return _Stored(cases, lawyer_of, staying)


def _breaches(
    cases: Mapping[str, Case],
    holder: Mapping[str, str],
    lawyers: Mapping[str, Lawyer],
    policy: Policy,
) -> dict[tuple[str, tuple[str, ...]], GroupBreach]:
    """The group rules that the cases in ``holder`` (case -> the lawyer it must stay with)
    break together, by (rule, cases)."""
    kept_lawyers = sorted({holder[c] for c in holder if holder[c] in lawyers})
    if not kept_lawyers:
        return {}
    members = [lawyers[x] for x in kept_lawyers]
    firms = {
        lw.firm_id: Firm.model_construct(id=lw.firm_id, name="", kind=FirmKind.LAW_FIRM)
        for lw in members
    }
    present = set(cases)
    problem = Problem.model_construct(
        name="kept-groups",
        as_of=datetime.now(UTC),
        policy=policy,
        catalogue=None,
        firms=list(firms.values()),
        lawyers=members,
        cases=[
            c.model_copy(
                update={
                    "linked_case_ids": [x for x in c.linked_case_ids if x in present],
                    "current_assignment": None,
                }
            )
            for c in cases.values()
        ],
    )
    arrays = build_arrays(problem)
    fixed = [
        arrays.lawyer_pos[holder[c]] if c in holder and holder[c] in lawyers else -1
        for c in arrays.case_ids
    ]
    out: dict[tuple[str, tuple[str, ...]], GroupBreach] = {}
    for v in group_constraints(arrays).violations(fixed):
        ids = tuple(sorted(arrays.case_ids[c] for c in v.case_indices))
        out[(str(v.rule), ids)] = GroupBreach(str(v.rule), v.citation, v.detail, ids)
    return out


def _lawyers(reads: Reads, ids: Iterable[str]) -> dict[str, Lawyer]:
    """The lawyers' stored documents; one that no longer passes the record checks is left out
    (a job refuses its cases with the engine's own message)."""
    out: dict[str, Lawyer] = {}
    for x, doc in reads.lawyer_documents_unlocked(ids).items():
        try:
            out[x] = Lawyer.model_validate(doc)
        except ValidationError:
            continue
    return out


def new_group_breaches(
    reads: Reads, edits: Sequence[Edit], *, lock: bool = False
) -> dict[str, list[GroupBreach]]:
    """Per edited case (by id), the group rules that cases which must stay would newly break
    together with the edits applied; an edit that cannot change its groups is not read for.
    Edits rejected for a breach are taken back and the rest checked again, until none is.
    ``lock``: lock the stored cases read (a case write; a mark has locked them already)."""
    active = [e for e in edits if e.changes_groups]
    if not active:
        return {}
    stored = _read_around(reads, active, lock)
    _, policy = reads.policy()
    lawyers = _lawyers(
        reads, [*stored.lawyer_of.values(), *(e.lawyer_id for e in active if e.lawyer_id)]
    )
    kept_stored = {c: stored.lawyer_of[c] for c in stored.kept}

    def state(applied: Sequence[Edit]) -> State:
        cases = dict(stored.cases)
        holder = dict(kept_stored)
        lawyers_now = dict(lawyers)
        applied_ids = {e.after.id for e in applied}
        for e in active:
            now = e.after.id in applied_ids
            doc = e.after if now else e.before
            if doc is not None:
                cases[e.after.id] = doc
            if e.lawyer_id is not None and (e.kept_after if now else e.kept_before):
                holder[e.after.id] = e.lawyer_id
            if now and e.lawyer_id is not None and e.moved_lawyer is not None:
                lawyers_now[e.lawyer_id] = e.moved_lawyer
        return cases, holder, lawyers_now

    before = _breaches(*state([]), policy)

    def is_new(key: tuple[str, tuple[str, ...]]) -> bool:
        """A breach is new unless the stored state broke the same rule among these cases
        already (or among more of them: an edit that takes a case out of a stored breach
        leaves the rest of it, which is not the edit's doing)."""
        rule, ids = key
        return not any(r == rule and set(ids) <= set(old) for r, old in before)

    found: dict[str, list[GroupBreach]] = {}
    applied = list(active)
    while applied:
        after = _breaches(*state(applied), policy)
        # Each new breach is the doing of the last edit it involves (in the order given, an
        # import's row order), as the same writes one after the other would find it.
        order = {e.after.id: k for k, e in enumerate(applied)}
        blamed: dict[str, list[GroupBreach]] = {}
        for key, b in ((k, b) for k, b in after.items() if is_new(k)):
            involved = [x for x in b.case_ids if x in order]
            culprit = (
                max(involved, key=order.__getitem__)
                if involved
                else _joining_edit(applied, key, state, policy)
            )
            blamed.setdefault(culprit, []).append(b)
        if not blamed:
            break
        found.update(blamed)
        applied = [e for e in applied if e.after.id not in blamed]
    return found


def _joining_edit(
    applied: Sequence[Edit],
    key: tuple[str, tuple[str, ...]],
    state: Callable[[Sequence[Edit]], State],
    policy: Policy,
) -> str:
    """The case of the last edit without which the breach ``key``, among cases none of the
    edits is, would not be (a new case linking two cases that must stay with one lawyer
    joins them in one group): only edits that link one of the breach's cases can, so only
    those are tried; the last edit where no one of them alone makes it."""
    involved = set(key[1])
    for k in range(len(applied) - 1, -1, -1):
        if involved.isdisjoint(applied[k].after.linked_case_ids):
            continue
        without = [*applied[:k], *applied[k + 1 :]]
        if key not in _breaches(*state(without), policy):
            return applied[k].after.id
    return applied[-1].after.id


def group_refusal(subject: str, breaches: Sequence[GroupBreach], **ids: str) -> ApiProblem:
    """409 ``kept_groups``: the write of ``subject`` ("case C1", "lawyer L3") would leave cases
    that must stay with their lawyers breaking a group rule together; each rule with its
    cases.  ``ids`` name the written record (``case_id`` or ``lawyer_id``)."""
    shown = "; ".join(f"{b.detail} ({b.rule}, {b.citation})" for b in breaches)
    return conflict(
        "kept_groups",
        "Cases that must stay would break a group rule",
        f"this write of {subject} would leave cases that must stay with their lawyers "
        f"(started or pinned) breaking a rule together: {shown}; every batch and rebalance "
        "job would refuse the caseload. Withdraw or move one of the cases, or clear its "
        "started and pinned marks, first; nothing was written",
        **ids,
        breaches=[
            {"rule": b.rule, "citation": b.citation, "detail": b.detail, "case_ids": b.case_ids}
            for b in breaches
        ],
    )


def breach_issues(breaches: Sequence[GroupBreach]) -> list[FieldError]:
    """The breaches as errors of a write or an import row, one per rule."""
    return [
        FieldError(
            field="",
            message=f"the cases that must stay with their lawyers (started or pinned) would "
            f"break a rule together: {b.detail} ({b.rule}, {b.citation}); every batch and "
            "rebalance job would refuse the caseload. Withdraw or move one of the cases, or "
            "clear its started and pinned marks, first",
            location="body",
            record="cases " + ", ".join(b.case_ids),
        )
        for b in breaches
    ]
