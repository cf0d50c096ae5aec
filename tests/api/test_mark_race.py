"""Tests that two marks of related cases at different lawyers of one firm run one after the
other on PostgreSQL, so that the second sees the first in its group check.  The interleaving
is forced (not left to timing): one mark is made in a transaction held open; the other comes
through the server, must wait for a lock, and after the first commits is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from api.assigning import set_flags
from api.auth import Principal, Role
from api.schemas import AssignmentFlags
from tests.api import world
from tests.api.conftest import Api, pg_backend_url, waiting_on_a_lock

WAIT_S = 30.0
VICTIMS = [{"area": "criminal_victim", "level": 4, "years": 6}]


@pytest.fixture(scope="module")
def backend_url() -> Iterator[str]:
    """PostgreSQL only: SQLite writers hold the database lock, one at a time."""
    yield from pg_backend_url()


@pytest.fixture
def pg_engine(live: Api, backend_url: str) -> Iterator[Engine]:
    engine = create_engine(backend_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def world_roster(live: Api) -> Api:
    """The live server with the test world's firms and lawyers (each test adds its cases)."""
    live.load_world(cases=[])
    return live


def _opposing_sides(
    api: Api, defendant: tuple[str, str], victim: tuple[str, str], matter: str
) -> None:
    """The ``defendant`` case (id, lawyer) and the ``victim`` case of ``matter``, assigned; the
    victim's lawyer, new, is a victim-representation lawyer at F3."""
    for case_id, extra in (
        (defendant[0], {"matter_id": matter, "side": "defendant"}),
        (victim[0], {"matter_id": matter, "side": "victim", "case_type": "victim_representation"}),
    ):
        doc = world.case(case_id, **extra)
        r = api.put(f"/v1/cases/{case_id}", json=doc, role=Role.CASE_SYSTEM)
        assert r.status_code == 201, r.text
    r = api.put(
        f"/v1/lawyers/{victim[1]}", json=world.lawyer(victim[1], "F3", practice_areas=VICTIMS)
    )
    assert r.status_code == 201, r.text
    for case_id, lawyer_id in (defendant, victim):
        r = api.assign(case_id, lawyer_id)
        assert r.status_code == 201, r.text


def _opposing_sides_at_one_firm(api: Api) -> None:
    """K1 (a defendant of M9) with L2 at F2 and K2 (the victim of M9) with L6, who then joins
    F2: one firm on both sides of the matter, allowed while neither case must stay (a job may
    still move one), refused once both must (Conduct Norms Art 51)."""
    _opposing_sides(api, ("K1", "L2"), ("K2", "L6"), "M9")
    r = api.put("/v1/lawyers/L6", json=world.lawyer("L6", "F2", practice_areas=VICTIMS))
    assert r.status_code == 200, r.text


def _marking(
    pg_engine: Engine, case_id: str, live: Api, other: Callable[[], httpx.Response]
) -> httpx.Response:
    """Mark ``case_id`` started in a transaction held open while ``other`` (a request through
    the server) runs on a thread; ``other`` must wait for a lock; then commit the mark and
    return ``other``'s answer."""
    answers: list[httpx.Response] = []
    errors: list[BaseException] = []

    def run_other() -> None:
        try:
            answers.append(other())
        except BaseException as exc:  # reported below: the thread must not swallow it
            errors.append(exc)

    version = live.get(f"/v1/cases/{case_id}").json()["version"]
    who = Principal(key_id="test", name="race test", role=Role.CASE_SYSTEM)
    with Session(pg_engine) as first:
        set_flags(first, case_id, AssignmentFlags(started=True), version, who)
        thread = threading.Thread(target=run_other)
        thread.start()
        began = time.monotonic()
        while waiting_on_a_lock(pg_engine) == 0:
            assert not answers, f"the other request did not wait for the mark: {answers[0].text}"
            assert time.monotonic() - began < WAIT_S, "the other request never waited for a lock"
            time.sleep(0.05)
        first.commit()
    thread.join(WAIT_S)
    assert not errors, errors
    [answer] = answers
    return answer


