"""Applying a rebalance plan against a running server, on SQLite and on PostgreSQL: an apply
racing an assignment that changes the planned state never both succeed, and the loads stay
equal to the hours of the cases each lawyer holds."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx
from typer.testing import CliRunner

from api.auth import Role
from cli.main import app as cli_app
from tests.api import world
from tests.api.conftest import Api
from tests.api.test_live_server import _assign, fire


def _plan_in_database(url: str) -> None:
    r = CliRunner().invoke(cli_app, ["rebalance", "--db", url, "--time-limit", "3"])
    assert r.exit_code == 0, r.output


def _pending(live: Api) -> dict[str, Any]:
    jobs = live.get("/v1/jobs", params={"kind": "rebalance"}).json()["items"]
    pending = [j for j in jobs if j["review_status"] == "pending"]
    assert len(pending) == 1, jobs
    return dict(pending[0])


def _loads_match_cases(live: Api) -> None:
    held: dict[str, float] = {}
    for case in live.get("/v1/cases", params={"limit": 500}).json()["items"]:
        if case["assignment"] is not None:
            a = case["assignment"]
            held[a["lawyer_id"]] = held.get(a["lawyer_id"], 0.0) + a["workload_hours"]
    for lw in live.get("/v1/lawyers", params={"limit": 500}).json()["items"]:
        assert abs(lw["assigned_hours"] - held.get(lw["id"], 0.0)) < 1e-6, lw["id"]


def test_apply_racing_an_assignment(live: Api, backend_url: str) -> None:
    """Tests that an apply and an assignment of a case the plan assigns, sent at once, never
    both succeed: either the plan is applied and the assignment is stale, or the assignment
    wins and the apply is refused as state-changed (nothing written); loads stay consistent."""
    live.load_world()
    assert live.assign("C1", "L2").status_code == 201
    l2 = next(lw for lw in world.lawyers() if lw["id"] == "L2")
    today = date.today()
    l2["leave"] = [{"start": str(today), "end": str(today + timedelta(days=14))}]
    assert live.put("/v1/lawyers/L2", json=l2).status_code == 200
    _plan_in_database(backend_url)
    job = _pending(live)
    backlog = job["result"]["rebalance"]["new_assignments"]
    assert backlog, job["result"]["rebalance"]
    case_id, planned_lawyer = backlog[0]["case_id"], backlog[0]["lawyer_id"]
    version = live.get(f"/v1/cases/{case_id}").json()["version"]
    admin = {"X-API-Key": live.keys[Role.ADMIN]}

    def apply(client: httpx.Client) -> httpx.Response:
        return client.post(f"/v1/jobs/{job['id']}/apply", json={}, headers=admin)

    # the same lawyer the plan gives the case: eligible, so only the order decides
    answers = fire(live, [apply, _assign(live, case_id, planned_lawyer, version)])
    codes = Counter(r.status_code for r in answers)
    # One wins; the other is refused as stale (409).  Both take their row locks in one order
    # (rows, then the service-state row), so PostgreSQL never aborts one as a deadlock (503).
    assert codes[409] == 1, [r.text for r in answers]
    applied, assigned = answers
    if applied.status_code == 200:
        assert assigned.json()["reason"] == "stale_version"
        assert live.get(f"/v1/cases/{case_id}").json()["assignment"]["lawyer_id"] == (
            planned_lawyer
        )
        assert live.get("/v1/cases/C1").json()["assignment"]["lawyer_id"] != "L2"
    else:
        assert applied.json()["reason"] == "state-changed"
        assert assigned.status_code == 201
        assert live.get("/v1/cases/C1").json()["assignment"]["lawyer_id"] == "L2"
        assert live.get(f"/v1/jobs/{job['id']}").json()["review_status"] == "pending"
    _loads_match_cases(live)
