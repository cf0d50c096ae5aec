"""The count-priced flow bound (``flow_relaxation.count_flow_bound``), then the knapsack bound
(``knapsack_bound.py``) from its prices, on the second core while the search improves the plan
on the first.

OR-Tools' min-cost flow holds the GIL while it solves, so a thread would stop the search: the
bound runs in a forked process instead, which shares the instance with the search (copy on
write) and sends back one number.  Used on the largest instances, where the search itself runs
on one core and the plain flow's bound is weak because it ignores the count limits (county-L:
5,732,965 against an LP of at least that and at most 5,798,695).
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import time
from multiprocessing.connection import Connection

from assigner.search.flow_relaxation import FlowRelaxation, count_flow_bound
from assigner.search.instance import I64, AssignmentInstance
from assigner.search.knapsack_bound import knapsack_bound, prices_from_agents

# The child's own work limit ends this long before the time it is given, so that the last
# flow solve (it cannot be interrupted) and the answer fit in it.
CHILD_MARGIN_S = 3.0
# The count-priced flow gets this share of the child's time, the knapsack bound from its
# prices the rest.
COUNT_SHARE_OF_CHILD = 0.75


class BackgroundCountBound:
    """``count_flow_bound`` in a forked process, started at once; ``result`` collects it."""

    def __init__(
        self,
        inst: AssignmentInstance,
        weight: I64,
        start: FlowRelaxation,
        target: float,
        time_limit_s: float,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._answer, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child,
            args=(sending, inst, weight, start, target, max(0.1, time_limit_s - CHILD_MARGIN_S)),
            name="count-flow-bound",
            daemon=True,
        )
        self._process.start()
        sending.close()

    def result(self, wait_s: float) -> float | None:
        """The child's bound, waiting at most ``wait_s`` for it; None when it has none (no
        solution, an error, or not done in time: the child is then stopped)."""
        value: float | None = None
        if self._answer.poll(max(0.0, wait_s)):
            try:
                answer = self._answer.recv()
            except EOFError:
                answer = None
            value = answer if isinstance(answer, float) else None
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

    def __enter__(self) -> BackgroundCountBound:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def children_peak_mb() -> float:
    """Peak resident memory of the largest child process waited for (MB): what the benchmarks
    add to their own peak."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _child(
    out: Connection,
    inst: AssignmentInstance,
    weight: I64,
    start: FlowRelaxation,
    target: float,
    time_limit_s: float,
) -> None:
    try:
        began = time.monotonic()
        relaxed = count_flow_bound(
            inst, weight, target, COUNT_SHARE_OF_CHILD * time_limit_s, start=start
        )
        if relaxed is None:
            out.send(None)
            return
        bound = float(relaxed.bound)
        left = time_limit_s - (time.monotonic() - began)
        if left > 0:
            # Each agent's knapsack at the count-priced flow's prices, then subgradient steps.
            prices = prices_from_agents(inst, relaxed.agent_price, relaxed.multipliers)
            knap = knapsack_bound(inst, prices, math.inf, left)
            bound = max(bound, knap.bound)
        out.send(bound)
    finally:
        out.close()
