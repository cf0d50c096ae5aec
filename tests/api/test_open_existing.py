"""Tests that a tool opening the service's database (rebalance --db, scenario baselines, keys)
says what is wrong with a URL it cannot use, without the password in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.db import DatabaseNotReady, open_existing


def test_a_server_that_refuses_is_named_without_the_password() -> None:
    """Tests that nothing listening at the URL's port (1, on loopback) is reported as a
    connection failure, not as a database without a schema, and the password is hidden."""
    with pytest.raises(DatabaseNotReady) as caught:
        open_existing("postgresql+psycopg://planner:s3cret@127.0.0.1:1/assigner")
    message = str(caught.value)
    assert message.startswith("cannot connect to 'postgresql+psycopg://planner:***@127.0.0.1:1/")
    assert "s3cret" not in message


def test_a_file_that_is_no_database_is_named(tmp_path: Path) -> None:
    """Tests that a SQLite URL naming a file that is not a database says so."""
    path = tmp_path / "state.json"
    path.write_text('{"not": "a database"}' * 100)
    with pytest.raises(DatabaseNotReady, match="file is not a database"):
        open_existing(f"sqlite:///{path}")
