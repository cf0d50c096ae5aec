"""Fixtures: the service in-process (TestClient) and as a real server process over HTTP, on
SQLite and, when ``ASSIGNER_TEST_PG_URL`` is set (``.ci/pg.sh`` prints it), on PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api import policies
from api.app import create_app
from api.auth import Role, create_key
from api.db import Database, run_migrations
from api.settings import Settings
from tests.api import world

ROOT = Path(__file__).resolve().parents[2]
PG_ENV = "ASSIGNER_TEST_PG_URL"
PG_SKIP = f'PostgreSQL tests need {PG_ENV}; `eval "$(bash .ci/pg.sh)"` starts one and sets it'


class Api:
    """An HTTP client that sends the key of the role it is asked to act as."""

    def __init__(self, client: httpx.Client | TestClient, keys: dict[Role, str]) -> None:
        self.client = client
        self.keys = keys

    def call(
        self,
        method: str,
        path: str,
        *,
        role: Role | None = Role.ADMIN,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if role is not None:
            sent["X-API-Key"] = self.keys[role]
        return self.client.request(method, path, headers=sent, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("GET", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("PUT", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("DELETE", path, **kw)

    def load_world(self, cases: list[dict[str, Any]] | None = None) -> None:
        for f in world.firms():
            assert self.put(f"/v1/firms/{f['id']}", json=f).status_code == 201
        for lw in world.lawyers():
            assert self.put(f"/v1/lawyers/{lw['id']}", json=lw).status_code == 201
        for c in world.cases() if cases is None else cases:
            r = self.put(f"/v1/cases/{c['id']}", json=c, role=Role.CASE_SYSTEM)
            assert r.status_code == 201, r.text

    def assign(self, case_id: str, lawyer_id: str, version: int | None = None) -> httpx.Response:
        if version is None:
            version = self.get(f"/v1/cases/{case_id}").json()["version"]
        return self.put(
            f"/v1/cases/{case_id}/assignment",
            json={"lawyer_id": lawyer_id},
            headers={"If-Match": f'"{version}"'},
            role=Role.CASE_SYSTEM,
        )

    def mark(self, case_id: str, **flags: Any) -> httpx.Response:
        """Set or clear the started / pinned marks of the case's assignment, at its version."""
        version = self.get(f"/v1/cases/{case_id}").json()["version"]
        return self.call(
            "PATCH",
            f"/v1/cases/{case_id}/assignment",
            json=flags,
            headers={"If-Match": f'"{version}"'},
            role=Role.CASE_SYSTEM,
        )


def make_keys(db: Database) -> dict[Role, str]:
    with db.transaction(write=True) as session:
        policies.ensure_initial(session)
        return {role: create_key(session, role=role, name=f"test {role}").secret for role in Role}


def settings_for(url: str, **kw: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "seed_demo": False, "run_jobs": False}
    values.update(kw)
    return Settings(**values)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'assigner.sqlite'}"


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    """The app in-process on a fresh SQLite file, with a key per role."""
    app = create_app(settings_for(sqlite_url))
    with TestClient(app) as client:
        keys = make_keys(app.state.services.db)
        yield Api(client, keys)


@pytest.fixture
def world_api(api: Api) -> Api:
    api.load_world()
    return api


# ---- real server processes -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """``python -m api serve`` on 127.0.0.1 and a random free port."""

    database_url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "ASSIGNER_DATABASE_URL": self.database_url,
            "ASSIGNER_SEED_DEMO": "false",
            "ASSIGNER_RUN_JOBS": "false",
            **self.env,
        }
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"server not ready in {timeout_s} s: {self.log_path.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash, a power cut)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP)
    return url


def fresh_pg_database(base_url: str) -> tuple[str, Any]:
    """A new, empty database on the test server; returns its URL and a dropper."""
    name = f"assigner_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database per module: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'assigner.sqlite'}"
        return
    yield from pg_backend_url()


def pg_backend_url() -> Iterator[str]:
    """A new PostgreSQL database for a fixture's scope, dropped after it (skips the tests
    when no PostgreSQL is configured)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    url, drop = fresh_pg_database(base)
    try:
        yield url
    finally:
        drop()


def prepare_database(url: str) -> dict[Role, str]:
    db = Database(settings_for(url))
    try:
        run_migrations(db.engine)
        return make_keys(db)
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def live(backend_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A real server process on the module's database, with a key per role."""
    keys = prepare_database(backend_url)
    server = LiveServer(backend_url, tmp_path_factory.mktemp("log") / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield Api(client, keys)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def live_world(live: Api) -> Api:
    """The live server with the test world loaded."""
    live.load_world()
    return live


def waiting_on_a_lock(engine: Engine) -> int:
    """How many sessions of the engine's database wait for a row lock (PostgreSQL)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def put_on_leave(api: Api, lawyer_id: str, days: int) -> None:
    """The test world's lawyer on leave from today for ``days`` days (a PUT of its document)."""
    doc = next(lw for lw in world.lawyers() if lw["id"] == lawyer_id)
    today = date.today()
    doc = {**doc, "leave": [{"start": str(today), "end": str(today + timedelta(days=days))}]}
    r = api.put(f"/v1/lawyers/{lawyer_id}", json=doc)
    assert r.status_code == 200, r.text
