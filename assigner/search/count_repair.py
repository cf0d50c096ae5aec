"""The flow relaxation's solution with the lawyers' case-count limits put back, for its rounding.

The flow relaxation (``flow_relaxation.py``) leaves out the count limits (``max_count``): on
county-L its solution puts 831 cases too many on 48 lawyers.  Rounded, those lawyers' surplus
cases go wherever each is cheapest on its own, and descent from there ends in a poorer local
optimum than descent from the LP's solution (which keeps the limits) does.

``repair_counts`` solves the LP (``pricing.solve_lp_by_pricing``, with every row: hours,
counts, quotas, load bands) over the cases the flow puts on a lawyer above its count limit and
the cases it does not hold whole on one lawyer, every other case held where the flow puts it.
Those others' hours and counts come off their lawyers' room (``lns.sub_instance``).  The result
is the flow's solution with those cases' shares replaced by the LP's.

County-L (20,000 cases, 6.5 million edges; one-off script, descent capped at 30 s): 4,405 cases
freed, 1.4 million edges; the LP's fourth round ends 5.4 s in. The repaired solution, rounded
with the flow's prices and descended, gives 5,865,797, against 5,874,389 to 5,875,955 from the
flow's own solution. County-L from generator seed 2: 6,039,101 against 6,052,089. In the 60 s
benchmark (``benchmarks/results/county-L-60s-count-repair/``): plans 5,862,981 to 5,865,935 in
six runs against 5,870,477 twice for the code before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assigner.search.instance import I32, AssignmentInstance
from assigner.search.lns import sub_instance
from assigner.search.pricing import solve_lp_by_pricing

F64 = npt.NDArray[np.float64]
# A share above this is a case held whole; a count above its limit by more is over it.
WHOLE_SHARE = 1.0 - 1e-9
COUNT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CountRepair:
    x: F64  # per edge of the whole instance: the flow's shares, the freed cases' the LP's
    over_agents: int  # lawyers the flow put above their count limit
    freed_items: int  # cases the LP placed again
    rounds: int  # the LP's pricing rounds
    converged: bool  # the LP over the freed cases reached its optimum


def over_count_agents(inst: AssignmentInstance, x: F64) -> npt.NDArray[np.int64]:
    """Agents whose count of items under ``x`` (shares per edge) is above ``max_count``."""
    count = np.bincount(inst.edge_agent, weights=x, minlength=inst.n_agents)
    return np.flatnonzero(count > inst.max_count + COUNT_TOLERANCE)


def repair_counts(
    inst: AssignmentInstance, x: F64, time_limit_s: float, max_rounds: int | None = None
) -> CountRepair | None:
    """``x`` (a relaxation's shares per edge without the count rows: the flow's) with the items
    on agents above their count limit, and the items ``x`` does not hold whole, placed again by
    the LP over them alone, within ``time_limit_s`` (``max_rounds``: a cap on its pricing
    rounds).  None when no agent is above its limit or the LP ended without a solution."""
    if x.shape != (inst.n_edges,):
        raise ValueError(f"x has shape {x.shape}; it needs one value per edge ({inst.n_edges})")
    began = time.monotonic()
    over = over_count_agents(inst, x)
    if over.size == 0:
        return None
    is_over = np.zeros(inst.n_agents, dtype=np.bool_)
    is_over[over] = True
    whole = x >= WHOLE_SHARE
    held: I32 = np.full(inst.n_items, -1, dtype=np.int32)
    held[inst.edge_item[whole]] = inst.edge_agent[whole]
    free = held < 0
    free[inst.edge_item[(x > 0) & is_over[inst.edge_agent]]] = True
    sub = sub_instance(inst, np.flatnonzero(free).astype(np.int32), held)
    start = x[sub.edges]
    priced = solve_lp_by_pricing(
        sub.inst,
        max(0.0, time_limit_s - (time.monotonic() - began)),
        start > 0,
        max_rounds=max_rounds,
        start_x=start,
    )
    if priced.rounds == 0:
        return None
    repaired = np.where(free[inst.edge_item], 0.0, x)
    repaired[sub.edges] = priced.x
    return CountRepair(
        x=repaired,
        over_agents=int(over.size),
        freed_items=int(sub.items.size),
        rounds=priced.rounds,
        converged=priced.converged,
    )
