"""Lagrangian relaxation: a proven lower bound at county scale, and reduced costs that steer
construction.

Capacity (weight and count), load-band and quota rows are moved into the objective with
multipliers; clique and opposing-side rows are dropped (a relaxation may drop rows).  What is
left decomposes by item: each item takes its cheapest reduced-cost edge or stays unassigned at
its penalty.  For any multipliers in range the value is a valid lower bound on the integer
optimum; projected subgradient ascent (Polyak steps towards the best known objective) raises it.
Every evaluation is a handful of numpy passes over the edges, so millions of edges are fine where
the LP would take minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assigner.search.instance import (
    MUST_ASSIGN,
    AssignmentInstance,
    chosen_edges,
    item_minima,
    kept_edges,
    with_edges,
)
from assigner.search.step_scale import StepScale

F64 = npt.NDArray[np.float64]
TARGET_REACH = 0.3
FULL_EVALUATION_EVERY = 20


@dataclass(frozen=True)
class LagrangianResult:
    bound: float  # best proven lower bound (rounded up: costs are integers)
    reduced_cost: F64  # per edge, at the best multipliers
    iterations: int
    wall_time_s: float
    multipliers: _Multipliers | None = None  # at the best bound


@dataclass
class _Multipliers:
    cap: F64  # per agent, >= 0
    count: F64  # per agent, >= 0
    band: list[F64]  # per band per agent, in [0, points/unit]
    quota: F64  # per agent, in [0, quota_points]


def _segment_min(inst: AssignmentInstance, values: F64) -> tuple[F64, npt.NDArray[np.int64]]:
    """Minimum and its edge row per item (items with no edge get +inf and -1)."""
    n = inst.n_items
    counts = np.diff(inst.item_offsets)
    mins = item_minima(inst, values)
    arg = np.full(n, -1, dtype=np.int64)
    if values.size:
        # position of the minimum: first edge whose value equals the item minimum
        item_of_edge = np.repeat(np.arange(n), counts)
        hit = values <= mins[item_of_edge] + 0.0
        rows = np.flatnonzero(hit)
        first = np.full(n, -1, dtype=np.int64)
        # reverse assignment keeps the first occurrence
        first[item_of_edge[rows[::-1]]] = rows[::-1]
        arg = first
    return mins, arg


class Lagrangian:
    def __init__(self, inst: AssignmentInstance) -> None:
        self.inst = inst
        self.cost = inst.edge_cost.astype(np.float64)
        self.w = inst.edge_weight.astype(np.float64)
        self.agent = inst.edge_agent.astype(np.int64)
        self.penalty = np.where(
            inst.unassigned_penalty == MUST_ASSIGN, np.inf, inst.unassigned_penalty
        ).astype(np.float64)
        self.base = inst.base().astype(np.float64)
        self.short = (
            inst.quota_short.astype(np.float64)
            if inst.quota_short is not None and inst.quota_points
            else np.zeros(inst.n_agents)
        )
        self.band_cap = [band.points / band.unit for band in inst.bands]
        # A fixed item may only take its fixed edge.
        self.blocked = np.zeros(inst.n_edges, dtype=np.bool_)
        if inst.fixed_agent is not None:
            fixed_item = inst.fixed_agent[inst.edge_item] >= 0
            self.blocked = fixed_item & (inst.edge_agent != inst.fixed_agent[inst.edge_item])
            self.penalty = np.where(inst.fixed_agent >= 0, np.inf, self.penalty)

    def start(self) -> _Multipliers:
        n = self.inst.n_agents
        return _Multipliers(
            cap=np.zeros(n),
            count=np.zeros(n),
            band=[np.zeros(n) for _ in self.inst.bands],
            quota=np.zeros(n),
        )

    def warm(self, agent_of_item: npt.NDArray[np.int32]) -> _Multipliers:
        """Multipliers read off a good assignment: each band's price where the agent's load is
        above its threshold, the quota price where the agent is still short."""
        inst = self.inst
        rows = chosen_edges(inst, agent_of_item)
        used = rows[rows >= 0]
        load = self.base + np.bincount(
            inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
        )
        count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents)
        m = self.start()
        m.band = [
            np.where(load > band.threshold, cap, 0.0)
            for band, cap in zip(inst.bands, self.band_cap, strict=True)
        ]
        if inst.quota_points:
            m.quota = np.where(count < self.short, float(inst.quota_points), 0.0)
        return m

    def reduced_cost(self, m: _Multipliers) -> F64:
        per_weight = m.cap.copy()
        for mu in m.band:
            per_weight = per_weight + mu
        rc = self.cost + self.w * per_weight[self.agent] + (m.count - m.quota)[self.agent]
        return np.where(self.blocked, np.inf, rc)

    def evaluate(self, m: _Multipliers) -> tuple[float, F64, npt.NDArray[np.int64]]:
        """Value of the relaxation, reduced costs and the chosen edge per item (-1: none)."""
        inst = self.inst
        rc = self.reduced_cost(m)
        best, arg = _segment_min(inst, rc)
        take = best < self.penalty
        item_value = np.where(take, best, self.penalty)
        constant = -float(m.cap @ inst.capacity) - float(m.count @ inst.max_count)
        for mu, band in zip(m.band, inst.bands, strict=True):
            constant += float(mu @ (self.base - band.threshold))
        constant += float(m.quota @ self.short)
        if not np.all(np.isfinite(item_value)):
            return float("inf"), rc, np.where(take, arg, -1)
        return float(item_value.sum()) + constant, rc, np.where(take, arg, -1)

    def subgradient(self, m: _Multipliers, chosen: npt.NDArray[np.int64]) -> _Multipliers:
        inst = self.inst
        rows = chosen[chosen >= 0]
        load_w: F64 = np.bincount(
            self.agent[rows], weights=self.w[rows], minlength=inst.n_agents
        ).astype(np.float64)
        count = np.bincount(self.agent[rows], minlength=inst.n_agents).astype(np.float64)
        return _Multipliers(
            cap=load_w - inst.capacity.astype(np.float64),
            count=count - inst.max_count.astype(np.float64),
            band=[self.base + load_w - band.threshold for band in inst.bands],
            quota=self.short - count,
        )

    def project(self, m: _Multipliers) -> _Multipliers:
        return _Multipliers(
            cap=np.maximum(m.cap, 0.0),
            count=np.maximum(m.count, 0.0),
            band=[np.clip(mu, 0.0, cap) for mu, cap in zip(m.band, self.band_cap, strict=True)],
            quota=np.clip(m.quota, 0.0, float(self.inst.quota_points)),
        )


def _axpy(m: _Multipliers, g: _Multipliers, step: float) -> _Multipliers:
    return _Multipliers(
        cap=m.cap + step * g.cap,
        count=m.count + step * g.count,
        band=[a + step * b for a, b in zip(m.band, g.band, strict=True)],
        quota=m.quota + step * g.quota,
    )


def _norm2(g: _Multipliers, m: _Multipliers, lag: Lagrangian) -> float:
    """Squared norm of the projected direction (components that cannot move do not count)."""

    def active(v: F64, mult: F64, upper: float | None) -> F64:
        keep = ~((mult <= 0) & (v < 0))
        if upper is not None:
            keep &= ~((mult >= upper) & (v > 0))
        return np.where(keep, v, 0.0)

    total = float(np.sum(active(g.cap, m.cap, None) ** 2))
    total += float(np.sum(active(g.count, m.count, None) ** 2))
    for gb, mb, cap in zip(g.band, m.band, lag.band_cap, strict=True):
        total += float(np.sum(active(gb, mb, cap) ** 2))
    total += float(np.sum(active(g.quota, m.quota, float(lag.inst.quota_points)) ** 2))
    return total


def lagrangian_bound(
    inst: AssignmentInstance,
    upper_bound: float,
    time_limit_s: float,
    max_iterations: int = 5_000,
    start_from: npt.NDArray[np.int32] | None = None,
    start_multipliers: _Multipliers | None = None,
    core: npt.NDArray[np.bool_] | None = None,
) -> LagrangianResult:
    """Subgradient ascent towards ``upper_bound`` (a known objective, or any value known to be
    at least the Lagrangian dual such as a restricted LP's value), from ``start_multipliers``
    (e.g. LP duals), from multipliers read off ``start_from`` (a good assignment) or from zero.

    With ``core`` (an edge mask) the steps are taken on the Lagrangian over the core edges, which
    is quick to evaluate but over-estimates; every ``FULL_EVALUATION_EVERY`` steps the function
    over all edges is evaluated (only these values count as bounds) and the edges it picks that
    the core lacks join the core."""
    start = time.monotonic()
    lag = Lagrangian(inst)
    if start_multipliers is not None:
        m = lag.project(start_multipliers)
    elif start_from is not None:
        m = lag.warm(start_from)
    else:
        m = lag.start()
    best_value, best_rc, chosen = lag.evaluate(m)
    best_m = m
    in_core: npt.NDArray[np.bool_] | None = None
    work = lag
    if core is not None:
        in_core = kept_edges(inst, core)
        in_core[chosen[chosen >= 0]] = True
        work = Lagrangian(with_edges(inst, in_core))
    work_best, _rc, chosen = work.evaluate(m)
    theta = StepScale(2.0, patience=15, minimum=1e-4)
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        if time.monotonic() - start > time_limit_s or not np.isfinite(work_best):
            break
        g = work.subgradient(m, chosen)
        norm2 = _norm2(g, m, work)
        if norm2 <= 1e-12:
            break
        # Aim at the known objective, but never more than TARGET_REACH above the best value so
        # far: a poor incumbent would otherwise make every step overshoot.
        target = min(upper_bound, work_best + TARGET_REACH * max(1.0, abs(work_best)))
        step = theta.value * max(target - work_best, 1e-6 * max(1.0, abs(target))) / norm2
        m = work.project(_axpy(m, g, step))
        value, rc, chosen = work.evaluate(m)
        improved = value > work_best + 1e-9
        theta.record(improved)
        if improved:
            work_best = value
            if in_core is None:
                best_value, best_rc, best_m = value, rc, m
        elif theta.exhausted:
            break
        if in_core is not None and iterations % FULL_EVALUATION_EVERY == 0:
            full, full_rc, full_chosen = lag.evaluate(m)
            if full > best_value:
                best_value, best_rc, best_m = full, full_rc, m
            missing = full_chosen[full_chosen >= 0]
            missing = missing[~in_core[missing]]
            if missing.size:
                # Edges the core lacks were the best choice of their items: add them, so the
                # core's value (above the true one) comes down to it.
                in_core[missing] = True
                work = Lagrangian(with_edges(inst, in_core))
                work_best, _rc, chosen = work.evaluate(m)
    if in_core is not None:
        full, full_rc, _chosen = lag.evaluate(m)
        if full > best_value:
            best_value, best_rc, best_m = full, full_rc, m
    bound = float(np.ceil(best_value - 1e-6)) if np.isfinite(best_value) else best_value
    return LagrangianResult(bound, best_rc, iterations, time.monotonic() - start, best_m)
