"""Rebalancing through the service: started / pinned marks, the state export, rebalance jobs
kept for review, apply (all at once) or reject, 409 on a changed state, `assigner rebalance
--db`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import Role
from api.db import Database
from api.state_export import Scope, export_state
from cli.main import app as cli_app
from tests.api.conftest import Api, make_keys, put_on_leave, settings_for
from tests.api.test_jobs import wait_for


@pytest.fixture
def job_api(sqlite_url: str) -> Iterator[Api]:
    app = create_app(settings_for(sqlite_url, run_jobs=True, job_poll_s=0.1))
    with TestClient(app) as client:
        api = Api(client, make_keys(app.state.services.db))
        api.load_world()
        yield api


def _version(api: Api, case_id: str) -> int:
    return int(api.get(f"/v1/cases/{case_id}").json()["version"])


def _rebalance(api: Api, **params: Any) -> dict[str, Any]:
    r = api.post("/v1/jobs", json={"kind": "rebalance", "params": {"time_limit_s": 3, **params}})
    assert r.status_code == 202, r.text
    job = wait_for(api, r.json()["id"], {"succeeded", "failed"})
    assert job["status"] == "succeeded", job["error"]
    return job


def test_marks_are_versioned_audited_and_reset_by_a_new_assignment(world_api: Api) -> None:
    """Tests that PATCH marks the current assignment started / pinned with the case version
    (stale: 409; none: 428; unassigned: 404), audits the change, and a move to another lawyer
    starts unmarked."""
    assert world_api.mark("C1", started=True).status_code == 404  # not assigned yet
    assert world_api.assign("C1", "L2").status_code == 201
    r = world_api.mark("C1", started=True, note="first hearing held")
    assert r.status_code == 200, r.text
    assert (r.json()["started"], r.json()["pinned"]) == (True, False)
    assert r.headers["ETag"] == f'"{r.json()["case_version"]}"'
    assert world_api.get("/v1/cases/C1").json()["assignment"]["started"] is True
    stale = world_api.call(
        "PATCH",
        "/v1/cases/C1/assignment",
        json={"pinned": True},
        headers={"If-Match": '"1"'},
        role=Role.CASE_SYSTEM,
    )
    assert stale.status_code == 409
    assert stale.json()["reason"] == "stale_version"
    missing = world_api.call(
        "PATCH", "/v1/cases/C1/assignment", json={"pinned": True}, role=Role.CASE_SYSTEM
    )
    assert missing.status_code == 428
    read_only = world_api.call(
        "PATCH", "/v1/cases/C1/assignment", json={"pinned": True}, role=Role.READ_ONLY
    )
    assert read_only.status_code == 403
    entries = world_api.get("/v1/audit", params={"action": "assignment.flags"}).json()["items"]
    assert len(entries) == 1
    assert "first hearing held" in entries[0]["explanation"]
    assert world_api.assign("C1", "L5").status_code == 201
    moved = world_api.get("/v1/cases/C1").json()["assignment"]
    assert (moved["lawyer_id"], moved["started"], moved["pinned"]) == ("L5", False, False)


def test_full_state_export_carries_lawyers_marks_and_versions(world_api: Api) -> None:
    """Tests that the full export holds every case with its current lawyer, marks and version,
    and each lawyer's load net of the cases it contains (the engine adds those)."""
    assert world_api.assign("C1", "L2").status_code == 201
    assert world_api.mark("C1", pinned=True).status_code == 200
    db: Database = world_api.client.app.state.services.db  # type: ignore[union-attr]
    with db.transaction(write=False) as session:
        full = export_state(session, datetime.now(UTC), Scope.FULL)
        batch = export_state(session, datetime.now(UTC), Scope.BATCH)
    cases = {c.id: c for c in full.problem.cases}
    assert set(cases) == {"C1", "C2", "C3", "C4"}
    current = cases["C1"].current_assignment
    assert current is not None
    assert (current.lawyer_id, current.pinned, current.started) == ("L2", True, False)
    assert full.versions["C1"] == 3  # created, assigned, marked
    assert full.open_case_ids == {"C2", "C3", "C4"}
    l2 = next(lw for lw in full.problem.lawyers if lw.id == "L2")
    assert l2.current_load_hours == 0.0  # the 35 h of C1 are counted through C1 itself
    assert {c.id for c in batch.problem.cases} == {"C2", "C3", "C4"}


