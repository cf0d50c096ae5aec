"""Tests that an apply and the writes it races take their PostgreSQL row locks in one order:
rows first, the service-state row last.  The interleaving is forced (not left to timing): an
assignment holds its case row while the apply reads the state under locks; the assignment then
takes the service-state row and commits.  Had the apply taken the service-state row first, the
two would wait for each other and PostgreSQL would abort one as a deadlock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from api import state
from api.assigning import _lock_cases
from api.rebalancing import locked_state
from tests.api.conftest import Api, pg_backend_url, waiting_on_a_lock

WAIT_S = 30.0


@pytest.fixture(scope="module")
def backend_url() -> Iterator[str]:
    """PostgreSQL only (this module's ``live`` server runs on it): SQLite writers hold the
    database lock, so there are no row locks to order."""
    yield from pg_backend_url()


@pytest.fixture
def pg_engine(live: Api, backend_url: str) -> Iterator[Engine]:
    live.load_world()
    engine = create_engine(backend_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_apply_waits_for_an_assignment_without_a_deadlock(pg_engine: Engine) -> None:
    errors: list[BaseException] = []
    applied = threading.Event()

    def apply_side() -> None:
        try:
            with Session(pg_engine) as session:
                locked_state(session)
                session.rollback()
            applied.set()
        except BaseException as exc:  # reported below: the thread must not swallow it
            errors.append(exc)

    with Session(pg_engine) as assignment:
        _lock_cases(assignment, ["C1"])  # an assignment's first lock
        apply = threading.Thread(target=apply_side)
        apply.start()
        began = time.monotonic()
        while waiting_on_a_lock(pg_engine) == 0:
            assert time.monotonic() - began < WAIT_S, "the apply never waited for the case row"
            time.sleep(0.05)
        assert not applied.is_set()
        # The assignment's last lock: the service-state row.  Were the apply holding it while
        # it waits for C1, this would wait for the apply and PostgreSQL would abort one.
        state.bump_loads(assignment)
        assignment.commit()
    apply.join(WAIT_S)
    assert not errors, errors
    assert applied.is_set()
