"""Tests that the files the command writes (plans, states) are refused before any search when
writing them would replace something other than an old copy: a FIFO, a device or a socket
(the write renames a new file over the path) or one of the command's own inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.inputs import output_path_error
from cli.main import app
from scenarios.generator import generate_county
from tests.rebalance.states import StateSpec, make_state

runner = CliRunner()

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


@pytest.fixture()
def problem_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.problem.json"
    path.write_text(generate_county("tiny", 5).model_dump_json(), encoding="utf-8")
    return path


@pytest.fixture()
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "state.json"
    path.write_text(make_state(StateSpec(seed=5)).model_dump_json(), encoding="utf-8")
    return path


@pytest.fixture()
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _refused(result: typer.testing.Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "objective" not in result.output, "refused only after the search"
    for word in words:
        assert word in result.output, result.output


def test_solve_refuses_a_fifo_and_leaves_it_a_fifo(
    problem_file: Path, fifo: Path, tmp_path: Path
) -> None:
    """Tests that -o naming a FIFO, directly or through a symlink, exits 2 before the search
    saying what it is, and that the FIFO is still a FIFO (it used to be replaced by a regular
    file holding the plan; /dev/null the same way)."""
    link = tmp_path / "latest.plan.json"
    link.symlink_to(fifo.name)
    for target in (fifo, link):
        result = runner.invoke(
            app, ["solve", str(problem_file), "--time-limit", "1", "-o", str(target)]
        )
        _refused(result, "FIFO", "not a regular file")
        assert fifo.is_fifo() and link.is_symlink()


def test_solve_refuses_to_write_over_its_own_input(problem_file: Path, tmp_path: Path) -> None:
    """Tests that -o naming the problem file itself, or a link to it, exits 2 before the
    search and leaves the problem as it was."""
    before = problem_file.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(problem_file.name)
    for target in (problem_file, link):
        result = runner.invoke(
            app, ["solve", str(problem_file), "--time-limit", "1", "-o", str(target)]
        )
        _refused(result, "same file as the input")
    assert problem_file.read_bytes() == before


def test_rebalance_refuses_outputs_that_are_inputs_fifos_or_each_other(
    state_file: Path, fifo: Path, tmp_path: Path
) -> None:
    """Tests that `rebalance` refuses, before planning, --out or --applied naming the state
    file or a FIFO, and --out and --applied naming one file; and that a FIFO where the default
    --applied (STATE.rebalanced.json) goes is refused too."""
    base = ["rebalance", "--problem", str(state_file), "--max-moves", "30", "--time-limit", "1"]
    before = state_file.read_bytes()
    plan = tmp_path / "plan.json"
    cases = [
        (["--out", str(state_file)], "same file as the input"),
        (["--apply", "--applied", str(state_file)], "same file as the input"),
        (["--out", str(fifo)], "FIFO"),
        (["--apply", "--applied", str(fifo)], "FIFO"),
        (["--out", str(plan), "--apply", "--applied", str(plan)], "name the same file"),
    ]
    for extra, words in cases:
        result = runner.invoke(app, [*base, *extra])
        _refused(result, words)
        assert "moves used" not in result.output
    os.mkfifo(tmp_path / "state.rebalanced.json")
    _refused(runner.invoke(app, [*base, "--apply"]), "FIFO")
    assert state_file.read_bytes() == before
    assert fifo.is_fifo() and not plan.exists()


def test_rebalance_apply_refuses_an_applied_path_that_is_an_input_or_a_fifo(
    state_file: Path, fifo: Path, tmp_path: Path
) -> None:
    """Tests that `rebalance apply --applied` naming the state, the plan or a FIFO exits 2
    and changes none of them, while a new file is written."""
    plan = tmp_path / "plan.json"
    planning = ["rebalance", "--problem", str(state_file), "--max-moves", "30"]
    made = runner.invoke(app, [*planning, "--time-limit", "1", "--out", str(plan)])
    assert made.exit_code == 0, made.output
    files = {p: p.read_bytes() for p in (state_file, plan)}
    apply = ["rebalance", "apply", str(plan), "--problem", str(state_file), "--applied"]
    for target, words in ((state_file, "same file"), (plan, "same file"), (fifo, "FIFO")):
        _refused(runner.invoke(app, [*apply, str(target)]), words)
    assert all(p.read_bytes() == text for p, text in files.items())
    assert fifo.is_fifo()
    ok = runner.invoke(app, [*apply, str(tmp_path / "after.json")])
    assert ok.exit_code == 0, ok.output


def test_demo_refuses_a_fifo_where_its_plan_goes(fifo: Path, tmp_path: Path) -> None:
    """Tests that `demo` checks both files it writes in --out-dir before generating."""
    fifo.rename(tmp_path / "tiny.plan.json")
    result = runner.invoke(
        app, ["demo", "--tier", "tiny", "--time-limit", "1", "--out-dir", str(tmp_path)]
    )
    _refused(result, "FIFO")
    assert (tmp_path / "tiny.plan.json").is_fifo()
    assert not (tmp_path / "tiny.problem.json").exists()


def test_output_path_error_allows_a_new_file_or_an_old_plan(tmp_path: Path) -> None:
    """Tests that the checks leave the ordinary cases alone: a new file, an old plan (even a
    hard link to an input is only refused when it is the same file)."""
    source = tmp_path / "in.json"
    source.write_text("{}", encoding="utf-8")
    old = tmp_path / "old.plan.json"
    old.write_text("{}", encoding="utf-8")
    assert output_path_error(tmp_path / "new.json", "-o", [source]) is None
    assert output_path_error(old, "-o", [source]) is None
    hard = tmp_path / "hard.json"
    os.link(source, hard)
    assert "same file" in (output_path_error(hard, "-o", [source]) or "")
