"""Service settings, read from the environment (prefix ``ASSIGNER_``) or given explicitly."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from outside; nothing is read at import time."""

    model_config = SettingsConfigDict(env_prefix="ASSIGNER_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///./var/assigner.sqlite",
        description="SQLAlchemy URL: a SQLite file (WAL mode) or postgresql+psycopg://...",
    )
    seed_demo: bool = Field(
        default=True, description="Seed the demo county into an empty database on first start."
    )
    seed_name: str = Field(default="demo", description="Generated county tier to seed.")
    seed_value: int = Field(default=7, description="Generator seed for the demo county.")
    migrate_on_start: bool = Field(
        default=True, description="Run the Alembic migrations up to head on start."
    )
    run_jobs: bool = Field(default=True, description="Run queued jobs in this process.")
    job_poll_s: float = Field(default=0.5, gt=0, description="How often the runner looks for work.")
    job_lease_s: float = Field(
        default=30.0,
        gt=0,
        description="A running job whose heartbeat is older than this is taken as interrupted.",
    )
    job_max_attempts: int = Field(
        default=2, ge=1, description="Runs of one job before an interruption marks it failed."
    )
    solve_time_limit_max_s: float = Field(
        default=120.0, gt=0, description="Largest time limit a request may ask of the solver."
    )
    auth_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a verified API key is trusted without a database read; a revoked "
        "key stops working at most this much later (0: check every request).",
    )
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    sqlite_checkpoint_s: float = Field(
        default=1.0,
        ge=0,
        description="SQLite: a server thread checkpoints the write-ahead log this often (passive:"
        " it never blocks a request), so that no request's commit pays for a checkpoint; 0 "
        "leaves it to SQLite (a commit that fills 1,000 pages checkpoints).",
    )
    db_pool_size: int = Field(default=10, ge=1)
    import_max_rows: int = Field(default=50_000, ge=1)
    page_size_max: int = Field(default=500, ge=1)
