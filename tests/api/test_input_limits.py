"""Tests that input past the service's limits (far-future or ancient times, ids a URL cannot
carry, unbounded job parameters) is answered 422 naming the field, never 500 later; that a
lawyer, firm or case read with GET can be sent back; and that a job's failure is logged with its
traceback."""

from __future__ import annotations

import json
import logging
import multiprocessing
from typing import Any

import pytest

from api import job_worker
from api.auth import Role
from api.schemas import MAX_MOVES, CaseWrite, FirmWrite, LawyerWrite
from assigner.domain import Case, Firm, Lawyer
from tests.api import world
from tests.api.conftest import Api

FAR_FUTURE = "9999-12-31T23:59:59Z"


def fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_far_future_case_is_refused_naming_the_field(world_api: Api) -> None:
    """Tests that a case due in year 9999 is refused at the PUT and at the import (naming the
    row), instead of breaking every later read of the caseload in a time zone east of UTC."""
    r = world_api.put(
        "/v1/cases/CX", json=world.case("CX", assign_by=FAR_FUTURE), role=Role.CASE_SYSTEM
    )
    assert r.status_code == 422, r.text
    assert fields(r) == ["assign_by"]
    assert "must be before 9000-01-01" in r.text

    rows = [world.case("CY"), world.case("CZ", assign_by=FAR_FUTURE)]
    r = world_api.post("/v1/cases/import", json=rows, role=Role.CASE_SYSTEM)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["created"] == 1
    [rejected] = report["rejected"]
    assert (rejected["row"], rejected["id"]) == (2, "CZ")
    assert [e["field"] for e in rejected["errors"]] == ["assign_by"]


def test_far_future_leave_is_refused(world_api: Api) -> None:
    """Tests that a lawyer's leave ending in year 9999 is refused, naming the field."""
    doc = world.lawyer("L9", "F2", leave=[{"start": "2026-01-01", "end": "9999-12-31"}])
    r = world_api.put("/v1/lawyers/L9", json=doc)
    assert r.status_code == 422, r.text
    assert fields(r) == ["leave.0.end"]


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("9999-12-31T23:00:00Z", "must be before 9000-01-01"),
        ("0001-01-02T00:00:00Z", "must not be before 1900-01-01"),
    ],
)
def test_solve_refuses_a_moment_out_of_range(api: Api, as_of: str, message: str) -> None:
    """Tests that POST /v1/solve with a problem dated past either end, in the zone furthest
    east of UTC, is a 422 naming as_of."""
    problem = {
        "as_of": as_of,
        "policy": {"timezone": "Pacific/Kiritimati"},
        "firms": world.firms(),
        "lawyers": world.lawyers(),
        "cases": [],
    }
    r = api.post("/v1/solve", json=problem)
    assert r.status_code == 422, r.text
    assert fields(r) == ["as_of"]
    assert message in r.text


@pytest.mark.parametrize("path", ["recommendations", "conflict-check"])
@pytest.mark.parametrize(
    "as_of",
    ["0001-01-02T00:00:00Z", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+08:00"],
)
def test_recommendations_refuse_as_of_out_of_range(world_api: Api, path: str, as_of: str) -> None:
    """Tests that an as_of past either end is a 422 naming as_of, not a date overflow inside
    the conflict rules (which look a year back)."""
    r = world_api.post(f"/v1/cases/C1/{path}", json={"as_of": as_of}, role=Role.CASE_SYSTEM)
    assert r.status_code == 422, r.text
    assert fields(r) == ["as_of"]


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_recommendations_at_the_last_moment(world_api: Api, timezone: str) -> None:
    """Tests that the last accepted moment is answered in the zones furthest east and west of
    UTC, and that a case due then can be assigned."""
    policy = world_api.get("/v1/policy").json()["policy"]
    r = world_api.post(
        "/v1/policy/versions",
        json={"policy": {**policy, "timezone": timezone}, "note": "far zone"},
    )
    assert r.status_code == 201, r.text
    last = "8999-12-31T23:59:59Z"
    r = world_api.put("/v1/cases/CX", json=world.case("CX", assign_by=last), role=Role.CASE_SYSTEM)
    assert r.status_code == 201, r.text
    for path in ("recommendations", "conflict-check"):
        r = world_api.post(f"/v1/cases/CX/{path}", json={"as_of": last}, role=Role.CASE_SYSTEM)
        assert r.status_code == 200, r.text
    assert world_api.assign("CX", "L2").status_code in (200, 201)


@pytest.mark.parametrize(
    ("case_id", "code_point"),
    [
        ("2025/0107", "U+002F"),
        ("C\u200b1", "U+200B"),
        ("C\u202e1", "U+202E"),
        ("C\ufeff1", "U+FEFF"),
        ("C\u00a01", "U+00A0"),
        ("C\u30001", "U+3000"),
    ],
)
def test_import_refuses_ids_a_url_cannot_carry(api: Api, case_id: str, code_point: str) -> None:
    """Tests that an id with "/" (every /v1/cases/{id} route would miss it), an invisible
    format character or a space other than the plain one is refused, naming the row, the field
    and the character."""
    r = api.post("/v1/cases/import", json=[world.case(case_id)], role=Role.CASE_SYSTEM)
    assert r.status_code == 200, r.text
    [rejected] = r.json()["rejected"]
    assert rejected["row"] == 1
    [error] = rejected["errors"]
    assert error["field"] == "id"
    assert code_point in error["message"]


def test_an_id_with_a_plain_space_inside_is_reachable(api: Api) -> None:
    """Tests that a docket number with a plain space ("2025 Civ 107") is kept and its routes
    find it (the URL carries the space as %20)."""
    r = api.post("/v1/cases/import", json=[world.case("2025 Civ 107")], role=Role.CASE_SYSTEM)
    assert r.status_code == 200 and r.json()["rejected"] == [], r.text
    assert api.get("/v1/cases/2025%20Civ%20107").json()["id"] == "2025 Civ 107"


def test_put_refuses_an_invisible_character_in_the_id(api: Api) -> None:
    """Tests that a PUT whose id holds a zero-width space is a 422 naming the id."""
    r = api.put("/v1/firms/F\u200b1", json={"id": "F\u200b1", "name": "Firm", "kind": "law_firm"})
    assert r.status_code == 422, r.text
    assert fields(r) == ["id"]
    assert "U+200B ZERO WIDTH SPACE" in r.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"max_moves_per_lawyer": 10**30}, "params.max_moves_per_lawyer"),
        ({"max_moves": MAX_MOVES + 1}, "params.max_moves"),
        ({"max_moves": 2**63}, "params.max_moves"),
    ],
)
def test_rebalance_params_have_upper_bounds(api: Api, params: dict[str, Any], field: str) -> None:
    """Tests that a move budget past the bound is a 422 at submission naming the field, not a
    job that fails later with an overflow."""
    r = api.post("/v1/jobs", json={"kind": "rebalance", "params": params})
    assert r.status_code == 422, r.text
    assert fields(r) == [field]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e400"])
