"""Tests of what-if scenarios (scenarios/whatif/): files, changes, runner, report and CLI."""

from __future__ import annotations

import csv
import json
import pickle
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from assigner.domain import CurrentAssignment, Problem, validate_problem
from assigner.search.cpsat import MAX_SEED, SearchParams
from scenarios import generate_county
from scenarios.whatif import ScenarioError, load_scenario, scenario_from_data
from scenarios.whatif.baseline import BaselineFacts, baseline_facts, load_snapshot
from scenarios.whatif.changes import build_problem, check_scenario
from scenarios.whatif.cli import scenario_app
from scenarios.whatif.errors import ScenarioCancelledError, ScenarioIssue, SnapshotUnavailableError
from scenarios.whatif.runner import (
    ScenarioResult,
    prepare_run,
    run_scenario,
    search_params,
    solve_with_handover,
)
from scenarios.whatif.spec import Scenario

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "scenarios" / "library").glob("*.yaml"))
CIVIL = ["labour", "family", "personal_injury", "social_welfare", "administrative"]
runner = CliRunner()


@pytest.fixture(scope="module")
def county() -> Problem:
    return generate_county("county-S", seed=7)


@pytest.fixture(scope="module")
def facts(county: Problem) -> BaselineFacts:
    return baseline_facts(county)


def _spec(variants: list[dict[str, Any]], **extra: Any) -> Scenario:
    data = {
        "name": "t",
        "baseline": {"tier": "county-S", "seed": 7},
        "samples": 1,
        "demand_noise": "none",
        "variants": variants,
        **extra,
    }
    return scenario_from_data(data)


def _variant(county: Problem, facts: BaselineFacts, *changes: dict[str, Any]) -> Problem:
    spec = _spec([{"name": "v", "changes": list(changes)}])
    check_scenario(spec, facts)
    problem, _notes = build_problem(spec, county, facts, spec.variants[0], 0)
    return validate_problem(problem)


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# -- files -----------------------------------------------------------------------------------


def test_library_has_the_five_domain_scenarios() -> None:
    """Tests that the library holds at least five scenarios covering the DOMAIN.md cases."""
    names = {p.stem for p in LIBRARY}
    assert len(LIBRARY) >= 5
    for wanted in (
        "civil_scope_widened",
        "summer_leave",
        "volunteer_programme",
        "criminal_surge",
        "codefendants_separate_firms",
    ):
        assert wanted in names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_file_validates(path: Path) -> None:
    """Tests that each library file parses, and its changes check against its baseline."""
    spec = load_scenario(path)
    problem, _facts = prepare_run(spec)
    assert spec.baseline.model_dump() == {"tier": "county-S", "seed": 7}
    assert spec.samples == 3
    assert spec.variants
    assert "DOMAIN.md" in spec.description or "Art" in spec.description
    assert problem.name == "county-S seed 7"


