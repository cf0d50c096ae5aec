"""The state a rebalance plan was made from, its fingerprint, and the check before applying.

A plan is reviewed by a person and applied later; by then cases may have been reassigned,
capacities changed or a lawyer gone on leave.  ``apply_check`` compares the state now with
the one the plan recorded and refuses (``StateChanged``, HTTP 409 in the API) listing every
difference.  Additions that cannot invalidate the plan are not changes: a new case without a
lawyer (the plan neither places it nor counts its hours) and a new lawyer without client
records (one with clients conflicts the cases planned for the firm: Conduct Norms Art 51).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date

from assigner.domain.arrays import build_arrays
from assigner.domain.problem import CurrentAssignment, Problem
from assigner.eligibility import eligibility_tables, why_not
from assigner.rebalance.documents import CaseState, LawyerState, PlannedState, RebalancePlan

DIGEST_CHARS = 16


class StateChanged(Exception):
    """The state differs from the one the plan was made from; ``changes`` says how."""

    def __init__(self, changes: list[str]) -> None:
        shown = "; ".join(changes[:10]) + (
            f"; and {len(changes) - 10} more" if len(changes) > 10 else ""
        )
        super().__init__(f"the state changed since the plan was made: {shown}")
        self.changes = changes


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def planned_state(problem: Problem, versions: Mapping[str, int] | None = None) -> PlannedState:
    """The parts of ``problem`` a plan depends on; ``versions`` are record versions per case id
    when the state comes from a database."""
    versions = versions or {}
    cases = {}
    for case in sorted(problem.cases, key=lambda c: c.id):
        cur = case.current_assignment
        cases[case.id] = CaseState(
            lawyer_id=cur.lawyer_id if cur is not None else None,
            started=cur.started if cur is not None else False,
            pinned=cur.pinned if cur is not None else False,
            version=versions.get(case.id),
            digest=_digest(case.model_dump_json(exclude={"current_assignment"})),
        )
    lawyers = {
        lw.id: LawyerState(
            capacity_hours=lw.capacity_hours,
            max_open_cases=lw.max_open_cases,
            current_load_hours=lw.current_load_hours,
            current_open_cases=lw.current_open_cases,
            accepting_new_cases=lw.accepting_new_cases,
            leave=[(lv.start, lv.end) for lv in lw.leave],
            firm_id=lw.firm_id,
            client_records=len(lw.clients),
            digest=_digest(lw.model_dump_json()),
        )
        for lw in sorted(problem.lawyers, key=lambda x: x.id)
    }
    firms = sorted(problem.firms, key=lambda f: f.id)
    return PlannedState(
        policy_version=problem.policy.version,
        policy_digest=_digest(problem.policy.model_dump_json()),
        catalogue_digest=_digest(
            problem.catalogue.model_dump_json() if problem.catalogue is not None else "default"
        ),
        firms_digest=_digest(json.dumps([f.model_dump(mode="json") for f in firms])),
        cases=cases,
        lawyers=lawyers,
    )


def fingerprint(state: PlannedState) -> str:
    """sha256 of the state in canonical JSON (keys sorted): equal states, equal fingerprints."""
    text = json.dumps(state.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shown(value: object) -> str:
    """A state value as a record writes it, for the changes a person reads (the 409, the
    CLI): ``none`` for no value and no leave, JSON's ``true`` / ``false``, whole numbers
    without a decimal point, ISO dates, a leave period as ``START..END``, periods joined by
    ``and``.  Raises on a type the state does not hold, rather than show its repr."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return "..".join(shown(part) for part in value)
    if isinstance(value, list):
        return " and ".join(shown(item) for item in value) if value else "none"
    raise TypeError(f"no way to show a state value of type {type(value).__name__}")


