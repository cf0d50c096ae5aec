"""Tests that the `assigner` command solves, explains, refuses bad input and exports schemas."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assigner.domain import Plan, Problem
from assigner.search.solve import relative_gap
from cli.main import app
from scenarios.generator import generate_county

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def test_solve_and_explain(tmp_path: Path) -> None:
    """Tests that solve writes a verified plan and explain answers why and why not."""
    problem = generate_county("tiny", 5)
    problem_path = tmp_path / "t.problem.json"
    problem_path.write_text(problem.model_dump_json(), encoding="utf-8")
    plan_path = tmp_path / "t.plan.json"
    result = runner.invoke(
        app, ["solve", str(problem_path), "--time-limit", "1", "-o", str(plan_path)]
    )
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate_json(plan_path.read_text(encoding="utf-8"))
    assert plan.verification is not None and plan.verification.passed
    assert "objective" in result.output

    case_id = plan.assignments[0].case_id
    chosen = plan.assignments[0].lawyer_id
    other = next(lw.id for lw in problem.lawyers if lw.id != chosen)
    result = runner.invoke(app, ["explain", str(plan_path), case_id, "--lawyer", other])
    assert result.exit_code == 0, result.output
    assert chosen in result.output
    assert f"Why not {other}" in result.output


def test_bad_input_exit_code(tmp_path: Path) -> None:
    """Tests that a bad problem exits with 2 and names the record and field."""
    data = json.loads(generate_county("tiny", 1).model_dump_json())
    data["lawyers"][0]["capacity_hours"] = -1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["solve", str(path), "--time-limit", "1"])
    assert result.exit_code == 2
    assert "input error: " in result.output and "capacity_hours" in result.output


def test_committed_schemas_match_models() -> None:
    """Tests that docs/schema holds the current JSON Schemas of Problem and Plan."""
    for name, model in (("problem", Problem), ("plan", Plan)):
        committed = json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text())
        assert committed == model.model_json_schema(), f"regenerate docs/schema/{name}"


def _write_problem(tmp_path: Path, problem: Problem, name: str = "t.problem.json") -> Path:
    path = tmp_path / name
    path.write_text(problem.model_dump_json(), encoding="utf-8")
    return path


def _no_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the command solved before refusing its input")

    monkeypatch.setattr("cli.main.solve_problem", refuse)


@pytest.mark.parametrize(
    ("command", "seed"),
    [("solve", "-1"), ("solve", str(2**31)), ("solve", str(2**40)), ("demo", "-1")],
)
def test_seed_outside_the_solvers_range_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, seed: str
) -> None:
    """Tests that --seed below 0 or above 2**31 - 1 is refused at the option (exit 2, naming
    it) instead of failing in the middle of a search."""
    _no_solve(monkeypatch)
    path = _write_problem(tmp_path, generate_county("tiny", 5))
    args = [str(path)] if command == "solve" else ["--tier", "tiny", "--out-dir", str(tmp_path)]
    result = runner.invoke(app, [command, *args, "--time-limit", "1", "--seed", seed])
    assert result.exit_code == 2, result.output
    assert "--seed" in result.output


def test_largest_seed_solves(tmp_path: Path) -> None:
    """Tests that the largest seed the option takes gives a verified plan."""
    path = _write_problem(tmp_path, generate_county("tiny", 5))
    out = tmp_path / "t.plan.json"
    result = runner.invoke(
        app,
        ["solve", str(path), "--time-limit", "1", "--seed", str(2**31 - 1), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate_json(out.read_text(encoding="utf-8"))
    assert plan.solver.seed == 2**31 - 1 and plan.verification is not None


def _solved(tmp_path: Path, seed: int = 5) -> tuple[Problem, Path, Path]:
    """A tiny county and its plan, written as X.problem.json and X.plan.json."""
    problem = generate_county("tiny", seed)
    problem_path = _write_problem(tmp_path, problem, f"s{seed}.problem.json")
    plan_path = tmp_path / f"s{seed}.plan.json"
    result = runner.invoke(
        app, ["solve", str(problem_path), "--time-limit", "1", "-o", str(plan_path)]
    )
    assert result.exit_code == 0, result.output
    return problem, problem_path, plan_path


def test_explain_refuses_unreadable_plans_and_problems(tmp_path: Path) -> None:
    """Tests that explain refuses, with exit 2 and a message naming the file, a truncated plan,
    a Problem given as the plan, a file that is no Plan, a plan that is not UTF-8, a missing
    --problem and a directory as --problem."""
    problem, problem_path, plan_path = _solved(tmp_path)
    case_id = problem.cases[0].id
    text = plan_path.read_text(encoding="utf-8")
    truncated = tmp_path / "truncated.plan.json"
    truncated.write_text(text[: len(text) // 2], encoding="utf-8")
    not_a_plan = tmp_path / "other.plan.json"
    not_a_plan.write_text(json.dumps({"assignments": []}), encoding="utf-8")
    binary = tmp_path / "binary.plan.json"
    binary.write_bytes(b"\xff\xfe garbage")
    cases: list[tuple[list[str], list[str]]] = [
        ([str(truncated)], [str(truncated), "not valid JSON"]),
        ([str(problem_path)], [str(problem_path), "is a Problem, not a Plan"]),
        ([str(not_a_plan)], [str(not_a_plan), "not a Plan document", "kpis"]),
        ([str(binary)], [str(binary), "not UTF-8"]),
        ([str(plan_path), "--problem", str(tmp_path / "nope.json")], ["--problem", "nope.json"]),
        ([str(plan_path), "--problem", str(tmp_path)], ["--problem", "directory"]),
    ]
    for args, words in cases:
        plan_arg, *options = args
        result = runner.invoke(
            app, ["explain", plan_arg, case_id, "--problem", str(problem_path), *options]
        )
        output = " ".join(result.output.split())  # rich wraps long lines
        assert result.exit_code == 2, (args, result.output)
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        assert all(" ".join(w.split()) in output for w in words), (args, result.output)


def test_explain_lists_each_issue_of_a_refused_problem(tmp_path: Path) -> None:
    """Tests that explain, given a problem with two bad fields, prints one input-error line
    naming each record and field (as solve does) and exits 2."""
    problem, problem_path, plan_path = _solved(tmp_path)
    data = json.loads(problem_path.read_text(encoding="utf-8"))
    data["lawyers"][0]["capacity_hours"] = -1
    data["lawyers"][1]["max_open_cases"] = -1
    problem_path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(
        app, ["explain", str(plan_path), problem.cases[0].id, "--problem", str(problem_path)]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("input error: ")]
    assert len(lines) == 2, result.output
    assert "capacity_hours" in lines[0] and "max_open_cases" in lines[1], result.output


def test_solve_refuses_unreadable_problem_files(tmp_path: Path) -> None:
    """Tests that a Problem file that is not UTF-8, or a directory, is refused with exit 2
    naming the path."""
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe garbage")
    for path, words in (
        (binary, [str(binary), "not UTF-8"]),
        (tmp_path, ["problem_path", "directory"]),  # the option's own check, in a panel
    ):
        result = runner.invoke(app, ["solve", str(path), "--time-limit", "1"])
        output = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert all(w in output for w in words), result.output


def test_solve_checks_the_output_path_before_solving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that -o into a missing folder or onto a directory is refused (exit 2, naming it)
    before the search starts, and nothing is written."""
    _no_solve(monkeypatch)
    path = _write_problem(tmp_path, generate_county("tiny", 5))
    before = sorted(tmp_path.iterdir())
    missing = tmp_path / "nowhere" / "t.plan.json"
    for target, words in ((missing, ["does not exist"]), (tmp_path, ["is a directory"])):
        result = runner.invoke(app, ["solve", str(path), "-o", str(target)])
        output = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert "-o" in output and str(target) in output, result.output
        assert all(w in output for w in words), result.output
    assert sorted(tmp_path.iterdir()) == before