GOOD_CHANGE = {"kind": "scale_demand", "factor": 1.2, "practice_areas": ["labour"]}


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"kind": "grow_demand", "factor": 2}, "variants[1].changes[0].kind", ["grow_demand"]),
        (
            {"kind": "scale_demand", "factor": -0.5},
            "variants[1].changes[0].factor",
            ["greater than or equal to 0"],
        ),
        (
            {"kind": "leave", "share": 1.5},
            "variants[1].changes[0].share",
            ["less than or equal to 1"],
        ),
        (
            {"kind": "scale_demand", "factor": 1.1, "colour": "red"},
            "variants[1].changes[0].colour",
            ["Extra inputs"],
        ),
        (
            {"kind": "policy", "update": {"weights": {"travel_points_per_km": -3}}},
            "variants[1].changes[0].update",
            ["travel_points_per_km"],
        ),
    ],
)
def test_bad_file_names_the_path(
    tmp_path: Path, change: dict[str, Any], path: str, words: list[str]
) -> None:
    """Tests that a malformed change is refused with its path in the file and its line."""
    data = {
        "name": "bad",
        "baseline": {"tier": "tiny", "seed": 1},
        "variants": [
            {"name": "fine", "changes": [GOOD_CHANGE]},
            {"name": "broken", "changes": [change]},
        ],
    }
    file = _write(tmp_path, "bad.yaml", data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    issues = info.value.issues
    assert any(i.path == path for i in issues), [str(i) for i in issues]
    hit = next(i for i in issues if i.path == path)
    assert all(w in hit.message for w in words), hit.message
    assert hit.line is not None and hit.line > 5  # the second variant, not the top of the file
    assert str(file) in str(info.value)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (
            {"kind": "scale_demand", "factor": 1.3, "case_types": ["felony_xx"]},
            "variants[0].changes[0].case_types",
            ["unknown case type 'felony_xx'", "variant 'surge'"],
        ),
        (
            {"kind": "scale_demand", "factor": 1.3, "jurisdictions": ["T99"]},
            "variants[0].changes[0].jurisdictions",
            ["unknown township 'T99'", "variant 'surge'"],
        ),
        (
            {
                "kind": "add_lawyers",
                "count": 1,
                "provider_kind": "grassroots_worker",
                "townships": ["NOWHERE"],
                "practice_areas": [{"area": "labour"}],
            },
            "variants[0].changes[0].townships",
            ["unknown township 'NOWHERE'"],
        ),
        (
            {"kind": "leave", "share": 0.1, "start": "2026-07-01", "days": 30},
            "variants[0].changes[0].start",
            ["misses the planning window"],
        ),
    ],
)
def test_unknown_values_name_variant_change_and_field(
    tmp_path: Path, change: dict[str, Any], path: str, words: list[str]
) -> None:
    """Tests that values the baseline lacks are refused naming variant, change and field."""
    data = {
        "name": "bad",
        "baseline": {"tier": "tiny", "seed": 1},
        "variants": [{"name": "surge", "changes": [change]}],
    }
    file = _write(tmp_path, "bad.json", data)
    spec = load_scenario(file)
    with pytest.raises(ScenarioError) as info:
        prepare_run(spec)
    issue = info.value.issues[0]
    assert issue.path == path
    assert all(w in issue.message for w in words), issue.message


def test_bad_baseline_and_file_type(tmp_path: Path) -> None:
    """Tests that an unknown tier, a missing baseline and an unknown extension are refused."""
    with pytest.raises(ScenarioError, match=r"baseline\.tier: unknown tier 'county-XL'"):
        scenario_from_data({"name": "x", "baseline": {"tier": "county-XL"}})
    with pytest.raises(ScenarioError, match="baseline needs one of"):
        scenario_from_data({"name": "x", "baseline": {"seed": 3}})
    with pytest.raises(ScenarioError, match="unknown file type"):
        load_scenario(_write(tmp_path, "x.toml", {"name": "x"}))
    with pytest.raises(ScenarioError, match="variant names must differ"):
        scenario_from_data(
            {
                "name": "x",
                "baseline": {"tier": "tiny"},
                "variants": [{"name": "a", "changes": [GOOD_CHANGE]}] * 2,
            }
        )


def _issue_of(file: Path) -> ScenarioIssue:
    with pytest.raises(ScenarioError) as info:
        prepare_run(load_scenario(file))
    assert len(info.value.issues) == 1, info.value.issues
    return info.value.issues[0]


def _line_of(file: Path, text: str) -> int:
    """The (first) line of ``file`` that holds ``text``."""
    lines = file.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"baseline": {"tier": "tiny", "seed": -1}}, "baseline.seed"),
        ({"baseline": {"tier": "tiny", "seed": MAX_SEED + 1}}, "baseline.seed"),
        ({"baseline": {"tier": "tiny"}, "seed": MAX_SEED + 1}, "seed"),
    ],
)
def test_seeds_outside_the_solvers_range_are_refused(
    tmp_path: Path, data: dict[str, Any], path: str
) -> None:
    """Tests that a baseline or scenario seed below 0 or above 2**31 - 1 is refused naming the
    field and its line, before anything is generated or solved."""
    file = _write(tmp_path, "seed.yaml", {"name": "s", **data})
    issue = _issue_of(file)
    assert issue.path == path
    assert issue.line == _line_of(file, "seed:")


def test_largest_scenario_seed_wraps_for_later_samples() -> None:
    """Tests that sample k of a scenario at the largest seed solves with a seed the solvers
    take (seed + k wrapped)."""
    spec = scenario_from_data({"name": "s", "baseline": {"tier": "tiny"}, "seed": MAX_SEED})
    assert [search_params(spec, k).seed for k in range(3)] == [MAX_SEED, 0, 1]