def state_changes(before: PlannedState, now: PlannedState) -> list[str]:
    """Every difference that may invalidate a plan made in ``before``."""
    out: list[str] = []
    if before.policy_version != now.policy_version:
        out.append(f"policy version {shown(before.policy_version)} -> {shown(now.policy_version)}")
    elif before.policy_digest != now.policy_digest:
        out.append("policy changed")
    if before.catalogue_digest != now.catalogue_digest:
        out.append("catalogue changed")
    if before.firms_digest != now.firms_digest:
        out.append("firms changed")
    for case_id, was in before.cases.items():
        cur = now.cases.get(case_id)
        if cur is None:
            out.append(f"case {case_id} no longer open")
            continue
        if cur.lawyer_id != was.lawyer_id:
            out.append(f"case {case_id}: lawyer {shown(was.lawyer_id)} -> {shown(cur.lawyer_id)}")
        for flag in ("started", "pinned"):
            if getattr(cur, flag) != getattr(was, flag):
                out.append(
                    f"case {case_id}: {flag} {shown(getattr(was, flag))} -> "
                    f"{shown(getattr(cur, flag))}"
                )
        if cur.version != was.version:
            out.append(f"case {case_id}: version {shown(was.version)} -> {shown(cur.version)}")
        elif cur.digest != was.digest:
            out.append(f"case {case_id}: record changed")
    for case_id, cur in now.cases.items():
        if case_id not in before.cases and cur.lawyer_id is not None:
            out.append(f"case {case_id} added with lawyer {cur.lawyer_id}")
    fields = (
        "capacity_hours",
        "max_open_cases",
        "current_load_hours",
        "current_open_cases",
        "accepting_new_cases",
        "leave",
    )
    for lawyer_id, new_lw in now.lawyers.items():
        if lawyer_id not in before.lawyers and new_lw.client_records:
            # A colleague's clients conflict the whole firm (Conduct Norms Art 51).
            out.append(
                f"lawyer {lawyer_id} added to firm {shown(new_lw.firm_id)} with "
                f"{new_lw.client_records} client record(s), which conflict the firm's cases"
            )
    for lawyer_id, was_lw in before.lawyers.items():
        now_lw = now.lawyers.get(lawyer_id)
        if now_lw is None:
            out.append(f"lawyer {lawyer_id} removed")
            continue
        diffs = [
            f"{name} {shown(getattr(was_lw, name))} -> {shown(getattr(now_lw, name))}"
            for name in fields
            if getattr(was_lw, name) != getattr(now_lw, name)
        ]
        if diffs:
            out.append(f"lawyer {lawyer_id}: " + ", ".join(diffs))
        elif was_lw.digest != now_lw.digest:
            out.append(f"lawyer {lawyer_id}: record changed")
    return out


def no_longer_eligible(plan: RebalancePlan, problem_now: Problem) -> list[str]:
    """The plan's moves and new assignments whose lawyer the engine's per-pair rules refuse
    in ``problem_now``.  The records can be unchanged and the day not: a plan reviewed
    overnight is applied on a later ``as_of``, when a lawyer's leave may have begun.  Asked
    of the changed cases alone (each pair's rules read its own case, the lawyer and the
    firms; the group rules between cases are the state's, unchanged)."""
    target = {a.case_id: a.lawyer_id for a in plan.plan.assignments}
    pairs = {
        case_id: target[case_id]
        for case_id, before in plan.state.cases.items()
        if case_id in target and target[case_id] != before.lawyer_id
    }
    alone = [
        c.model_copy(update={"current_assignment": None, "linked_case_ids": []})
        for c in problem_now.cases
        if c.id in pairs
    ]
    if not alone:
        return []
    arrays = build_arrays(problem_now.model_copy(update={"cases": alone}))
    tables = eligibility_tables(arrays)
    out = []
    for case in alone:
        rules = [e.rule.value for e in why_not(arrays, case.id, pairs[case.id], tables=tables)]
        if rules:
            out.append(
                f"case {case.id}: lawyer {pairs[case.id]} is no longer eligible for it "
                f"({', '.join(rules)}) on {problem_now.day_of(problem_now.as_of).isoformat()}"
            )
    return out


def apply_check(
    plan: RebalancePlan, problem_now: Problem, versions_now: Mapping[str, int] | None = None
) -> None:
    """Raise :class:`StateChanged` when ``problem_now`` differs from the planned state, or
    when a planned move's lawyer is no longer eligible for its case (``no_longer_eligible``)."""
    changes = state_changes(plan.state, planned_state(problem_now, versions_now))
    if not changes:
        changes = no_longer_eligible(plan, problem_now)
    if changes:
        raise StateChanged(changes)


def apply_to_problem(
    plan: RebalancePlan, problem_now: Problem, versions_now: Mapping[str, int] | None = None
) -> Problem:
    """``problem_now`` with the plan's assignments as its current assignments (after
    :func:`apply_check`).  A case that keeps its lawyer keeps its flags; a moved or newly
    assigned case starts afresh (not started, not pinned); a case the plan leaves open has none.
    """
    apply_check(plan, problem_now, versions_now)
    lawyer_of = {a.case_id: a.lawyer_id for a in plan.plan.assignments}
    cases = []
    for case in problem_now.cases:
        if case.id not in plan.state.cases:
            cases.append(case)
            continue
        new = lawyer_of.get(case.id)
        cur = case.current_assignment
        if cur is not None and cur.lawyer_id == new:
            cases.append(case)
            continue
        assignment = CurrentAssignment(lawyer_id=new) if new is not None else None
        cases.append(case.model_copy(update={"current_assignment": assignment}))
    return problem_now.model_copy(update={"cases": cases})
