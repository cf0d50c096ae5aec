"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import time.

Start-up (the lifespan): connect, run the Alembic migrations, write policy version 1 into an
empty database, seed the demo county into an empty database (unless turned off), start the job
runner (which first recovers jobs a previous process left running), and load (or, on the first
start of an installation, compile) the search's compiled passes on a thread of their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from alembic.script import ScriptDirectory
from fastapi import FastAPI

from api import policies, problems, state
from api.auth import KeyCache
from api.db import Database, alembic_config, run_migrations
from api.jobs import JobRunner
from api.metrics import Metrics, TimingMiddleware
from api.recommending import RosterCache
from api.routes import (
    assignments,
    audit,
    cases,
    firms,
    health,
    jobs,
    lawyers,
    policy,
    recommendations,
    solve,
)
from api.seed import demo_problem, is_empty, seed_problem
from api.services import Services
from api.settings import Settings
from assigner.search.warm_up import warm_up

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """
Assigns legal aid cases to qualified, conflict-free, nearby, not-overloaded lawyers, and shows
why.

* **Roster and caseload**: firms, lawyers and cases are the engine's own documents (the ones
  `assigner solve` reads), stored with a version; PUT creates or replaces, `If-Match` makes it
  conditional; bulk import from JSON or CSV reports rejected rows.
* **Per case**: recommendations (top-k eligible lawyers against current loads, each with the
  solver's score breakdown, and why-not for named lawyers), conflict check, assignment with
  optimistic concurrency (409 with a `reason` on a stale version, a capacity overrun or a
  conflict), withdrawal with a reason (a complaint excludes the lawyer from then on).
* **Batch**: `POST /v1/solve` (a Problem in, a Plan out) and jobs with progress.
* **Governance**: versioned policy, audit log of every change.

Authentication: an API key (`assigner keys create --role ...`) as `X-API-Key` or a Bearer
token. Roles: `read-only` reads; `case-system` also writes cases and assignments and solves;
`admin` also writes the roster, policy and jobs. Errors are RFC 9457 problem details.
"""

TAGS = [
    {"name": "firms", "description": "Firms of the roster."},
    {"name": "lawyers", "description": "Providers, with the load the service assigned."},
    {"name": "cases", "description": "The caseload."},
    {"name": "recommendations", "description": "Who should take this case, and why (not)."},
    {"name": "assignment", "description": "Assign and withdraw, safe under concurrency."},
    {"name": "solve", "description": "Stateless: a Problem in, a verified Plan out."},
    {"name": "jobs", "description": "Batch assignment jobs with progress."},
    {"name": "policy", "description": "Versioned weights and rule switches."},
    {"name": "audit", "description": "Who changed what, when, under which policy, and why."},
    {"name": "health", "description": "Probes and Prometheus metrics (no key needed)."},
]


def prepare_database(settings: Settings, db: Database, cache: RosterCache) -> None:
    """What must happen once before serving: migrations, policy version 1, the state row,
    and the demo county in an empty database.  ``assigner serve`` runs it in the parent
    process before the workers start; an app started otherwise runs it in its lifespan."""
    if settings.migrate_on_start:
        run_migrations(db.engine)
    with db.transaction(write=True) as session:
        policies.ensure_initial(session)
        state.ensure(session)
    if settings.seed_demo:
        with db.transaction(write=False) as session:
            empty = is_empty(session)
        if empty:
            counts = seed_problem(db, cache, demo_problem(settings.seed_name, settings.seed_value))
            log.info(
                "seeded demo county %s/%d: %s", settings.seed_name, settings.seed_value, counts
            )


def start_services(settings: Settings, metrics: Metrics) -> Services:
    db = Database(settings, background_checkpoints=True)
    cache = RosterCache()
    prepare_database(settings, db, cache)
    head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head() or ""
    services = Services(
        settings=settings,
        db=db,
        metrics=metrics,
        roster=cache,
        migration_head=head,
        keys=KeyCache(settings.auth_cache_s),
    )
    if settings.run_jobs:
        services.jobs = JobRunner(db, settings, metrics, services.roster)
        services.jobs.start()
    # The search's compiled passes: loaded from numba's on-disk cache, or compiled on the first
    # start of an installation (about 17 s), beside serving; a solve meanwhile waits for them.
    threading.Thread(target=warm_up, name="compile-search-passes", daemon=True).start()
    return services


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = start_services(settings, metrics)
        app.state.services = services
        try:
            yield
        finally:
            if services.jobs is not None:
                services.jobs.stop()
            services.db.dispose()

    app = FastAPI(
        title="Legal aid assigner",
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        responses={
            401: problems.PROBLEM_RESPONSES[401],
            403: problems.PROBLEM_RESPONSES[403],
            422: problems.PROBLEM_RESPONSES[422],
        },
    )
    problems.install(app)
    app.add_middleware(TimingMiddleware, metrics=metrics)
    # The hot routes first: a request is matched against the routers in this order.
    for module in (
        recommendations,
        assignments,
        cases,
        lawyers,
        firms,
        solve,
        jobs,
        policy,
        audit,
        health,
    ):
        app.include_router(module.router)
    return app
