"""Whether a lawyer can go on holding a case, asked of the engine's own rules.

A started or pinned case stays with its lawyer (unless the policy allows moving it), and a batch
or rebalance job refuses the whole caseload when such a case's lawyer is not eligible for it
("pinned with lawyer X, who is not eligible": ``fixed_lawyers`` in
``assigner.search.from_problem``).  The service therefore refuses, before anything is written,
an edit of a lawyer or of such a case that would break a rule for the pair, and a mark that
would keep a case with a lawyer who cannot hold it; the user withdraws, unmarks or moves the
case first.  An edit of a case's hours is refused when the new hours do not fit its lawyer's
capacity.

The rules are the engine's per-edge filters, asked through ``why_not`` (the function the job's
message comes from) over a small Problem: the lawyer, the cases, the lawyer's firm and the
colleagues whose clients and relatives the conflict rules read.  A case that must stay is
checked with the lawyer's load being the work outside the service plus the lawyer's other cases
that must stay, so that the capacity rule covers their sum, as the rebalance requires
(``keep_start`` in ``assigner.rebalance.budget``).  Group rules (co-defendants, linked cases)
are not per-edge rules and are not asked here (``api.kept_groups`` checks them between the
cases that must stay).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from api.problems import ApiProblem, FieldError, conflict
from api.reads import Reads
from api.schemas import ReasonOut
from assigner.domain import Case, CurrentAssignment, Firm, FirmKind, Lawyer, Policy, Problem
from assigner.domain.arrays import ProblemArrays, build_arrays
from assigner.domain.errors import InputError
from assigner.eligibility import (
    RULE_CITATIONS,
    EligibilityTables,
    Exclusion,
    Rule,
    eligibility_tables,
    group_constraints,
    why_not,
)
from assigner.recommend import Reason
from assigner.search.from_problem import (
    check_fixed_together,
    hours_to_units_down,
    hours_to_units_up,
)

# "Move the case first": the calls that do it, named in every refusal.
MOVE_FIRST = (
    "withdraw the case (DELETE /v1/cases/{id}/assignment), clear its started and pinned marks "
    "(PATCH /v1/cases/{id}/assignment) or move it to another lawyer "
    "(PUT /v1/cases/{id}/assignment) first"
)


@dataclass(frozen=True)
class KeptCase:
    """A case that must stay with its lawyer, as the engine sees it."""

    case: Case
    started: bool
    pinned: bool

    @property
    def marks(self) -> str:
        marks = (("started", self.started), ("pinned", self.pinned))
        return " and ".join(name for name, on in marks if on)


@dataclass(frozen=True)
class Breach:
    """A case that must stay with the lawyer, and the rules that would exclude the pair."""

    kept: KeptCase
    exclusions: list[Exclusion]

    @property
    def case_id(self) -> str:
        return self.kept.case.id


def _alone(case: Case, lawyer_id: str) -> Case:
    """The case held by ``lawyer_id`` with only what the per-edge rules read about that lawyer:
    the other lawyers it names cannot change an answer about this one, and its linked cases
    matter to the group rules only."""
    return case.model_copy(
        update={
            "linked_case_ids": [],
            "prior_lawyer_id": None,
            "excluded_lawyer_ids": [x for x in case.excluded_lawyer_ids if x == lawyer_id],
            "complaint_lawyer_ids": [x for x in case.complaint_lawyer_ids if x == lawyer_id],
            "conflict_waivers": [w for w in case.conflict_waivers if w.lawyer_id == lawyer_id],
            "current_assignment": CurrentAssignment(lawyer_id=lawyer_id),
        }
    )


def _firm_and_colleagues(reads: Reads, lawyer: Lawyer) -> tuple[Firm, list[Lawyer]]:
    """The lawyer's firm and the colleagues with clients or declared relatives, as stored: the
    conflict rules impute a colleague's clients to the whole firm, and a colleague's relative as
    the opposing party conflicts the lawyer (Conduct Norms Art 52)."""
    row = reads.firm_row(lawyer.firm_id)
    firm = (
        Firm.model_validate(row.document)
        if row is not None
        else Firm.model_construct(id=lawyer.firm_id, name="", kind=FirmKind.LAW_FIRM)
    )
    colleagues = [
        Lawyer.model_validate(doc)
        for member_id, doc in reads.firm_members(lawyer.firm_id)
        if member_id != lawyer.id and (doc.get("clients") or doc.get("relatives"))
    ]
    return firm, colleagues


def imputes_conflicts(lawyer: Lawyer) -> bool:
    """Whether the lawyer's record conflicts colleagues: clients are imputed to the whole firm
    (Conduct Norms Art 51), a declared relative as the opposing party conflicts the colleagues
    (Art 52)."""
    return bool(lawyer.clients or lawyer.relatives)


def member_edit_breaches(
    reads: Reads,
    holder: Lawyer,
    kept: Sequence[KeptCase],
    policy: Policy,
    as_of: datetime,
    edited: Lawyer | Firm,
) -> list[Breach]:
    """The rules an edit newly breaks for the cases that must stay with ``holder``: ``edited``
    is a lawyer of ``holder``'s firm after the edit (its clients and relatives count against
    ``holder`` as a colleague's) or the firm's new document (other clients).  A rule the firm
    as stored broke already does not count."""
    if not kept:
        return []
    firm, before = _firm_and_colleagues(reads, holder)
    if isinstance(edited, Firm):
        new_firm, after = edited, before
    else:
        new_firm = firm
        after = [c for c in before if c.id != edited.id]
        if imputes_conflicts(edited):
            after.append(edited)
    cases = [k.case for k in kept]
    now = HoldingCheck(holder, cases, policy, as_of, new_firm, after).breaches(kept)
    if not now:
        return []
    had = HoldingCheck(holder, cases, policy, as_of, firm, before).breaches(kept)
    return _new_breaches(kept, now, had)


def _new_breaches(
    kept: Sequence[KeptCase],
    after: dict[str, list[Exclusion]],
    before: dict[str, list[Exclusion]],
) -> list[Breach]:
    """Per case that must stay, the rules of ``after`` that ``before`` did not break."""
    out = []
    for k in kept:
        had = {e.rule for e in before.get(k.case.id, [])}
        new = [e for e in after.get(k.case.id, []) if e.rule not in had]
        if new:
            out.append(Breach(k, new))
    return out


class HoldingCheck:
    """One lawyer holding some cases, as a small engine Problem (the lawyer first)."""

    def __init__(
        self,
        lawyer: Lawyer,
        cases: Sequence[Case],
        policy: Policy,
        as_of: datetime,
        firm: Firm,
        colleagues: Sequence[Lawyer] = (),
    ) -> None:
        self.lawyer = lawyer
        problem = Problem.model_construct(
            name="holding-check",
            as_of=as_of,
            policy=policy,
            catalogue=None,
            firms=[firm],
            lawyers=[lawyer, *colleagues],
            cases=[_alone(c, lawyer.id) for c in cases],
        )
        self._arrays: ProblemArrays = build_arrays(problem)
        self._tables: EligibilityTables = eligibility_tables(self._arrays)

    @classmethod
    def in_firm(
        cls,
        reads: Reads,
        lawyer: Lawyer,
        cases: Sequence[Case],
        policy: Policy,
        as_of: datetime,
    ) -> HoldingCheck:
        """With the lawyer's firm and colleagues as stored: every per-edge rule answers."""
        firm, colleagues = _firm_and_colleagues(reads, lawyer)
        return cls(lawyer, cases, policy, as_of, firm, colleagues)

    def hours(self, case_id: str) -> float:
        """The case's workload as the engine counts it (its own figure, else its type's)."""
        return float(self._arrays.workload_hours[self._arrays.case_pos[case_id]])

    def exclusions(self, case_id: str, load_hours: float, open_cases: int) -> list[Exclusion]:
        """Every rule excluding the lawyer from the case when the lawyer carries
        ``load_hours`` and ``open_cases`` besides it."""
        a = self._arrays
        loads, counts = a.current_load_hours.copy(), a.current_open_cases.copy()
        loads[0], counts[0] = load_hours, open_cases
        arrays = dataclasses.replace(a, current_load_hours=loads, current_open_cases=counts)
        tables = dataclasses.replace(self._tables, arrays=arrays)
        return why_not(arrays, case_id, self.lawyer.id, tables=tables)

    def breaches(
        self, kept: Sequence[KeptCase], only: str | None = None
    ) -> dict[str, list[Exclusion]]:
        """Per case that must stay (or the case ``only``), the rules excluding the lawyer, each
        case checked with the others that must stay counted in the lawyer's load."""
        hours = {k.case.id: self.hours(k.case.id) for k in kept}
        together = self._together(kept)
        out: dict[str, list[Exclusion]] = {}
        for k in kept:
            if only is not None and k.case.id != only:
                continue
            others = [h for case_id, h in hours.items() if case_id != k.case.id]
            found = self.exclusions(
                k.case.id,
                self.lawyer.current_load_hours + sum(others),
                self.lawyer.current_open_cases + len(others),
            )
            if together is not None and not any(e.rule is Rule.CAPACITY for e in found):
                found.append(together)
            if found:
                out[k.case.id] = found
        return out

    def _together(self, kept: Sequence[KeptCase]) -> Exclusion | None:
        """The engine's own check of the cases that must stay, taken together, in its units of
        hours (``ProblemArrays.units_per_hour``; hours off every grid rounded against the
        lawyer: ``check_fixed_together``), as every job will check them."""
        a = self._arrays
        fixed = np.full(a.n_cases, -1, dtype=np.int32)
        for k in kept:
            fixed[a.case_pos[k.case.id]] = 0  # the lawyer is the problem's first
        per_hour = a.units_per_hour
        free = np.maximum(
            0,
            hours_to_units_down(a.capacity_hours, per_hour)
            - hours_to_units_up(a.current_load_hours, per_hour),
        )
        room = np.maximum(0, a.max_open_cases - a.current_open_cases).astype(np.int64)
        try:
            check_fixed_together(
                a,
                group_constraints(a),
                fixed,
                hours_to_units_up(a.workload_hours, per_hour),
                free,
                room,
            )
        except InputError as exc:
            # Hours and open cases only: group rules are not this module's (see above).
            shown = "; ".join(i.message for i in exc.issues if i.field != "current_assignment")
            if shown:
                return Exclusion(Rule.CAPACITY, RULE_CITATIONS[Rule.CAPACITY], shown)
        return None


