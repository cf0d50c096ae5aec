"""The assignment MIP (``build_highs_model``) plus the move-budget rows, with HiGHS.

With x_e the edge columns, K the items whose current agent is still one of their edges
(``cur(i)`` that edge), F the items whose current agent is no longer eligible (always moved):

- total:  sum_{i in K} x_cur(i) >= |K| + |F| - max_moves        (moves <= max_moves)
- away a: sum_{i in K, current a} x_cur(i) >= n_a + F_a - away_limit_a
- onto b: sum of x_e over edges to b of items currently held by another agent <= onto_limit_b
- open a: sum of x_e over all edges of the items in K held by a >= |K_a| - open_limit_a
  (still-eligible cases left without a lawyer, only as many as the hard rules force)

The same function solves the whole instance (small and medium sizes) and the neighbourhood
subproblems of large ones (``sub_budget`` turns the budget into the subproblem's).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

from assigner.rebalance.budget import UNLIMITED, MoveBudget, count_moves, current_edges
from assigner.search.instance import I32, AssignmentInstance, chosen_edges
from assigner.search.lp_bound import HIGHS_THREADS, build_highs_model

# HiGHS's presolve rule that probes binaries (bit 15 of ``presolve_rule_off``).  On a demo
# county's state (13,174 edges, 610 cases, budget 20) probing was estimated at 15 s and took
# the whole of an 8 s limit: no plan and no bound (-inf); without it the root with cuts is
# reached at 1.6 s and the run ends with a plan and a bound of 408,125 (one-off script).
PROBING_RULE = 1 << 15


@dataclass(frozen=True)
class BudgetMipResult:
    agent_of_item: I32 | None
    bound: float  # rounded up (integer costs); -inf when unknown, inf when infeasible
    status: str
    proven_optimal: bool
    wall_time_s: float


def budget_rows(
    inst: AssignmentInstance, budget: MoveBudget
) -> tuple[list[np.ndarray], list[float], list[float]]:
    """The budget rows as (edge columns per row, lower, upper); coefficients are all 1."""
    cur_rows = current_edges(inst, budget.current)
    has_current = budget.current >= 0
    kept_ok = has_current & (cur_rows >= 0)
    forced = has_current & (cur_rows < 0)
    cols: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    inf = highspy.kHighsInf

    kept_items = np.flatnonzero(kept_ok)
    cols.append(cur_rows[kept_items])
    lo.append(float(kept_items.size + int(forced.sum()) - budget.max_moves))
    hi.append(inf)

    n_held = np.bincount(budget.current[kept_items], minlength=inst.n_agents)
    n_forced = np.bincount(budget.current[forced], minlength=inst.n_agents)
    for a in np.flatnonzero(budget.away_limit < UNLIMITED):
        need = int(n_held[a] + n_forced[a] - budget.away_limit[a])
        if need > 0:
            mine = kept_items[budget.current[kept_items] == a]
            cols.append(cur_rows[mine])
            lo.append(float(need))
            hi.append(inf)

    for a in np.flatnonzero(n_held):
        need = int(n_held[a] - budget.open_limit[a])
        if need > 0:
            mine = kept_items[budget.current[kept_items] == a]
            cols.append(
                np.concatenate(
                    [np.arange(inst.item_offsets[i], inst.item_offsets[i + 1]) for i in mine]
                )
            )
            lo.append(float(need))
            hi.append(inf)

    limited = budget.onto_limit < UNLIMITED
    if limited.any():
        item_cur = budget.current[inst.edge_item]
        onto = (item_cur >= 0) & (item_cur != inst.edge_agent) & limited[inst.edge_agent]
        edges = np.flatnonzero(onto)
        agents = inst.edge_agent[edges]
        order = np.argsort(agents, kind="stable")
        edges, agents = edges[order], agents[order]
        bounds = np.searchsorted(agents, np.arange(inst.n_agents + 1))
        for b in np.flatnonzero(limited):
            sel = edges[bounds[b] : bounds[b + 1]]
            if sel.size > budget.onto_limit[b]:
                cols.append(sel)
                lo.append(-inf)
                hi.append(float(budget.onto_limit[b]))
    return cols, lo, hi


def sub_budget(budget: MoveBudget, free: I32, agent_of: I32) -> MoveBudget:
    """The budget left for the items ``free`` when every other item stays at ``agent_of``."""
    outside = np.ones(len(budget.current), dtype=np.bool_)
    outside[free] = False
    used = count_moves(
        budget.current[outside],
        agent_of[outside],
        budget.n_agents,
        budget.still_eligible[outside],
    )
    return MoveBudget(
        current=budget.current[free],
        still_eligible=budget.still_eligible[free],
        max_moves=budget.max_moves - used.total,
        away_limit=budget.away_limit - used.away,
        onto_limit=budget.onto_limit - used.onto,
        open_limit=budget.open_limit - used.opened,
    )


def _run(h: highspy.Highs) -> None:
    if h.run() == highspy.HighsStatus.kError and (
        h.getModelStatus() == highspy.HighsModelStatus.kNotset
    ):
        # HiGHS keeps one thread pool per process; start it afresh once if another user in
        # this process left it set up for another thread count.
        highspy.Highs.resetGlobalScheduler(True)
        h.run()


def solve_budget_mip(
    inst: AssignmentInstance,
    budget: MoveBudget,
    time_limit_s: float,
    start: I32 | None = None,
    seed: int = 0,
    exact_bands: bool = False,
    integer: bool = True,
) -> BudgetMipResult:
    """Branch and cut over the instance with the budget rows, from ``start`` when given.

    With ``integer=False`` the LP relaxation is solved instead: its value (rounded up) is a
    lower bound on the budgeted optimum.  With ``exact_bands`` the MIP optimum is the exact
    optimum of the instance under the budget (small instances, solved to the end: presolve
    probes their binaries); without, probing is left out, so that the time limit finds the
    search past its root."""
    t0 = time.monotonic()
    lp, offset = build_highs_model(inst, integer=integer, exact_bands=exact_bands)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.1, float(time_limit_s)))
    h.setOptionValue("threads", HIGHS_THREADS)
    h.setOptionValue("random_seed", int(seed))
    if integer:
        h.setOptionValue("mip_rel_gap", 0.0)
        if not exact_bands:
            h.setOptionValue("presolve_rule_off", PROBING_RULE)
    h.passModel(lp)
    cols, lo, hi = budget_rows(inst, budget)
    starts = np.concatenate([[0], np.cumsum([len(c) for c in cols])[:-1]]).astype(np.int32)
    index = np.concatenate(cols).astype(np.int32) if cols else np.zeros(0, dtype=np.int32)
    h.addRows(
        len(cols),
        np.array(lo, dtype=np.float64),
        np.array(hi, dtype=np.float64),
        len(index),
        starts,
        index,
        np.ones(len(index), dtype=np.float64),
    )
    if integer and start is not None:
        rows = chosen_edges(inst, start)
        on = np.zeros(inst.n_edges)
        on[rows[rows >= 0]] = 1.0
        h.setSolution(inst.n_edges, np.arange(inst.n_edges, dtype=np.int32), on)
    _run(h)
    model_status = h.getModelStatus()
    status = h.modelStatusToString(model_status)
    wall = time.monotonic() - t0
    if model_status == highspy.HighsModelStatus.kInfeasible:
        return BudgetMipResult(None, math.inf, status, False, wall)
    info = h.getInfo()
    if not integer:
        if model_status != highspy.HighsModelStatus.kOptimal:
            return BudgetMipResult(None, -math.inf, status, False, wall)
        value = info.objective_function_value + offset
        return BudgetMipResult(None, float(math.ceil(value - 1e-6)), status, False, wall)
    dual = float(info.mip_dual_bound)
    bound = float(math.ceil(dual + offset - 1e-6)) if np.isfinite(dual) else -math.inf
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return BudgetMipResult(None, bound, status, False, wall)
    x = np.asarray(h.getSolution().col_value[: inst.n_edges]) > 0.5
    agent = np.full(inst.n_items, -1, dtype=np.int32)
    agent[inst.edge_item[x]] = inst.edge_agent[x]
    proven = exact_bands and model_status == highspy.HighsModelStatus.kOptimal
    return BudgetMipResult(agent, bound, status, proven, wall)
