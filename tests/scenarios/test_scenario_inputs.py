"""Tests of what a scenario file and the command line may give (scenarios/whatif/spec.py,
cli.py, baseline.py): refusals that name the file, the field and its line instead of a
traceback or a run that never ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from scenarios import generate_county
from scenarios.whatif import ScenarioError, load_scenario
from scenarios.whatif.baseline import load_snapshot
from scenarios.whatif.cli import scenario_app

runner = CliRunner()

TINY: dict[str, Any] = {
    "name": "tiny inputs",
    "baseline": {"tier": "tiny", "seed": 3},
    "samples": 1,
    "time_limit_s": 0.5,
    "variants": [{"name": "more", "changes": [{"kind": "scale_demand", "factor": 1.2}]}],
}


def _write_text(tmp_path: Path, name: str, text: str) -> Path:
    file = tmp_path / name
    file.write_text(text, encoding="utf-8")
    return file


def _refusal(file: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(file)
    return caught.value


def _no_solve(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("solved with a refused option")


# -- --time-limit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("inf", "finite number"),
        ("1e309", "finite number"),
        ("nan", ""),
        ("5000", "less than or equal to 3600"),
    ],
)
def test_run_time_limit_is_checked_as_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    """Tests that `scenario run --time-limit` takes the file's bounds (finite, at most 3600 s):
    inf, 1e309, nan and 5000 exit with code 2 before any solve."""
    monkeypatch.setattr("scenarios.whatif.runner.run_scenario", _no_solve)
    file = _write_text(tmp_path, "s.yaml", yaml.safe_dump(TINY))
    args = ["run", str(file), "--time-limit", value, "--out", str(tmp_path / "out")]
    result = runner.invoke(scenario_app, args)
    assert result.exit_code == 2, result.output
    assert "--time-limit" in result.output and message in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["inf", "1e309"])
def test_capacity_time_limit_is_checked_as_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Tests that `scenario capacity --time-limit inf` exits with code 2 before planning."""
    monkeypatch.setattr("scenarios.capacity.plan_capacity", _no_solve)
    file = _write_text(tmp_path, "s.yaml", yaml.safe_dump(TINY))
    result = runner.invoke(scenario_app, ["capacity", str(file), "--time-limit", value])
    assert result.exit_code == 2, result.output
    assert "--time-limit: Input should be a finite number" in result.output


def test_run_samples_and_jobs_are_checked_as_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that `--samples` and `--jobs` take the file's upper bounds too."""
    monkeypatch.setattr("scenarios.whatif.runner.run_scenario", _no_solve)
    file = _write_text(tmp_path, "s.yaml", yaml.safe_dump(TINY))
    args = ["run", str(file), "--samples", "5000", "--jobs", "500", "--out", str(tmp_path / "o")]
    result = runner.invoke(scenario_app, args)
    assert result.exit_code == 2, result.output
    assert "--samples: Input should be less than or equal to 1000" in result.output
    assert "--jobs: Input should be less than or equal to 64" in result.output


def test_time_limit_in_the_file_must_be_finite(tmp_path: Path) -> None:
    """Tests that `time_limit_s: .nan` (and .inf) is refused as not a finite number, naming
    the field and its line, and so is an infinite number elsewhere (a travel limit)."""
    for value in (".nan", ".inf"):
        text = yaml.safe_dump({k: v for k, v in TINY.items() if k != "time_limit_s"})
        file = _write_text(tmp_path, "s.yaml", text + f"time_limit_s: {value}\n")
        issue = _refusal(file).issues[0]
        assert (issue.path, issue.message) == ("time_limit_s", "Input should be a finite number")
        assert issue.line == len(text.splitlines()) + 1
    change = {"kind": "eligibility", "max_travel_km": float("inf")}
    data = {**TINY, "variants": [{"name": "far", "changes": [change]}]}
    file = _write_text(tmp_path, "s.json", json.dumps(data))
    issue = _refusal(file).issues[0]
    assert issue.path == "variants[0].changes[0].max_travel_km"
    assert issue.message == "Input should be a finite number"


# -- the file's text -------------------------------------------------------------------------


def test_a_file_not_in_utf8_is_refused_by_name(tmp_path: Path) -> None:
    """Tests that a scenario file in UTF-16 (starting with bytes FF FE) exits with code 2 and
    says it is not UTF-8 text, naming the file."""
    file = tmp_path / "utf16.yaml"
    file.write_bytes(yaml.safe_dump(TINY).encode("utf-16"))
    assert file.read_bytes()[:2] == b"\xff\xfe"
    result = runner.invoke(scenario_app, ["validate", str(file)])
    assert result.exit_code == 2, result.output
    assert str(file) in result.output and "not UTF-8 text" in result.output
    assert "not UTF-8 text (byte 0)" in _refusal(file).issues[0].message


