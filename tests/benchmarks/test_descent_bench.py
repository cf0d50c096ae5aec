"""The descent benchmark end to end on the tiny tier (its seconds are not checked: machine speed
is not a test)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from assigner.search.instance import AssignmentInstance
from benchmarks.descent_bench import app, engine_start


def _figure(text: str, name: str) -> str:
    found = re.search(rf"^\| {name} \| (.+) \|$", text, re.MULTILINE)
    assert found, f"no '{name}' line in:\n{text}"
    return found.group(1)


def test_tiny_descent_ends_no_worse_than_it_starts(tmp_path: Path) -> None:
    """Tests that the benchmark descends from the flow's rounding on the tiny tier to a plan no
    worse than the start, prints and writes both objectives, the tier, seed and machine."""
    out = tmp_path / "descent.md"
    r = CliRunner().invoke(
        app, ["--tier", "tiny", "--seed", "3", "--repeats", "2", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert text in r.output
    assert _figure(text, "tier") == "tiny (generator seed 3)"
    assert _figure(text, "start").startswith("flow rounding")
    start = int(_figure(text, "start objective"))
    (end,) = (int(x) for x in _figure(text, "end objective").split(" / "))
    assert end <= start
    assert _figure(text, "hard-rule breaches, start / end") == "0 / 0"
    assert "mean of 2" in _figure(text, "descent s")
    assert "## Machine" in text and "| CPU |" in text


def test_start_falls_back_to_greedy_when_weights_depend_on_the_agent() -> None:
    """Tests that where the flow relaxation does not apply the start is greedy and says why."""
    inst = AssignmentInstance(
        n_items=2,
        n_agents=2,
        edge_item=np.array([0, 0, 1, 1], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1], dtype=np.int32),
        edge_cost=np.array([1, 9, 9, 1], dtype=np.int64),
        edge_weight=np.array([2, 3, 2, 3], dtype=np.int64),
        capacity=np.array([5, 5], dtype=np.int64),
        max_count=np.array([2, 2], dtype=np.int64),
        unassigned_penalty=np.array([100, 100], dtype=np.int64),
    )
    start = engine_start(inst)
    assert start.how.startswith("greedy (the flow relaxation does not apply")
    assert start.agent_of.tolist() == [0, 1]


def test_unknown_tier_is_refused() -> None:
    """Tests that an unknown tier is refused by name before anything runs."""
    r = CliRunner().invoke(app, ["--tier", "county-XL"])
    assert r.exit_code == 2
    assert "--tier" in r.output
