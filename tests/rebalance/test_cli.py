"""Tests that `assigner rebalance` plans from a state file, writes and applies the plan, refuses
a changed state with exit code 3, and refuses --db until the API exports the state."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assigner.domain import InputError, InputIssue, Problem, load_problem
from assigner.rebalance import RebalancePlan
from cli.rebalance import EXIT_INPUT, EXIT_STATE_CHANGED, rebalance_app
from tests.rebalance.states import StateSpec, make_state

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(rebalance_app, name="rebalance")
    return app


@pytest.fixture()
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "state.json"
    path.write_text(make_state(StateSpec(seed=5)).model_dump_json(), encoding="utf-8")
    return path


def test_apply_refuses_a_plan_path_it_cannot_read(state_file: Path, tmp_path: Path) -> None:
    """Tests that apply with a folder or a non-UTF-8 file as the plan exits with 2 naming
    it, without a traceback."""
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe garbage")
    for plan_path, why in ((tmp_path, "a directory"), (garbage, "not UTF-8")):
        result = runner.invoke(
            _app(), ["rebalance", "apply", str(plan_path), "--problem", str(state_file)]
        )
        assert result.exit_code == EXIT_INPUT, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert why in result.output


def test_plan_write_and_apply(state_file: Path, tmp_path: Path) -> None:
    """Tests that a run plans, prints the summary, writes the plan, and with --apply writes the
    state with the plan's assignments."""
    plan_path, applied = tmp_path / "plan.json", tmp_path / "applied.json"
    result = runner.invoke(
        _app(),
        [
            "rebalance",
            "--problem",
            str(state_file),
            "--max-moves",
            "30",
            "--time-limit",
            "1",
            "--out",
            str(plan_path),
            "--apply",
            "--applied",
            str(applied),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "moves used / budget" in result.output
    plan = RebalancePlan.model_validate_json(plan_path.read_text(encoding="utf-8"))
    state = load_problem(applied)
    lawyer_of = {a.case_id: a.lawyer_id for a in plan.plan.assignments}
    for case in state.cases:
        cur = case.current_assignment
        assert (cur.lawyer_id if cur else None) == lawyer_of.get(case.id)


def test_apply_refuses_a_changed_state(state_file: Path, tmp_path: Path) -> None:
    """Tests that `rebalance apply` exits 3 listing the change when the state file changed
    after planning, and applies to the unchanged file."""
    plan_path = tmp_path / "plan.json"
    args = ["rebalance", "--problem", str(state_file), "--max-moves", "30", "--time-limit", "1"]
    assert runner.invoke(_app(), [*args, "--out", str(plan_path)]).exit_code == 0
    problem = Problem.model_validate_json(state_file.read_text(encoding="utf-8"))
    lawyers = [
        lw.model_copy(update={"max_open_cases": lw.max_open_cases + 1}) if k == 0 else lw
        for k, lw in enumerate(problem.lawyers)
    ]
    changed = tmp_path / "changed.json"
    changed.write_text(problem.model_copy(update={"lawyers": lawyers}).model_dump_json())
    refused = runner.invoke(
        _app(), ["rebalance", "apply", str(plan_path), "--problem", str(changed)]
    )
    assert refused.exit_code == EXIT_STATE_CHANGED
    assert "max_open_cases" in refused.output
    out = tmp_path / "out.json"
    ok = runner.invoke(
        _app(),
        ["rebalance", "apply", str(plan_path), "--problem", str(state_file), "--applied", str(out)],
    )
    assert ok.exit_code == 0, ok.output
    assert out.exists()


def test_budget_below_forced_moves_exits_2(state_file: Path) -> None:
    """Tests that a budget below the moves the hard rules force is refused with exit code 2."""
    result = runner.invoke(
        _app(), ["rebalance", "--problem", str(state_file), "--max-moves", "0", "--time-limit", "1"]
    )
    assert result.exit_code == EXIT_INPUT
    assert "needs at least" in result.output


def test_db_that_is_not_a_service_database_is_refused(tmp_path: Path) -> None:
    """Tests that --db on a database that is not the service's is refused with a clear
    message and exit code 2, without creating anything, and that giving neither or both
    sources is refused."""
    target = tmp_path / "nowhere.db"
    result = runner.invoke(_app(), ["rebalance", "--db", f"sqlite:///{target}"])
    assert result.exit_code == EXIT_INPUT
    assert "no such database file" in result.output
    assert not target.exists()
    target.write_bytes(b"")
    foreign = runner.invoke(_app(), ["rebalance", "--db", f"sqlite:///{target}"])
    assert foreign.exit_code == EXIT_INPUT
    assert "not a service database" in foreign.output
    assert runner.invoke(_app(), ["rebalance"]).exit_code == EXIT_INPUT


def test_schema_is_printed() -> None:
    """Tests that `rebalance schema` prints the plan document's JSON Schema."""
    result = runner.invoke(_app(), ["rebalance", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "RebalancePlan"


def test_bad_seed_output_and_state_file_are_refused_before_planning(
    state_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that a seed outside the solvers' range, an --out into a missing folder and a state
    file that is not UTF-8 are refused with exit 2 naming them, before any planning."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("planned before refusing the input")

    monkeypatch.setattr("cli.rebalance.rebalance", refuse)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe garbage")
    cases = [
        (["--problem", str(state_file), "--seed", "-1"], ["--seed"]),
        (["--problem", str(state_file), "--out", str(tmp_path / "no" / "p.json")], ["--out"]),
        (["--problem", str(binary)], [str(binary), "not UTF-8"]),
    ]
    for args, words in cases:
        result = runner.invoke(_app(), ["rebalance", *args, "--time-limit", "1"])
        assert result.exit_code == EXIT_INPUT, result.output
        assert all(w in result.output for w in words), result.output


def test_progress_outside_a_terminal_is_a_plain_line_per_phase(
    state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that where stderr is not a terminal (a log, a pipe) the planner's progress comes as
    whole lines, one per phase, with no carriage-return redraws or cursor moves."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):  # they would make rich see a terminal
        monkeypatch.delenv(name, raising=False)
    args = ["rebalance", "--problem", str(state_file), "--max-moves", "30", "--time-limit", "1"]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "\x1b" not in result.output, repr(result.output)
    lines = result.stderr.splitlines()
    progress = [ln for ln in lines if re.search(r"objective\s+[\d,]+\s+bound\s+[\d,]+", ln)]
    assert progress[0].startswith("current state "), result.stderr
    assert any(ln.startswith("budget heuristic (") for ln in progress), result.stderr


def test_an_input_error_found_in_planning_is_listed(
    state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that issues the planner finds in the state (not the loader) are listed one per
    line, as the loader's are, with exit code 2."""
    issues = [InputIssue("case C1", "pinned", "no lawyer"), InputIssue("lawyer L2", "", "gone")]

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise InputError(issues)

    monkeypatch.setattr("cli.rebalance.rebalance", refuse)
    result = runner.invoke(_app(), ["rebalance", "--problem", str(state_file)])
    assert result.exit_code == EXIT_INPUT, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.splitlines() == [
        "input error: case C1.pinned: no lawyer",
        "input error: lawyer L2: gone",
    ]


def test_a_failed_write_leaves_the_old_plan_and_state(
    state_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that when the disk refuses the plan (--out) or the updated state (--applied), the
    command exits 2 naming the file, the file there is as it was (not a truncated JSON that
    `rebalance apply` would read), and no temporary file is left beside it."""
    plan_path, applied = tmp_path / "plan.json", tmp_path / "applied.json"
    args = ["rebalance", "--problem", str(state_file), "--max-moves", "30", "--time-limit", "1"]
    assert runner.invoke(_app(), [*args, "--out", str(plan_path)]).exit_code == 0
    applied.write_text('{"earlier": "state"}', encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    apply_args = ["rebalance", "apply", str(plan_path), "--problem", str(state_file)]
    cases = [
        ([*args, "--out", str(plan_path)], f"the plan could not be written to {plan_path}"),
        (
            [*apply_args, "--applied", str(applied)],
            f"the updated state could not be written to {applied}",
        ),
    ]
    for command, message in cases:
        result = runner.invoke(_app(), command)
        output = " ".join(result.output.split())
        assert result.exit_code == EXIT_INPUT, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert message in output and os.strerror(errno.ENOSPC) in output, result.output
        assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before
