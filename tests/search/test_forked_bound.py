"""``ForkedBound``: a bound (or several, as found) from a forked process, collected by a
deadline."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from assigner.search.background_bound import ForkedBound


def _three_bounds_then_a_long_wait() -> Iterator[float]:
    yield 5.0
    yield 9.0
    yield 7.0
    time.sleep(600)  # stopped by ``result``'s deadline
    yield 100.0


def test_the_highest_bound_sent_by_the_deadline_counts() -> None:
    """Tests that of several bounds sent the highest is kept, and that a child still working at
    the deadline is stopped and marked late without losing what it sent."""
    with ForkedBound(_three_bounds_then_a_long_wait, "test-stream") as child:
        assert child.result(wait_s=1.0) == 9.0
        assert child.late


def test_a_child_that_finishes_is_not_late_and_none_means_no_bound() -> None:
    """Tests that a finished child is not late, and that one that sends None gives None."""
    with ForkedBound(lambda: 3.0, "test-one") as child:
        assert child.result(None) == 3.0 and not child.late
    with ForkedBound(lambda: None, "test-none") as child:
        assert child.result(None) is None and not child.late


def test_the_child_runs_at_the_niceness_asked_for() -> None:
    """Tests that with ``niceness`` the child lowers its own priority by that much (capped at
    19, the lowest), reporting it as its bound here."""
    parent = os.nice(0)
    with ForkedBound(lambda: float(os.nice(0)), "test-nice", niceness=5) as child:
        assert child.result(None) == float(min(19, parent + 5))
    with ForkedBound(lambda: float(os.nice(0)), "test-plain") as child:
        assert child.result(None) == float(parent)
