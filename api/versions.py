"""Optimistic concurrency: record versions as ETags, If-Match as the expected version."""

from __future__ import annotations

from dataclasses import dataclass

from api.problems import ApiProblem, FieldError, conflict, invalid


@dataclass(frozen=True)
class Written:
    """The outcome of a create-or-replace: whether the record is new, and its version now."""

    created: bool
    version: int


def etag(version: int) -> str:
    return f'"{version}"'


ANY_VERSION = 0
"""``If-Match: *``: the record must exist, at any version (versions start at 1)."""


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header names; None when absent, ``ANY_VERSION`` for ``*`` (a
    replace or delete then needs the record to exist, whatever its version).

    If-Match compares entity tags strongly (RFC 9110 section 13.1.1): a weak tag (``W/"3"``)
    never matches, so it is refused like a stale version, never taken as the version."""
    if value is None:
        return None
    if value.strip() == "*":
        return ANY_VERSION
    text = value.strip()
    weak = text.startswith("W/")
    digits = (text[2:] if weak else text).strip('"')
    if not (digits.isascii() and digits.isdigit()):
        raise invalid(
            [
                FieldError(
                    field="If-Match", message='expected a version ETag like "3"', location="header"
                )
            ]
        )
    if weak:
        raise conflict(
            "weak_etag",
            "Weak entity tag",
            f"If-Match {text} is a weak entity tag, which never matches: send the ETag as "
            f'the service gave it, "{int(digits)}"',
        )
    return int(digits)


def expected_version(if_match: str | None, given: int | None) -> int | None:
    """The caller's expected version from If-Match or ``expected_version`` (they must agree).

    A disagreement is reported on the If-Match header: ``expected_version`` is a body field
    of some requests and a query parameter of others, the header is a header in all."""
    header = parse_if_match(if_match)
    if header == ANY_VERSION:
        header = None  # names no version: ``given`` (or nothing) does
    if header is not None and given is not None and header != given:
        raise invalid(
            [
                FieldError(
                    field="If-Match",
                    message=f"names version {header} but expected_version is {given}; send "
                    "one of them, or the same version in both",
                    location="header",
                )
            ]
        )
    return header if header is not None else given


def require_version(if_match: str | None, given: int | None) -> int:
    version = expected_version(if_match, given)
    if version is None:
        raise ApiProblem(
            428,
            "precondition-required",
            "Precondition required",
            "send the case version you saw, as If-Match or expected_version",
        )
    return version


def check_version(entity: str, entity_id: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != ANY_VERSION and expected != current:
        raise conflict(
            "stale_version",
            "Stale version",
            f"{entity} {entity_id} is at version {current}, not {expected}; read it again",
            current_version=current,
            expected_version=expected,
        )