def edit_breaches(
    reads: Reads,
    stored: Lawyer | None,
    edited: Lawyer,
    kept: Sequence[KeptCase],
    policy: Policy,
    as_of: datetime,
) -> list[Breach]:
    """The rules the edit newly breaks for the cases that must stay with the lawyer.  A rule
    the stored lawyer broke already (a leave that began, say) is not the edit's doing and does
    not refuse it; ``stored`` is None when the stored document no longer passes the record
    checks (every rule then counts)."""
    if not kept:
        return []
    cases = [k.case for k in kept]
    after = HoldingCheck.in_firm(reads, edited, cases, policy, as_of).breaches(kept)
    if not after:
        return []
    before = (
        HoldingCheck.in_firm(reads, stored, cases, policy, as_of).breaches(kept)
        if stored is not None
        else {}
    )
    return _new_breaches(kept, after, before)


def _kept_breach(
    lawyer: Lawyer,
    marked: KeptCase,
    others: Sequence[KeptCase],
    policy: Policy,
    as_of: datetime,
    firm: Firm,
    colleagues: Sequence[Lawyer],
) -> list[Exclusion]:
    """The rules excluding the lawyer from ``marked`` beside the other cases that must stay."""
    cases = [marked.case, *(k.case for k in others)]
    check = HoldingCheck(lawyer, cases, policy, as_of, firm, colleagues)
    return check.breaches([marked, *others], only=marked.case.id).get(marked.case.id, [])


