"""MIP neighbourhoods under the move budget, for instances too large for one MIP.

Each step frees a few dozen items around a waiting case (the case, the cases a few of its
lawyers hold, other cases waiting for those lawyers: its cheapest lawyers, or on alternate
tries random ones) or, when nothing waits, around a lawyer drawn by load-band cost and lawyers
competing for the same cases, fixes every other item, and solves the subproblem's MIP with the
budget that the fixed items leave (``sub_budget``).  A result is kept only when the whole vector
stays within capacity and the budget and its exact objective is lower.  After a run of failed
steps the neighbourhoods grow (up to ``MAX_ITEMS``); an improvement brings them back.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from assigner.rebalance.budget import MoveBudget, budget_issues, current_edges
from assigner.rebalance.mip import solve_budget_mip, sub_budget
from assigner.search.instance import I32, AssignmentInstance, evaluate
from assigner.search.lns import sub_instance

log = logging.getLogger(__name__)

NEIGHBOURHOOD_ITEMS = 60
MAX_ITEMS = 480
AGENTS_PER_SEED = 4
STEP_S = 2.0
GROW_AFTER_FAILED = 8
MAX_FAILED_WAITING = 25
"""With ``only_waiting``: give up on the waiting cases after this many failed steps in a row."""


def _held_by(agent_of: I32, agents: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    mask = np.isin(agent_of, agents) & (fixed < 0)
    return np.flatnonzero(mask)


def choose_neighbourhood(
    inst: AssignmentInstance,
    agent_of: I32,
    rng: np.random.Generator,
    band_cost: np.ndarray,
    size: int = NEIGHBOURHOOD_ITEMS,
) -> np.ndarray:
    """At most ``size`` items to free: around a random waiting item, else a costly agent."""
    fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    n_edges = np.diff(inst.item_offsets)
    waiting = np.flatnonzero((agent_of < 0) & (n_edges > 0))
    if waiting.size:
        seed_item = int(rng.choice(waiting))
        sl = inst.edges_of(seed_item)
        n_agents = max(AGENTS_PER_SEED, size // 15)
        if rng.random() < 0.5:
            order = np.argsort(inst.edge_cost[sl], kind="stable")[:n_agents]
        else:
            order = rng.permutation(sl.stop - sl.start)[:n_agents]
        agents = inst.edge_agent[sl][order]
        others = np.unique(inst.edge_item[np.isin(inst.edge_agent, agents)])
        others = others[agent_of[others] < 0]
        items = np.concatenate([[seed_item], _held_by(agent_of, agents, fixed), others])
    else:
        weights = band_cost.astype(np.float64) + 1.0
        agent = int(rng.choice(inst.n_agents, p=weights / weights.sum()))
        mine = _held_by(agent_of, np.array([agent]), fixed)
        related = np.unique(inst.edge_agent[np.isin(inst.edge_item, mine)])
        related = rng.permutation(related[related != agent])[: max(3, size // 20)]
        items = np.concatenate([mine, _held_by(agent_of, related, fixed)])
    items = np.unique(items.astype(np.int64))
    if items.size > size:
        keep = items[agent_of[items] < 0][:size]  # waiting items first
        rest = np.setdiff1d(items, keep)
        extra = rng.choice(rest, size - keep.size, replace=False) if size > keep.size else []
        items = np.sort(np.concatenate([keep, extra]).astype(np.int64))
    return items.astype(np.int32)


def _band_cost_per_agent(inst: AssignmentInstance, agent_of: I32) -> np.ndarray:
    rows = current_edges(inst, agent_of)
    used = rows[rows >= 0]
    load = inst.base() + np.bincount(
        inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
    ).astype(np.int64)
    cost = np.zeros(inst.n_agents, dtype=np.int64)
    for band in inst.bands:
        cost += band.points * (-(-np.maximum(0, load - band.threshold) // band.unit))
    return cost


def _capacity_issues(inst: AssignmentInstance, agent_of: I32) -> bool:
    """Capacity and fixed items of the whole vector (the subproblem keeps group rules by
    construction; the caller checks every rule once more at the end)."""
    rows = current_edges(inst, agent_of)
    if np.any((agent_of >= 0) & (rows < 0)):
        return True
    used = rows[rows >= 0]
    added = np.bincount(
        inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
    )
    count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents)
    if np.any(added > inst.capacity) or np.any(count > inst.max_count):
        return True
    fixed = inst.fixed_agent
    return fixed is not None and bool(np.any((fixed >= 0) & (agent_of != fixed)))


def improve_neighbourhoods(
    inst: AssignmentInstance,
    agent_of: I32,
    budget: MoveBudget,
    deadline: float,
    seed: int = 0,
    only_waiting: bool = False,
) -> tuple[I32, int]:
    """Improve ``agent_of`` (feasible and within budget) until ``deadline`` (with
    ``only_waiting``, until no case waits); returns the best vector and the improving steps."""
    rng = np.random.default_rng(seed)
    best = agent_of.copy()
    best_total = evaluate(inst, best).total
    improved = failed = 0
    size = NEIGHBOURHOOD_ITEMS
    n_edges = np.diff(inst.item_offsets)
    while time.monotonic() < deadline - 0.3:
        if only_waiting and (
            failed >= MAX_FAILED_WAITING or not np.any((best < 0) & (n_edges > 0))
        ):
            break
        if failed and failed % GROW_AFTER_FAILED == 0:
            size = min(MAX_ITEMS, 2 * size)
        free = choose_neighbourhood(inst, best, rng, _band_cost_per_agent(inst, best), size)
        if free.size == 0:
            failed += 1
            continue
        sub = sub_instance(inst, free, best)
        local_budget = sub_budget(budget, sub.items, best)
        step_s = STEP_S * max(1.0, free.size / NEIGHBOURHOOD_ITEMS)
        step = min(step_s, max(0.1, deadline - time.monotonic() - 0.2))
        res = solve_budget_mip(sub.inst, local_budget, step, start=best[sub.items], seed=seed)
        candidate = None
        if res.agent_of_item is not None:
            candidate = best.copy()
            candidate[sub.items] = res.agent_of_item
        if candidate is None or np.array_equal(candidate, best):
            failed += 1
            continue
        if _capacity_issues(inst, candidate) or budget_issues(budget, candidate):
            log.warning("a neighbourhood result broke a rule of the whole instance; dropped")
            failed += 1
            continue
        total = evaluate(inst, candidate).total
        log.debug(
            "step: %d items, %s, %d -> %d, %.2f s",
            free.size,
            res.status,
            best_total,
            total,
            res.wall_time_s,
        )
        if total < best_total:
            best, best_total = candidate, total
            improved += 1
            failed = 0
            size = NEIGHBOURHOOD_ITEMS
        else:
            failed += 1
    return best, improved
