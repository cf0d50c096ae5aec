"""Tests of capacity planning (scenarios/capacity.py): hires that close a shortage, verified by
solving, and no hires when nothing is missing."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from assigner.domain import Problem, ProviderKind, default_catalogue
from assigner.engine import solve_problem
from assigner.search.cpsat import SearchParams
from scenarios import generate_county
from scenarios.capacity import DEFAULT_COST_CNY_PER_HOUR, plan_capacity
from scenarios.whatif.baseline import baseline_facts
from scenarios.whatif.changes import build_problem
from scenarios.whatif.cli import scenario_app
from scenarios.whatif.spec import CapacityPlanning, scenario_from_data

PARAMS = SearchParams(time_limit_s=1.0, workers=1, seed=0, deterministic=True)
CATALOGUE = default_catalogue()


def _changed(problem: Problem, *changes: dict[str, Any]) -> Problem:
    spec = scenario_from_data(
        {
            "name": "t",
            "baseline": {"tier": "tiny", "seed": 3},
            "demand_noise": "none",
            "variants": [{"name": "v", "changes": list(changes)}],
        }
    )
    changed, _ = build_problem(spec, problem, baseline_facts(problem), spec.variants[0], 0)
    return changed


@pytest.fixture(scope="module")
def shortage() -> Problem:
    """The tiny county without any criminal defence lawyer, one case made a capital case."""
    problem = generate_county("tiny", 3)
    changed = _changed(
        problem,
        {"kind": "remove_lawyers", "lawyer_practice_areas": ["criminal_defence"]},
    )
    cases = list(changed.cases)
    k = next(i for i, c in enumerate(cases) if c.case_type == "felony_high")
    cases[k] = cases[k].model_copy(
        update={"case_type": "felony_murder", "flags": ["possible_life_or_death_sentence"]}
    )
    return changed.model_copy(update={"cases": cases})


def test_hires_close_a_shortage(shortage: Problem) -> None:
    """Tests that the recommended hires, added to the problem, let a solve cover every case,
    and that each hire type meets the rules of the cases it is for (area, kind, capital
    experience years)."""
    before = solve_problem(shortage, PARAMS)
    assert before.kpis.assigned < before.kpis.cases

    result = plan_capacity(shortage, CapacityPlanning(), PARAMS)
    assert result.total_hires >= 1
    assert result.assigned_before == before.kpis.assigned
    assert result.assigned_after == result.cases
    assert not result.still_unassigned and not result.not_coverable

    criminal = [line for line in result.lines if line.practice_area == "criminal_defence"]
    assert criminal, "the criminal demand needs criminal defence hires"
    allowed = {k.value for k in CATALOGUE.case_types["felony_murder"].allowed_provider_kinds}
    assert any(line.years >= 3 and line.provider_kind in allowed for line in criminal)
    for line in result.lines:
        rate = DEFAULT_COST_CNY_PER_HOUR[ProviderKind(line.provider_kind)]
        assert line.cost_cny_each == pytest.approx(round(line.capacity_hours_each * rate))
        assert line.cost_cny_total == pytest.approx(line.hires * line.cost_cny_each)
    assert result.total_cost_cny == pytest.approx(sum(x.cost_cny_total for x in result.lines))

    # Independent check: the problem with the hires, solved afresh, covers every case.
    assert result.problem is not None
    hired = len(result.problem.lawyers) - len(shortage.lawyers)
    assert hired == result.total_hires
    again = solve_problem(result.problem, PARAMS)
    assert again.kpis.assigned == again.kpis.cases
    assert again.verification is not None and again.verification.passed


def test_hires_follow_the_variants_own_catalogue() -> None:
    """Tests that where a variant lets only staff lawyers take injury claims (and removes the
    personal-injury lawyers), the hires for them are staff lawyers and cover every case: the
    planner judged hire types by the baseline's catalogue and hired practising lawyers that
    could take none of the cases."""
    baseline = generate_county("tiny", 3)
    problem = _changed(
        baseline,
        {"kind": "remove_lawyers", "lawyer_practice_areas": ["personal_injury"]},
        {
            "kind": "catalogue",
            "update": {
                "case_types": {"injury_claim": {"allowed_provider_kinds": ["staff_lawyer"]}}
            },
        },
    )
    assert any(c.case_type == "injury_claim" for c in problem.cases)
    # As `assigner scenario capacity` calls it: with the baseline's facts.
    result = plan_capacity(problem, CapacityPlanning(), PARAMS, facts=baseline_facts(baseline))
    injury = [line for line in result.lines if line.practice_area == "personal_injury"]
    assert injury and all(line.provider_kind == "staff_lawyer" for line in injury)
    assert all(line.assigned_cases > 0 for line in injury)
    assert not result.still_unassigned


def test_no_hires_when_nothing_is_missing() -> None:
    """Tests that a problem whose plan already covers every case gets no recommendation."""
    problem = _changed(generate_county("tiny", 3), {"kind": "scale_demand", "factor": 0.5})
    assert solve_problem(problem, PARAMS).kpis.assigned == len(problem.cases)
    result = plan_capacity(problem, CapacityPlanning(), PARAMS)
    assert result.lines == [] and result.total_hires == 0 and result.total_cost_cny == 0
    assert result.assigned_after == result.cases == len(problem.cases)
    assert result.rounds == []


def test_only_allowed_kinds_are_hired(shortage: Problem) -> None:
    """Tests that hires are limited to the kinds the options allow, and that demand no
    allowed kind may take is reported as not coverable rather than hidden."""
    options = CapacityPlanning(provider_kinds=[ProviderKind.GRASSROOTS_WORKER])
    result = plan_capacity(shortage, options, PARAMS)
    assert all(line.provider_kind == "grassroots_worker" for line in result.lines)
    criminal_ids = {
        c.id for c in shortage.cases if c.case_type.startswith(("felony", "dui", "mis", "prob"))
    }
    assert criminal_ids & set(result.not_coverable)
    assert set(result.still_unassigned) >= criminal_ids & set(result.not_coverable)


def test_capacity_command_prints_and_writes_the_table(tmp_path: Path) -> None:
    """Tests that `scenario capacity FILE --variant NAME` prints the hires by area, kind and
    township with their cost, and writes capacity.json and capacity.csv."""
    data = {
        "name": "tiny shortage",
        "baseline": {"tier": "tiny", "seed": 3},
        "time_limit_s": 1,
        "variants": [
            {
                "name": "no criminal lawyers",
                "changes": [
                    {"kind": "remove_lawyers", "lawyer_practice_areas": ["criminal_defence"]}
                ],
            }
        ],
    }
    file = tmp_path / "shortage.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "cap"
    args = ["capacity", str(file), "--variant", "no criminal lawyers", "--out", str(out)]
    result = CliRunner().invoke(scenario_app, args)
    assert result.exit_code == 0, result.output
    assert "Recommended hires" in result.output and "criminal_defence" in result.output
    with (out / "capacity.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(float(r["cost_cny_total"]) > 0 for r in rows)
    saved = json.loads((out / "capacity.json").read_text(encoding="utf-8"))
    assert saved["assigned_share_after"] == 1.0
    assert saved["total_hires"] == sum(int(r["hires"]) for r in rows)

    unknown = CliRunner().invoke(scenario_app, ["capacity", str(file), "--variant", "nope"])
    assert unknown.exit_code == 2 and "no variant named 'nope'" in unknown.output


def test_demand_no_hire_can_take_is_named_without_pointing_at_missing_notes(
    tmp_path: Path,
) -> None:
    """Tests that when every case left out needs more hours than any hire has, the command
    names them as cases no hire may take, says why, and does not point at notes it does not
    print."""
    data = {
        "name": "huge",
        "baseline": {"tier": "tiny", "seed": 3},
        "samples": 1,
        "time_limit_s": 1,
        "variants": [
            {
                "name": "huge felony",
                "changes": [
                    {
                        "kind": "catalogue",
                        "update": {"case_types": {"felony_high": {"workload_hours": 5000}}},
                    }
                ],
            }
        ],
    }
    file = tmp_path / "huge.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = CliRunner().invoke(scenario_app, ["capacity", str(file), "--variant", "huge felony"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "cases no hire may take (no hire type has their practice area" in text
    assert "see the notes" not in text
