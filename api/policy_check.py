"""Whether the stored caseload stays a valid problem under a new policy version.

A policy version changes what the engine asks of the cases that must stay with their lawyers
(started or pinned): the rule switches (co-defendants at one firm, travel limits, experience),
whether started or pinned cases may move at all, the capacity rules.  A version under which
such a case can no longer stay with its lawyer, or such cases no longer fit together, would
make every rebalance job refuse the caseload and every batch job hold back the cases related
to them.  The service therefore refuses that version (409 ``caseload``), naming each case and
rule as a job would, before anything is written; the administrator moves the cases or clears
their marks first, or keeps the policy.

The check is the engine's own (``assigner.engine.prepare``), under the policy in force and
under the new one, over the stored caseload as a rebalance job reads it (``export_state``,
``Scope.FULL``: each lawyer's load without the cases in it) cut down to the cases that must
stay under either policy and the cases a group rule can join with them (the cases they link,
the cases linking them and the other cases those link, the cases of their matters).  The
cases left out can move, so they take no part in what is checked: each staying case's
eligibility with its lawyer, their hours and counts together, the group rules between them.
County-L as ``benchmarks.rebalance_db_bench`` fills it (20,000 cases, 1,950 assigned, 907
marked; SQLite; a one-off script, three runs each): 4.3 to 4.7 s cut down, 13.0 to 15.8 s with
the whole caseload prepared twice; the same six issues.

Only an issue the policy in force does not have refuses the version: a caseload that is
already refused (records from before today's checks, for one) does not block every policy
change, and ``assigner db check`` lists it.

The cases are read without locks: a mark committed while the version is checked is checked
against the policy in force when it was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from api.problems import ApiProblem, conflict
from api.state_export import Scope, export_state
from assigner.domain import InputError, Policy, Problem
from assigner.domain.errors import InputIssue
from assigner.engine import prepare
from assigner.search.from_problem import must_stay

# Issues shown in the refusal's detail; every issue is in its ``issues`` list.
SHOWN_ISSUES = 5


def _issues(problem: Problem) -> list[InputIssue]:
    try:
        prepare(problem)
    except InputError as exc:
        return list(exc.issues)
    return []


def _key(issue: InputIssue) -> tuple[str, str, tuple[str, ...]]:
    """An issue's record, field and cases: the same breach under either policy (its wording
    may differ, e.g. the rules named)."""
    return issue.record, issue.field, issue.case_ids


def around_staying(problem: Problem, policies: Sequence[Policy]) -> Problem:
    """``problem`` with only the cases that must stay under any of ``policies`` and the cases
    a group rule can join with them; links to the cases left out are dropped."""
    cases = problem.cases
    staying = {
        c.id
        for c in cases
        if (cur := c.current_assignment) is not None
        and any(must_stay(cur.started, cur.pinned, p) for p in policies)
    }
    linking = {c.id for c in cases if staying.intersection(c.linked_case_ids)}
    matters = {c.matter_id for c in cases if c.id in staying and c.matter_id is not None}
    wanted = staying | linking
    wanted |= {x for c in cases if c.id in wanted for x in c.linked_case_ids}
    wanted |= {c.id for c in cases if c.matter_id in matters}
    kept = [
        c.model_copy(update={"linked_case_ids": [x for x in c.linked_case_ids if x in wanted]})
        for c in cases
        if c.id in wanted
    ]
    return problem.model_copy(update={"cases": kept})


def new_policy_issues(session: Session, policy: Policy, as_of: datetime) -> list[InputIssue]:
    """The issues the stored caseload has under ``policy`` and not under the policy in force."""
    stored = export_state(session, as_of, Scope.FULL).problem
    problem = around_staying(stored, [stored.policy, policy])
    before = {_key(i) for i in _issues(problem)}
    after = _issues(problem.model_copy(update={"policy": policy}))
    return [i for i in after if _key(i) not in before]


def _record(issue: InputIssue) -> str:
    """The issue's record as the service names it: its cases by id (the engine's record gives
    a case's place in the problem it built, which no client sent), else the engine's."""
    if not issue.case_ids:
        return issue.record
    return ("case " if len(issue.case_ids) == 1 else "cases ") + ", ".join(issue.case_ids)


def policy_refusal(issues: list[InputIssue]) -> ApiProblem:
    """409 ``caseload``: the new version would leave the stored caseload refused by every
    job; each issue with its record, field and the cases it is about."""
    shown = "; ".join(f"{_record(i)}: {i.message}" for i in issues[:SHOWN_ISSUES])
    more = f" (and {len(issues) - SHOWN_ISSUES} more)" if len(issues) > SHOWN_ISSUES else ""
    return conflict(
        "caseload",
        "The caseload would not be valid under this policy",
        f"under this policy version the stored caseload would break a rule: {shown}{more}; "
        "every rebalance job would refuse it. Move the cases named or clear their marks (or "
        "correct the records) first, or keep the policy; nothing was written",
        issues=[
            {
                "record": _record(i),
                "field": i.field,
                "message": i.message,
                "case_ids": list(i.case_ids),
            }
            for i in issues
        ],
    )
