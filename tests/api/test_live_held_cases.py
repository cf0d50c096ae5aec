"""A real server process over HTTP, on SQLite and on PostgreSQL: concurrent edits that a
lawyer's current cases depend on never both succeed (a case's new hours against an assignment
taking the lawyer's last capacity; a lawyer edit against marks of the lawyer's cases)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from api.auth import Role
from tests.api import world
from tests.api.conftest import Api
from tests.api.test_live_server import _assign, fire

ROUNDS = 3
CASES = 7


def _put_case(
    api: Api, doc: dict[str, Any], version: int
) -> Callable[[httpx.Client], httpx.Response]:
    headers = {"X-API-Key": api.keys[Role.CASE_SYSTEM], "If-Match": f'"{version}"'}

    def send(client: httpx.Client) -> httpx.Response:
        return client.put(f"/v1/cases/{doc['id']}", json=doc, headers=headers)

    return send


def _put_lawyer(api: Api, doc: dict[str, Any]) -> Callable[[httpx.Client], httpx.Response]:
    headers = {"X-API-Key": api.keys[Role.ADMIN]}

    def send(client: httpx.Client) -> httpx.Response:
        return client.put(f"/v1/lawyers/{doc['id']}", json=doc, headers=headers)

    return send


def _mark_started(api: Api, case_id: str, version: int) -> Callable[[httpx.Client], httpx.Response]:
    headers = {"X-API-Key": api.keys[Role.CASE_SYSTEM], "If-Match": f'"{version}"'}

    def send(client: httpx.Client) -> httpx.Response:
        return client.patch(
            f"/v1/cases/{case_id}/assignment", json={"started": True}, headers=headers
        )

    return send


def _create_case(api: Api, doc: dict[str, Any]) -> None:
    r = api.put(f"/v1/cases/{doc['id']}", json=doc, role=Role.CASE_SYSTEM)
    assert r.status_code == 201, r.text


def test_new_hours_and_an_assignment_race_for_the_last_capacity(live_world: Api) -> None:
    """Tests that when a held case's hours grow by 35 h while 7 other 35 h cases are assigned
    to the same lawyer, who has room for 35 h more, exactly one request succeeds, the rest get
    409 capacity, and the lawyer's load is the sum of the hours of the cases held."""
    live = live_world
    for round_ in range(ROUNDS):
        lawyer_id = f"LH{round_}"
        doc = world.lawyer(lawyer_id, "F3", capacity_hours=70)
        assert live.put(f"/v1/lawyers/{lawyer_id}", json=doc).status_code == 201
        held = world.case(f"H{round_}-0")
        _create_case(live, held)
        assert live.assign(held["id"], lawyer_id, version=1).status_code == 201
        others = [world.case(f"H{round_}-{i}") for i in range(1, CASES + 1)]
        for case in others:
            _create_case(live, case)
        requests = [_put_case(live, {**held, "workload_hours": 70}, 2)]
        requests += [_assign(live, c["id"], lawyer_id, 1) for c in others]
        answers = fire(live, requests)
        codes = Counter(r.status_code for r in answers)
        assert codes[409] == CASES and codes[200] + codes[201] == 1, [r.text for r in answers]
        assert {r.json()["reason"] for r in answers if r.status_code == 409} == {"capacity"}
        load = live.get(f"/v1/lawyers/{lawyer_id}").json()
        cases = live.get("/v1/cases", params={"lawyer_id": lawyer_id}).json()["items"]
        hours = sum(c["assignment"]["workload_hours"] for c in cases)
        assert (load["assigned_hours"], load["assigned_cases"]) == (70.0, len(cases))
        assert hours == 70.0


def test_lawyer_edit_and_marks_of_the_lawyers_cases_race(live_world: Api) -> None:
    """Tests that an edit taking away a lawyer's practice area, sent at once with marks that
    start the lawyer's cases, never leaves a started case with a lawyer who lacks its area:
    either the edit wins and every mark is refused, or a mark wins and the edit is refused."""
    live = live_world
    for round_ in range(ROUNDS):
        lawyer_id = f"LK{round_}"
        doc = world.lawyer(lawyer_id, "F2")
        assert live.put(f"/v1/lawyers/{lawyer_id}", json=doc).status_code == 201
        case_ids = [f"K{round_}-{i}" for i in range(4)]
        for case_id in case_ids:
            _create_case(live, world.case(case_id))
            assert live.assign(case_id, lawyer_id, version=1).status_code == 201
        family = {**doc, "practice_areas": [{"area": "family", "level": 4, "years": 6}]}
        requests = [_put_lawyer(live, family)]
        requests += [_mark_started(live, case_id, 2) for case_id in case_ids]
        edit, *marks = fire(live, requests)
        started = [
            live.get(f"/v1/cases/{case_id}").json()["assignment"]["started"] for case_id in case_ids
        ]
        areas = [pa["area"] for pa in live.get(f"/v1/lawyers/{lawyer_id}").json()["practice_areas"]]
        if edit.status_code == 200:
            assert areas == ["family"]
            assert [m.status_code for m in marks] == [409] * 4, [m.text for m in marks]
            assert not any(started)
        else:
            assert edit.status_code == 409, edit.text
            assert edit.json()["reason"] == "kept_cases"
            assert areas == ["criminal_defence"]
            assert [m.status_code for m in marks] == [200] * 4
            assert all(started)
