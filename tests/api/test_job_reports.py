"""What a job's public record reports: a success after a re-queue carries no error, a batch
applied only in part counts the cases it assigned, not the ones it planned, and a refused
rebalance apply shows the changed values as records write them.

The jobs run in the test's own thread through a :class:`JobRunner` of the app (whose own runner
is off), so that each step (claim, interruption, re-queue, the solve, a change between the solve
and the apply) happens in a known order; the solver's time limit is a budget, never a measure.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from api.jobs import JobRunner
from api.models import JobRow
from api.services import Services
from api.state_export import StateInput
from tests.api import world
from tests.api.conftest import Api, put_on_leave


def _services(api: Api) -> Services:
    services: Services = api.client.app.state.services  # type: ignore[union-attr]
    return services


def _runner(api: Api) -> JobRunner:
    """A job runner on the app's database, driven step by step by the test."""
    services = _services(api)
    return JobRunner(services.db, services.settings, services.metrics, services.roster)


def _submit(api: Api, kind: str, **params: Any) -> str:
    r = api.post("/v1/jobs", json={"kind": kind, "params": {"time_limit_s": 2, **params}})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _run_next(runner: JobRunner, job_id: str) -> None:
    """Claim the queued job and run it to its end in this thread."""
    job = runner._claim()
    assert job is not None and job.id == job_id
    runner._run(job)


def test_a_job_that_succeeds_after_being_requeued_shows_no_error(world_api: Api) -> None:
    """Tests that a job stopped with the server (re-queued at once) and then interrupted by a
    crash (re-queued by recovery) shows why while it waits, and once it succeeds has no
    ``error`` (it kept the re-queue message before); the last interruption stays readable as
    the result's ``retry_note``."""
    runner = _runner(world_api)
    job_id = _submit(world_api, "batch_assignment")

    first = runner._claim()
    assert first is not None and first.id == job_id
    runner._requeue(job_id)  # what a graceful stop does with the running job
    queued = world_api.get(f"/v1/jobs/{job_id}").json()
    assert (queued["status"], queued["error"]) == ("queued", "re-queued: the server stopped")

    second = runner._claim()
    assert second is not None and second.id == job_id
    with _services(world_api).db.transaction(write=True) as session:  # the server was killed
        session.execute(update(JobRow).where(JobRow.id == job_id).values(heartbeat_at=None))
    assert runner.recover() == 1
    interrupted = world_api.get(f"/v1/jobs/{job_id}").json()
    assert interrupted["status"] == "queued"
    assert "attempt 1 of 2 was lost" in interrupted["error"]

    _run_next(runner, job_id)
    job = world_api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded"
    assert job["attempts"] == 2
    assert job["error"] is None
    assert job["result"]["retry_note"] == interrupted["error"]
    assert job["result"]["plan"]["verification"]["passed"] is True


def test_a_first_time_success_has_no_retry_note(world_api: Api) -> None:
    """Tests that a job that succeeded at its first attempt carries neither an error nor a
    retry note."""
    runner = _runner(world_api)
    job_id = _submit(world_api, "batch_assignment")
    _run_next(runner, job_id)
    job = world_api.get(f"/v1/jobs/{job_id}").json()
    assert (job["status"], job["error"], job["attempts"]) == ("succeeded", None, 1)
    assert "retry_note" not in job["result"]


class _LeaveBeforeApply(JobRunner):
    """Puts the lawyer of the plan's first assignment on leave after the solve and before the
    apply: the state the batch planned from changes while the job runs."""

    def __init__(self, api: Api) -> None:
        services = _services(api)
        super().__init__(services.db, services.settings, services.metrics, services.roster)
        self.api = api
        self.sent_on_leave: str | None = None

    def _batch_result(
        self, job: JobRow, params: dict[str, Any], batch: StateInput, text: str
    ) -> dict[str, Any]:
        first = min(json.loads(text)["plan"]["assignments"], key=lambda a: a["case_id"])
        self.sent_on_leave = first["lawyer_id"]
        put_on_leave(self.api, first["lawyer_id"], 30)
        return super()._batch_result(job, params, batch, text)


