"""Bounds on the second core while the search improves the plan on the first: the count-priced
flow bound (``flow_relaxation.count_flow_bound``), then the knapsack bound (``knapsack_bound.py``)
from its prices; or the plain flow relaxation's bound over a whole instance searched by regions.

OR-Tools' min-cost flow holds the GIL while it solves, so a thread would stop the search: the
bound runs in a forked process instead, which shares the instance with the search (copy on
write) and sends back one number.  The count-priced one serves the largest instances searched
whole, where the search itself runs on one core and the plain flow's bound is weak because it
ignores the count limits (county-L: 5,732,965 against an LP of at least that and at most
5,798,695); the plain one serves the stage across regions, whose moves it would otherwise hold
up for its whole solve (province-border: 77 to 86 s of the stage's 150 s).
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Self

from assigner.search.flow_relaxation import FlowRelaxation, count_flow_bound, flow_relaxation
from assigner.search.instance import I64, AssignmentInstance
from assigner.search.knapsack_bound import knapsack_bound, prices_from_agents

# The child's own work limit ends this long before the time it is given, so that the last
# flow solve (it cannot be interrupted) and the answer fit in it.
CHILD_MARGIN_S = 3.0
# The count-priced flow gets this share of the child's time, the knapsack bound from its
# prices the rest.
COUNT_SHARE_OF_CHILD = 0.75


class ForkedBound:
    """``work()`` (a bound, or None) in a forked process, started at once; ``result`` collects
    the one float it sends (None for anything else).  The child inherits ``work`` and what it
    refers to (fork: nothing is pickled)."""

    def __init__(self, work: Callable[[], float | None], name: str) -> None:
        context = multiprocessing.get_context("fork")
        self._answer, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=send_result, args=(sending, work), name=name, daemon=True
        )
        self._process.start()
        sending.close()
        self.late = False  # set by ``result`` when the child had not answered in time

    def result(self, wait_s: float | None) -> float | None:
        """The child's bound, waiting at most ``wait_s`` for it (None: until it answers or
        ends); None when it has none (no solution, an error, or not done in time: the child
        is then stopped and ``late`` set)."""
        value: float | None = None
        if self._answer.poll(None if wait_s is None else max(0.0, wait_s)):
            try:
                answer = self._answer.recv()
            except EOFError:
                answer = None
            value = answer if isinstance(answer, float) else None
        else:
            self.late = True
        self.close()
        return value

    def close(self) -> None:
        """Stop the child if it still runs (its answer is then lost); safe to call again."""
        if self._answer.closed:
            return
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._answer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def send_result(out: Connection, work: Callable[[], float | None]) -> None:
    """The forked process's body: ``work()``'s value sent down ``out``."""
    try:
        out.send(work())
    finally:
        out.close()


def children_peak_mb() -> float:
    """Peak resident memory of the largest child process waited for (MB): what the benchmarks
    add to their own peak."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def count_then_knapsack_bound(
    inst: AssignmentInstance,
    weight: I64,
    start: FlowRelaxation,
    target: float,
    time_limit_s: float,
) -> float | None:
    """``count_flow_bound`` from the plain flow ``start`` (towards ``target``), then the
    knapsack bound at its prices, within ``time_limit_s`` less ``CHILD_MARGIN_S``; None when
    the flow has no solution."""
    time_limit_s = max(0.1, time_limit_s - CHILD_MARGIN_S)
    began = time.monotonic()
    relaxed = count_flow_bound(
        inst, weight, target, COUNT_SHARE_OF_CHILD * time_limit_s, start=start
    )
    if relaxed is None:
        return None
    bound = float(relaxed.bound)
    left = time_limit_s - (time.monotonic() - began)
    if left > 0:
        # Each agent's knapsack at the count-priced flow's prices, then subgradient steps.
        prices = prices_from_agents(inst, relaxed.agent_price, relaxed.multipliers)
        knap = knapsack_bound(inst, prices, math.inf, left)
        bound = max(bound, knap.bound)
    return bound


def flow_bound(inst: AssignmentInstance, weight: I64) -> float | None:
    """The plain flow relaxation's bound (``flow_relaxation``), which cannot be interrupted;
    None when it has no solution."""
    flow = flow_relaxation(inst, weight)
    return None if flow is None else float(flow.bound)
