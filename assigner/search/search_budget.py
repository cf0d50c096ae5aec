"""One search's time budget: wall-clock deadlines, or work limits in deterministic mode."""

from __future__ import annotations

import time
from dataclasses import dataclass

DETERMINISTIC_SAFETY = 10.0
"""In deterministic mode the wall-clock limits stay only as a safety stop at this many times the
budget, and no sooner than ``DETERMINISTIC_MIN_SAFETY_S``."""
DETERMINISTIC_MIN_SAFETY_S = 30.0
"""The earliest deterministic safety stop: a work limit that takes a small multiple of a short
budget on a loaded machine must not meet it (a what-if scenario's sample, 189 edges, budget
0.5 s: the exact MIP's 2,000 nodes took 4 to 11 s as other work shared the machine, so a stop at
10 times the budget decided the plan in some runs and not in others)."""


def deterministic_safety_s(time_limit_s: float) -> float:
    """The wall-clock safety stop of a deterministic search or solver call of this budget."""
    return max(DETERMINISTIC_SAFETY * time_limit_s, DETERMINISTIC_MIN_SAFETY_S)


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
            return self.start + deterministic_safety_s(self.time_limit_s)
        return self.start + self.time_limit_s

    @property
    def safety_s(self) -> float:
        """The time limit of a solver call whose work limit ends it in deterministic mode."""
        if self.deterministic:
            return deterministic_safety_s(self.time_limit_s)
        return self.remaining()

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