def test_a_failed_write_leaves_the_old_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that when the disk refuses the plan, solve exits 2 naming the file, the plan
    already there is as it was (not a truncated JSON) and no temporary file is left."""
    path = _write_problem(tmp_path, generate_county("tiny", 5))
    plan_path = tmp_path / "t.plan.json"
    plan_path.write_text('{"earlier": "plan"}', encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = runner.invoke(app, ["solve", str(path), "--time-limit", "1", "-o", str(plan_path)])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    message = f"the plan could not be written to {plan_path}: {os.strerror(errno.ENOSPC)}"
    assert message in output, output
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_demo_refuses_an_unknown_tier(tmp_path: Path) -> None:
    """Tests that demo --tier with an unknown name exits with 2 and the known tiers, without a
    traceback and without writing anything."""
    out_dir = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--tier", "nosuch", "--out-dir", str(out_dir)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "unknown tier 'nosuch'" in result.output and "tiny" in result.output
    assert not out_dir.exists()


def test_demo_refuses_an_out_dir_it_cannot_create(tmp_path: Path) -> None:
    """Tests that demo --out-dir under a file (a folder that cannot be made) exits with 2
    naming the option, without a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["demo", "--tier", "tiny", "--out-dir", str(blocker / "out")])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "--out-dir" in result.output and "cannot write there" in result.output


