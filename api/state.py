"""The service-state counters (see ``api.models.ServiceState``): read them, bump them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.models import PolicyRow, ServiceState


@dataclass(frozen=True)
class State:
    roster_revision: int
    loads_revision: int
    policy_version: int


def ensure(session: Session) -> None:
    if session.get(ServiceState, 1) is None:
        session.add(ServiceState(id=1, roster_revision=0, loads_revision=0))


_READ = select(
    ServiceState.roster_revision,
    ServiceState.loads_revision,
    select(func.max(PolicyRow.version)).scalar_subquery(),
).where(ServiceState.id == 1)


def read(session: Session) -> State:
    """All three counters in one round trip."""
    row = session.connection().execute(_READ).one_or_none()
    if row is None or row[2] is None:
        raise RuntimeError("service state or policy missing; the service writes them on start")
    return State(int(row[0]), int(row[1]), int(row[2]))


def bump_roster(session: Session) -> None:
    """Count a roster write.  The session's pending writes go first (``flush``), so that the
    service-state row is the last lock the transaction takes, as in every other write (see
    ``api.rebalancing.locked_state``)."""
    session.flush()
    session.connection().execute(_BUMP_ROSTER)


# Prepared once and run on the connection: the ORM-enabled UPDATE costs about a millisecond of
# CPU per call (statement built each time, then evaluated against the session), an eighth of
# an assignment's commit.  Nothing in the session needs to see the new value.
_BUMP_LOADS = (
    update(ServiceState)
    .where(ServiceState.id == 1)
    .values(loads_revision=ServiceState.loads_revision + 1)
)
_BUMP_ROSTER = (
    update(ServiceState)
    .where(ServiceState.id == 1)
    .values(roster_revision=ServiceState.roster_revision + 1)
)


def bump_loads(session: Session) -> None:
    """Count a change of loads, after the session's pending writes (see ``bump_roster``)."""
    session.flush()
    session.connection().execute(_BUMP_LOADS)
