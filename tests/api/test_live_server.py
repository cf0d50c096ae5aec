"""A real server process over HTTP, on SQLite and on PostgreSQL: the main flow, and concurrent
requests that must never both succeed (same case; the same lawyer's last capacity)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx

from api.auth import Role
from tests.api import world
from tests.api.conftest import Api

CLIENTS = 8


def fire(
    api: Api, requests: list[Callable[[httpx.Client], httpx.Response]]
) -> list[httpx.Response]:
    """Send the requests at once, each from its own connection, released by one barrier."""
    barrier = threading.Barrier(len(requests))
    out: list[httpx.Response | None] = [None] * len(requests)
    base = str(api.client.base_url)

    def run(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/healthz")  # open the connection before the race
            barrier.wait()
            out[i] = requests[i](client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


def _assign(
    api: Api, case_id: str, lawyer_id: str, version: int
) -> Callable[[httpx.Client], httpx.Response]:
    headers = {"X-API-Key": api.keys[Role.CASE_SYSTEM], "If-Match": f'"{version}"'}

    def send(client: httpx.Client) -> httpx.Response:
        return client.put(
            f"/v1/cases/{case_id}/assignment", json={"lawyer_id": lawyer_id}, headers=headers
        )

    return send


def test_main_flow_over_http(live_world: Api) -> None:
    """Tests roster and case creation, recommendations, an assignment, a refused stale
    assignment and a complaint withdrawal against a running server."""
    live = live_world
    recs = live.post("/v1/cases/C3/recommendations", json={"top_k": 3}, role=Role.READ_ONLY)
    assert recs.status_code == 200, recs.text
    best = recs.json()["recommendations"][0]["lawyer_id"]
    assert live.assign("C3", best, version=1).status_code == 201
    assert live.assign("C3", best, version=2).status_code == 200
    stale = live.assign("C3", "L4", version=1)
    assert stale.status_code == 409
    assert stale.json()["reason"] == "stale_version"
    w = live.delete(
        "/v1/cases/C3/assignment",
        params={"reason": "complaint"},
        headers={"If-Match": '"2"'},
        role=Role.CASE_SYSTEM,
    )
    assert w.status_code == 200
    assert live.assign("C3", best).json()["reason"] == "conflict"


def test_two_clients_assigning_one_case(live_world: Api) -> None:
    """Tests that of 8 concurrent assignments of one case (same version, different lawyers)
    exactly one succeeds and the others get 409 stale_version; the loads show one case."""
    live = live_world
    for round_ in range(3):
        case_id = f"R{round_}"
        assert (
            live.put(
                f"/v1/cases/{case_id}", json=world.case(case_id), role=Role.CASE_SYSTEM
            ).status_code
            == 201
        )
        # L2 and L4 have room for every round (L1's 100 h would fill up, and a request that
        # reaches it first would rightly be refused for capacity rather than a stale version)
        lawyers = ["L2", "L4"]
        answers = fire(live, [_assign(live, case_id, lawyers[i % 2], 1) for i in range(CLIENTS)])
        codes = Counter(r.status_code for r in answers)
        assert codes == {201: 1, 409: CLIENTS - 1}, [r.text for r in answers]
        assert {r.json()["reason"] for r in answers if r.status_code == 409} == {"stale_version"}
        winner = next(r.json()["lawyer_id"] for r in answers if r.status_code == 201)
        case = live.get(f"/v1/cases/{case_id}").json()
        assert (case["version"], case["assignment"]["lawyer_id"]) == (2, winner)
        held = live.get("/v1/cases", params={"lawyer_id": winner}).json()["items"]
        assert case_id in [c["id"] for c in held]


def test_two_clients_taking_the_last_capacity(live_world: Api) -> None:
    """Tests that when 8 different cases race for a lawyer with room for exactly one of them,
    exactly one assignment succeeds, the rest get 409 capacity, and the load is one case."""
    live = live_world
    for round_ in range(3):
        lawyer_id = f"LC{round_}"
        doc = world.lawyer(lawyer_id, "F3", capacity_hours=40)
        assert live.put(f"/v1/lawyers/{lawyer_id}", json=doc).status_code == 201
        case_ids = [f"K{round_}-{i}" for i in range(CLIENTS)]
        for case_id in case_ids:
            assert (
                live.put(
                    f"/v1/cases/{case_id}", json=world.case(case_id), role=Role.CASE_SYSTEM
                ).status_code
                == 201
            )
        answers = fire(live, [_assign(live, c, lawyer_id, 1) for c in case_ids])
        codes = Counter(r.status_code for r in answers)
        assert codes == {201: 1, 409: CLIENTS - 1}, [r.text for r in answers]
        assert {r.json()["reason"] for r in answers if r.status_code == 409} == {"capacity"}
        load = live.get(f"/v1/lawyers/{lawyer_id}").json()
        assert (load["assigned_hours"], load["assigned_cases"]) == (35.0, 1)