def test_applied_batch_counts_the_cases_it_assigned_not_the_plan(world_api: Api) -> None:
    """Tests that a batch with apply whose planned assignments to one lawyer are refused at
    apply (the lawyer went on leave while the job ran) counts those cases as still open in
    ``open_cases`` (it reported the plan's counts, every planned case assigned), with the
    plan's counts beside it as ``planned_open_cases``."""
    runner = _LeaveBeforeApply(world_api)
    job_id = _submit(world_api, "batch_assignment", apply=True)
    _run_next(runner, job_id)
    job = world_api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    planned = {a["case_id"]: a["lawyer_id"] for a in result["plan"]["assignments"]}
    refused = sorted(c for c, lawyer_id in planned.items() if lawyer_id == runner.sent_on_leave)
    assert refused  # the lawyer of the first planned assignment
    skipped = result["applied"]["skipped"]
    assert sorted(s["case_id"] for s in skipped) == refused
    assert {s["reason"] for s in skipped} == {"ineligible"}
    written = len(planned) - len(refused)
    assert len(result["applied"]["applied"]) == written
    assert result["open_cases"] == {
        "cases": 4,
        "assigned": written,
        "held_back": 0,
        "unassigned": 4 - written,
    }
    assert result["planned_open_cases"] == {
        "cases": 4,
        "assigned": len(planned),
        "held_back": 0,
        "unassigned": 4 - len(planned),
    }
    for case_id in refused:
        assert world_api.get(f"/v1/cases/{case_id}").json()["assignment"] is None


def test_a_batch_without_apply_counts_its_plan(world_api: Api) -> None:
    """Tests that a batch without apply (nothing written) counts the plan's assignments in
    ``open_cases`` and has no second summary."""
    runner = _runner(world_api)
    job_id = _submit(world_api, "batch_assignment")
    _run_next(runner, job_id)
    result = world_api.get(f"/v1/jobs/{job_id}").json()["result"]
    planned = len(result["plan"]["assignments"])
    assert planned > 0
    assert result["open_cases"] == {
        "cases": 4,
        "assigned": planned,
        "held_back": 0,
        "unassigned": 4 - planned,
    }
    assert "planned_open_cases" not in result


def test_state_changed_shows_values_as_written(world_api: Api) -> None:
    """Tests that the 409 state-changed of a rebalance apply shows each changed value as a
    record writes it (ISO dates, true / false, whole hours without a decimal point, 'none'),
    for every kind of field the state comparison reports: a lawyer's hours, counts, switch and
    leave, a case's marks and version (it showed Python reprs such as
    ``[(datetime.date(2030, 12, 1), datetime.date(2030, 12, 31))]`` and ``False -> True``)."""
    assert world_api.assign("C1", "L2").status_code == 201
    assert world_api.assign("C2", "L3").status_code == 201
    put_on_leave(world_api, "L2", 30)  # C1 must move
    runner = _runner(world_api)
    job_id = _submit(world_api, "rebalance", max_moves=2)
    _run_next(runner, job_id)
    job = world_api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded", job["error"]
    [move] = job["result"]["rebalance"]["moves"]
    target = move["to_lawyer_id"]
    doc = next(lw for lw in world.lawyers() if lw["id"] == target)
    edited = {
        **doc,
        "capacity_hours": doc["capacity_hours"] + 10.5,
        "max_open_cases": doc["max_open_cases"] - 1,
        "accepting_new_cases": False,
        "leave": [{"start": "2030-12-01", "end": "2030-12-31"}],
    }
    assert world_api.put(f"/v1/lawyers/{target}", json=edited).status_code == 200
    c2_version = int(world_api.get("/v1/cases/C2").json()["version"])
    assert world_api.mark("C2", pinned=True).status_code == 200

    r = world_api.post(f"/v1/jobs/{job_id}/apply")
    assert r.status_code == 409
    body = r.json()
    assert body["reason"] == "state-changed"
    assert "case C2: pinned false -> true" in body["changes"]
    assert f"case C2: version {c2_version} -> {c2_version + 1}" in body["changes"]
    capacity = doc["capacity_hours"]
    assert (
        f"lawyer {target}: capacity_hours {capacity} -> {capacity + 10.5}, "
        f"max_open_cases {doc['max_open_cases']} -> {doc['max_open_cases'] - 1}, "
        "accepting_new_cases true -> false, leave none -> 2030-12-01..2030-12-31"
    ) in body["changes"]
    for shown in [body["detail"], *body["changes"]]:
        assert "datetime" not in shown and "True" not in shown and "False" not in shown
        assert ".0 " not in f"{shown} " and "[" not in shown
