"""The step scale of a subgradient method: halved after a run of steps without progress.

Shared by the Lagrangian bounds (``lagrangian.py``, ``flow_relaxation.count_flow_bound``,
``knapsack_bound.py``), whose Polyak steps overshoot once the multipliers are near the dual
optimum: a shorter step then lets the value climb again.
"""

from __future__ import annotations


class StepScale:
    """``value`` starts at ``start`` and halves after ``patience`` steps in a row that did not
    improve; ``exhausted`` once it falls under ``minimum``."""

    def __init__(self, start: float, patience: int, minimum: float = 0.0) -> None:
        self.value = start
        self.patience = patience
        self.minimum = minimum
        self._stalled = 0

    def record(self, improved: bool) -> None:
        if improved:
            self._stalled = 0
            return
        self._stalled += 1
        if self._stalled >= self.patience:
            self.value *= 0.5
            self._stalled = 0

    @property
    def exhausted(self) -> bool:
        return self.value < self.minimum
