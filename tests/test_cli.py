"""Tests that the `assigner` command solves, explains, refuses bad input and exports schemas."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assigner.domain import Plan, Problem
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
    assert "capacity_hours" in result.output


def test_committed_schemas_match_models() -> None:
    """Tests that docs/schema holds the current JSON Schemas of Problem and Plan."""
    for name, model in (("problem", Problem), ("plan", Plan)):
        committed = json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text())
        assert committed == model.model_json_schema(), f"regenerate docs/schema/{name}"
