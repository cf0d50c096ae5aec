"""Large-neighbourhood search: free a subset of items, fix the rest, re-optimise the subset with
CP-SAT warm-started from the incumbent, keep the result when it is no worse.

Neighbourhoods: related agents (agents that compete for the same items, grown from a random seed
agent, which on county data are lawyers of one area and region), the items the LP relaxation left
fractional, random agents, and whole agent groups (firms) where the instance has them.  The
subproblem is an AssignmentInstance of its own: capacities, load bands and quotas shifted by the
fixed items, clique and opposing-side edges that the fixed items already block removed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assigner.search.compiled_moves import CompiledMoves
from assigner.search.cpsat import SearchParams, derived_seed, solve_cpsat
from assigner.search.instance import (
    I32,
    I64,
    AssignmentInstance,
    LoadBand,
    OpposingSides,
    chosen_edges,
    evaluate,
    waiting_items,
)
from assigner.search.local_search import descend
from assigner.search.lp_bound import solve_mip

# A full descent pass costs a few passes over all edges; above this size it would take longer
# than the LNS step it follows.
DESCENT_AFTER_STEP_MAX_EDGES = 300_000
SUB_SOLVERS = ("cpsat", "highs")
# ``place_waiting``: each round's MIP time limit; the rings' growth (agents) after a
# round that placed nothing; about the most items one subproblem frees.  Province with help
# across county borders, from the plan of a 600 s run with 174 cases out (one-off script, HiGHS):
# the first ring alone (1,305 items, 12,847 edges) placed 7 in 9.8 s and the next round 13 more
# in 0.8 s, then nothing; with 40 agents of the second ring (2,564 items) rounds of 60 s placed
# 30 in three rounds; the whole second ring (19,542 items, 1.7 million edges) placed none in
# 60 s.  From one stored regions' plan (199 cases out after the repair; one-off script, rounds
# of 20 s): subproblems of 1,763 to 2,758 items (28,000 to 52,000 edges) placed 19 to 29 each;
# 3,930 items (105,787 edges) took 56.7 s and placed none, 5,078 (455,274 edges) none.
WAITING_STEP_S = 20.0
WAITING_RING_STEP = 20
WAITING_MAX_ITEMS = 2_500

Chooser = Callable[[int, I32], I32]  # (neighbourhood size in items, plan) -> items to free


@dataclass(frozen=True)
class SubInstance:
    inst: AssignmentInstance
    items: I32  # sub item -> full item
    edges: I64  # sub edge -> full edge


def sub_instance(inst: AssignmentInstance, free: I32, agent_of: I32) -> SubInstance:
    """The instance over ``free`` items with every other item fixed at ``agent_of``."""
    free = np.unique(free).astype(np.int32)
    is_free = np.zeros(inst.n_items, dtype=np.bool_)
    is_free[free] = True
    rows = chosen_edges(inst, agent_of)
    fixed_rows = rows[(~is_free) & (rows >= 0)]
    fixed_w = np.bincount(
        inst.edge_agent[fixed_rows], weights=inst.edge_weight[fixed_rows], minlength=inst.n_agents
    ).astype(np.int64)
    fixed_n = np.bincount(inst.edge_agent[fixed_rows], minlength=inst.n_agents).astype(np.int64)

    keep = is_free[inst.edge_item].copy()
    # Clique rules: an agent (or group) already used by a fixed member is closed to the others.
    fixed_agent_of = np.where(is_free, -1, agent_of)
    for clique in inst.same_agent_cliques:
        members = clique[is_free[clique]]
        if members.size == 0:
            continue
        blocked = fixed_agent_of[clique]
        blocked = blocked[blocked >= 0]
        if blocked.size:
            _drop_edges(inst, keep, members, _agent_mask(inst.n_agents, blocked))
    if inst.agent_group is not None:
        group = inst.agent_group
        for clique in inst.same_group_cliques:
            members = clique[is_free[clique]]
            blocked_agents = fixed_agent_of[clique]
            blocked_groups = group[blocked_agents[blocked_agents >= 0]]
            if members.size and blocked_groups.size:
                _drop_edges(inst, keep, members, np.isin(group, blocked_groups))
        for opp in inst.opposing_sides:
            for mine, theirs in ((opp.side_a, opp.side_b), (opp.side_b, opp.side_a)):
                members = mine[is_free[mine]]
                other = fixed_agent_of[theirs]
                groups = group[other[other >= 0]]
                if members.size and groups.size:
                    _drop_edges(inst, keep, members, np.isin(group, groups))

    sel = np.flatnonzero(keep)
    local = np.full(inst.n_items, -1, dtype=np.int32)
    local[free] = np.arange(free.size, dtype=np.int32)
    fixed_sub = None
    if inst.fixed_agent is not None:
        fixed_sub = inst.fixed_agent[free]
    sub = AssignmentInstance(
        n_items=int(free.size),
        n_agents=inst.n_agents,
        edge_item=local[inst.edge_item[sel]],
        edge_agent=inst.edge_agent[sel],
        edge_cost=inst.edge_cost[sel],
        edge_weight=inst.edge_weight[sel],
        capacity=inst.capacity - fixed_w,
        max_count=inst.max_count - fixed_n,
        unassigned_penalty=inst.unassigned_penalty[free],
        bands=[LoadBand(b.threshold, b.points, b.unit) for b in inst.bands],
        base_load=inst.base() + fixed_w,
        quota_short=None if inst.quota_short is None else inst.quota_short - fixed_n,
        quota_points=inst.quota_points,
        same_agent_cliques=_restrict(inst.same_agent_cliques, is_free, local),
        agent_group=inst.agent_group,
        same_group_cliques=_restrict(inst.same_group_cliques, is_free, local),
        opposing_sides=[
            OpposingSides(local[o.side_a[is_free[o.side_a]]], local[o.side_b[is_free[o.side_b]]])
            for o in inst.opposing_sides
            if is_free[o.side_a].any() and is_free[o.side_b].any()
        ],
        fixed_agent=fixed_sub,
    )
    return SubInstance(sub, free, sel.astype(np.int64, copy=False))


def _agent_mask(n_agents: int, agents: np.ndarray) -> np.ndarray:
    mask = np.zeros(n_agents, dtype=np.bool_)
    mask[agents] = True
    return mask


def _drop_edges(
    inst: AssignmentInstance, keep: np.ndarray, items: np.ndarray, blocked_agent: np.ndarray
) -> None:
    """Close the agents marked in ``blocked_agent`` to ``items``."""
    for i in items:
        sl = inst.edges_of(int(i))
        keep[sl] &= ~blocked_agent[inst.edge_agent[sl]]


def _restrict(cliques: list[I32], is_free: np.ndarray, local: I32) -> list[I32]:
    out = []
    for clique in cliques:
        members = clique[is_free[clique]]
        if members.size > 1:
            out.append(local[members])
    return out


class Neighbourhoods:
    """Choosers of items to free, drawn in turn.

    Capacity is the scarce resource, so a neighbourhood frees every item currently held by a
    set of agents (plus the unassigned items that could go to them): only then can the
    subproblem re-pack those agents.
    """

    def __init__(self, inst: AssignmentInstance, lp_x: np.ndarray | None, seed: int) -> None:
        self.inst = inst
        self.rng = np.random.default_rng(seed)
        order = np.argsort(inst.edge_agent, kind="stable")
        cuts = np.searchsorted(inst.edge_agent[order], np.arange(1, inst.n_agents))
        self.agent_rows = np.split(order, cuts)
        self.fractional = np.zeros(0, dtype=np.int32)
        if lp_x is not None and len(lp_x) == inst.n_edges:
            frac = (lp_x > 1e-6) & (lp_x < 1 - 1e-6)
            self.fractional = np.unique(inst.edge_item[frac]).astype(np.int32)
        # Members of each agent group (firm), for ``agent_groups``; none without groups.
        self.group_members: list[np.ndarray] = []
        if inst.agent_group is not None and inst.n_agents:
            by_group = np.argsort(inst.agent_group, kind="stable")
            bounds = np.flatnonzero(np.diff(inst.agent_group[by_group])) + 1
            self.group_members = [m for m in np.split(by_group, bounds) if m.size]

    @property
    def has_groups(self) -> bool:
        """More than one agent group: a neighbourhood of whole groups differs from all."""
        return len(self.group_members) > 1

    def kinds(self) -> list[Chooser]:
        """The choosers drawn in turn."""
        kinds: list[Chooser] = [self.related_agents, self.lp_fractional, self.random_agents]
        if self.has_groups:
            kinds.append(self.agent_groups)
        return kinds

    def _free_for_agents(self, agents: list[int], agent_of: I32) -> I32:
        held = np.flatnonzero(np.isin(agent_of, agents))
        reachable = np.unique(
            np.concatenate([self.inst.edge_item[self.agent_rows[a]] for a in agents])
        )
        waiting = reachable[agent_of[reachable] < 0]
        return np.union1d(held, waiting).astype(np.int32)

    def _grow(self, seeds: list[int], size: int, agent_of: I32) -> list[int]:
        """Agents reached from ``seeds`` through shared candidate items, until they hold about
        ``size`` items."""
        inst = self.inst
        agents: list[int] = []
        seen: set[int] = set()
        frontier = list(seeds)
        held = np.bincount(agent_of[agent_of >= 0], minlength=inst.n_agents)
        total = 0
        while frontier and total < size:
            a = frontier.pop(0)
            if a in seen:
                continue
            seen.add(a)
            agents.append(a)
            total += int(held[a])
            items = inst.edge_item[self.agent_rows[a]]
            for i in self.rng.permutation(items)[:8]:
                for b in inst.edge_agent[inst.edges_of(int(i))]:
                    if int(b) not in seen:
                        frontier.append(int(b))
        return agents

    def related_agents(self, size: int, agent_of: I32) -> I32:
        seed = int(self.rng.integers(self.inst.n_agents))
        return self._free_for_agents(self._grow([seed], size, agent_of), agent_of)

    def lp_fractional(self, size: int, agent_of: I32) -> I32:
        if self.fractional.size == 0:
            return self.related_agents(size, agent_of)
        picks = self.rng.permutation(self.fractional)[:8]
        seeds = [int(a) for i in picks for a in self.inst.edge_agent[self.inst.edges_of(int(i))]]
        agents = self._grow(seeds, size, agent_of)
        return np.union1d(self._free_for_agents(agents, agent_of), picks).astype(np.int32)

    def around_unassigned(self, size: int, agent_of: I32) -> I32 | None:
        """Free an unassigned item (drawn by penalty) with everything held by its candidate
        agents and their neighbours: the room it needs can only come from there."""
        inst = self.inst
        waiting = waiting_items(inst, agent_of)
        if waiting.size == 0:
            return None
        weight = np.maximum(inst.unassigned_penalty[waiting], 1).astype(np.float64)
        item = int(self.rng.choice(waiting, p=weight / weight.sum()))
        seeds = [int(a) for a in inst.edge_agent[inst.edges_of(item)]]
        agents = self._grow(seeds, size, agent_of)
        return np.union1d(self._free_for_agents(agents, agent_of), [item]).astype(np.int32)

    def around_all_waiting(
        self, extra_agents: int, agent_of: I32, max_items: int | None = None
    ) -> I32 | None:
        """Free the waiting items, everything held by the agents they could go to (the first
        ring), and everything held by ``extra_agents`` more agents, ring after ring: the agents
        outside that the most of the held items could move to; None when no item waits (or,
        with ``max_items``, when no waiting item's first ring fits in it).

        Cases left out for want of room usually have few candidates (a rare practice area or
        language), all of them full by count or by hours, and several such cases share them.
        Room there needs the first ring's cases to move on, many at once and in step with each
        other: one subproblem over all of them finds what single ejection chains and
        neighbourhoods grown around one waiting item do not.

        With ``max_items`` the subproblem stays within about that many items (waiting items
        reachable from its agents come on top): the waiting items join one by one, the most
        costly to leave out first (then those with the fewest candidates), each only if its
        agents' held items still fit, and the rings grow only by agents that fit.  The next
        round's neighbourhood can be far larger than the first's (province with help across
        county borders: 1,959 items in the first round, 6,031 in the next, which once stopped
        the placement with 181 cases still out)."""
        inst = self.inst
        waiting = waiting_items(inst, agent_of)
        if waiting.size == 0:
            return None
        limit = math.inf if max_items is None else float(max_items)
        held = np.bincount(agent_of[agent_of >= 0], minlength=inst.n_agents)
        in_set = np.zeros(inst.n_agents, dtype=np.bool_)
        total = 0
        chosen: list[int] = []
        candidates = np.diff(inst.item_offsets)[waiting]
        for item in waiting[np.lexsort((candidates, -inst.unassigned_penalty[waiting]))]:
            agents = inst.edge_agent[inst.edges_of(int(item))]
            new = np.unique(agents[~in_set[agents]])
            size = int(held[new].sum()) + 1
            if total + size > limit:
                continue
            in_set[new] = True
            total += size
            chosen.append(int(item))
        if not chosen:
            return None
        added = 0
        while added < extra_agents:
            # The next ring: agents outside, ranked by how many of the held items could move
            # to them.
            held_items = np.flatnonzero((agent_of >= 0) & in_set[np.maximum(agent_of, 0)])
            reach = np.bincount(
                inst.edge_agent[inst.edges_of_items(held_items)], minlength=inst.n_agents
            )
            reach[in_set] = 0
            ring = np.argsort(-reach, kind="stable")[: extra_agents - added]
            grew = False
            for agent in ring[reach[ring] > 0]:
                if total + held[agent] > limit:
                    continue
                in_set[agent] = True
                total += int(held[agent])
                added += 1
                grew = True
            if not grew:
                break
        freed = self._free_for_agents([int(a) for a in np.flatnonzero(in_set)], agent_of)
        return np.union1d(freed, chosen).astype(np.int32)

    def agent_groups(self, size: int, agent_of: I32) -> I32:
        """Free everything held by the agents of whole groups (firms), drawn at random until
        they hold about ``size`` items (a group larger than that: a random part of it).

        Group rules (one firm may not act for both sides, nor for two co-defendants) tie a
        firm's cases to each other, and the compiled moves leave cases under group rules to
        the shift rounds; a subproblem over whole firms can re-pack them together."""
        held = np.bincount(agent_of[agent_of >= 0], minlength=self.inst.n_agents)
        agents: list[int] = []
        total = 0
        for g in self.rng.permutation(len(self.group_members)):
            for a in self.rng.permutation(self.group_members[int(g)]):
                agents.append(int(a))
                total += int(held[a])
                if total >= size:
                    return self._free_for_agents(agents, agent_of)
        return self._free_for_agents(agents, agent_of)

    def random_agents(self, size: int, agent_of: I32) -> I32:
        held = np.bincount(agent_of[agent_of >= 0], minlength=self.inst.n_agents)
        agents: list[int] = []
        total = 0
        for a in self.rng.permutation(self.inst.n_agents):
            agents.append(int(a))
            total += int(held[a])
            if total >= size:
                break
        return self._free_for_agents(agents, agent_of)


def _step_budget(params: SearchParams, step_time_s: float, deadline: float) -> float:
    """A subproblem's time limit: ``step_time_s``, cut to the time left unless deterministic."""
    if params.deterministic:
        return step_time_s
    return min(step_time_s, deadline - time.monotonic())


def place_waiting(
    inst: AssignmentInstance,
    start: I32,
    params: SearchParams,
    deadline: float,
    step_time_s: float = WAITING_STEP_S,
    max_items: int = WAITING_MAX_ITEMS,
    max_rounds: int | None = None,
) -> tuple[I32, int, int]:
    """MIP subproblems (HiGHS) over every waiting item at once and the agents that could make
    room for them (``Neighbourhoods.around_all_waiting``), from ``start``; returns (best,
    objective, rounds).  A round that gains nothing adds ``WAITING_RING_STEP`` agents to the
    rings.  Each subproblem frees about ``max_items`` items at most (waiting items join it
    while their agents fit, and so do the rings' agents).  Stops once no item waits (or none
    fits), when a subproblem would free no more than the last one, at ``max_rounds`` or at
    ``deadline`` (time.monotonic)."""
    best = start.copy()
    best_obj = evaluate(inst, best).total
    hoods = Neighbourhoods(inst, None, params.seed)
    extra = 0
    rounds = 0
    last_size = -1
    solved: I32 | None = None  # the last subproblem's items, where it was solved to optimality
    while time.monotonic() < deadline - 0.05 and (max_rounds is None or rounds < max_rounds):
        free = hoods.around_all_waiting(extra, best, max_items)
        if free is not None and solved is not None and np.array_equal(free, solved):
            # Moves within the rings only (edge costs, nothing placed): the same subproblem
            # again, already solved to optimality; only a wider one can gain.
            extra += WAITING_RING_STEP
            last_size = int(free.size)
            solved = None
            continue
        if free is None or free.size == last_size:
            break
        budget = _step_budget(params, step_time_s, deadline)
        if budget <= 0.05:
            break
        rounds += 1
        sub = sub_instance(inst, free, best)
        vec = solve_mip(
            sub.inst, budget, start=best[sub.items], seed=derived_seed(params.seed, rounds)
        )
        gained = False
        solved = free if vec.status == "Optimal" else None
        if vec.agent_of_item is not None:
            cand = best.copy()
            cand[sub.items] = vec.agent_of_item
            obj = evaluate(inst, cand).total
            if obj < best_obj:
                best, best_obj, gained = cand, obj, True
        if gained:
            last_size = -1
        else:
            extra += WAITING_RING_STEP
            last_size = int(free.size)
    return best, best_obj, rounds


def improve(
    inst: AssignmentInstance,
    start: I32,
    params: SearchParams,
    deadline: float,
    lp_x: np.ndarray | None = None,
    on_improve: Callable[[I32, int], None] | None = None,
    neighbourhood_items: int = 600,
    step_time_s: float = 2.0,
    sub_solver: str = "cpsat",
    max_steps: int | None = None,
) -> tuple[I32, int, int]:
    """LNS from ``start`` until ``deadline`` (time.monotonic); returns (best, objective, steps)."""
    if sub_solver not in SUB_SOLVERS:
        raise ValueError(
            f"unknown subproblem solver {sub_solver!r}; known: {', '.join(SUB_SOLVERS)}"
        )
    best = start.copy()
    best_obj = evaluate(inst, best).total
    hoods = Neighbourhoods(inst, lp_x, params.seed)
    # Built once: each step's descent would otherwise index the instance again.
    passes = CompiledMoves(inst) if inst.n_edges <= DESCENT_AFTER_STEP_MAX_EDGES else None
    size = min(neighbourhood_items, inst.n_items)
    kinds = hoods.kinds()
    steps = 0
    while time.monotonic() < deadline - 0.05 and (max_steps is None or steps < max_steps):
        focused = hoods.around_unassigned(size, best) if steps % 2 == 0 else None
        free = focused if focused is not None else kinds[steps % len(kinds)](size, best)
        steps += 1
        if free.size == 0:
            continue
        sub = sub_instance(inst, free, best)
        budget = _step_budget(params, step_time_s, deadline)
        if budget <= 0.05:
            break
        hint = best[sub.items]
        if sub_solver == "highs":
            vec = solve_mip(
                sub.inst, budget, start=hint, seed=derived_seed(params.seed, steps)
            ).agent_of_item
        else:
            vec = solve_cpsat(
                sub.inst,
                SearchParams(
                    budget, params.workers, derived_seed(params.seed, steps), params.deterministic
                ),
                hint=hint,
            ).agent_of_item
        if vec is None:
            continue
        cand = best.copy()
        cand[sub.items] = vec
        if inst.n_edges <= DESCENT_AFTER_STEP_MAX_EDGES:
            cand, _ = descend(
                inst,
                cand,
                float("inf") if params.deterministic else deadline,
                passes=passes,
            )
        obj = evaluate(inst, cand).total
        if obj < best_obj:
            best, best_obj = cand, obj
            if on_improve is not None:
                on_improve(best, best_obj)
        elif obj == best_obj:
            best = cand
    return best, best_obj, steps
