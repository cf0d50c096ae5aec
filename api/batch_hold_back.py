"""Open cases a batch job holds back: those whose related assigned case its lawyer can no
longer hold.

The batch keeps each assigned case related to an open one (same matter, or linked either way)
with its lawyer, marked pinned (``api.state_export``), so that the group rules hold for the
open ones.  An edit the service allows (the related case is only assigned, not started or
pinned) can leave that lawyer ineligible for it, or over capacity with it; the engine then
refuses the whole caseload, since a case that must stay cannot.  One such case would stop the
night's assignments for everyone, so the batch leaves it and the open cases related to it out,
reports them with the engine's reason, and assigns the rest; a rebalance job, or a person, moves
the related case, and the next batch assigns the cases held back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from assigner.domain import InputError, Problem
from assigner.domain.loading import resolve_catalogue
from assigner.domain.problem import Case

T = TypeVar("T")


@dataclass(frozen=True)
class HeldBack:
    case_id: str  # the open case left out of the batch
    related_case_id: str  # the assigned case its lawyer cannot hold
    lawyer_id: str
    reason: str  # the engine's, of the related case, said to be held as if pinned

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "what_to_do": (
                f"move case {self.related_case_id} to another lawyer (PUT "
                f"/v1/cases/{self.related_case_id}/assignment), withdraw it, or run a rebalance "
                f"job; the next batch then assigns case {self.case_id}"
            ),
        }


def _related(open_case: Case, held: Case) -> bool:
    same_matter = open_case.matter_id is not None and open_case.matter_id == held.matter_id
    return (
        same_matter or held.id in open_case.linked_case_ids or open_case.id in held.linked_case_ids
    )


def _blocked(problem: Problem, error: InputError) -> dict[str, str] | None:
    """The related assigned cases the error is about, with its message; None where any issue
    is about something else (the batch then fails with the error, as before)."""
    held = {c.id for c in problem.cases if c.current_assignment is not None}
    blocked: dict[str, str] = {}
    for issue in error.issues:
        if not issue.case_ids or not set(issue.case_ids) <= held:
            return None
        for case_id in issue.case_ids:
            blocked.setdefault(
                case_id,
                f"the batch keeps case {case_id} with its lawyer as if pinned, since it is "
                f"related to an open case: {issue.message}",
            )
    return blocked


def _without(problem: Problem, blocked: dict[str, str]) -> tuple[Problem, list[HeldBack]]:
    """The problem without the blocked cases and the open cases related to them; each blocked
    case's hours and place go back into its lawyer's load (the export took them off, the case
    being in the problem), since the lawyer still holds it."""
    out: set[str] = set(blocked)
    held_back: list[HeldBack] = []
    by_id = {c.id: c for c in problem.cases}
    for case in problem.cases:
        if case.current_assignment is not None:
            continue
        for case_id, reason in blocked.items():
            related = by_id[case_id]
            if _related(case, related):
                assert related.current_assignment is not None
                held_back.append(
                    HeldBack(case.id, case_id, related.current_assignment.lawyer_id, reason)
                )
                out.add(case.id)
                break
    kept = [
        c.model_copy(update={"linked_case_ids": [x for x in c.linked_case_ids if x not in out]})
        for c in problem.cases
        if c.id not in out
    ]
    catalogue = resolve_catalogue(problem)
    held_hours: dict[str, float] = {}
    held_count: dict[str, int] = {}
    for case_id in blocked:
        case = by_id[case_id]
        assert case.current_assignment is not None
        lawyer_id = case.current_assignment.lawyer_id
        held_hours[lawyer_id] = held_hours.get(lawyer_id, 0.0) + case.hours_in(catalogue)
        held_count[lawyer_id] = held_count.get(lawyer_id, 0) + 1
    lawyers = [
        lw.model_copy(
            update={
                "current_load_hours": lw.current_load_hours + held_hours[lw.id],
                "current_open_cases": lw.current_open_cases + held_count[lw.id],
            }
        )
        if lw.id in held_hours
        else lw
        for lw in problem.lawyers
    ]
    return problem.model_copy(update={"cases": kept, "lawyers": lawyers}), held_back


def solve_holding_back(problem: Problem, solve: Callable[[Problem], T]) -> tuple[T, list[HeldBack]]:
    """``solve(problem)``; where the engine refuses the caseload because related assigned cases
    cannot stay with their lawyers, again without them and their open cases, which are
    returned.  Every round leaves at least one case out, so it ends."""
    held_back: list[HeldBack] = []
    while True:
        try:
            return solve(problem), held_back
        except InputError as exc:
            blocked = _blocked(problem, exc)
            if not blocked:
                raise
            problem, more = _without(problem, blocked)
            held_back += more
