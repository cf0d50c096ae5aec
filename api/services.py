"""What one running app holds: settings, database, warm roster index, metrics, job runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.auth import KeyCache
from api.db import Database
from api.metrics import Metrics
from api.recommending import RosterCache
from api.settings import Settings

if TYPE_CHECKING:
    from api.jobs import JobRunner


@dataclass
class Services:
    settings: Settings
    db: Database
    metrics: Metrics
    roster: RosterCache = field(default_factory=RosterCache)
    keys: KeyCache = field(default_factory=lambda: KeyCache(0.0))
    migration_head: str = ""
    jobs: JobRunner | None = None
