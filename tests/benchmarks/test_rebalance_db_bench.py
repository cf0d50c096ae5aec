"""The database rebalance benchmark end to end on the tiny tier (its figures are not checked:
machine speed is not a test)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from benchmarks.rebalance_db_bench import app, at_now
from scenarios.generator import generate_county


def test_at_now_moves_every_time_by_the_same_amount() -> None:
    """Tests that the problem moved to now keeps every case's window and leave length."""
    problem = generate_county("tiny", 3)
    moved = at_now(problem)
    delta = moved.as_of - problem.as_of
    assert delta.total_seconds() > 0
    for old, new in zip(problem.cases, moved.cases, strict=True):
        assert new.assign_by - new.received_at == old.assign_by - old.received_at
        assert new.assign_by - old.assign_by == delta
    for old_lw, new_lw in zip(problem.lawyers, moved.lawyers, strict=True):
        for a, b in zip(old_lw.leave, new_lw.leave, strict=True):
            assert (b.end - b.start) == (a.end - a.start)


def test_tiny_run_applies_the_plan_and_keeps_loads_consistent(tmp_path: Path) -> None:
    """Tests that the benchmark fills a database, plans, keeps, applies and writes its table
    with the load check passed."""
    r = CliRunner().invoke(
        app, ["--tier", "tiny", "--seed", "3", "--time-limit", "2", "--out-dir", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    (result,) = tmp_path.glob("rebalance-db-*.md")
    text = result.read_text(encoding="utf-8")
    assert "| loads equal the hours of the cases held, after apply | yes |" in text
    assert "| apply (re-read under lock, compare, write, audit) |" in text
