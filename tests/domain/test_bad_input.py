"""Tests that bad Problem input is refused whole with an error naming the record and field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from assigner.domain import InputError, load_problem


def valid() -> dict[str, Any]:
    return {
        "name": "bad-input",
        "as_of": "2026-03-02T09:00:00+08:00",
        "firms": [{"id": "F1", "name": "Firm one", "kind": "law_firm"}],
        "lawyers": [
            {
                "id": "L1",
                "name": "Li Na",
                "firm_id": "F1",
                "kind": "practising_lawyer",
                "location": {"lat": 34.3, "lon": 108.9},
                "practice_areas": [{"area": "labour", "level": 4, "years": 6}],
                "capacity_hours": 200,
                "max_open_cases": 10,
            }
        ],
        "cases": [
            {
                "id": "C1",
                "case_type": "wage_claim",
                "stage": "litigation",
                "location": {"lat": 34.31, "lon": 108.95},
                "received_at": "2026-03-01T10:00:00+08:00",
                "assign_by": "2026-03-04T10:00:00+08:00",
            },
            {
                "id": "C2",
                "case_type": "wage_claim",
                "stage": "litigation",
                "location": {"lat": 34.31, "lon": 108.95},
                "received_at": "2026-03-01T10:00:00+08:00",
                "assign_by": "2026-03-04T10:00:00+08:00",
            },
        ],
    }


def refused(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InputError) as info:
        load_problem(data)
    return [str(i) for i in info.value.issues]


def test_valid_document_loads() -> None:
    """Tests that the base document is accepted, so each refusal below has one cause."""
    problem = load_problem(valid())
    assert [c.id for c in problem.cases] == ["C1", "C2"]


def test_json_text_and_errors() -> None:
    """Tests that JSON text loads and broken JSON is refused with a message."""
    assert load_problem(json.dumps(valid())).name == "bad-input"
    with pytest.raises(InputError, match="not valid JSON"):
        load_problem("{not json")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["lawyers"][0].update(firm_id="F9"),
            "lawyers[0] (id L1).firm_id: unknown firm",
        ),
        (
            lambda d: d["cases"][1].update(id="C1"),
            "cases[1] (id C1).id: duplicate id: cases[0] has it too",
        ),
        (lambda d: d["lawyers"].append(copy.deepcopy(d["lawyers"][0])), "duplicate id"),
        (lambda d: d["firms"].append(copy.deepcopy(d["firms"][0])), "firms[1] (id F1).id"),
        (
            lambda d: d["cases"][0].update(linked_case_ids=["C2", "C2"]),
            "cases[0] (id C1).linked_case_ids: case 'C2' is listed 2 times",
        ),
        (lambda d: d.update(schema_version=99), "schema_version: Input should be 1"),
        (lambda d: d["lawyers"][0].update(capacity_hours=-5), "lawyers[0] (id L1).capacity_hours"),
        (lambda d: d["lawyers"][0].pop("max_open_cases"), "lawyers[0] (id L1).max_open_cases"),
        (lambda d: d["lawyers"][0]["location"].update(lat=95), "lawyers[0] (id L1).location.lat"),
        (lambda d: d["cases"][0]["location"].update(lon=-181), "cases[0] (id C1).location.lon"),
        (lambda d: d["cases"][0].update(case_type="piracy"), "cases[0] (id C1).case_type"),
        (lambda d: d["cases"][0].update(stage="appeal"), "cases[0] (id C1).stage"),
        (
            lambda d: d["lawyers"][0]["practice_areas"][0].update(area="tax"),
            "lawyers[0] (id L1).practice_areas.0.area: unknown practice area",
        ),
        (
            lambda d: d["cases"][0].update(assign_by="2026-02-01T10:00:00+08:00"),
            "cases[0] (id C1).assign_by: assign_by is before received_at",
        ),
        (lambda d: d["cases"][0].update(linked_case_ids=["C7"]), "linked_case_ids: unknown case"),
        (
            lambda d: d["cases"][0].update(current_assignment={"lawyer_id": "L7"}),
            "cases[0] (id C1).current_assignment.lawyer_id: unknown lawyer",
        ),
        (lambda d: d["cases"][0].update(priority_groups=["vip"]), "unknown priority group"),
        (lambda d: d["cases"][0].update(flags=["famous"]), "unknown case flag"),
        (lambda d: d["lawyers"][0].update(certifications=["tax"]), "unknown certification"),
        (lambda d: d["lawyers"][0].update(subsidy_class="gold"), "unknown subsidy class"),
        (lambda d: d["cases"][0].update(complaint_lawyer_ids=["L5"]), "complaint_lawyer_ids"),
        (lambda d: d["cases"][0].update(colour="red"), "cases[0] (id C1).colour"),
        # Limits that keep the engine's arithmetic exact (``assigner/domain/fields.py``).
        (
            lambda d: d["lawyers"][0].update(max_open_cases=2**31),
            "lawyers[0] (id L1).max_open_cases: Input should be less than or equal to 100000",
        ),
        (
            lambda d: d["lawyers"][0].update(capacity_hours=float("inf")),
            "lawyers[0] (id L1).capacity_hours: Input should be a finite number",
        ),
        (
            lambda d: d["cases"][0].update(workload_hours=float("nan")),
            "cases[0] (id C1).workload_hours: Input should be a finite number",
        ),
        (
            lambda d: d.update(as_of="0001-01-01T00:00:00Z"),
            "as_of: must not be before 1900-01-01",
        ),
        (
            lambda d: d.update(as_of="0001-01-01T00:00:00+08:00"),
            "as_of: must not be before 1900-01-01",
        ),
        (
            lambda d: d["lawyers"][0].update(leave=[{"start": "2026-03-05", "end": "2026-03-01"}]),
            "lawyers[0] (id L1).leave.0.end: leave end is before its start",
        ),
        (
            lambda d: d["firms"][0].update(id=" "),
            "firms[0] (id  ).id: must not be blank",
        ),
        (lambda d: d["firms"][0].update(id="F1 "), "must not start or end with white space"),
        (lambda d: d["lawyers"][0].update(id="L\u00001"), "contains the control character"),
        (lambda d: d["lawyers"][0].update(name="x" * 513), "lawyers[0] (id L1).name"),
        (lambda d: d["cases"][0].update(id="C" * 129), "at most 128 characters"),
        (
            lambda d: d.update(policy={"weights": {"travel_points_per_km": 10**20}}),
            "policy.weights.travel_points_per_km: Input should be less than or equal to 10000",
        ),
        (
            lambda d: d.update(policy={"weights": {"priority_group_multiplier": {"minor": -5}}}),
            "policy.weights.priority_group_multiplier.minor: Input should be greater than",
        ),
        (
            lambda d: d.update(policy={"weights": {"priority_group_multiplier": {"vip": 2}}}),
            "policy.weights.priority_group_multiplier.vip: unknown priority group 'vip'",
        ),
        (
            lambda d: d.update(
                policy={
                    "weights": {
                        "utilisation_bands": [
                            {"above_share": 0.9, "points_per_hour": 5},
                            {"above_share": 0.8, "points_per_hour": 5},
                        ]
                    }
                }
            ),
            "policy.weights.utilisation_bands: above_share must be increasing",
        ),
    ],
)
def test_refusals_name_record_and_field(mutate: Any, expected: str) -> None:
    """Tests that each kind of bad input is refused and the message names where it is."""
    data = valid()
    mutate(data)
    issues = refused(data)
    assert any(expected in i for i in issues), issues


def test_all_issues_reported_together() -> None:
    """Tests that several problems are listed at once, not only the first."""
    data = valid()
    data["lawyers"][0]["firm_id"] = "F9"
    data["cases"][0]["case_type"] = "piracy"
    issues = refused(data)
    assert len(issues) == 2


def test_side_must_fit_the_case_type_in_a_matter() -> None:
    """Tests that a civil case in a matter left on the default side (defendant) is refused
    naming the side field (both sides defaulting would read as co-defendants and hide the
    opposing-sides rule), and that claimant against respondent loads."""
    data = valid()
    for c in data["cases"]:
        c["matter_id"] = "W1"
    issues = refused(data)
    assert len(issues) == 2
    assert issues[0].startswith("cases[0] (id C1).side: side 'defendant' does not fit a labour")
    data["cases"][0]["side"] = "claimant"
    data["cases"][1]["side"] = "respondent"
    assert len(load_problem(data).cases) == 2


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    """Tests that a file that is not UTF-8 text, and a folder given as the file, are input
    errors naming the path (they were tracebacks)."""
    latin = tmp_path / "latin1.json"
    latin.write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8 text"):
        load_problem(latin)
    with pytest.raises(InputError, match="cannot be read") as info:
        load_problem(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_a_priority_group_may_weigh_less_than_no_group() -> None:
    """Tests that a priority group's multiplier below 1 is a policy the Problem accepts (only a
    negative one, or one above 10, is refused)."""
    data = valid()
    data["policy"] = {"weights": {"priority_group_multiplier": {"elderly": 0.5}}}
    problem = load_problem(data)
    assert problem.policy.weights.priority_group_multiplier == {"elderly": 0.5}
