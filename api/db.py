"""Database engine and one transaction per request.

SQLite (the default) runs in WAL mode so that readers never wait for the writer; a request that
writes opens its transaction with ``BEGIN IMMEDIATE`` and so takes SQLite's single write lock
before it reads anything it will check (version, load).  PostgreSQL requests lock the rows they
check with ``SELECT ... FOR UPDATE`` (see ``api.assigning``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from api.settings import Settings

log = logging.getLogger(__name__)

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
_IMMEDIATE = "assigner_sqlite_immediate"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _sqlite_engine(url: str, settings: Settings, *, manual_checkpoints: bool) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
        },
        pool_size=settings.db_pool_size,
        max_overflow=2 * settings.db_pool_size,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is off; BEGIN is issued in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process; only a power loss
        # may lose the last transactions (never corrupts the file).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if manual_checkpoints:
            # The server's WalCheckpointer copies the log back; a commit never does.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()
        # SQLite's own lower() folds ASCII letters only; the name filters compare it with
        # Python's, so "école" finds "ÉCOLE Légale" as on PostgreSQL (in a UTF-8 locale).
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        # Straight to the driver: every request begins a transaction, and the statement
        # machinery (exec_driver_sql) adds a third to the cost of a whole read transaction.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engine(settings: Settings, *, manual_checkpoints: bool = False) -> Engine:
    url = settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings, manual_checkpoints=manual_checkpoints)
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=2 * settings.db_pool_size,
        pool_pre_ping=True,
    )


def alembic_config(engine: Engine) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ALEMBIC_INI.with_name("alembic")))
    cfg.attributes["engine"] = engine
    return cfg


def run_migrations(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision."""
    command.upgrade(alembic_config(engine), "head")


class Database:
    """The engine and its sessions; one transaction is the unit of work of one request.

    ``session(write=True)`` gives a session whose transaction, on SQLite, starts with
    ``BEGIN IMMEDIATE`` (the write lock first, so that a check made inside the transaction
    still holds when it commits).  Sessions connect lazily, on their first statement.
    """

    def __init__(self, settings: Settings, *, background_checkpoints: bool = False) -> None:
        """``background_checkpoints`` (the server): on SQLite with ``sqlite_checkpoint_s`` > 0
        a :class:`WalCheckpointer` thread checkpoints the log and commits never do; other
        users (tools) keep SQLite's automatic checkpoints."""
        self.settings = settings
        manual = (
            background_checkpoints
            and settings.sqlite_checkpoint_s > 0
            and make_url(settings.database_url).get_backend_name() == "sqlite"
        )
        self.engine = make_engine(settings, manual_checkpoints=manual)
        self._checkpointer = (
            WalCheckpointer(self.engine, settings.sqlite_checkpoint_s) if manual else None
        )
        if self._checkpointer is not None:
            self._checkpointer.start()
        self._readers = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        writer = (
            self.engine.execution_options(**{_IMMEDIATE: True})
            if is_sqlite(self.engine)
            else self.engine
        )
        self._writers = sessionmaker(writer, expire_on_commit=False, autoflush=True)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    def session(self, *, write: bool) -> Session:
        return (self._writers if write else self._readers)()

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Session]:
        """Commit when the block ends normally, roll back on any exception."""
        with self.session(write=write) as session, session.begin():
            yield session

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database every ``every_s`` seconds, in
    PASSIVE mode (it takes no lock a request waits for and skips pages a reader still needs).

    Left to SQLite, the commit that takes the log past 1,000 pages runs the checkpoint itself:
    one assignment in a few hundred then waits for it (the p99 of an assignment commit doubled
    in ``benchmarks/api_load.py``).  Here no request's commit does."""

    def __init__(self, engine: Engine, every_s: float) -> None:
        self.engine = engine
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint: (busy, log frames, frames copied back)."""
        raw = self.engine.raw_connection()
        try:
            # The driver connection has no open transaction here (the pool rolled back).
            driver = raw.driver_connection
            if driver is None:
                raise RuntimeError("the pool gave a connection without a driver connection")
            row = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            raw.close()
        return int(row[0]), int(row[1]), int(row[2])

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.checkpoint()
            except Exception:  # a failed round is retried at the next; say so in the log
                log.exception("WAL checkpoint failed; retrying in %.1f s", self.every_s)


class DatabaseNotReady(RuntimeError):
    """The URL does not lead to a service database at the newest schema."""


def shown_url(url: str) -> str:
    """The URL as a message shows it (quoted): without its password."""
    try:
        return repr(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:
        return repr(url)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for another database or an in-memory one)."""
    parsed = make_url(url)
    file = parsed.database
    if parsed.get_backend_name() != "sqlite" or not file or file == ":memory:":
        return None
    return Path(file)


def driver_reason(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy's statement and link left out), or
    the error's kind where the driver said nothing."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_existing(url: str) -> Database:
    """A service database that must already exist at the newest schema (a tool reading or
    planning on the service's data must not create or migrate one by mistake)."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    try:
        file = sqlite_file(url)
    except Exception as exc:
        raise DatabaseNotReady(f"{url!r} is not a database URL: {exc}") from exc
    shown = shown_url(url)  # never a password in a message
    if file is not None and not file.exists():  # connecting would create an empty file
        raise DatabaseNotReady(f"{shown}: no such database file {file}")
    try:
        db = Database(Settings(database_url=url))
    except Exception as exc:  # a malformed URL or a missing driver: say which
        raise DatabaseNotReady(f"cannot open {shown}: {exc}") from exc
    try:
        head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
        try:
            conn = db.engine.connect()
        except Exception as exc:  # no server there, refused, or a file that is no database
            raise DatabaseNotReady(f"cannot connect to {shown}: {driver_reason(exc)}") from exc
        try:
            with conn:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as exc:
            raise DatabaseNotReady(
                f"{shown} is not a service database (no schema version): {driver_reason(exc)}"
            ) from exc
        if current != head:
            raise DatabaseNotReady(
                f"{shown} has schema version {current}, this version reads {head}; start the "
                "service on it once (it migrates) and try again"
            )
    except DatabaseNotReady:
        db.dispose()
        raise
    return db
