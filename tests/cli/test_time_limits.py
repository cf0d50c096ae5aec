"""Tests that every --time-limit of the command takes a finite number of seconds up to the
API's and the scenario files' cap: infinity used to reach the plan as ``"time_limit_s": null``,
which `explain` and `rebalance apply` then refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assigner.search.cpsat import MAX_TIME_LIMIT_S
from cli.inputs import finite_time_limit
from cli.main import app
from scenarios.generator import generate_county

runner = CliRunner()

REFUSED = ("inf", "Infinity", "1e309", "-inf", "nan", f"{MAX_TIME_LIMIT_S + 1:g}")


@pytest.fixture()
def problem_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.problem.json"
    path.write_text(generate_county("tiny", 5).model_dump_json(), encoding="utf-8")
    return path


@pytest.mark.parametrize("value", REFUSED)
def test_solve_rebalance_and_demo_refuse_the_value(
    value: str, problem_file: Path, tmp_path: Path
) -> None:
    """Tests that solve, rebalance and demo exit 2 naming --time-limit and write nothing."""
    out = tmp_path / "out.json"
    commands = [
        ["solve", str(problem_file), "-o", str(out)],
        ["rebalance", "--problem", str(problem_file), "--out", str(out)],
        ["demo", "--tier", "tiny", "--out-dir", str(tmp_path / "demo")],
    ]
    for command in commands:
        result = runner.invoke(app, [*command, "--time-limit", value])
        assert result.exit_code == 2, (command, result.output)
        assert "--time-limit" in result.output
    assert not out.exists() and not (tmp_path / "demo").exists()


def test_the_cap_itself_is_taken() -> None:
    """Tests that the check passes the cap and refuses what is not a number of seconds (NaN
    passes click's own range check, every comparison with it being false)."""
    assert finite_time_limit(MAX_TIME_LIMIT_S) == MAX_TIME_LIMIT_S
    for value in (math.inf, -math.inf, math.nan):
        with pytest.raises(typer.BadParameter):
            finite_time_limit(value)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--max-moves", str(10**30)), ("--max-moves-per-lawyer", "1000001"), ("--workers", "65")],
)
def test_rebalance_refuses_budgets_and_threads_beyond_their_limits(
    option: str, value: str, problem_file: Path, tmp_path: Path
) -> None:
    """Tests that a move budget above what the API takes (1,000,000) or more solver threads
    than any machine has (64) is exit 2 naming the option, not an overflow in the search."""
    out = tmp_path / "out.json"
    result = runner.invoke(
        app, ["rebalance", "--problem", str(problem_file), "--out", str(out), option, value]
    )
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert not out.exists()
    solve = runner.invoke(app, ["solve", str(problem_file), "-o", str(out), "--workers", "65"])
    assert solve.exit_code == 2, solve.output
