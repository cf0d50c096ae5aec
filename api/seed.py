"""Demo data for a first start: the generated demo county, written through the service's own
checks (records by PUT semantics, current assignments by the assignment path).

``api`` otherwise imports only ``assigner``; the generator is imported here, lazily, because
the lead asked for the demo county (``scenarios.generator.generate_county``) as seed data.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import assigning, caseload, roster
from api.auth import Principal, Role
from api.db import Database
from api.models import CaseRow, FirmRow, LawyerRow, ServiceState
from api.recommending import RosterCache
from assigner.domain import Problem

log = logging.getLogger(__name__)

SEEDER = Principal(key_id="seed", name="demo seed", role=Role.ADMIN)


def is_empty(session: Session) -> bool:
    return all(
        session.execute(select(func.count()).select_from(table)).scalar_one() == 0
        for table in (FirmRow, LawyerRow, CaseRow)
    )


def demo_problem(name: str, seed: int) -> Problem:
    """The generated county moved in time so that its plan date is now: the service judges
    deadlines, leave and conflict windows on the clock, and a demo of March's cases seen in
    November would show every case overdue."""
    try:
        from scenarios.generator import generate_county
        from scenarios.timeshift import shift_to
    except ImportError as exc:
        raise RuntimeError(
            "demo seeding needs scenarios.generator; install the project whole or start with "
            "ASSIGNER_SEED_DEMO=false"
        ) from exc
    return shift_to(generate_county(name, seed), datetime.now(UTC))


def seed_problem(db: Database, cache: RosterCache, problem: Problem) -> dict[str, int] | None:
    """Write a Problem's firms, lawyers and cases into an empty database; its current
    assignments are made through ``assigning.assign`` (checked, audited).  Returns counts, or
    None when the database was not empty (another process seeded it first)."""
    with db.transaction(write=True) as session:
        # Lock the state row (SQLite: the write lock is held already) so that two processes
        # starting at once cannot both seed.
        session.get(ServiceState, 1, with_for_update=True)
        if not is_empty(session):
            return None
        for firm in problem.firms:
            roster.put_firm(session, firm, SEEDER)
        firm_ids = {f.id for f in problem.firms}
        for lawyer in problem.lawyers:
            roster.put_lawyer(session, lawyer, SEEDER, firm_ids=firm_ids)
        lawyer_ids = {lw.id for lw in problem.lawyers}
        case_ids = {c.id for c in problem.cases}
        for case in problem.cases:
            caseload.put_case(
                session,
                case.model_copy(update={"current_assignment": None}),
                SEEDER,
                lawyer_ids=lawyer_ids,
                case_ids=case_ids,
            )
    assigned = refused = 0
    for case in problem.cases:
        if case.current_assignment is None:
            continue
        with db.transaction(write=True) as session:
            try:
                with session.begin_nested():
                    assigning.assign(
                        session,
                        cache,
                        case.id,
                        case.current_assignment.lawyer_id,
                        1,
                        SEEDER,
                        note="demo seed: current assignment",
                    )
                assigned += 1
            except Exception as exc:  # the demo keeps going; the log says which and why
                refused += 1
                log.warning("demo seed: assignment of %s refused: %s", case.id, exc)
    return {
        "firms": len(problem.firms),
        "lawyers": len(problem.lawyers),
        "cases": len(problem.cases),
        "assigned": assigned,
        "assignments_refused": refused,
    }
