"""CP-SAT model over the sparse edges of an :class:`AssignmentInstance`.

One Boolean per candidate edge (never a cases x lawyers matrix).  Hard rules are constraints,
never big costs: capacity in weight and in count, cliques that may not share an agent or an agent
group, opposing sides, fixed items, must-assign items.  Each optional item has an "unassigned"
literal in its exactly-one row, so every objective coefficient is a non-negative cost.  The main
search uses the HiGHS models (lp_bound.py); this model serves deterministic mode, the
LP-restricted start on tight instances, and LNS subproblems when asked for.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from assigner.search.instance import I32, MUST_ASSIGN, AssignmentInstance
from assigner.search.search_budget import deterministic_safety_s

# CP-SAT's deterministic time runs about ten times slower than the wall clock on these models
# (measured on the demo county, 2 cores), so a budget of S seconds buys S / 10 units; the wall
# limit stays only as a safety stop, far enough out that it does not decide the result.
DETERMINISTIC_UNITS_PER_S = 0.1


@dataclass(frozen=True)
class Progress:
    """One improving solution seen during search."""

    objective: int
    bound: float
    wall_time_s: float
    phase: str
    constant_points: int = 0
    """The part of every plan's objective no plan can change (``solve.constant_cost``), which
    the plan's gap leaves out of its denominator; the engine fills it in."""


ProgressFn = Callable[[Progress], None]

MAX_SEED = 2**31 - 1
"""The largest seed: CP-SAT's ``random_seed`` and HiGHS's are 32-bit signed integers."""
MAX_WORKERS = 64
"""Threads a search may ask for: far beyond any machine it runs on, so that a mistyped count is
refused rather than spawning threads without end."""
MAX_TIME_LIMIT_S = 3600.0
"""The longest budget the service, the command line and what-if files accept for one search
(benchmarks may ask for more: ``SearchParams`` itself only wants a finite one)."""


def derived_seed(seed: int, step: int) -> int:
    """The seed of a search's ``step``-th sub-solve: ``seed + step``, wrapped into
    [0, MAX_SEED] so that a seed near the top stays one the solvers accept."""
    return (seed + step) % (MAX_SEED + 1)


@dataclass(frozen=True)
class SearchParams:
    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic: bool = False
    log: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.time_limit_s < math.inf:
            raise ValueError(f"time_limit_s must be a finite number > 0, got {self.time_limit_s}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"workers must be between 1 and {MAX_WORKERS}, got {self.workers}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}, got {self.seed}")


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
                    objective=round(self.objective_value) + self._offset,
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
    unassigned_vars: list[tuple[cp_model.IntVar, int]]
    # (var, agent, band index) for load-band excess; (var, agent) for quota deficits;
    # (var, group, items) for opposing-side indicators: so a hint can cover every variable.
    band_vars: list[tuple[cp_model.IntVar, int, int]]
    quota_vars: list[tuple[cp_model.IntVar, int]]
    side_vars: list[tuple[cp_model.IntVar, int, I32]]


def build_model(inst: AssignmentInstance) -> _Built:
    model = cp_model.CpModel()
    n_e = inst.n_edges
    x = [model.new_bool_var(f"x{e}") for e in range(n_e)]
    offset = 0
    coef = inst.edge_cost
    objective_terms: list[cp_model.LinearExprT] = []
    unassigned_vars: list[tuple[cp_model.IntVar, int]] = []

    # Exactly one of the item's edges or its "unassigned" literal (absent when it must be
    # assigned); an item with no edge is unassigned at a constant cost.
    for i in range(inst.n_items):
        sl = inst.edges_of(i)
        vs = x[sl]
        pen = int(inst.unassigned_penalty[i])
        if pen == MUST_ASSIGN:
            model.add_exactly_one(vs)
        elif not vs:
            offset += pen
        else:
            u = model.new_bool_var(f"u{i}")
            model.add_exactly_one([*vs, u])
            objective_terms.append(pen * u)
            unassigned_vars.append((u, i))
    if inst.fixed_agent is not None:
        for fixed_item in np.flatnonzero(inst.fixed_agent >= 0):
            sl = inst.edges_of(int(fixed_item))
            hit = np.flatnonzero(inst.edge_agent[sl] == inst.fixed_agent[fixed_item])
            model.add(x[sl.start + int(hit[0])] == 1)

    # Capacity in weight and in count, per agent.
    order = np.argsort(inst.edge_agent, kind="stable")
    bounds = np.searchsorted(inst.edge_agent[order], np.arange(inst.n_agents + 1))
    base = inst.base()
    band_vars: list[tuple[cp_model.IntVar, int, int]] = []
    quota_vars: list[tuple[cp_model.IntVar, int]] = []
    for a in range(inst.n_agents):
        rows = order[bounds[a] : bounds[a + 1]]
        if rows.size == 0:
            if inst.quota_short is not None and inst.quota_short[a] > 0:
                offset += inst.quota_points * int(inst.quota_short[a])
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
            band_vars.append((ex, a, b))
        if inst.quota_short is not None and inst.quota_points and inst.quota_short[a] > 0:
            short = int(inst.quota_short[a])
            d = model.new_int_var(0, short, f"quota_{a}")
            model.add(d >= short - sum(vs))
            objective_terms.append(inst.quota_points * d)
            quota_vars.append((d, a))

    side_vars = _add_group_rules(model, inst, x)
    model.minimize(
        cp_model.LinearExpr.weighted_sum(x, coef.tolist())
        + cp_model.LinearExpr.sum(objective_terms)
    )
    return _Built(model, x, offset, unassigned_vars, band_vars, quota_vars, side_vars)


