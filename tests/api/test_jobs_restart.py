"""Jobs in a real server process: cancel while running, and a server killed mid-job (the job
is resumed after the restart, or marked failed once out of attempts; never silently lost).

The demo county is seeded so that a solve runs until its time limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import Role
from tests.api.conftest import LiveServer, prepare_database


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[Role, str]]]:
    folder = tmp_path_factory.mktemp("jobs")
    url = f"sqlite:///{folder / 'assigner.sqlite'}"
    keys = prepare_database(url)
    live = LiveServer(
        url,
        folder / "server.log",
        env={
            "ASSIGNER_SEED_DEMO": "true",
            "ASSIGNER_RUN_JOBS": "true",
            "ASSIGNER_JOB_POLL_S": "0.1",
            "ASSIGNER_JOB_LEASE_S": "1",
        },
    )
    live.start(timeout_s=180)
    try:
        yield live, keys
    finally:
        live.stop()


def _call(
    live: LiveServer, keys: dict[Role, str], method: str, path: str, **kw: Any
) -> httpx.Response:
    return httpx.request(
        method, f"{live.url}{path}", headers={"X-API-Key": keys[Role.ADMIN]}, timeout=30, **kw
    )


def _wait(
    live: LiveServer,
    keys: dict[Role, str],
    job_id: str,
    until: set[str],
    timeout_s: float = 120,
    attempts: int | None = None,
    solving: bool = False,
) -> dict[str, Any]:
    """Poll until the job's status is in ``until`` (and, with ``solving``, its solver has
    reported a first objective, so its process is well under way)."""
    deadline = time.monotonic() + timeout_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = _call(live, keys, "GET", f"/v1/jobs/{job_id}").json()
        started = not solving or (job["progress"] or {}).get("objective") is not None
        if job["status"] in until and started and (attempts is None or job["attempts"] >= attempts):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job not {until} in {timeout_s} s: {job}")


def _submit(live: LiveServer, keys: dict[Role, str], time_limit_s: float) -> str:
    r = _call(
        live,
        keys,
        "POST",
        "/v1/jobs",
        json={"kind": "batch_assignment", "params": {"time_limit_s": time_limit_s}},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_cancel_a_running_job(server: tuple[LiveServer, dict[Role, str]]) -> None:
    """Tests that a running job stops soon after cancel and is kept as cancelled."""
    live, keys = server
    assert _call(live, keys, "GET", "/v1/cases", params={"limit": 1}).json()["total"] == 600
    job_id = _submit(live, keys, time_limit_s=120)
    _wait(live, keys, job_id, {"running"})
    assert _call(live, keys, "POST", f"/v1/jobs/{job_id}/cancel").status_code == 202
    job = _wait(live, keys, job_id, {"cancelled", "succeeded", "failed"}, timeout_s=30)
    assert job["status"] == "cancelled"
    assert job["error"] == "cancelled while running"


def _restart(live: LiveServer, **env: str) -> None:
    live.kill()
    live.env.update(env)
    live.start(timeout_s=120)


def test_killed_server_resumes_its_job(server: tuple[LiveServer, dict[Role, str]]) -> None:
    """Tests that a job running when the server is killed (SIGKILL) is re-queued after the
    restart, runs again and succeeds, its second attempt on record."""
    live, keys = server
    job_id = _submit(live, keys, time_limit_s=3)
    _wait(live, keys, job_id, {"running"}, solving=True)
    _restart(live)
    job = _wait(live, keys, job_id, {"succeeded", "failed"}, attempts=2)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert job["error"] is None  # a success has no error; why it ran again is a note
    assert "interrupted" in job["result"]["retry_note"]
    assert job["result"]["plan"]["verification"]["passed"] is True


def test_killed_server_fails_a_job_out_of_attempts(
    server: tuple[LiveServer, dict[Role, str]],
) -> None:
    """Tests that with one attempt allowed, a job interrupted by a kill is marked failed with
    the reason after the restart."""
    live, keys = server
    live.env["ASSIGNER_JOB_MAX_ATTEMPTS"] = "1"
    _restart(live)
    job_id = _submit(live, keys, time_limit_s=60)
    _wait(live, keys, job_id, {"running"}, solving=True)
    _restart(live)
    job = _wait(live, keys, job_id, {"failed", "succeeded", "queued"}, timeout_s=60)
    assert job["status"] == "failed", job
    assert "interrupted" in job["error"]
    assert job["attempts"] == 1


def test_log_has_no_tracebacks(server: tuple[LiveServer, dict[Role, str]]) -> None:
    """Tests that the server logs of these runs hold no unexpected tracebacks."""
    live, _ = server
    assert "Traceback" not in Path(live.log_path).read_text()
