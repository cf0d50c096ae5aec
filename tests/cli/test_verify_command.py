"""Tests that `assigner verify` re-checks a plan with the independent verifier (exit 0 when it
passes, 3 listing each violation with its rule, case and lawyer when it does not, 2 on bad
input) and that `explain` warns above the explanation of a plan that fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assigner.domain import Plan, Problem
from assigner.verify import verify_plan
from assigner.verify.verifier import PRACTICE_AREA
from cli.main import EXIT_FAILS_VERIFICATION, app
from scenarios.generator import generate_county

runner = CliRunner()


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Problem, Path]:
    """A tiny county and its plan, as `solve` writes them."""
    folder = tmp_path_factory.mktemp("verify")
    problem = generate_county("tiny", 5)
    problem_path = folder / "t.problem.json"
    problem_path.write_text(problem.model_dump_json(), encoding="utf-8")
    plan_path = folder / "t.plan.json"
    args = ["solve", str(problem_path), "--time-limit", "1", "-o", str(plan_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return problem, plan_path


def _edited(problem: Problem, plan_path: Path, folder: Path) -> tuple[Path, str, str]:
    """The plan edited by hand to give a case to a lawyer without its practice area (the
    QA's reproduction), beside a copy of its problem: the plan, the case and the lawyer."""
    plan = Plan.model_validate_json(plan_path.read_text(encoding="utf-8"))
    for k, a in enumerate(plan.assignments):
        for lawyer in problem.lawyers:
            changed = a.model_copy(update={"lawyer_id": lawyer.id})
            assignments = [*plan.assignments[:k], changed, *plan.assignments[k + 1 :]]
            edited = plan.model_copy(update={"assignments": assignments})
            if PRACTICE_AREA in verify_plan(problem, edited).rules_broken:
                path = folder / "edited.plan.json"
                path.write_text(edited.model_dump_json(indent=1), encoding="utf-8")
                (folder / "edited.problem.json").write_bytes(
                    plan_path.with_name("t.problem.json").read_bytes()
                )
                return path, a.case_id, lawyer.id
    raise AssertionError("no lawyer without a case's practice area in the county")


def test_verify_passes_the_plan_solve_wrote(solved: tuple[Problem, Path]) -> None:
    """Tests that the plan solve wrote passes, with exit 0, its problem found beside it."""
    _problem, plan_path = solved
    result = runner.invoke(app, ["verify", str(plan_path)])
    assert result.exit_code == 0, result.output
    assert "passes verification" in result.output


def test_verify_lists_each_violation_and_exits_3(
    solved: tuple[Problem, Path], tmp_path: Path
) -> None:
    """Tests that a plan edited to break the practice-area rule fails with exit 3, each
    violation on its own line with its rule, case and lawyer."""
    problem, plan_path = solved
    edited, case_id, lawyer_id = _edited(problem, plan_path, tmp_path)
    result = runner.invoke(
        app, ["verify", str(edited), "--problem", str(plan_path.with_name("t.problem.json"))]
    )
    assert result.exit_code == EXIT_FAILS_VERIFICATION == 3, result.output
    assert "FAILS verification" in result.output
    line = f"  - {PRACTICE_AREA} (case {case_id}, lawyer {lawyer_id}): "
    assert any(ln.startswith(line) for ln in result.output.splitlines()), result.output


def test_verify_refuses_bad_input_with_exit_2(solved: tuple[Problem, Path], tmp_path: Path) -> None:
    """Tests that a plan without its problem beside it, or checked against another problem,
    is bad input (2), not a failed verification (3)."""
    _problem, plan_path = solved
    alone = tmp_path / "alone.plan.json"
    alone.write_bytes(plan_path.read_bytes())
    result = runner.invoke(app, ["verify", str(alone)])
    assert result.exit_code == 2 and "does not exist" in result.output, result.output
    other = tmp_path / "other.problem.json"
    other.write_text(generate_county("tiny", 6).model_dump_json(), encoding="utf-8")
    result = runner.invoke(app, ["verify", str(plan_path), "--problem", str(other)])
    assert result.exit_code == 2 and "was not made from" in result.output, result.output


def test_explain_warns_first_that_the_plan_fails_verification(
    solved: tuple[Problem, Path], tmp_path: Path
) -> None:
    """Tests that explain still explains an edited plan, under a warning at the top listing
    the violation of the explained case; and that a plan that passes has no warning."""
    problem, plan_path = solved
    edited, case_id, lawyer_id = _edited(problem, plan_path, tmp_path)
    result = runner.invoke(app, ["explain", str(edited), case_id])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("WARNING: this plan FAILS verification"), result.stdout
    assert lines[1].startswith(f"  - {PRACTICE_AREA} (case {case_id}, lawyer {lawyer_id})")
    assert f"{case_id} -> {lawyer_id}" in result.stdout
    fine = runner.invoke(app, ["explain", str(plan_path), case_id])
    assert fine.exit_code == 0 and "WARNING" not in fine.output, fine.output
