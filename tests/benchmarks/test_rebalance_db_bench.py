"""The database rebalance benchmark end to end on the tiny tier (its figures are not checked:
machine speed is not a test)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from benchmarks.rebalance_db_bench import app


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
