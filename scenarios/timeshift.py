"""Move a generated problem in time: every time and date shifted by one amount, so that the plan
date becomes a chosen moment (the generator plans for a fixed moment; a running service judges
deadlines, leave and conflict windows on the clock)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from assigner.domain import KnownClient, Leave, Problem


def _day(d: date, days: int) -> date:
    return d + timedelta(days=days)


def _clients(clients: list[KnownClient], days: int) -> list[KnownClient]:
    return [
        c.model_copy(update={"ended_on": _day(c.ended_on, days)}) if c.ended_on else c
        for c in clients
    ]


def _leave(leave: list[Leave], days: int) -> list[Leave]:
    return [
        lv.model_copy(update={"start": _day(lv.start, days), "end": _day(lv.end, days)})
        for lv in leave
    ]


def shift_to(problem: Problem, as_of: datetime) -> Problem:
    """``problem`` with its plan date moved to ``as_of``: case times by the exact difference,
    leave and client-history dates by the same number of whole days."""
    delta = as_of - problem.as_of
    days = delta.days
    cases = [
        c.model_copy(
            update={"received_at": c.received_at + delta, "assign_by": c.assign_by + delta}
        )
        for c in problem.cases
    ]
    lawyers = [
        lw.model_copy(
            update={"leave": _leave(lw.leave, days), "clients": _clients(lw.clients, days)}
        )
        for lw in problem.lawyers
    ]
    firms = [f.model_copy(update={"clients": _clients(f.clients, days)}) for f in problem.firms]
    return problem.model_copy(
        update={"as_of": as_of, "cases": cases, "lawyers": lawyers, "firms": firms}
    )