def test_rebalance_job_plan_is_reviewed_and_applied_all_at_once(job_api: Api) -> None:
    """Tests that a rebalance job plans from the stored state (a lawyer gone on leave forces
    a move; the backlog is assigned), keeps the plan pending review, and apply writes every
    move and assignment with audit entries; a second review is a 409."""
    assert job_api.assign("C1", "L2").status_code == 201
    put_on_leave(job_api, "L2", 14)
    job = _rebalance(job_api, max_moves=2)
    assert job["review_status"] == "pending"
    plan = job["result"]["rebalance"]
    assert plan["plan"]["verification"]["passed"] is True
    assert [(m["case_id"], m["from_lawyer_id"], m["kind"]) for m in plan["moves"]] == [
        ("C1", "L2", "lawyer_ineligible")
    ]
    target = plan["moves"][0]["to_lawyer_id"]
    assert target not in (None, "L2", "L1", "L4")  # L1 and L4 are conflicted on C1
    backlog = {a["case_id"]: a["lawyer_id"] for a in plan["new_assignments"]}
    assert set(backlog) <= {"C2", "C3", "C4"}
    assert job_api.get("/v1/cases/C1").json()["assignment"]["lawyer_id"] == "L2"  # not yet

    reader = job_api.post(f"/v1/jobs/{job['id']}/apply", json={}, role=Role.READ_ONLY)
    assert reader.status_code == 403
    r = job_api.post(f"/v1/jobs/{job['id']}/apply", json={"note": "checked by the desk"})
    assert r.status_code == 200, r.text
    applied = r.json()
    assert applied["review_status"] == "applied"
    assert applied["review_note"] == "checked by the desk"
    assert applied["result"]["applied"]["moved"] == 1
    assert applied["result"]["applied"]["assigned"] == len(backlog)
    assert job_api.get("/v1/cases/C1").json()["assignment"]["lawyer_id"] == target
    for case_id, lawyer_id in backlog.items():
        assert job_api.get(f"/v1/cases/{case_id}").json()["assignment"]["lawyer_id"] == lawyer_id
    hours = {lw["id"]: lw["assigned_hours"] for lw in job_api.get("/v1/lawyers").json()["items"]}
    assert hours["L2"] == 0.0
    moves = job_api.get("/v1/audit", params={"action": "rebalance.move"}).json()["items"]
    assert [e["entity_id"] for e in moves] == ["C1"]
    assert "lawyer" in moves[0]["explanation"] and "points" in moves[0]["explanation"]
    again = job_api.post(f"/v1/jobs/{job['id']}/apply")
    assert again.status_code == 409
    assert again.json()["reason"] == "reviewed"


def test_apply_is_refused_when_the_state_changed_and_the_plan_can_be_rejected(
    job_api: Api,
) -> None:
    """Tests that a change after planning (a case marked pinned) makes apply a 409
    state-changed naming the case, with nothing written; the plan is then rejected with a
    note, and a rejected plan cannot be applied."""
    assert job_api.assign("C1", "L2").status_code == 201
    job = _rebalance(job_api)
    before = {c: _version(job_api, c) for c in ("C1", "C2", "C3", "C4")}
    assert job_api.mark("C1", pinned=True).status_code == 200
    r = job_api.post(f"/v1/jobs/{job['id']}/apply")
    assert r.status_code == 409
    body = r.json()
    assert body["reason"] == "state-changed"
    assert any("C1" in change for change in body["changes"])
    after = {c: _version(job_api, c) for c in ("C1", "C2", "C3", "C4")}
    assert after == {**before, "C1": before["C1"] + 1}  # only the mark itself
    assert job_api.get("/v1/cases/C2").json()["assignment"] is None
    assert job_api.get(f"/v1/jobs/{job['id']}").json()["review_status"] == "pending"
    no_note = job_api.post(f"/v1/jobs/{job['id']}/reject", json={})
    assert no_note.status_code == 422
    rejected = job_api.post(f"/v1/jobs/{job['id']}/reject", json={"note": "C1 is pinned now"})
    assert rejected.status_code == 200
    assert rejected.json()["review_status"] == "rejected"
    assert job_api.post(f"/v1/jobs/{job['id']}/apply").json()["reason"] == "reviewed"