def test_unreadable_baseline_files_are_refused(tmp_path: Path) -> None:
    """Tests that a baseline problem file (or snapshot file) that is not UTF-8, or is a
    directory, is refused naming the field, its line and the path."""
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe garbage")
    folder = tmp_path / "folder.json"
    folder.mkdir()
    cases = [
        ({"problem_file": str(binary)}, "baseline.problem_file", [str(binary), "not UTF-8"]),
        ({"problem_file": str(folder)}, "baseline.problem_file", [str(folder), "directory"]),
        ({"database_url": f"file:{binary}"}, "baseline.database_url", [str(binary), "UTF-8"]),
        ({"database_url": f"file:{folder}"}, "baseline.database_url", [str(folder), "directory"]),
    ]
    for baseline, path, words in cases:
        file = _write(tmp_path, "base.yaml", {"name": "b", "baseline": baseline})
        issue = _issue_of(file)
        assert issue.path == path
        assert issue.line == _line_of(file, path.split(".")[1])
        assert all(w in issue.message for w in words), issue.message


def test_variant_name_errors_point_at_the_variant(tmp_path: Path) -> None:
    """Tests that a variant named like another, or named baseline, is reported at that
    variant's name and its line, not at the top of the file."""
    variants = [
        {"name": "a", "changes": [GOOD_CHANGE]},
        {"name": "b", "changes": [GOOD_CHANGE]},
        {"name": "a", "changes": [GOOD_CHANGE]},
    ]
    file = _write(
        tmp_path, "dup.yaml", {"name": "d", "baseline": {"tier": "tiny"}, "variants": variants}
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    (issue,) = info.value.issues
    assert issue.path == "variants[2].name"
    assert "variants[0]" in issue.message and "'a'" in issue.message
    lines = file.read_text(encoding="utf-8").splitlines()
    assert issue.line is not None and lines[issue.line - 1].strip() == "- name: a"
    assert issue.line > _line_of(file, "name: b")

    variants[1]["name"] = "baseline"
    file = _write(
        tmp_path, "named.yaml", {"name": "d", "baseline": {"tier": "tiny"}, "variants": variants}
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    issue = info.value.issues[0]
    assert issue.path == "variants[1].name" and issue.line == _line_of(file, "name: baseline")
    assert "may not be named 'baseline'" in issue.message


def test_catalogue_and_subsidy_class_messages_read_well(tmp_path: Path) -> None:
    """Tests that a catalogue update naming an unknown practice area is reported with the case
    type it is in and without pydantic's prefixes, in the file and on the command line, and
    that an unknown subsidy class lists the known subsidy classes."""
    change = {
        "kind": "catalogue",
        "update": {"case_types": {"wage_claim": {"practice_area": "maritime"}}},
    }
    data = {
        "name": "c",
        "baseline": {"tier": "tiny"},
        "variants": [{"name": "v", "changes": [change]}],
    }
    file = _write(tmp_path, "cat.yaml", data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    (issue,) = info.value.issues
    assert issue.path == "variants[0].changes[0].update"
    assert issue.message == "case_types[wage_claim].practice_area: unknown practice area 'maritime'"
    result = runner.invoke(scenario_app, ["validate", str(file)])
    assert result.exit_code == 2
    assert "case_types[wage_claim].practice_area" in result.output, result.output

    hire = {
        "kind": "add_lawyers",
        "count": 1,
        "provider_kind": "staff_lawyer",
        "firm_id": "F0001",
        "practice_areas": [{"area": "labour"}],
        "subsidy_class": "gold",
    }
    data["variants"] = [{"name": "v", "changes": [hire]}]
    issue = _issue_of(_write(tmp_path, "hire.yaml", data))
    assert issue.path == "variants[0].changes[0].subsidy_class"
    assert "known subsidy classes: " in issue.message and "classs" not in issue.message


def test_scenario_error_survives_pickling() -> None:
    """Tests that a ScenarioError raised in a worker process reaches the parent whole."""
    err = ScenarioError([ScenarioIssue("variants[0]", "bad", 3)], "x.yaml")
    back = pickle.loads(pickle.dumps(err))
    assert back.issues == err.issues and back.source == "x.yaml" and str(back) == str(err)


def test_snapshot_baseline_reads_dumped_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that a database URL without an exporter is refused clearly, and that a Problem
    JSON dumped by the service serves as the snapshot."""
    monkeypatch.setattr("scenarios.whatif.baseline._snapshot_loader", None)
    with pytest.raises(SnapshotUnavailableError, match="no exporter is registered"):
        load_snapshot("sqlite:///nowhere.db")
    problem = generate_county("tiny", 2)
    dump = tmp_path / "snapshot.json"
    dump.write_text(problem.model_dump_json(), encoding="utf-8")
    assert load_snapshot(f"file:{dump}") == problem
    assert load_snapshot("sqlite:///x.db", loader=lambda _url: problem) is problem


# -- changes ---------------------------------------------------------------------------------


def _civil(problem: Problem, facts: BaselineFacts) -> int:
    types = facts.catalogue.case_types
    return sum(types[c.case_type].practice_area in CIVIL for c in problem.cases)


def test_scale_demand_grows_and_shrinks(county: Problem, facts: BaselineFacts) -> None:
    """Tests that scale_demand 1.3 on civil cases gives 30% more civil cases (new ids, nothing
    else changed) and 0.5 drops half of them."""
    n_civil = _civil(county, facts)
    grown = _variant(
        county, facts, {"kind": "scale_demand", "factor": 1.3, "practice_areas": CIVIL}
    )
    assert _civil(grown, facts) == n_civil + round(0.3 * n_civil)
    assert len(grown.cases) == len(county.cases) + round(0.3 * n_civil)
    assert len({c.id for c in grown.cases}) == len(grown.cases)
    assert grown.cases[: len(county.cases)] == county.cases
    clones = grown.cases[len(county.cases) :]
    assert all(c.current_assignment is None and c.matter_id is None for c in clones)
    assert all(c.received_at <= county.as_of for c in clones)

    shrunk = _variant(
        county, facts, {"kind": "scale_demand", "factor": 0.5, "practice_areas": CIVIL}
    )
    assert _civil(shrunk, facts) == n_civil - round(0.5 * n_civil)
    assert len(shrunk.cases) == len(county.cases) - round(0.5 * n_civil)


def test_leave_puts_the_share_on_leave(county: Problem, facts: BaselineFacts) -> None:
    """Tests that leave gives a seeded share of lawyers a leave over the planning window and
    hands over the open cases they held."""
    changed = _variant(county, facts, {"kind": "leave", "share": 0.1, "days": 10})
    day = county.as_of.date()
    on_leave = {
        new.id
        for old, new in zip(county.lawyers, changed.lawyers, strict=True)
        if len(new.leave) == len(old.leave) + 1
    }
    assert len(on_leave) == round(0.1 * len(county.lawyers))
    for lw in changed.lawyers:
        if lw.id in on_leave:
            assert lw.leave[-1].start == day and (lw.leave[-1].end - day).days == 9
    held = {c.current_assignment.lawyer_id for c in changed.cases if c.current_assignment}
    assert not held & on_leave
    before = {c.current_assignment.lawyer_id for c in county.cases if c.current_assignment}
    assert before & on_leave  # this draw does hand some open cases over


def test_add_lawyers_adds_them_at_the_township(county: Problem, facts: BaselineFacts) -> None:
    """Tests that add_lawyers adds count lawyers per township, in new firms at the township
    centre, with the given areas and the baseline's typical capacity."""
    changed = _variant(
        county,
        facts,
        {
            "kind": "add_lawyers",
            "count": 2,
            "provider_kind": "grassroots_worker",
            "townships": ["T01", "T04"],
            "practice_areas": [{"area": "labour", "level": 3, "years": 4}],
        },
    )
    added = changed.lawyers[len(county.lawyers) :]
    assert len(added) == 4
    assert len(changed.firms) == len(county.firms) + 2
    typical = facts.typical[added[0].kind]
    for lw, town in zip(added, ["T01", "T01", "T04", "T04"], strict=True):
        assert (lw.location.lat, lw.location.lon) == facts.townships[town]
        assert [pa.area for pa in lw.practice_areas] == ["labour"]
        assert lw.capacity_hours == typical.capacity_hours
        assert lw.max_travel_km == typical.max_travel_km


def test_remove_capacity_policy_catalogue_eligibility(
    county: Problem, facts: BaselineFacts
) -> None:
    """Tests that removals clean every reference, capacity multiplies, and policy, catalogue
    and eligibility changes land where they say."""
    removed = _variant(
        county,
        facts,
        {"kind": "remove_lawyers", "share": 0.25, "provider_kinds": ["practising_lawyer"]},
    )
    n_practising = sum(lw.kind.value == "practising_lawyer" for lw in county.lawyers)
    assert len(removed.lawyers) == len(county.lawyers) - round(0.25 * n_practising)
    ids = {lw.id for lw in removed.lawyers}
    for c in removed.cases:
        refs = [c.prior_lawyer_id, *c.excluded_lawyer_ids, *c.complaint_lawyer_ids]
        if c.current_assignment:
            refs.append(c.current_assignment.lawyer_id)
        assert all(r is None or r in ids for r in refs)

    halved = _variant(
        county, facts, {"kind": "capacity", "hours_factor": 0.5, "provider_kinds": ["staff_lawyer"]}
    )
    for old, new in zip(county.lawyers, halved.lawyers, strict=True):
        want = (
            round(old.capacity_hours * 0.5 * 2) / 2
            if old.kind.value == "staff_lawyer"
            else old.capacity_hours
        )
        assert new.capacity_hours == want

    policy = _variant(
        county,
        facts,
        {
            "kind": "policy",
            "update": {
                "codefendants_same_firm_forbidden": True,
                "weights": {"travel_points_per_km": 25},
            },
        },
    )
    assert policy.policy.codefendants_same_firm_forbidden
    assert policy.policy.weights.travel_points_per_km == 25
    assert policy.policy.weights.unassigned_points == county.policy.weights.unassigned_points

    cat = _variant(
        county,
        facts,
        {"kind": "catalogue", "update": {"case_types": {"wage_claim": {"workload_hours": 30}}}},
    )
    assert cat.catalogue is not None and cat.catalogue.case_types["wage_claim"].workload_hours == 30

    wide = _variant(
        county,
        facts,
        {
            "kind": "eligibility",
            "case_types": ["administrative"],
            "allow_provider_kinds": ["volunteer"],
        },
        {"kind": "eligibility", "provider_kinds": ["grassroots_worker"], "max_travel_km": 45},
    )
    assert wide.catalogue is not None
    assert "volunteer" in wide.catalogue.case_types["administrative"].allowed_provider_kinds
    assert all(
        lw.max_travel_km == 45 for lw in wide.lawyers if lw.kind.value == "grassroots_worker"
    )


def test_samples_are_seeded_and_paired(county: Problem, facts: BaselineFacts) -> None:
    """Tests that demand samples are Poisson redraws fixed by the seed, differ between samples,
    and are shared by the baseline and a variant of the same sample."""
    spec = _spec(
        [
            {
                "name": "policy",
                "changes": [
                    {"kind": "policy", "update": {"codefendants_same_firm_forbidden": True}}
                ],
            }
        ],
        demand_noise="poisson",
        samples=2,
        seed=5,
    )
    a0, _ = build_problem(spec, county, facts, None, 0)
    b0, _ = build_problem(spec, county, facts, None, 0)
    a1, _ = build_problem(spec, county, facts, None, 1)
    v0, _ = build_problem(spec, county, facts, spec.variants[0], 0)
    assert a0.model_dump_json() == b0.model_dump_json()
    assert [c.id for c in a0.cases] != [c.id for c in a1.cases]
    assert [c.id for c in a0.cases] == [c.id for c in v0.cases]
    validate_problem(a1)
    counts = Counter(c.case_type for c in county.cases if c.current_assignment is None)
    redrawn = Counter(c.case_type for c in a1.cases if c.current_assignment is None)
    assert abs(sum(redrawn.values()) - sum(counts.values())) < 4 * sum(counts.values()) ** 0.5


def test_handover_when_a_pinned_lawyer_loses_capacity() -> None:
    """Tests that a pinned case whose lawyer a change makes ineligible is handed over and the
    changed problem still solves."""
    problem = generate_county("tiny", 3)
    case = next(c for c in problem.cases if c.current_assignment is None)
    plan, _, _ = solve_with_handover(problem, SearchParams(1.0, 1, 0, True))
    lawyer = next(a.lawyer_id for a in plan.assignments if a.case_id == case.id)
    pinned = case.model_copy(
        update={"current_assignment": CurrentAssignment(lawyer_id=lawyer, pinned=True)}
    )
    cases = [pinned if c.id == case.id else c for c in problem.cases]
    lawyers = [
        lw.model_copy(update={"capacity_hours": 0.0}) if lw.id == lawyer else lw
        for lw in problem.lawyers
    ]
    changed = problem.model_copy(update={"cases": cases, "lawyers": lawyers})
    plan, solved, notes = solve_with_handover(changed, SearchParams(1.0, 1, 0, True))
    assert notes and "handed over" in notes[0]
    assert next(c for c in solved.cases if c.id == case.id).current_assignment is None
    assert plan.verification is not None and plan.verification.passed


# -- the run ---------------------------------------------------------------------------------


def test_tiny_scenario_runs_end_to_end(tmp_path: Path) -> None:
    """Tests that `scenario run` solves a tiny 2-variant x 2-sample scenario and writes the
    HTML report (KPI and group tables, embedded charts), results.json and kpis.csv."""
    data = {
        "name": "tiny end to end",
        "description": "two variants on the unit-test county",
        "baseline": {"tier": "tiny", "seed": 3},
        "samples": 2,
        "seed": 11,
        "time_limit_s": 0.5,
        "variants": [
            {"name": "demand x2", "changes": [{"kind": "scale_demand", "factor": 2.0}]},
            {"name": "quarter on leave", "changes": [{"kind": "leave", "share": 0.25}]},
        ],
    }
    file = _write(tmp_path, "tiny.yaml", data)
    out = tmp_path / "report"
    result = runner.invoke(scenario_app, ["run", str(file), "--out", str(out)])
    assert result.exit_code == 0, result.output

    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('<img alt="') == 4
    assert html.count("data:image/png;base64,iVBOR") == 4  # PNG signature, base64
    assert "KPIs side by side" in html and "Assigned share by priority group" in html
    assert "results.json and kpis.csv beside this file" in html
    for name in ("baseline", "demand x2", "quarter on leave"):
        assert name in html

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    variants = {v["name"]: v for v in results["variants"]}
    assert list(variants) == ["baseline", "demand x2", "quarter on leave"]
    assert all(len(v["solves"]) == 2 for v in variants.values())
    base_cases = variants["baseline"]["kpis"]["cases"]["mean"]
    assert variants["demand x2"]["kpis"]["cases"]["mean"] == pytest.approx(2 * base_cases)
    assert variants["demand x2"]["delta_vs_baseline"]["cases"]["mean"] == pytest.approx(base_cases)
    assert (
        variants["quarter on leave"]["kpis"]["providers"]["mean"]
        < variants["baseline"]["kpis"]["providers"]["mean"]
    )

    with (out / "kpis.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * (2 + 3)
    assert {r["sample"] for r in rows} == {"1", "2", "mean", "std", "delta_mean"}


def test_cli_validate_reports_bad_file(tmp_path: Path) -> None:
    """Tests that `scenario validate` exits with code 2 and prints the path of the bad field."""
    data = {
        "name": "bad",
        "baseline": {"tier": "tiny"},
        "variants": [
            {
                "name": "v",
                "changes": [{"kind": "scale_demand", "factor": 1.2, "case_types": ["nope"]}],
            }
        ],
    }
    result = runner.invoke(scenario_app, ["validate", str(_write(tmp_path, "bad.yaml", data))])
    assert result.exit_code == 2
    assert "variants[0].changes[0].case_types" in result.output
    ok = runner.invoke(scenario_app, ["validate", str(LIBRARY[0])])
    assert ok.exit_code == 0, ok.output


def test_runs_are_reproducible_and_parallel_runs_agree() -> None:
    """Tests that the same scenario and seed give the same numbers, one solve at a time or two
    side by side in worker processes."""
    data = {
        "name": "repeat",
        "baseline": {"tier": "tiny", "seed": 5},
        "samples": 2,
        "seed": 3,
        "time_limit_s": 0.5,
        "variants": [{"name": "more", "changes": [{"kind": "scale_demand", "factor": 1.5}]}],
    }
    spec = scenario_from_data(data)
    seen: list[tuple[int, int]] = []
    first = run_scenario(spec, progress=lambda p: seen.append((p.done, p.total)))
    second = run_scenario(scenario_from_data({**data, "jobs": 2}))
    assert seen == [(k, 4) for k in range(1, 5)]

    def numbers(result: ScenarioResult) -> list[Any]:
        skip = {"solve_time_s"}
        return [
            (r.variant, r.sample, {k: v for k, v in r.kpis.items() if k not in skip}, r.travel_km)
            for s in result.summaries
            for r in s.records
        ]

    assert numbers(first) == numbers(second)


def test_run_stops_when_asked() -> None:
    """Tests that should_stop ends a run between solves with ScenarioCancelledError."""
    spec = scenario_from_data(
        {"name": "stop", "baseline": {"tier": "tiny", "seed": 5}, "samples": 3, "time_limit_s": 0.3}
    )
    asked: list[bool] = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 1  # let the first solve run, stop before the second

    with pytest.raises(ScenarioCancelledError, match="1 of 3"):
        run_scenario(spec, should_stop=stop)


def test_variants_sharing_a_change_share_its_draw(county: Problem, facts: BaselineFacts) -> None:
    """Tests that two variants starting with the same random change remove the same lawyers,
    so their difference comes from what differs between them."""
    shortage = {"kind": "remove_lawyers", "share": 0.3, "provider_kinds": ["practising_lawyer"]}
    extra = {"kind": "capacity", "hours_factor": 1.1}
    spec = _spec(
        [{"name": "a", "changes": [shortage]}, {"name": "b", "changes": [shortage, extra]}]
    )
    a, _ = build_problem(spec, county, facts, spec.variants[0], 0)
    b, _ = build_problem(spec, county, facts, spec.variants[1], 0)
    assert [lw.id for lw in a.lawyers] == [lw.id for lw in b.lawyers]
    assert len(a.lawyers) < len(county.lawyers)


def test_the_expected_demand_is_not_called_a_sample(county: Problem, facts: BaselineFacts) -> None:
    """Tests that the problem built without noise (what capacity planning plans for) is named
    the expected demand, and a Poisson sample by its number: capacity once called the expected
    demand "sample 1", which `run` solves with noise."""
    spec = _spec([], samples=2, demand_noise="poisson")
    sampled, _ = build_problem(spec, county, facts, None, 0)
    expected, _ = build_problem(spec, county, facts, None, 0, noise=False)
    assert sampled.name.endswith("/ baseline / sample 1")
    assert expected.name.endswith("/ baseline / expected demand")
    assert [c.id for c in expected.cases] == [c.id for c in county.cases]


def test_a_variant_without_lawyers_is_reported(tmp_path: Path) -> None:
    """Tests that a variant removing every lawyer (share 1.0) runs and is reported: no
    provider, every case unassigned for want of an eligible lawyer, and what is undefined
    without lawyers (utilisation, travel per assigned case, share of eligible cases) left
    empty rather than given as 0 or 100%; capacity planning for it says why it hires none
    and hires when told which kinds."""
    data = {
        "name": "nobody left",
        "baseline": {"tier": "tiny", "seed": 3},
        "samples": 1,
        "time_limit_s": 0.5,
        "variants": [{"name": "all gone", "changes": [{"kind": "remove_lawyers", "share": 1.0}]}],
    }
    file = _write(tmp_path, "gone.yaml", data)
    out = tmp_path / "report"
    result = runner.invoke(scenario_app, ["run", str(file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    gone = next(v for v in results["variants"] if v["name"] == "all gone")
    kpis = {k: v["mean"] for k, v in gone["kpis"].items()}
    assert kpis["providers"] == kpis["assigned"] == 0
    assert kpis["unassigned"] == kpis["no_eligible_lawyer"] == kpis["cases"] > 0
    for key in ("utilisation_mean", "utilisation_gini", "travel_km_mean"):
        assert kpis[key] is None and gone["delta_vs_baseline"][key]["mean"] is None
    assert kpis["assigned_share_of_eligible"] is None and kpis["assigned_share"] == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    text = re.sub(r'src="data:[^"]*"', "", html)  # the charts' base64
    assert "all gone" in text and re.search(r"\bnan\b", text, re.IGNORECASE) is None

    cap = runner.invoke(scenario_app, ["capacity", str(file), "--variant", "all gone"])
    assert cap.exit_code == 0, cap.output
    assert "no provider kind to hire" in cap.output
    data["capacity_planning"] = {"provider_kinds": ["staff_lawyer", "practising_lawyer"]}
    file = _write(tmp_path, "gone.yaml", data)
    cap = runner.invoke(scenario_app, ["capacity", str(file), "--variant", "all gone"])
    assert cap.exit_code == 0, cap.output
    assert "Recommended hires" in cap.output