def test_a_time_limit_that_is_not_a_finite_number_is_refused_as_such(api: Api, value: str) -> None:
    """Tests that a job's time limit of NaN or infinity (JSON's non-standard literals, or a
    number too large for a float) is a 422 saying it must be finite, not that it is too
    large."""
    body = '{"kind": "rebalance", "params": {"time_limit_s": ' + value + "}}"
    r = api.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "params.time_limit_s"
    assert "finite" in error["message"]


def test_rebalance_params_at_the_bound_are_accepted(api: Api) -> None:
    """Tests that the bound itself is a valid budget."""
    params = {"max_moves": MAX_MOVES, "max_moves_per_lawyer": MAX_MOVES}
    r = api.post("/v1/jobs", json={"kind": "rebalance", "params": params})
    assert r.status_code == 202, r.text


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("batch_assignment", {"time_limit_s": 1e300}, "params.time_limit_s"),
        ("batch_assignment", {"seed": 2**31}, "params.seed"),
        ("batch_assignment", {"workers": 10**30}, "params.workers"),
        ("rebalance", {"time_limit_s": 3601}, "params.time_limit_s"),
    ],
)
def test_solve_settings_have_upper_bounds(
    api: Api, kind: str, params: dict[str, Any], field: str
) -> None:
    """Tests that every solver setting of a job has an upper bound checked at submission."""
    r = api.post("/v1/jobs", json={"kind": kind, "params": params})
    assert r.status_code == 422, r.text
    assert fields(r) == [field]


@pytest.mark.parametrize(
    ("path", "write", "domain"),
    [
        ("/v1/lawyers/L1", LawyerWrite, Lawyer),
        ("/v1/firms/F1", FirmWrite, Firm),
        ("/v1/cases/C1", CaseWrite, Case),
    ],
)
def test_write_shapes_take_a_document_read_back(
    world_api: Api, path: str, write: Any, domain: Any
) -> None:
    """Tests that a GET document, with its read-only fields (version, times, the service's
    loads, the assignment), is taken by the write shape and gives exactly the engine's record;
    an unknown field is still refused."""
    world_api.assign("C1", "L2")
    doc = world_api.get(path).json()
    record = write.model_validate(doc).record()
    assert type(record) is domain
    read_only = set(write.model_fields) - set(domain.model_fields)
    assert read_only and read_only <= doc.keys()
    assert record == domain.model_validate({k: v for k, v in doc.items() if k not in read_only})
    assert read_only.isdisjoint(write.model_validate(doc).model_dump())
    with pytest.raises(ValueError, match="Extra inputs"):
        write.model_validate({**doc, "assigned_hourz": 1})


def test_a_failed_job_logs_its_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Tests that an unexpected failure in a job's solve is logged with its traceback and the
    job's process name, while the message the job keeps is unchanged."""
    monkeypatch.setattr(job_worker, "_die_with_parent", lambda parent_pid: None)
    problem = {"as_of": "2026-03-02T09:00:00Z", "firms": [], "lawyers": [], "cases": []}
    receiver, sender = multiprocessing.Pipe(duplex=False)
    with caplog.at_level(logging.ERROR, logger=job_worker.__name__):
        job_worker.run_rebalance(sender, json.dumps(problem), {}, {}, 0)  # no solver settings
    assert receiver.recv() == ("error", "KeyError: 'time_limit_s'")
    [entry] = [r for r in caplog.records if r.name == job_worker.__name__]
    assert entry.exc_info is not None and entry.exc_info[0] is KeyError
    assert multiprocessing.current_process().name in entry.getMessage()
