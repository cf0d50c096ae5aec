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


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header names; None when absent or ``*``."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise invalid(
            [
                FieldError(
                    field="If-Match", message='expected a version ETag like "3"', location="header"
                )
            ]
        )
    return int(text)


def expected_version(if_match: str | None, in_body: int | None) -> int | None:
    """The caller's expected version from If-Match or the body (they must agree)."""
    header = parse_if_match(if_match)
    if header is not None and in_body is not None and header != in_body:
        raise invalid(
            [
                FieldError(
                    field="expected_version",
                    message=f"differs from If-Match ({header})",
                    location="body",
                )
            ]
        )
    return header if header is not None else in_body


def require_version(if_match: str | None, in_body: int | None) -> int:
    version = expected_version(if_match, in_body)
    if version is None:
        raise ApiProblem(
            428,
            "precondition-required",
            "Precondition required",
            "send the case version you saw, as If-Match or expected_version",
        )
    return version


def check_version(entity: str, entity_id: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise conflict(
            "stale_version",
            "Stale version",
            f"{entity} {entity_id} is at version {current}, not {expected}; read it again",
            current_version=current,
            expected_version=expected,
        )
