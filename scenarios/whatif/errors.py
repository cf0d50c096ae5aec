"""Scenario errors that name the place in the scenario file (``variants[1].changes[0].factor``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScenarioIssue:
    """One problem with a scenario: where (a field path, and the line when known) and what."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "scenario"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario refused whole, before any solve; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ScenarioIssue], source: str | None = None) -> None:
        self.issues = issues
        self.source = source
        head = f"{source}: " if source else ""
        shown = "; ".join(str(i) for i in issues[:20])
        more = f" (and {len(issues) - 20} more)" if len(issues) > 20 else ""
        super().__init__(f"{head}{len(issues)} scenario error(s): {shown}{more}")

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[ScenarioIssue], str | None]]:
        # Raised in worker processes too: it must cross back to the parent intact.
        return (type(self), (self.issues, self.source))


class SnapshotUnavailableError(RuntimeError):
    """A database snapshot baseline was asked for but no exporter can read the database."""


class ScenarioCancelledError(RuntimeError):
    """The caller asked the run to stop (``should_stop`` returned True between solves)."""
