"""The value types the Problem's records share, with the limits that keep the engine's arithmetic
exact.

The engine holds counts in 32-bit arrays, costs in 64-bit integer points, and does date
arithmetic around the problem's moment; a value past these limits would overflow there, so each
record refuses it where it is read, naming the field, rather than failing later inside a solve.
The limits are far beyond any real legal aid office (a lawyer's yearly hours are in the
thousands, open cases in the hundreds).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

# Every record: no unknown fields, and no infinite or NaN numbers (JSON has neither; a parser
# that accepts ``Infinity`` would otherwise let one through).
RECORD_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)

# Ids and names fit the service's columns (``api/models.py``: 128 and 512 characters).
MAX_ID_CHARS = 128
MAX_NAME_CHARS = 512
MAX_CASE_COUNT = 100_000
"""Open cases, yearly quotas and cases taken: far above any lawyer's, well within 32 bits."""
MAX_HOURS = 100_000.0
"""Workload hours of a lawyer's capacity, load or one case (a year has 8,760 hours)."""
MAX_DISTANCE_KM = 20_040.0
"""Half the Earth's circumference: no two places are further apart."""
MAX_YEARS = 100.0
EARLIEST_DAY = date(1900, 1, 1)
"""Dates and times start here: the conflict rules look a year back from the problem's moment."""
LATEST_DAY = date(9000, 1, 1)
"""Dates and times end before this day: the office's time zone may move a moment by up to a
day and the rules add days and years to it, all of which must stay below Python's year 9999."""


def _code_point(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def _printable(value: str) -> str:
    """Refuse control characters (a NUL or a line break in an id or a name is a data error)."""
    for ch in value:
        if unicodedata.category(ch) == "Cc":
            raise ValueError(f"contains the control character {_code_point(ch)}")
    return value


def _id_characters(value: str) -> str:
    """Refuse what makes an id unusable in a path or unreadable on screen: ``/`` (a URL path
    separator even when escaped as %2F), invisible format characters (a zero-width space, a
    right-to-left override) and any space but the plain one (a no-break or ideographic space),
    which make two different ids look alike.  A plain space inside an id ("2025 Civ 107") is
    kept: a URL carries it as %20."""
    for ch in value:
        if ch == "/":
            raise ValueError(f"must not contain '/' ({_code_point(ch)})")
        category = unicodedata.category(ch)
        if category == "Cf":
            raise ValueError(f"contains the invisible format character {_code_point(ch)}")
        if ch != " " and (ch.isspace() or category in ("Zs", "Zl", "Zp")):
            raise ValueError(f"must not contain the space character {_code_point(ch)}")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _trimmed(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with white space")
    return value


Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_CHARS),
    AfterValidator(_printable),
    AfterValidator(_not_blank),
    AfterValidator(_trimmed),
    AfterValidator(_id_characters),
]
"""A record's id: 1 to 128 characters, none of them a control character, an invisible format
character, a space other than the plain one (none around it) or ``/`` (ids are URL path
segments of the service)."""

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_CHARS),
    AfterValidator(_printable),
    AfterValidator(_not_blank),
]
"""A person's or firm's name: 1 to 512 characters, not blank, no control characters."""

CaseCount = Annotated[int, Field(ge=0, le=MAX_CASE_COUNT)]
Hours = Annotated[float, Field(ge=0, le=MAX_HOURS)]


_TOO_EARLY = f"must not be before {EARLIEST_DAY.isoformat()}"
_TOO_LATE = f"must be before {LATEST_DAY.isoformat()}"


def _as_utc(value: datetime) -> datetime:
    """Times without a zone are read as UTC so that all times compare; outside
    ``EARLIEST_DAY`` .. ``LATEST_DAY`` (exclusive) refused."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # a time near year 1 or 9999 shifted out of range
        raise ValueError(_TOO_EARLY if value.year < LATEST_DAY.year else _TOO_LATE) from exc
    _in_range(value.date())
    return value


def _in_range(value: date) -> date:
    if value < EARLIEST_DAY:
        raise ValueError(_TOO_EARLY)
    if value >= LATEST_DAY:
        raise ValueError(_TOO_LATE)
    return value


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)"
        ) from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
"""An IANA time zone name (``Asia/Shanghai``, ``America/Chicago``, ``UTC``)."""

Timestamp = Annotated[datetime, AfterValidator(_as_utc)]
"""A moment, in UTC, from ``EARLIEST_DAY`` and before ``LATEST_DAY``; a time without a zone is
read as UTC."""
Day = Annotated[date, AfterValidator(_in_range)]
"""A calendar day from ``EARLIEST_DAY`` and before ``LATEST_DAY``."""