def test_a_mark_waits_for_a_mark_of_a_related_case_and_is_refused_after_it(
    world_roster: Api, pg_engine: Engine
) -> None:
    """Tests that while a mark of K1 is open (not committed), a mark of K2 through the server
    waits for a lock; once K1's mark commits, K2's is a 409 kept_groups naming both cases, and
    K2 stays unmarked.  Without the related cases' locks, K2's mark would read K1 unmarked and
    both would be written."""
    live = world_roster
    _opposing_sides_at_one_firm(live)
    answer = _marking(pg_engine, "K1", live, lambda: live.mark("K2", started=True))
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["reason"] == "kept_groups"
    [breach] = body["breaches"]
    assert (breach["rule"], breach["case_ids"]) == ("opposing_sides_same_firm", ["K1", "K2"])
    assert live.get("/v1/cases/K1/assignment").json()["started"] is True
    assert live.get("/v1/cases/K2/assignment").json()["started"] is False


def test_a_firm_move_waits_for_a_mark_of_a_related_case_and_is_refused_after_it(
    world_roster: Api, pg_engine: Engine
) -> None:
    """Tests that with K3 (a defendant of M8) started with L2 at F2 and K4 (the victim of M8)
    with L7 at F3, while a mark of K4 is open, a PUT moving L2 to F3 waits for a lock (L2's
    case K3, which the mark locks as a related case); once the mark commits, the move is a
    409 kept_groups (F3 would act on both sides of M8), and L2 stays at F2."""
    live = world_roster
    _opposing_sides(live, ("K3", "L2"), ("K4", "L7"), "M8")
    assert live.mark("K3", started=True).status_code == 200
    moved = {**next(lw for lw in world.lawyers() if lw["id"] == "L2"), "firm_id": "F3"}
    answer = _marking(pg_engine, "K4", live, lambda: live.put("/v1/lawyers/L2", json=moved))
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert (body["reason"], body["lawyer_id"]) == ("kept_groups", "L2")
    [breach] = body["breaches"]
    assert (breach["rule"], breach["case_ids"]) == ("opposing_sides_same_firm", ["K3", "K4"])
    assert live.get("/v1/lawyers/L2").json()["firm_id"] == "F2"


def test_a_case_put_joining_a_matter_waits_for_a_mark_and_is_refused_after_it(
    world_roster: Api, pg_engine: Engine
) -> None:
    """Tests that with K5 (no matter) started with L2 at F2 and K6 (the victim of M6) with
    L8, who then joins F2, while a mark of K6 is open a PUT making K5 a defendant of M6 waits
    for a lock (K6's row, which the PUT reads); once the mark commits, the PUT is a 409
    kept_groups (F2 would act on both sides of M6), and K5 stays out of the matter."""
    live = world_roster
    r = live.put("/v1/cases/K5", json=world.case("K5"), role=Role.CASE_SYSTEM)
    assert r.status_code == 201, r.text
    assert live.assign("K5", "L2").status_code == 201
    assert live.mark("K5", started=True).status_code == 200
    _opposing_sides(live, ("K7", "L1"), ("K6", "L8"), "M6")
    r = live.put("/v1/lawyers/L8", json=world.lawyer("L8", "F2", practice_areas=VICTIMS))
    assert r.status_code == 200, r.text
    doc = live.get("/v1/cases/K5").json()
    joined = {**doc, "matter_id": "M6", "side": "defendant"}

    def put_k5() -> httpx.Response:
        return live.put(
            "/v1/cases/K5",
            json=joined,
            headers={"If-Match": f'"{doc["version"]}"'},
            role=Role.CASE_SYSTEM,
        )

    answer = _marking(pg_engine, "K6", live, put_k5)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["reason"] == "kept_groups"
    [breach] = body["breaches"]
    assert (breach["rule"], breach["case_ids"]) == ("opposing_sides_same_firm", ["K5", "K6"])
    assert live.get("/v1/cases/K5").json()["matter_id"] is None
