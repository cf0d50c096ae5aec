"""One search's time budget: wall-clock deadlines, or work limits in deterministic mode."""

from __future__ import annotations

import time
from dataclasses import dataclass

DETERMINISTIC_SAFETY = 10.0
"""In deterministic mode the wall-clock limits stay only as a safety stop at this many times the
budget."""


@dataclass(frozen=True)
class Budget:
    """Wall-clock deadlines, or, in deterministic mode, work limits that do not depend on the
    machine: descent to convergence, fixed iteration, node and step counts, with wall-clock
    limits kept only as a safety stop at ``DETERMINISTIC_SAFETY`` times the budget."""

    start: float
    time_limit_s: float
    deterministic: bool

    @property
    def deadline(self) -> float:
        if self.deterministic:
            return self.start + DETERMINISTIC_SAFETY * self.time_limit_s
        return self.start + self.time_limit_s

    def share_deadline(self, share: float) -> float:
        if self.deterministic:
            return float("inf")
        return self.start + share * self.time_limit_s

    def seconds(self, share: float) -> float:
        """A phase's time limit: its share of the budget (a safety limit when deterministic)."""
        factor = DETERMINISTIC_SAFETY if self.deterministic else 1.0
        return max(0.2, factor * share * self.time_limit_s)

    def remaining(self) -> float:
        if self.deterministic:
            return self.time_limit_s
        return self.start + self.time_limit_s - time.monotonic()
