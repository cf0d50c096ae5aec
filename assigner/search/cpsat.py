"""CP-SAT model over the sparse edges of an :class:`AssignmentInstance`.

One Boolean per candidate edge (never a cases x lawyers matrix).  Hard rules are constraints,
never big costs: capacity in weight and in count, cliques that may not share an agent or an agent
group, opposing sides, fixed items, must-assign items.  The unassigned penalty is folded into the
edge coefficients (``p_i (1 - sum x)`` = ``p_i - sum p_i x``), so no slack variables are needed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from assigner.search.instance import MUST_ASSIGN, AssignmentInstance, I32


@dataclass(frozen=True)
class Progress:
    """One improving solution seen during search."""

    objective: int
    bound: float
    wall_time_s: float
    phase: str


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class SearchParams:
    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic: bool = False
    log: bool = False


@dataclass(frozen=True)
class CpSatResult:
    agent_of_item: I32 | None
    objective: int | None
    bound: float
    status: str  # OPTIMAL, FEASIBLE, INFEASIBLE, MODEL_INVALID, UNKNOWN
    wall_time_s: float


class _Recorder(cp_model.CpSolverSolutionCallback):
    def __init__(self, offset: int, progress: ProgressFn | None, phase: str) -> None:
        super().__init__()
        self._offset = offset
        self._progress = progress
        self._phase = phase
        self._start = time.monotonic()

    def on_solution_callback(self) -> None:
        if self._progress is not None:
            self._progress(
                Progress(
                    objective=int(round(self.objective_value)) + self._offset,
                    bound=self.best_objective_bound + self._offset,
                    wall_time_s=time.monotonic() - self._start,
                    phase=self._phase,
                )
            )


@dataclass
class _Built:
    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    offset: int


def build_model(inst: AssignmentInstance) -> _Built:
    model = cp_model.CpModel()
    n_e = inst.n_edges
    x = [model.new_bool_var(f"x{e}") for e in range(n_e)]
    penalty = np.where(inst.unassigned_penalty == MUST_ASSIGN, 0, inst.unassigned_penalty)
    offset = int(penalty.sum())
    coef = inst.edge_cost - penalty[inst.edge_item]

    # One agent per item at most; exactly one when the item must be assigned.
    for i in range(inst.n_items):
        sl = inst.edges_of(i)
        vs = x[sl]
        if inst.unassigned_penalty[i] == MUST_ASSIGN:
            model.add_exactly_one(vs)
        elif len(vs) > 1:
            model.add_at_most_one(vs)
    if inst.fixed_agent is not None:
        for i in np.flatnonzero(inst.fixed_agent >= 0):
            sl = inst.edges_of(int(i))
            hit = np.flatnonzero(inst.edge_agent[sl] == inst.fixed_agent[i])
            model.add(x[sl.start + int(hit[0])] == 1)

    # Capacity in weight and in count, per agent.
    order = np.argsort(inst.edge_agent, kind="stable")
    bounds = np.searchsorted(inst.edge_agent[order], np.arange(inst.n_agents + 1))
    base = inst.base()
    objective_terms: list[cp_model.LinearExprT] = []
    for a in range(inst.n_agents):
        rows = order[bounds[a] : bounds[a + 1]]
        if rows.size == 0:
            continue
        vs = [x[r] for r in rows]
        ws = inst.edge_weight[rows]
        total_w = int(ws.sum())
        if total_w > inst.capacity[a]:
            model.add(cp_model.LinearExpr.weighted_sum(vs, ws.tolist()) <= int(inst.capacity[a]))
        if rows.size > inst.max_count[a]:
            model.add(sum(vs) <= int(inst.max_count[a]))
        load_max = int(base[a]) + min(total_w, int(inst.capacity[a]))
        for b, band in enumerate(inst.bands):
            thr = int(band.threshold[a])
            if load_max <= thr or band.points == 0:
                continue
            ub = -(-(load_max - thr) // band.unit)
            ex = model.new_int_var(0, ub, f"band{b}_{a}")
            model.add(
                band.unit * ex
                >= cp_model.LinearExpr.weighted_sum(vs, ws.tolist()) + int(base[a]) - thr
            )
            objective_terms.append(band.points * ex)
        if inst.quota_short is not None and inst.quota_points and inst.quota_short[a] > 0:
            short = int(inst.quota_short[a])
            d = model.new_int_var(0, short, f"quota_{a}")
            model.add(d >= short - sum(vs))
            objective_terms.append(inst.quota_points * d)

    _add_group_rules(model, inst, x)
    model.minimize(cp_model.LinearExpr.weighted_sum(x, coef.tolist()) + sum(objective_terms))
    return _Built(model=model, x=x, offset=offset)


def _add_group_rules(
    model: cp_model.CpModel, inst: AssignmentInstance, x: list[cp_model.IntVar]
) -> None:
    def edges_by_key(items: I32, key: I32) -> dict[int, list[cp_model.IntVar]]:
        out: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for i in items:
            sl = inst.edges_of(int(i))
            for e in range(sl.start, sl.stop):
                out[int(key[inst.edge_agent[e]])].append(x[e])
        return out

    identity = np.arange(inst.n_agents, dtype=np.int32)
    for clique in inst.same_agent_cliques:
        for vs in edges_by_key(clique, identity).values():
            if len(vs) > 1:
                model.add_at_most_one(vs)
    if inst.agent_group is None:
        return
    for clique in inst.same_group_cliques:
        for vs in edges_by_key(clique, inst.agent_group).values():
            if len(vs) > 1:
                model.add_at_most_one(vs)
    for k, opp in enumerate(inst.opposing_sides):
        side_a = edges_by_key(opp.side_a, inst.agent_group)
        side_b = edges_by_key(opp.side_b, inst.agent_group)
        for g in side_a.keys() & side_b.keys():
            ya = model.new_bool_var(f"opp{k}_{g}_a")
            yb = model.new_bool_var(f"opp{k}_{g}_b")
            model.add_bool_or([ya.Not(), yb.Not()])
            for v in side_a[g]:
                model.add_implication(v, ya)
            for v in side_b[g]:
                model.add_implication(v, yb)


def solve_cpsat(
    inst: AssignmentInstance,
    params: SearchParams,
    hint: I32 | None = None,
    progress: ProgressFn | None = None,
    phase: str = "cp-sat",
) -> CpSatResult:
    """Solve the whole instance with CP-SAT, warm-started from ``hint`` when given."""
    start = time.monotonic()
    built = build_model(inst)
    if hint is not None:
        chosen = set()
        for i in np.flatnonzero(hint >= 0):
            sl = inst.edges_of(int(i))
            hit = np.flatnonzero(inst.edge_agent[sl] == hint[i])
            if hit.size:
                chosen.add(sl.start + int(hit[0]))
        for e, v in enumerate(built.x):
            built.model.add_hint(v, e in chosen)
    solver = cp_model.CpSolver()
    configure(solver, params, time.monotonic() - start)
    status = solver.solve(built.model, _Recorder(built.offset, progress, phase))
    name = solver.status_name(status)
    wall = time.monotonic() - start
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpSatResult(None, None, float("-inf"), name, wall)
    values = np.array([solver.boolean_value(v) for v in built.x], dtype=np.bool_)
    agent = np.full(inst.n_items, -1, dtype=np.int32)
    agent[inst.edge_item[values]] = inst.edge_agent[values]
    return CpSatResult(
        agent_of_item=agent,
        objective=int(round(solver.objective_value)) + built.offset,
        bound=float(solver.best_objective_bound) + built.offset,
        status=name,
        wall_time_s=wall,
    )


def configure(solver: cp_model.CpSolver, params: SearchParams, spent_s: float) -> None:
    """Time budget, workers and seed; in deterministic mode a deterministic-time budget."""
    p = solver.parameters
    p.num_workers = max(1, params.workers)
    p.random_seed = params.seed
    p.log_search_progress = params.log
    budget = max(0.05, params.time_limit_s - spent_s)
    if params.deterministic:
        p.interleave_search = params.workers > 1
        p.max_deterministic_time = budget
    else:
        p.max_time_in_seconds = budget