def test_an_impossible_date_names_its_field_and_line(tmp_path: Path) -> None:
    """Tests that `start: 2026-13-45` (a date by YAML's pattern, but no such month) is refused
    at variants[0].changes[0].start and its line, and `validate` exits with code 2."""
    text = yaml.safe_dump({k: v for k, v in TINY.items() if k != "variants"}) + (
        "variants:\n  - name: v\n    changes:\n      - kind: leave\n        start: 2026-13-45\n"
    )
    file = _write_text(tmp_path, "s.yaml", text)
    issue = _refusal(file).issues[0]
    assert issue.path == "variants[0].changes[0].start"
    assert issue.line == len(text.splitlines())
    assert "'2026-13-45' is not a valid date" in issue.message
    result = runner.invoke(scenario_app, ["validate", str(file)])
    assert result.exit_code == 2, result.output
    assert "variants[0].changes[0].start" in result.output


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        (
            "variants:\n  - name: v\n    changes:\n"
            "      - {kind: scale_demand, factor: 2, factor: 0.5}\n",
            "variants[0].changes[0].factor",
            4,
        ),
        ("samples: 1\nvariants: []\nsamples: 2\n", "samples", 3),
    ],
)
def test_a_key_given_twice_is_refused(tmp_path: Path, text: str, path: str, line: int) -> None:
    """Tests that a YAML key given twice in one mapping is refused naming the key and its
    line (YAML loaders keep the last silently); a merge key (<<) may still be overridden."""
    head = "name: dup\nbaseline: {tier: tiny, seed: 3}\n"
    issue = _refusal(_write_text(tmp_path, "s.yaml", head + text)).issues[0]
    assert issue.path == path and issue.line == line + 2
    assert f"the key '{path.rsplit('.', 1)[-1]}' is given twice" in issue.message

    merged = head + (
        "samples: 1\n"
        "variants:\n"
        "  - name: v\n"
        "    changes:\n"
        "      - &more {kind: scale_demand, factor: 2}\n"
        "  - name: w\n"
        "    changes:\n"
        "      - <<: *more\n"
        "        factor: 3\n"
    )
    spec = load_scenario(_write_text(tmp_path, "m.yaml", merged))
    assert [v.changes[0].factor for v in spec.variants] == [2, 3]  # type: ignore[union-attr]


def test_a_json_key_given_twice_is_refused(tmp_path: Path) -> None:
    """Tests that a JSON scenario with a key given twice in one object is refused naming it."""
    text = json.dumps(TINY)[:-1] + ', "samples": 2}'
    issue = _refusal(_write_text(tmp_path, "s.json", text)).issues[0]
    assert "the key 'samples' is given twice" in issue.message


# -- database baselines ----------------------------------------------------------------------


def test_a_database_url_is_read_by_its_scheme(tmp_path: Path) -> None:
    """Tests that `sqlite:////x.json` goes to the database reader (its path's suffix does not
    make it a snapshot file), while `file:x.json` and a bare x.json path are snapshot files."""
    problem = generate_county("tiny", 2)
    dump = tmp_path / "x.json"
    dump.write_text(problem.model_dump_json(), encoding="utf-8")
    seen: list[str] = []

    def loader(url: str) -> Any:
        seen.append(url)
        return problem

    url = f"sqlite:///{dump}"
    assert load_snapshot(url, loader=loader) is problem and seen == [url]
    assert load_snapshot(f"file:{dump}", loader=loader) == problem
    assert load_snapshot(f"file://{dump}", loader=loader) == problem
    assert load_snapshot(str(dump), loader=loader) == problem
    assert seen == [url]


def test_the_services_own_state_url_is_explained_on_the_command_line(tmp_path: Path) -> None:
    """Tests that `database_url: service://`, which only a scenario job of the service reads,
    is refused by `assigner scenario validate` saying so (exit 2), not with the database
    driver's words."""
    from cli.main import app

    file = tmp_path / "svc.yaml"
    file.write_text(
        yaml.safe_dump({"name": "svc", "baseline": {"database_url": "service://"}}),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["scenario", "validate", str(file)])
    assert result.exit_code == 2, result.output
    assert "baseline.database_url" in result.output
    assert "scenario job" in result.output
    assert "plugin" not in result.output


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("capacity_hours", 1e9),
        ("max_open_cases", 10**9),
        ("max_travel_km", 1e6),
        ("practice_areas", [{"area": "family", "years": 1e9}]),
    ],
)
def test_new_providers_stay_within_the_records_limits(
    tmp_path: Path, field: str, value: Any
) -> None:
    """Tests that new providers of a what-if are held to the limits every lawyer record is
    (hours, open cases, distance, years), so that a scenario that passes its check cannot fail
    later when its variant is built."""
    change = {
        "kind": "add_lawyers",
        "count": 1,
        "provider_kind": "practising_lawyer",
        "practice_areas": [{"area": "family"}],
        field: value,
    }
    doc = {**TINY, "variants": [{"name": "hire", "changes": [change]}]}
    issue = _refusal(_write_text(tmp_path, "s.json", json.dumps(doc))).issues[0]
    assert issue.path.startswith(f"variants[0].changes[0].{field}"), issue
    assert "less than or equal to" in issue.message


def test_a_negative_hiring_cost_is_refused(tmp_path: Path) -> None:
    """Tests that capacity planning refuses a negative yearly cost per capacity hour."""
    doc = {**TINY, "capacity_planning": {"cost_cny_per_hour": {"practising_lawyer": -5}}}
    issue = _refusal(_write_text(tmp_path, "s.json", json.dumps(doc))).issues[0]
    assert issue.path.startswith("capacity_planning.cost_cny_per_hour"), issue
