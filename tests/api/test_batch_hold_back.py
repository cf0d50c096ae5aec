"""Tests of the batch's hold-back of the open cases related to an assigned case its lawyer can
no longer hold (``api.batch_hold_back``), with the engine's error stood in for by a solve that
raises it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.batch_hold_back import solve_holding_back
from assigner.domain import CurrentAssignment, InputError, Problem
from assigner.domain.errors import InputIssue
from assigner.domain.loading import resolve_catalogue
from scenarios.generator import generate_county


def _caseload() -> Problem:
    """A tiny county's cases without current lawyers, then: H assigned to the first lawyer;
    O1 of H's matter, O2 linking to H, O3 that H links to, O4 unrelated (all open)."""
    base = generate_county("tiny", 1)
    template = base.cases[0].model_copy(
        update={"current_assignment": None, "matter_id": None, "linked_case_ids": []}
    )
    lawyer = base.lawyers[0].id
    held = template.model_copy(
        update={
            "id": "H",
            "matter_id": "M",
            "linked_case_ids": ["O3"],
            "current_assignment": CurrentAssignment(lawyer_id=lawyer, pinned=True),
        }
    )
    cases = [
        held,
        template.model_copy(update={"id": "O1", "matter_id": "M"}),
        template.model_copy(update={"id": "O2", "linked_case_ids": ["H", "O4"]}),
        template.model_copy(update={"id": "O3"}),
        template.model_copy(update={"id": "O4"}),
    ]
    return base.model_copy(update={"cases": cases})


def _refusing(issue: InputIssue, calls: list[Problem]) -> Callable[[Problem], list[str]]:
    """A solve that refuses the first problem with ``issue`` and returns the case ids of the
    next; every problem it gets goes into ``calls``."""

    def solve(problem: Problem) -> list[str]:
        calls.append(problem)
        if len(calls) == 1:
            raise InputError([issue])
        return [c.id for c in problem.cases]

    return solve


def test_the_related_open_cases_are_held_back_and_the_rest_solved() -> None:
    """Tests that an error naming the assigned case holds back the open cases of its matter
    and those linked to it either way, with the case, its lawyer and the engine's reason, and
    solves the rest, links to the cases left out dropped."""
    problem = _caseload()
    lawyer = problem.lawyers[0].id
    calls: list[Problem] = []
    issue = InputIssue("cases[0] (id H)", "current_assignment", "not eligible", ("H",))
    solved, held_back = solve_holding_back(problem, _refusing(issue, calls))
    assert solved == ["O4"]
    assert sorted((h.case_id, h.related_case_id, h.lawyer_id) for h in held_back) == [
        ("O1", "H", lawyer),
        ("O2", "H", lawyer),
        ("O3", "H", lawyer),
    ]
    assert {h.reason for h in held_back} == {
        "the batch keeps case H with its lawyer as if pinned, since it is related to an open "
        "case: not eligible"
    }
    assert calls[1].cases[0].linked_case_ids == []
    # The lawyer still holds H: its hours and place are back in the lawyer's load.
    before, after = problem.lawyers[0], calls[1].lawyers[0]
    assert after.current_load_hours == before.current_load_hours + problem.cases[0].hours_in(
        resolve_catalogue(problem)
    )
    assert after.current_open_cases == before.current_open_cases + 1
    assert calls[1].lawyers[1:] == problem.lawyers[1:]
    shown = held_back[0].to_json()
    assert shown["case_id"] == "O1" and "PUT /v1/cases/H/assignment" in shown["what_to_do"]


@pytest.mark.parametrize(
    "issue",
    [
        InputIssue("cases[1] (id O1)", "matter_id", "a bad matter"),  # names no case
        InputIssue("cases[1] (id O1)", "current_assignment", "open", ("O1",)),  # an open case
        InputIssue("lawyers[0]", "capacity_hours", "over", ("H", "O1")),  # one of them open
    ],
)
def test_other_errors_fail_the_batch_as_before(issue: InputIssue) -> None:
    """Tests that an error about anything but assigned cases held for the batch is raised
    as it came, with nothing held back."""
    calls: list[Problem] = []
    with pytest.raises(InputError) as raised:
        solve_holding_back(_caseload(), _refusing(issue, calls))
    assert raised.value.issues == [issue]
    assert len(calls) == 1


def test_a_problem_the_engine_accepts_holds_nothing_back() -> None:
    """Tests that a solve that succeeds at once returns its result with nothing held back."""
    problem = _caseload()
    solved, held_back = solve_holding_back(problem, lambda p: len(p.cases))
    assert (solved, held_back) == (5, [])
