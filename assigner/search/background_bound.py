"""Bounds on the second core while the search improves the plan on the first: the count-priced
flow bound (``flow_relaxation.count_flow_bound``), then the knapsack bound (``knapsack_bound.py``)
from its prices; or, over a whole instance searched by regions, the plain flow relaxation's
bound and the knapsack bounds at its prices (``flow_and_knapsack_bounds``).

OR-Tools' min-cost flow holds the GIL while it solves, so a thread would stop the search: the
bound runs in a forked process instead, which shares the instance with the search (copy on
write) and sends back its bounds as it finds them.  The count-priced one serves the largest
instances searched whole, where the search itself runs on one core and the plain flow's bound is
weak because it ignores the count limits (county-L: 5,732,965 against an LP of at least that and
at most 5,798,695); the regions' one runs from the start of a search by regions, beside the
regions' own searches, since its flow alone takes 77 to 86 s on province-border.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Self

import numpy as np

from assigner.search.count_flow_prices import count_flow_prices
from assigner.search.flow_relaxation import (
    FlowRelaxation,
    count_flow_bound,
    flow_prices,
    flow_relaxation,
)
from assigner.search.instance import I64, AssignmentInstance
from assigner.search.knapsack_bound import KnapsackRelaxation, knapsack_bound, prices_from_agents

# The child's own work limit ends this long before the time it is given, so that the last
# flow solve (it cannot be interrupted) and the answer fit in it.
CHILD_MARGIN_S = 3.0
# The count-priced flow gets this share of the child's time, the knapsack bound from its
# prices the rest.
COUNT_SHARE_OF_CHILD = 0.75


Work = Callable[[], float | None] | Callable[[], Iterator[float]]


class ForkedBound:
    """``work()`` in a forked process, started at once: a bound (or None), or an iterator of
    bounds that it sends as each is found; ``result`` collects the highest one sent.  The child
    inherits ``work`` and what it refers to (fork: nothing is pickled)."""

    def __init__(self, work: Work, name: str, niceness: int = 0) -> None:
        """``niceness`` > 0: the child yields the CPU to the search's own threads (``os.nice``)
        and runs on what they leave idle."""
        context = multiprocessing.get_context("fork")
        self._answer, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=send_result, args=(sending, work, niceness), name=name, daemon=True
        )
        self._process.start()
        sending.close()
        self.late = False  # set by ``result`` when the child had not finished in time

    def result(self, wait_s: float | None) -> float | None:
        """The highest bound the child sent, waiting at most ``wait_s`` for it to finish
        (None: until it does); None when it sent none (no solution, an error, or nothing in
        time).  A child not finished by then is stopped and ``late`` set."""
        deadline = None if wait_s is None else time.monotonic() + max(0.0, wait_s)
        value: float | None = None
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._answer.poll(left):
                self.late = True
                break
            try:
                answer = self._answer.recv()
            except EOFError:
                break  # the child has finished
            if isinstance(answer, float) and (value is None or answer > value):
                value = answer
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


def send_result(out: Connection, work: Work, niceness: int = 0) -> None:
    """The forked process's body: ``work()``'s value, or each value it yields, sent down
    ``out``, at ``niceness`` (``os.nice``)."""
    try:
        if niceness:
            os.nice(niceness)
        answer = work()
        if answer is None or isinstance(answer, float):
            out.send(answer)
        else:
            for value in answer:
                out.send(value)
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
        # Each agent's knapsack at the count-priced flow's prices (the items it holds whole
        # priced within their range), then subgradient steps.
        prices = prices_from_agents(inst, relaxed.agent_price, relaxed.multipliers, x=relaxed.x)
        knap = knapsack_bound(inst, prices, math.inf, left)
        bound = max(bound, knap.bound)
    return bound


def flow_and_knapsack_bounds(inst: AssignmentInstance, weight: I64) -> Iterator[float]:
    """Bounds over a whole instance, each sent as soon as it is known: the plain flow
    relaxation's; the knapsack bound's first value at the count prices of the flow on case
    counts alone (``count_flow_prices``) with the prices per hour of the flow relaxation that
    pays those count prices (``flow_prices``); then at the plain flow's prices per hour (two
    flow solves on the count-priced flow's core) with those count prices and without.  Nothing
    when the flow has no solution.

    Province-border: 75,129,049 by the flow; 91,354,244 at the count prices with the prices
    per hour that pay them (with the cases that flow holds whole priced within their range,
    ``prices_from_agents`` with ``x``: 91,393,464 against 91,353,978, one-off script);
    85,110,895 with the plain flow's prices per hour.  Where count
    limits do not bind the same way the count prices can lower it (county-L: 5,753,209 at the
    plain flow's prices alone, 5,543,490 with the count prices), hence the last value."""
    flow = flow_relaxation(inst, weight)
    if flow is None:
        return
    yield flow.bound
    relax = KnapsackRelaxation(inst)

    def knapsack_values(
        per_hour: np.ndarray, *count_prices: np.ndarray, x: np.ndarray | None = None
    ) -> Iterator[float]:
        """The knapsack bound's first value at ``per_hour`` with each of ``count_prices`` (an
        infinite value, which bounds nothing, is left out); ``x``: the flow at those prices,
        whose whole items are then priced within their range."""
        for per_item in count_prices:
            priced = prices_from_agents(inst, per_hour, per_item, x=x)
            value, _taken = relax.evaluate(relax.project(priced))
            if math.isfinite(value):
                yield float(math.ceil(value - 1e-6))

    by_count = count_flow_prices(inst)
    if by_count is not None:
        paying = flow_prices(inst, weight, by_count)
        if paying is not None:
            yield from knapsack_values(paying.per_weight, by_count, x=paying.x)
    plain = count_flow_bound(inst, weight, math.inf, math.inf, start=flow, max_flow_solves=2)
    if plain is None:
        return
    with_and_without = ([] if by_count is None else [by_count]) + [np.zeros(inst.n_agents)]
    yield from knapsack_values(plain.agent_price, *with_and_without)


def flow_bound(inst: AssignmentInstance, weight: I64) -> float | None:
    """The plain flow relaxation's bound (``flow_relaxation``), which cannot be interrupted;
    None when it has no solution."""
    flow = flow_relaxation(inst, weight)
    return None if flow is None else float(flow.bound)
