"""The Alembic migrations build exactly the tables the models describe, and step down and up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from api.db import alembic_config, run_migrations
from api.models import Base


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """Tests that after every migration the schema has no difference from the models (a
    model change without its migration fails here), and that the newest migration can be
    undone and redone."""
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    run_migrations(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0001")
    assert "job_artifacts" not in inspect(engine).get_table_names()
    assert "started" not in {c["name"] for c in inspect(engine).get_columns("assignments")}
    command.upgrade(cfg, "head")
    assert "job_artifacts" in inspect(engine).get_table_names()
    engine.dispose()
