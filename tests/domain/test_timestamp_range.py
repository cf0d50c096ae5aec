"""Tests that dates and times outside 1900-01-01 .. 9000-01-01 are refused where they are read,
naming the field, and that the engine works at both ends of the range in any time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assigner.domain import InputError, Policy, load_problem
from assigner.domain.fields import EARLIEST_DAY, LATEST_DAY
from assigner.engine import solve_problem
from assigner.search.cpsat import SearchParams
from tests.domain.test_bad_input import valid
from tests.factory import make_case, make_lawyer, make_problem

# The zones furthest east (UTC+14) and west (UTC-12) of UTC.
EAST = "Pacific/Kiritimati"
WEST = "Etc/GMT+12"


def refused(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InputError) as info:
        load_problem(data)
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d.update(as_of="9999-12-31T23:00:00Z", policy={"timezone": EAST}),
            "as_of: must be before 9000-01-01",
        ),
        (
            lambda d: d.update(as_of="9999-12-31T23:59:59-12:00"),
            "as_of: must be before 9000-01-01",
        ),
        (
            lambda d: d["cases"][0].update(assign_by="9999-12-31T23:59:59Z"),
            "cases[0] (id C1).assign_by: must be before 9000-01-01",
        ),
        (
            lambda d: d["cases"][1].update(
                received_at="9000-01-01T00:00:00Z", assign_by="9000-01-02T00:00:00Z"
            ),
            "cases[1] (id C2).received_at: must be before 9000-01-01",
        ),
        (
            lambda d: d["lawyers"][0].update(leave=[{"start": "2026-03-01", "end": "9999-12-31"}]),
            "lawyers[0] (id L1).leave.0.end: must be before 9000-01-01",
        ),
        (
            lambda d: d["firms"][0].update(
                clients=[{"name": "Wang Wei", "ended_on": "9999-12-31"}]
            ),
            "firms[0] (id F1).clients.0.ended_on: must be before 9000-01-01",
        ),
        (
            lambda d: d["lawyers"][0].update(
                clients=[{"name": "Wang Wei", "ended_on": "0001-01-01"}]
            ),
            "lawyers[0] (id L1).clients.0.ended_on: must not be before 1900-01-01",
        ),
    ],
)
def test_dates_outside_the_range_are_refused(mutate: Any, expected: str) -> None:
    """Tests that a moment or a day past either end is refused, naming record and field."""
    data = valid()
    mutate(data)
    issues = refused(data)
    assert any(expected in i for i in issues), issues


@pytest.mark.parametrize("timezone", [EAST, WEST, "UTC"])
@pytest.mark.parametrize(
    "as_of",
    [
        datetime.combine(LATEST_DAY, datetime.min.time(), UTC) - timedelta(seconds=1),
        datetime.combine(EARLIEST_DAY, datetime.min.time(), UTC),
    ],
)
def test_engine_solves_at_both_ends_of_the_range(as_of: datetime, timezone: str) -> None:
    """Tests that the last and the first accepted moment, in the zones furthest from UTC,
    give an office day and a verified plan (the conflict rules look a year back, the
    deadline rules forward) instead of a date overflow."""
    start = datetime.combine(EARLIEST_DAY, datetime.min.time(), UTC)
    case = make_case(received_at=max(as_of - timedelta(hours=6), start), assign_by=as_of)
    office_day = as_of.astimezone(ZoneInfo(timezone)).date()
    # The first moment is on 1899-12-31 west of UTC, the last on 9000-01-01 east of it: days
    # no leave can name.
    on_leave = EARLIEST_DAY <= office_day < LATEST_DAY
    lawyer = make_lawyer(
        clients=[{"name": "Wang Wei", "ended_on": as_of.date().isoformat()}],
        leave=[{"start": office_day.isoformat(), "end": office_day.isoformat()}]
        if on_leave
        else [],
    )
    problem = make_problem(
        lawyers=[lawyer, make_lawyer("L2")],
        cases=[case],
        as_of=as_of,
        policy=Policy(timezone=timezone),
    )
    assert problem.day_of(as_of) == office_day
    plan = solve_problem(problem, SearchParams(time_limit_s=5, workers=1, deterministic=True))
    assert plan.verification is not None
    assigned = [a.lawyer_id for a in plan.assignments]
    if on_leave:
        assert assigned == ["L2"]  # L1 is on leave on the office's day
    else:
        assert len(assigned) == 1


def test_range_constants_leave_room_for_the_rules() -> None:
    """Tests that a year and a day of date arithmetic either side of the range stays inside
    Python's dates (years 1 to 9999)."""
    assert date.min + timedelta(days=367) < EARLIEST_DAY
    assert LATEST_DAY + timedelta(days=367) < date.max