def _add_group_rules(
    model: cp_model.CpModel, inst: AssignmentInstance, x: list[cp_model.IntVar]
) -> list[tuple[cp_model.IntVar, int, I32]]:
    def edges_by_key(items: I32, key: I32) -> dict[int, list[cp_model.IntVar]]:
        out: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for i in items:
            sl = inst.edges_of(int(i))
            for e in range(sl.start, sl.stop):
                out[int(key[inst.edge_agent[e]])].append(x[e])
        return out

    side_vars: list[tuple[cp_model.IntVar, int, I32]] = []
    identity = np.arange(inst.n_agents, dtype=np.int32)
    for clique in inst.same_agent_cliques:
        for vs in edges_by_key(clique, identity).values():
            if len(vs) > 1:
                model.add_at_most_one(vs)
    if inst.agent_group is None:
        return side_vars
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
            side_vars.append((ya, g, opp.side_a))
            side_vars.append((yb, g, opp.side_b))
    return side_vars


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
        add_full_hint(built, inst, hint)
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
        objective=round(solver.objective_value) + built.offset,
        bound=float(solver.best_objective_bound) + built.offset,
        status=name,
        wall_time_s=wall,
    )


def add_full_hint(built: _Built, inst: AssignmentInstance, hint: I32) -> None:
    """Hint every variable, auxiliary ones included, so CP-SAT starts from the hint as a whole
    solution instead of having to complete it."""
    chosen = np.zeros(inst.n_edges, dtype=np.bool_)
    agent = np.full(inst.n_items, -1, dtype=np.int32)
    for i in np.flatnonzero(hint >= 0):
        sl = inst.edges_of(int(i))
        hit = np.flatnonzero(inst.edge_agent[sl] == hint[i])
        if hit.size:
            chosen[sl.start + int(hit[0])] = True
            agent[i] = int(hint[i])
    for e, v in enumerate(built.x):
        built.model.add_hint(v, bool(chosen[e]))
    for var, item in built.unassigned_vars:
        built.model.add_hint(var, bool(agent[item] < 0))
    load = inst.base() + np.bincount(
        inst.edge_agent[chosen], weights=inst.edge_weight[chosen], minlength=inst.n_agents
    ).astype(np.int64)
    count = np.bincount(inst.edge_agent[chosen], minlength=inst.n_agents)
    for var, a, b in built.band_vars:
        band = inst.bands[b]
        built.model.add_hint(var, int(-(-max(0, load[a] - band.threshold[a]) // band.unit)))
    if inst.quota_short is not None:
        for var, a in built.quota_vars:
            built.model.add_hint(var, max(0, int(inst.quota_short[a]) - int(count[a])))
    if inst.agent_group is not None:
        for var, g, items in built.side_vars:
            used = agent[items]
            built.model.add_hint(var, bool(np.any(inst.agent_group[used[used >= 0]] == g)))


def configure(solver: cp_model.CpSolver, params: SearchParams, spent_s: float) -> None:
    """Time budget, workers and seed; in deterministic mode a deterministic-time budget."""
    p = solver.parameters
    p.num_workers = max(1, params.workers)
    p.random_seed = params.seed
    p.log_search_progress = params.log
    budget = max(0.05, params.time_limit_s - spent_s)
    if params.deterministic:
        p.interleave_search = params.workers > 1
        p.max_deterministic_time = budget * DETERMINISTIC_UNITS_PER_S
        p.max_time_in_seconds = deterministic_safety_s(budget)
    else:
        p.max_time_in_seconds = budget
