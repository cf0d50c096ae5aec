"""Tests that `assigner db check` lists the stored records that today's record checks refuse
(stored before the checks tightened), by kind, id and field, and passes a clean database."""

from __future__ import annotations

from sqlalchemy import update
from typer.testing import CliRunner

from api.cli import EXIT_RECORDS_REFUSED
from api.db import Database
from api.models import CaseRow, LawyerRow
from cli.main import app
from tests.api.conftest import Api

runner = CliRunner()


def test_db_check_passes_a_clean_database_and_names_each_refused_field(
    world_api: Api, sqlite_url: str
) -> None:
    """Tests that the world as written passes (exit 0, counts of each kind read), and that a
    case due in 9999 and a lawyer whose capacity is negative, written past the checks as
    an older version could have, are each named with their field (exit 3)."""
    clean = runner.invoke(app, ["db", "check", "--database-url", sqlite_url])
    assert clean.exit_code == 0, clean.output
    assert "every stored record passes" in clean.output
    assert "5 lawyers" in clean.output

    db: Database = world_api.client.app.state.services.db  # type: ignore[union-attr]
    with db.transaction(write=True) as session:
        case = session.get(CaseRow, "C1")
        lawyer = session.get(LawyerRow, "L2")
        assert case is not None and lawyer is not None
        case_doc = {**case.document, "assign_by": "9999-12-31T23:00:00Z"}
        lawyer_doc = {**lawyer.document, "capacity_hours": -5}
        session.execute(update(CaseRow).where(CaseRow.id == "C1").values(document=case_doc))
        session.execute(update(LawyerRow).where(LawyerRow.id == "L2").values(document=lawyer_doc))
    refused = runner.invoke(app, ["db", "check", "--database-url", sqlite_url])
    assert refused.exit_code == EXIT_RECORDS_REFUSED, refused.output
    lines = refused.output.splitlines()
    assert any(line.startswith("lawyer L2.capacity_hours: ") for line in lines), lines
    assert "case C1.assign_by: must be before 9000-01-01" in lines, lines
    assert "2 field(s) refused" in refused.output


def test_db_check_refuses_a_missing_database() -> None:
    """Tests that a database file that does not exist is exit 2, not a new database."""
    result = runner.invoke(app, ["db", "check", "--database-url", "sqlite:////nonexistent/x.db"])
    assert result.exit_code == 2, result.output
    assert "no such database file" in result.output
