"""Plans from a relaxation's solution: the LP (or flow) rounding, noisy roundings of it, and
greedy on Lagrangian reduced costs."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from assigner.search.compiled_moves import CompiledMoves
from assigner.search.cpsat import SearchParams
from assigner.search.greedy import greedy
from assigner.search.instance import (
    I32,
    AssignmentInstance,
    ObjectiveParts,
    evaluate,
    feasibility_issues,
)
from assigner.search.local_search import descend
from assigner.search.search_budget import Budget

LP_ROUNDING_BONUS = 10**9
"""Far above any edge cost plus load-band change, far below the int64 range."""
# Medium instances (the LP by pricing): the LP is degenerate, and which of its optimal solutions
# the rounding starts from decides the local optimum descent reaches (county-M, 20 s runs:
# 1,510,444 to 1,512,354).  Roundings of the LP solution with noise on its support (normal,
# this standard deviation, per unit of x) and descent from each, up to this share of the budget
# (a fixed count when deterministic), keep the best.  County-M, one LP solution, six roundings:
# sd 0.1 1,510,321-1,512,863; 0.2 1,509,935-1,512,608 (the plain rounding's 1,512,608); 0.5
# 1,511,534-1,514,739.
ROUNDING_NOISE_SD = 0.2
NOISY_ROUNDINGS_SHARE = 0.85
NOISY_ROUNDINGS_DETERMINISTIC = 3


def lp_rounding(
    inst: AssignmentInstance, lp_x: np.ndarray, agent_price: np.ndarray | None = None
) -> I32:
    """Greedy with each edge's LP value as an overriding preference: items keep their LP edge
    while it fits, split and crowded-out items take their cheapest edge by marginal cost, with
    ``agent_price`` (per agent, points per unit of weight: the relaxation's prices of the
    agents' hours) added per unit of the item's weight when given.  May leave a must-assign
    item out (the caller checks).

    The prices steer crowded-out items away from the agents whose hours the relaxation found
    scarce.  County-L from the flow's solution with its support's prices, descent capped at
    30 s (one-off script): 5,875,366 against 5,877,997 without them (the prices at 0.1 to 1.25
    times their value: 5,874,389 to 5,875,955; twice: 5,877,928); a second county-L (generator
    seed 2): 6,052,089 against 6,057,655."""
    preferred = inst.edge_cost - np.rint(lp_x * LP_ROUNDING_BONUS).astype(np.int64)
    if agent_price is not None:
        if agent_price.shape != (inst.n_agents,):
            raise ValueError(
                f"agent_price has shape {agent_price.shape}; it needs one value per agent "
                f"({inst.n_agents})"
            )
        if not np.all(np.isfinite(agent_price)):
            bad = int(np.flatnonzero(~np.isfinite(agent_price))[0])
            raise ValueError(f"agent_price[{bad}] is {agent_price[bad]}; prices must be finite")
        preferred = preferred + np.rint(agent_price[inst.edge_agent] * inst.edge_weight).astype(
            np.int64
        )
    return greedy(dataclasses.replace(inst, edge_cost=preferred))


def noisy_roundings(
    inst: AssignmentInstance,
    lp_x: np.ndarray,
    best: I32,
    best_parts: ObjectiveParts,
    params: SearchParams,
    budget: Budget,
) -> tuple[I32, ObjectiveParts, int]:
    """Roundings of ``lp_x`` with noise on its support, each followed by descent, while one
    more (timed as the last) fits before ``NOISY_ROUNDINGS_SHARE`` of the budget (or
    ``NOISY_ROUNDINGS_DETERMINISTIC`` of them, descent to convergence, when deterministic);
    returns the best plan of these and ``best`` (objective ``best_parts``), its objective, and
    how many were tried."""
    rng = np.random.default_rng(params.seed)
    until = budget.share_deadline(NOISY_ROUNDINGS_SHARE)
    passes = CompiledMoves(inst)
    last_s = 0.0
    tried = 0
    support = lp_x > 0
    while (
        tried < NOISY_ROUNDINGS_DETERMINISTIC
        if params.deterministic
        else time.monotonic() + last_s < until
    ):
        began = time.monotonic()
        noise = rng.normal(0.0, ROUNDING_NOISE_SD, lp_x.size)
        rounded = lp_rounding(inst, np.where(support, np.maximum(lp_x + noise, 0.0), 0.0))
        tried += 1
        if feasibility_issues(inst, rounded):
            continue
        rounded, _ = descend(inst, rounded, budget.deadline, passes=passes)
        parts = evaluate(inst, rounded)
        if parts.total < best_parts.total:
            best, best_parts = rounded, parts
        last_s = time.monotonic() - began
    return best, best_parts, tried


def reduced_cost_greedy(inst: AssignmentInstance, reduced_cost: np.ndarray) -> I32:
    """Greedy on Lagrangian reduced costs: load bands and quotas are already priced into them,
    so they are left out of the greedy's own marginal costs."""
    rc = np.where(np.isfinite(reduced_cost), reduced_cost, np.iinfo(np.int64).max // 4)
    priced = dataclasses.replace(
        inst, edge_cost=np.rint(rc).astype(np.int64), bands=[], quota_short=None
    )
    return greedy(priced)