def test_review_of_other_jobs_is_refused(api: Api) -> None:
    """Tests that apply on a batch job, or on a rebalance job that has not run, is a 409 that
    says why, and an unknown job a 404."""
    batch = api.post("/v1/jobs", json={"kind": "batch_assignment"}).json()
    assert api.post(f"/v1/jobs/{batch['id']}/apply").json()["reason"] == "not-a-plan"
    queued = api.post("/v1/jobs", json={"kind": "rebalance"}).json()
    assert api.post(f"/v1/jobs/{queued['id']}/apply").json()["reason"] == "no-plan"
    assert api.post("/v1/jobs/nope/reject", json={"note": "x"}).status_code == 404
    bad = api.post("/v1/jobs", json={"kind": "rebalance", "params": {"max_moves": -1}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "params.max_moves"


def test_rebalance_command_plans_from_the_database_and_applies(world_api: Api) -> None:
    """Tests `assigner rebalance --db URL`: without --apply the plan is kept as a rebalance job
    pending review and nothing changes; with --apply the moves are written."""
    assert world_api.assign("C1", "L2").status_code == 201
    put_on_leave(world_api, "L2", 14)
    url = str(world_api.client.app.state.services.db.settings.database_url)  # type: ignore[union-attr]
    runner = CliRunner()
    planned = runner.invoke(cli_app, ["rebalance", "--db", url, "--time-limit", "3"])
    assert planned.exit_code == 0, planned.output
    jobs = world_api.get("/v1/jobs", params={"kind": "rebalance"}).json()["items"]
    assert [j["review_status"] for j in jobs] == ["pending"]
    assert world_api.get("/v1/cases/C1").json()["assignment"]["lawyer_id"] == "L2"
    done = runner.invoke(cli_app, ["rebalance", "--db", url, "--time-limit", "3", "--apply"])
    assert done.exit_code == 0, done.output
    assert "applied: 1 moves" in done.output
    assert world_api.get("/v1/cases/C1").json()["assignment"]["lawyer_id"] != "L2"
    statuses = sorted(
        j["review_status"]
        for j in world_api.get("/v1/jobs", params={"kind": "rebalance"}).json()["items"]
    )
    assert statuses == ["applied", "pending"]


def _scenario(**kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "leave in the service",
        "baseline": {"database_url": "service://"},
        "samples": 1,
        "time_limit_s": 1,
        "variants": [
            {"name": "L2 away", "changes": [{"kind": "leave", "lawyer_ids": ["L2"], "days": 14}]}
        ],
    }
    doc.update(kw)
    return doc


def test_scenario_documents_are_checked_on_submit(api: Api) -> None:
    """Tests that a scenario job with a bad field, a server file or another database as its
    baseline is a 422 naming the field, and nothing is queued."""
    cases = [
        (_scenario(samples=0), "params.scenario.samples"),
        (_scenario(baseline={"problem_file": "/etc/passwd"}), "params.scenario.baseline"),
        (
            _scenario(baseline={"database_url": "sqlite:///other.db"}),
            "params.scenario.baseline.database_url",
        ),
    ]
    for doc, field in cases:
        r = api.post("/v1/jobs", json={"kind": "scenario", "params": {"scenario": doc}})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"].startswith(field), r.json()
    assert api.get("/v1/jobs").json()["total"] == 0


def test_scenario_job_on_the_service_state_keeps_kpis_and_report(job_api: Api) -> None:
    """Tests that a scenario job on the stored state runs the baseline and the variant,
    reports progress as solves done of all, keeps the KPIs per variant and serves the HTML
    report with its charts embedded."""
    r = job_api.post("/v1/jobs", json={"kind": "scenario", "params": {"scenario": _scenario()}})
    assert r.status_code == 202, r.text
    job = wait_for(job_api, r.json()["id"], {"succeeded", "failed"})
    assert job["status"] == "succeeded", job["error"]
    assert (job["progress"]["done"], job["progress"]["total"]) == (2, 2)
    variants = {v["name"]: v for v in job["result"]["scenario"]["variants"]}
    assert len(variants) == 2 and "L2 away" in variants
    assert job["result"]["report"] == f"/v1/jobs/{job['id']}/report"
    report = job_api.get(job["result"]["report"], role=Role.READ_ONLY)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "data:image/png;base64" in report.text and "L2 away" in report.text
    # It says where its numbers are: the job's result, not files a job does not have.
    assert "every number is in the job's result" in report.text
    assert "beside this file" not in report.text
    assert job_api.get("/v1/jobs/nope/report").status_code == 404


def test_scenario_command_reads_a_service_database(world_api: Api, tmp_path: Any) -> None:
    """Tests that `assigner scenario run` with `database_url: sqlite:///...` reads the stored
    state through the service's exporter (the four stored cases are the baseline)."""
    import json

    url = str(world_api.client.app.state.services.db.settings.database_url)  # type: ignore[union-attr]
    spec = tmp_path / "s.json"
    doc = _scenario(baseline={"database_url": url}, demand_noise="none")
    spec.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli_app, ["scenario", "run", str(spec), "--out", str(out)])
    assert r.exit_code == 0, r.output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    baseline = results["variants"][0]
    assert baseline["kpis"]["cases"]["mean"] == 4


def test_snapshot_of_an_empty_or_foreign_database_is_refused(tmp_path: Any) -> None:
    """Tests that a scenario baseline on a database that is not the service's says so."""
    from api.state_export import snapshot_from_url
    from scenarios.whatif.errors import SnapshotUnavailableError

    with pytest.raises(SnapshotUnavailableError, match="no such database file"):
        snapshot_from_url(f"sqlite:///{tmp_path / 'missing.db'}")
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(SnapshotUnavailableError, match="not a service database"):
        snapshot_from_url(f"sqlite:///{tmp_path / 'empty.db'}")


def test_rebalance_job_with_apply_writes_without_review(job_api: Api) -> None:
    """Tests that a rebalance job submitted with apply: true applies its plan when it ends
    (the nightly path without review) and records that no one reviewed it."""
    assert job_api.assign("C1", "L2").status_code == 201
    put_on_leave(job_api, "L2", 14)
    job = _rebalance(job_api, apply=True)
    assert job["review_status"] == "applied"
    assert "without review" in job["review_note"]
    assert job["result"]["applied"]["moved"] == 1
    assert job_api.get("/v1/cases/C1").json()["assignment"]["lawyer_id"] != "L2"
    audit = job_api.get("/v1/audit", params={"action": "rebalance.move"}).json()["items"]
    assert audit[0]["actor"].startswith(f"job {job['id']}")