def mark_breach(
    reads: Reads,
    lawyer: Lawyer,
    marked: KeptCase,
    others: Sequence[KeptCase],
    policy: Policy,
    as_of: datetime,
) -> list[Exclusion]:
    """The rules that exclude the lawyer from a case about to be marked so that it must stay,
    beside the lawyer's other cases that must stay."""
    firm, colleagues = _firm_and_colleagues(reads, lawyer)
    return _kept_breach(lawyer, marked, others, policy, as_of, firm, colleagues)


def case_edit_breaches(
    reads: Reads,
    lawyer: Lawyer,
    stored: KeptCase,
    edited: KeptCase,
    others: Sequence[KeptCase],
    policy: Policy,
    as_of: datetime,
) -> list[Breach]:
    """The rules a new document of a case that must stay with its lawyer newly breaks (a new
    type, party or exclusion, say), beside the lawyer's other cases that must stay; a rule the
    stored document broke already does not count.  The firm and colleagues are read once for
    both documents; the stored document's check is built only when the new one breaks a
    rule."""
    firm, colleagues = _firm_and_colleagues(reads, lawyer)
    after = _kept_breach(lawyer, edited, others, policy, as_of, firm, colleagues)
    if not after:
        return []
    had = {e.rule for e in _kept_breach(lawyer, stored, others, policy, as_of, firm, colleagues)}
    new = [e for e in after if e.rule not in had]
    return [Breach(edited, new)] if new else []


