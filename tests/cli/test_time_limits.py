"""Tests that every --time-limit of the command takes a finite number of seconds up to the
API's and the scenario files' cap: infinity used to reach the plan as ``"time_limit_s": null``,
which `explain` and `rebalance apply` then refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assigner.search.cpsat import MAX_TIME_LIMIT_S
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


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("nan", "not a finite number of seconds"),
        ("inf", "not a finite number of seconds"),
        ("5000", "not within 0.1 to 3600 seconds"),
        ("0", "not within 0.1 to 3600 seconds"),
    ],
)
def test_the_refusal_says_what_is_wrong(value: str, said: str, problem_file: Path) -> None:
    """Tests that NaN and infinity are refused as not finite (the option's own range check
    called them more than 3600) and a number out of range as out of range."""
    result = runner.invoke(app, ["solve", str(problem_file), "--time-limit", value])
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())


def test_the_cap_itself_is_taken(problem_file: Path, tmp_path: Path) -> None:
    """Tests that the cap is a valid --time-limit (the option is checked, not the solve run:
    a --time-limit at the cap passes to the -o check, which refuses a folder)."""
    result = runner.invoke(
        app,
        ["solve", str(problem_file), "--time-limit", f"{MAX_TIME_LIMIT_S:g}", "-o", str(tmp_path)],
    )
    assert result.exit_code == 2, result.output
    assert "--time-limit" not in result.output


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
