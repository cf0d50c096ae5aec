"""Jobs in-process: submit (202), progress, result kept, apply, cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api import world
from tests.api.conftest import Api, make_keys, settings_for


@pytest.fixture
def job_api(sqlite_url: str) -> Iterator[Api]:
    """The app with its job runner on."""
    app = create_app(settings_for(sqlite_url, run_jobs=True, job_poll_s=0.1))
    with TestClient(app) as client:
        api = Api(client, make_keys(app.state.services.db))
        api.load_world()
        yield api


def wait_for(api: Api, job_id: str, statuses: set[str], timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")


def test_batch_job_runs_keeps_its_result_and_applies(job_api: Api) -> None:
    """Tests that a batch assignment job answers 202 with a Location, runs to success with
    progress (objective, bound, gap, elapsed), keeps the verified plan, and with apply commits
    the assignments through the checked path."""
    r = job_api.post(
        "/v1/jobs", json={"kind": "batch_assignment", "params": {"time_limit_s": 3, "apply": True}}
    )
    assert r.status_code == 202
    assert r.headers["Location"] == f"/v1/jobs/{r.json()['id']}"
    job = wait_for(job_api, r.json()["id"], {"succeeded", "failed"})
    assert job["status"] == "succeeded", job["error"]
    assert job["attempts"] == 1
    progress = job["progress"]
    assert {"objective", "bound", "gap", "elapsed_s"} <= set(progress)
    plan = job["result"]["plan"]
    assert plan["verification"]["passed"] is True
    applied = job["result"]["applied"]
    assert len(applied["applied"]) == len(plan["assignments"]) == 4
    counts = {"cases": 4, "assigned": 4, "held_back": 0, "unassigned": 0}
    assert job["result"]["open_cases"] == counts
    assert applied["skipped"] == []
    for a in plan["assignments"]:
        case = job_api.get(f"/v1/cases/{a['case_id']}").json()
        assert case["assignment"]["lawyer_id"] == a["lawyer_id"]
    listed = job_api.get("/v1/jobs", params={"status": "succeeded"}).json()
    assert [j["id"] for j in listed["items"]] == [job["id"]]
    again = job_api.post("/v1/jobs", json={"kind": "batch_assignment"}).json()
    done = wait_for(job_api, again["id"], {"succeeded", "failed"})
    assert done["result"] == {"plan": None, "note": "no unassigned cases"}


def test_cancel_a_queued_job(api: Api) -> None:
    """Tests that a queued job (no runner here) is cancelled at once, and a second cancel is a
    409: the job has finished."""
    job = api.post("/v1/jobs", json={"kind": "batch_assignment"}).json()
    assert job["status"] == "queued"
    r = api.post(f"/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 202
    assert r.json()["status"] == "cancelled"
    again = api.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["reason"] == "finished"
    assert api.get("/v1/jobs/nope").status_code == 404
    bad = api.post("/v1/jobs", json={"kind": "tidy_up"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "kind"
    no_scenario = api.post("/v1/jobs", json={"kind": "scenario"})
    assert no_scenario.status_code == 422
    assert no_scenario.json()["errors"][0]["field"] == "params"


def test_job_submission_errors_name_body_fields(api: Api) -> None:
    """Tests that a job submission's 422 names fields as paths in the body sent (no kind tag
    in front), lists the kinds as plain values for an unknown kind, and says that a missing
    kind is required."""
    bad = api.post("/v1/jobs", json={"kind": "batch_assignment", "params": {"time_limit_s": -1}})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["params.time_limit_s"]
    extra = api.post("/v1/jobs", json={"kind": "rebalance", "params": {"max_moves": 1, "x": 1}})
    assert [e["field"] for e in extra.json()["errors"]] == ["params.x"]
    seed = api.post("/v1/jobs", json={"kind": "batch_assignment", "params": {"seed": 2**31}})
    assert [e["field"] for e in seed.json()["errors"]] == ["params.seed"]  # the solvers' range
    unknown = api.post("/v1/jobs", json={"kind": "nope"})
    assert unknown.json()["errors"] == [
        {
            "field": "kind",
            "message": "Input should be 'batch_assignment', 'rebalance' or 'scenario', not 'nope'",
            "in": "body",
        }
    ]
    missing = api.post("/v1/jobs", json={"params": {}})
    assert missing.json()["errors"] == [
        {
            "field": "kind",
            "message": "Field required: one of 'batch_assignment', 'rebalance' or 'scenario'",
            "in": "body",
        }
    ]
    assert "JobKind" not in unknown.text + missing.text


def test_report_of_a_job_that_is_not_a_scenario_is_409(api: Api) -> None:
    """Tests that asking for the report of a batch job answers 409 no-report (the job has no
    report), as does a scenario job that has not run, and an unknown job 404."""
    batch = api.post("/v1/jobs", json={"kind": "batch_assignment"}).json()
    r = api.get(f"/v1/jobs/{batch['id']}/report")
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/no-report"
    assert r.json()["reason"] == "no-report"
    assert "batch_assignment job" in r.json()["detail"]
    scenario = {
        "name": "leave",
        "baseline": {"tier": "tiny", "seed": 1},
        "samples": 1,
        "time_limit_s": 1,
        "variants": [{"name": "leave", "changes": [{"kind": "leave", "share": 0.1, "days": 14}]}],
    }
    queued = api.post("/v1/jobs", json={"kind": "scenario", "params": {"scenario": scenario}})
    assert queued.status_code == 202, queued.text
    waiting = api.get(f"/v1/jobs/{queued.json()['id']}/report")
    assert waiting.status_code == 409
    assert "queued" in waiting.json()["detail"]
    assert api.get("/v1/jobs/nope/report").status_code == 404


def test_job_progress_reports_the_plans_gap() -> None:
    """Tests that a job's progress gives the gap as the plan does, leaving out the penalties
    no plan can avoid (it once divided by the whole objective: 25% here instead of 50%)."""
    from multiprocessing import Pipe

    from api.job_worker import _solver_progress
    from assigner.search.cpsat import Progress

    receiving, sending = Pipe(duplex=False)
    _solver_progress(sending)(Progress(200, 150.0, 1.0, "lp rounding", constant_points=100))
    kind, report = receiving.recv()
    assert kind == "progress"
    assert report["gap"] == 0.5
    assert (report["objective"], report["bound"], report["phase"]) == (200, 150.0, "lp rounding")


def test_batch_holds_back_the_cases_of_a_related_case_its_lawyer_cannot_hold(
    job_api: Api,
) -> None:
    """Tests that when an assigned case related to an open one (same matter) can no longer be
    held by its lawyer, after an edit the service allows (the case is not started), the batch
    job still assigns every other open case, holds back the related open case naming the
    assigned case, its lawyer and the engine's reason, and leaves the assigned case where it is
    (it failed whole before, and no one's case was assigned that night)."""
    assert job_api.assign("C3", "L2").status_code == 201  # matter M1; C4 of M1 stays open
    family_only = world.lawyer(
        "L2",
        "F2",
        kind="staff_lawyer",
        subsidy_class="staff",
        practice_areas=[{"area": "family", "level": 4, "years": 6}],
    )
    assert job_api.put("/v1/lawyers/L2", json=family_only).status_code == 200
    r = job_api.post(
        "/v1/jobs", json={"kind": "batch_assignment", "params": {"time_limit_s": 2, "apply": True}}
    )
    job = wait_for(job_api, r.json()["id"], {"succeeded", "failed"})
    assert job["status"] == "succeeded", job["error"]
    [held] = job["result"]["held_back"]
    assert (held["case_id"], held["related_case_id"], held["lawyer_id"]) == ("C4", "C3", "L2")
    assert held["reason"].startswith("the batch keeps case C3 with its lawyer as if pinned")
    assert "lawyer L2, who is not eligible (practice_area)" in held["reason"]
    assert "PUT /v1/cases/C3/assignment" in held["what_to_do"]
    assert "run a rebalance job" in held["what_to_do"]
    plan = job["result"]["plan"]
    assert plan["verification"]["passed"] is True
    assert sorted(a["case_id"] for a in plan["assignments"]) == ["C1", "C2"]
    assert sorted(a["case_id"] for a in job["result"]["applied"]["applied"]) == ["C1", "C2"]
    counts = {"cases": 3, "assigned": 2, "held_back": 1, "unassigned": 0}
    assert job["result"]["open_cases"] == counts
    assert job_api.get("/v1/cases/C4").json()["assignment"] is None
    assert job_api.get("/v1/cases/C3").json()["assignment"]["lawyer_id"] == "L2"