def hours_fit(
    lawyer: Lawyer, case: Case, load_hours: float, as_of: datetime
) -> tuple[float, Exclusion | None]:
    """The hours the engine counts for the case, and the capacity rule when they do not fit
    the lawyer beside ``load_hours``.  Only the hours are asked: the number of open cases does
    not change when a case's hours do, so the lawyer's count is set one below its maximum."""
    firm = Firm.model_construct(id=lawyer.firm_id, name="", kind=FirmKind.LAW_FIRM)
    check = HoldingCheck(lawyer, [case], Policy(), as_of, firm)
    found = check.exclusions(case.id, load_hours, lawyer.max_open_cases - 1)
    return check.hours(case.id), next((e for e in found if e.rule is Rule.CAPACITY), None)


def reason_dicts(exclusions: Sequence[Exclusion]) -> list[dict[str, Any]]:
    """The rules as an assignment refusal lists them."""
    return [
        ReasonOut.of(Reason(str(e.rule), e.citation, e.detail)).model_dump() for e in exclusions
    ]


def _shown(breach: Breach) -> str:
    rules = "; ".join(f"{e.rule}: {e.detail}" for e in breach.exclusions)
    return f"case {breach.case_id} ({breach.kept.marks}): {rules}"


def _load_note(breaches: Sequence[Breach]) -> str:
    if any(e.rule is Rule.CAPACITY for b in breaches for e in b.exclusions):
        return (
            " (the load counts the work outside the service and the lawyer's other started or "
            "pinned cases)"
        )
    return ""


def edit_refusal(lawyer_id: str, breaches: Sequence[Breach]) -> ApiProblem:
    """409 ``kept_cases``: the edit would make the lawyer ineligible for cases that must stay
    with the lawyer; each case with the rules it would break."""
    shown = "; ".join(_shown(b) for b in breaches)
    return conflict(
        "kept_cases",
        "Lawyer keeps started or pinned cases",
        f"lawyer {lawyer_id} keeps cases that are started or pinned, and this edit would make "
        f"the lawyer ineligible for them: {shown}{_load_note(breaches)}. For each case, "
        f"{MOVE_FIRST}; nothing was written",
        lawyer_id=lawyer_id,
        cases=[
            {
                "case_id": b.case_id,
                "started": b.kept.started,
                "pinned": b.kept.pinned,
                "reasons": reason_dicts(b.exclusions),
            }
            for b in breaches
        ],
    )


def colleague_refusal(
    subject: str, breaches: Sequence[tuple[str, Breach]], **ids: str
) -> ApiProblem:
    """409 ``kept_cases``: the edit of ``subject`` ("lawyer L3", "firm F3") would make lawyers
    of the firm (by the clients or relatives it gives the firm) ineligible for cases that must
    stay with them; each case with its lawyer and the rules it would break.  ``ids`` name the
    edited record (``lawyer_id`` or ``firm_id``)."""
    shown = "; ".join(f"lawyer {holder}'s {_shown(b)}" for holder, b in breaches)
    return conflict(
        "kept_cases",
        "Lawyers of the firm keep started or pinned cases",
        f"this edit of {subject} would make lawyers of the firm ineligible for cases that are "
        f"started or pinned with them (a client of the firm or a colleague's relative is "
        f"adverse): {shown}. For each case, {MOVE_FIRST}; nothing was written",
        **ids,
        cases=[
            {
                "case_id": b.case_id,
                "lawyer_id": holder,
                "started": b.kept.started,
                "pinned": b.kept.pinned,
                "reasons": reason_dicts(b.exclusions),
            }
            for holder, b in breaches
        ],
    )


def colleague_edit_issues(breaches: Sequence[tuple[str, Breach]]) -> list[FieldError]:
    """``colleague_refusal`` as errors of an import row, one per case."""
    return [
        FieldError(
            field="",
            message=f"this row would make lawyer {holder} of the firm ineligible for "
            f"{_shown(b)}; {MOVE_FIRST}",
            location="body",
            record=f"case {b.case_id}",
        )
        for holder, b in breaches
    ]


def edit_issues(breaches: Sequence[Breach]) -> list[FieldError]:
    """The same refusal as errors of an import row, one per case."""
    return [
        FieldError(
            field="",
            message=f"this row would make the lawyer ineligible for {_shown(b)}"
            f"{_load_note([b])}; {MOVE_FIRST}",
            location="body",
            record=f"case {b.case_id}",
        )
        for b in breaches
    ]