def test_explain_refuses_a_plan_of_another_problem(tmp_path: Path) -> None:
    """Tests that explain refuses (exit 2) a plan made from another problem: another county
    with the same ids, or the same county with a case's workload changed; and --top below 1."""
    problem, _problem_path, plan_path = _solved(tmp_path)
    case_id = problem.cases[0].id
    other = _write_problem(tmp_path, generate_county("tiny", 6), "other.problem.json")
    result = runner.invoke(app, ["explain", str(plan_path), case_id, "--problem", str(other)])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "was not made from" in output and "'tiny seed 5'" in output, result.output

    plan = Plan.model_validate_json(plan_path.read_text(encoding="utf-8"))
    assigned = plan.assignments[0].case_id
    data = json.loads(problem.model_dump_json())
    changed = next(c for c in data["cases"] if c["id"] == assigned)
    changed["workload_hours"] = plan.assignments[0].workload_hours + 1
    edited = tmp_path / "edited.problem.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["explain", str(plan_path), case_id, "--problem", str(edited)])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "workloads differ" in output and assigned in output, result.output

    result = runner.invoke(app, ["explain", str(plan_path), case_id, "--top", "0"])
    assert result.exit_code == 2 and "--top" in result.output, result.output
    result = runner.invoke(app, ["explain", str(plan_path), case_id, "--top", "1"])
    assert result.exit_code == 0, result.output


_PROGRESS = re.compile(r"objective\s+([\d,]+)\s+bound\s+([\d,]+)\s+gap\s+([\d.]+)%")


def test_progress_gap_is_the_plans_and_lines_end(tmp_path: Path) -> None:
    """Tests that the progress lines give the gap as the plan computes it (without the
    penalty of a case no lawyer can take, which every plan pays), and that outside a terminal
    each progress line ends before the next message."""
    problem = generate_county("tiny", 5)
    nobody = problem.cases[0].model_copy(
        update={"excluded_lawyer_ids": [lw.id for lw in problem.lawyers]}
    )
    problem = problem.model_copy(update={"cases": [nobody, *problem.cases[1:]]})
    path = _write_problem(tmp_path, problem)
    out = tmp_path / "t.plan.json"
    result = runner.invoke(
        app, ["solve", str(path), "--time-limit", "1", "--workers", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate_json(out.read_text(encoding="utf-8"))
    constant = next(u.penalty_points for u in plan.unassigned if u.case_id == nobody.id)
    assert constant > 0
    lines = [m for m in map(_PROGRESS.search, result.stderr.splitlines()) if m]
    assert lines, result.stderr
    for m in lines:
        objective, bound = (float(g.replace(",", "")) for g in m.group(1, 2))
        assert m.group(3) == f"{relative_gap(objective, bound, constant):.3%}".rstrip("%")
        old = (objective - bound) / max(1.0, objective)
        assert objective == bound or abs(old - relative_gap(objective, bound, constant)) > 1e-4
    assert re.search(r"^plan written to ", result.stderr, re.MULTILINE), result.stderr
