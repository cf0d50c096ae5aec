"""Tests that two marks of related cases at different lawyers of one firm run one after the
other on PostgreSQL, so that the second sees the first in its group check.  The interleaving
is forced (not left to timing): one mark is made in a transaction held open; the other comes
through the server, must wait for a lock, and after the first commits is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

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


def _opposing_sides_at_one_firm(api: Api) -> None:
    """K1 (a defendant of M9) with L2 at F2 and K2 (the victim of M9) with L6, who then joins
    F2: one firm on both sides of the matter, allowed while neither case must stay (a job may
    still move one), refused once both must (Conduct Norms Art 51)."""
    api.load_world(cases=[])
    for case_id, extra in (
        ("K1", {"matter_id": "M9", "side": "defendant"}),
        ("K2", {"matter_id": "M9", "side": "victim", "case_type": "victim_representation"}),
    ):
        doc = world.case(case_id, **extra)
        r = api.put(f"/v1/cases/{case_id}", json=doc, role=Role.CASE_SYSTEM)
        assert r.status_code == 201, r.text
    victims = [{"area": "criminal_victim", "level": 4, "years": 6}]
    r = api.put("/v1/lawyers/L6", json=world.lawyer("L6", "F3", practice_areas=victims))
    assert r.status_code == 201, r.text
    for case_id, lawyer_id in (("K1", "L2"), ("K2", "L6")):
        r = api.assign(case_id, lawyer_id)
        assert r.status_code == 201, r.text
    r = api.put("/v1/lawyers/L6", json=world.lawyer("L6", "F2", practice_areas=victims))
    assert r.status_code == 200, r.text


def test_a_mark_waits_for_a_mark_of_a_related_case_and_is_refused_after_it(
    live: Api, pg_engine: Engine
) -> None:
    """Tests that while a mark of K1 is open (not committed), a mark of K2 through the server
    waits for a lock; once K1's mark commits, K2's is a 409 kept_groups naming both cases, and
    K2 stays unmarked.  Without the related cases' locks, K2's mark would read K1 unmarked and
    both would be written."""
    _opposing_sides_at_one_firm(live)
    answers: list[httpx.Response] = []
    errors: list[BaseException] = []

    def mark_k2() -> None:
        try:
            answers.append(live.mark("K2", started=True))
        except BaseException as exc:  # reported below: the thread must not swallow it
            errors.append(exc)

    version = live.get("/v1/cases/K1").json()["version"]
    who = Principal(key_id="test", name="race test", role=Role.CASE_SYSTEM)
    with Session(pg_engine) as first:
        set_flags(first, "K1", AssignmentFlags(started=True), version, who)
        other = threading.Thread(target=mark_k2)
        other.start()
        began = time.monotonic()
        while waiting_on_a_lock(pg_engine) == 0:
            assert not answers, f"K2's mark did not wait for K1's: {answers[0].text}"
            assert time.monotonic() - began < WAIT_S, "K2's mark never waited for a lock"
            time.sleep(0.05)
        first.commit()
    other.join(WAIT_S)
    assert not errors, errors
    [answer] = answers
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["reason"] == "kept_groups"
    [breach] = body["breaches"]
    assert (breach["rule"], breach["case_ids"]) == ("opposing_sides_same_firm", ["K1", "K2"])
    assert live.get("/v1/cases/K1/assignment").json()["started"] is True
    assert live.get("/v1/cases/K2/assignment").json()["started"] is False
