"""Tests that `assigner rebalance` says what its progress proves (the plan's gap beside a
phase named after its subproblem's status), refuses a negative --show, and says in a line
what a file given to `rebalance apply` is when it is not a rebalance plan."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from assigner.search.cpsat import Progress
from cli import rebalance as rebalance_cli
from cli.main import app
from scenarios.generator import generate_county
from tests.rebalance.states import StateSpec, make_state

runner = CliRunner()


@pytest.fixture()
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "state.json"
    path.write_text(make_state(StateSpec(seed=5)).model_dump_json(), encoding="utf-8")
    return path


def test_a_progress_line_gives_the_plans_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that the line of a phase whose subproblem was solved to optimality ("budget mip
    optimal") still shows the gap left for the plan, as the summary computes it."""
    log = io.StringIO()
    monkeypatch.setattr(rebalance_cli, "console", Console(file=log, width=200))
    with rebalance_cli._ProgressLine() as view:
        view(Progress(292_977, 292_618.0, 1.4, "budget mip optimal", 0))
        view(Progress(1_000, 1_000.0, 2.0, "budget mip optimal", 0))
    first, second = log.getvalue().splitlines()
    assert first.startswith("budget mip optimal ")
    assert "gap  0.123%" in first, first
    assert "gap  0.000%" in second, second


def test_show_must_not_be_negative(state_file: Path) -> None:
    """Tests that --show -1 is refused (it used to list all but the last move)."""
    args = ["rebalance", "--problem", str(state_file), "--max-moves", "30", "--time-limit", "1"]
    result = runner.invoke(app, [*args, "--show", "-1"])
    assert result.exit_code == 2, result.output
    assert "--show" in result.output


def test_apply_says_in_a_line_what_the_file_is_instead(state_file: Path, tmp_path: Path) -> None:
    """Tests that a solve plan, a state, and another JSON document given as the plan are each
    refused with exit 2 in one line (a few errors with their fields at most, no links), where
    pydantic's text ran to 61 lines."""
    problem_path = tmp_path / "t.problem.json"
    problem_path.write_text(generate_county("tiny", 5).model_dump_json(), encoding="utf-8")
    solve_plan = tmp_path / "t.plan.json"
    solved = runner.invoke(
        app, ["solve", str(problem_path), "--time-limit", "1", "-o", str(solve_plan)]
    )
    assert solved.exit_code == 0, solved.output
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema_version": 1, "moves": "none"}), encoding="utf-8")
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"moves": [', encoding="utf-8")
    cases = [
        (solve_plan, "is a solve plan (from `assigner solve`), not a rebalance plan"),
        (state_file, "is a state (a Problem), not a rebalance plan"),
        (other, "is not a rebalance plan: problem_name: Field required"),
        (not_json, "is not a rebalance plan: not valid JSON"),
    ]
    for path, words in cases:
        args = ["rebalance", "apply", str(path), "--problem", str(state_file)]
        args += ["--applied", str(tmp_path / "after.json")]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "https://" not in result.output
    assert (
        "(and "
        in runner.invoke(
            app, ["rebalance", "apply", str(other), "--problem", str(state_file)]
        ).output
    )
    assert not (tmp_path / "after.json").exists()
