"""Input errors that name the record and the field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputIssue:
    record: str
    field: str
    message: str
    # The cases the issue is about, where it is about cases that must stay with their lawyers
    # (for a caller that can leave them out, as the service's batch does).
    case_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.record}.{self.field}" if self.field else self.record
        return f"{where}: {self.message}"


class InputError(ValueError):
    """Bad input, refused whole; ``issues`` lists every problem found."""

    def __init__(self, issues: list[InputIssue]) -> None:
        self.issues = issues
        shown = "; ".join(str(i) for i in issues[:20])
        more = f" (and {len(issues) - 20} more)" if len(issues) > 20 else ""
        super().__init__(f"{len(issues)} input error(s): {shown}{more}")
