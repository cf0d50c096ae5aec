"""Tests that `assigner keys` refuses a database it cannot use with a message and exit code 2,
never a traceback; that list and revoke never create a database (a mistyped file name would
only show "no keys"); and that a key needs a name."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli import keys_app

runner = CliRunner()

UNREACHABLE = "postgresql+psycopg://nobody:secret@127.0.0.1:1/assigner"
"""Port 1 on the loopback: the connection is refused at once."""


def _refused(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


@pytest.fixture()
def not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "notes.sqlite"
    path.write_text("these are notes, not a database\n" * 10, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["list"], ["revoke", "0123456789ab"]])
def test_list_and_revoke_refuse_a_database_they_cannot_use(
    command: list[str], tmp_path: Path, not_a_database: Path
) -> None:
    """Tests that list and revoke exit 2 with a message for a URL that is none, a SQLite file
    that does not exist (creating neither it nor its folder), a file that is not a database
    and a server that refuses the connection."""
    missing = tmp_path / "nodir" / "keys.sqlite"
    cases = [
        ("notaurl", "not a database URL"),
        (f"sqlite:///{missing}", "no such database file"),
        (f"sqlite:///{not_a_database}", "not a database"),
        (UNREACHABLE, "refused"),
    ]
    for url, words in cases:
        _refused(runner.invoke(keys_app, [*command, "--database-url", url]), words)
    assert not missing.parent.exists()


def test_create_refuses_a_database_it_cannot_use(not_a_database: Path) -> None:
    """Tests that create exits 2 with a message for a URL that is none, a driver that is not
    installed, a file that is not a database and a server that refuses the connection, and
    leaves the file as it was."""
    before = not_a_database.read_bytes()
    cases = [
        ("notaurl", "cannot be used"),
        ("nosuchdialect://host/db", "cannot be used"),
        (f"sqlite:///{not_a_database}", "file is not a database"),
        (UNREACHABLE, "refused"),
    ]
    for url, words in cases:
        args = ["create", "--role", "admin", "--name", "ops", "--database-url", url]
        _refused(runner.invoke(keys_app, args), words)
    assert not_a_database.read_bytes() == before


def test_create_makes_a_new_database_and_says_so(tmp_path: Path) -> None:
    """Tests that create on a SQLite file that does not exist still makes it (the first key
    before the first start), saying so on stderr, and that list then reads it."""
    path = tmp_path / "keys.sqlite"
    url = f"sqlite:///{path}"
    made = runner.invoke(
        keys_app, ["create", "--role", "admin", "--name", "ops", "--database-url", url]
    )
    assert made.exit_code == 0, made.output
    assert f"no database at {path}: created a new one" in made.stderr
    assert made.stdout.strip().startswith("asg_")
    again = runner.invoke(
        keys_app, ["create", "--role", "admin", "--name", "ops 2", "--database-url", url]
    )
    assert again.exit_code == 0 and "created" not in again.stderr
    listed = runner.invoke(keys_app, ["list", "--database-url", url])
    assert listed.exit_code == 0, listed.output
    assert len(listed.stdout.splitlines()) == 2


@pytest.mark.parametrize("name", ["", "   ", "ops\tteam", "night\nbatch", "x" * 129])
def test_create_refuses_a_name_that_cannot_name_a_key(name: str, tmp_path: Path) -> None:
    """Tests that an empty, blank, too long (the column holds 128) or tab- or line-break-
    holding name (it would break `keys list`'s columns) is refused before the database is
    opened."""
    path = tmp_path / "keys.sqlite"
    args = ["create", "--role", "admin", "--name", name, "--database-url", f"sqlite:///{path}"]
    _refused(runner.invoke(keys_app, args), "--name")
    assert not path.exists()
