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


def _printable(value: str) -> str:
    """Refuse control characters (a NUL or a line break in an id or a name is a data error)."""
    for ch in value:
        if unicodedata.category(ch) == "Cc":
            raise ValueError(f"contains the control character {ch!r}")
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
]
"""A record's id: 1 to 128 characters, no control characters, no white space around it."""

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_CHARS),
    AfterValidator(_printable),
    AfterValidator(_not_blank),
]
"""A person's or firm's name: 1 to 512 characters, not blank, no control characters."""

CaseCount = Annotated[int, Field(ge=0, le=MAX_CASE_COUNT)]
Hours = Annotated[float, Field(ge=0, le=MAX_HOURS)]


def _as_utc(value: datetime) -> datetime:
    """Times without a zone are read as UTC so that all times compare; before
    ``EARLIEST_DAY`` refused."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # a time near year 1 or 9999 shifted out of range
        raise ValueError("is out of the range of dates") from exc
    if value.date() < EARLIEST_DAY:
        raise ValueError(f"must not be before {EARLIEST_DAY.isoformat()}")
    return value


def _on_or_after_earliest(value: date) -> date:
    if value < EARLIEST_DAY:
        raise ValueError(f"must not be before {EARLIEST_DAY.isoformat()}")
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
Day = Annotated[date, AfterValidator(_on_or_after_earliest)]
