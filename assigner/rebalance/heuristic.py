"""Budget-aware construction and improvement: the start for the MIP, the main search of large
instances.

From the current state (made feasible with the fewest forced moves, see ``keep_start``):

1. *place*: waiting items (the backlog and items taken off their lawyer) take their cheapest
   feasible edge by exact marginal cost, highest unassigned penalty first (no move cost for the
   backlog);
2. rounds of
   - *paid changes*, best objective gain first, each costing at most one move, while the
     budget lasts: ejection chains that move one item to make room for a waiting case (free
     when the item moved is a backlog item), and single moves of currently assigned cases that
     lower the objective on their own; then *place* again;
   - *free descent*: shift descent and two-step ejection repair over the backlog only (every
     item that has a current lawyer stays where it is), so nothing here spends budget;
   until a round changes nothing or time is up.

Every step goes through :class:`~assigner.rebalance.incumbent.Incumbent`, so the vector is
feasible and within the budget after each one.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from assigner.rebalance.budget import KeepStart, MoveBudget, current_edges
from assigner.rebalance.incumbent import Incumbent
from assigner.search.instance import I32, AssignmentInstance, with_edges
from assigner.search.local_search import descend, repair_unassigned

CHAIN_AGENTS_PER_ITEM = 8
"""A waiting item looks for room at its cheapest few agents."""
MAX_ROUNDS = 50


@dataclass
class HeuristicStats:
    placed: int = 0
    free_moves: int = 0
    chains: int = 0
    paid_shifts: int = 0
    rounds: int = 0


def frozen_instance(inst: AssignmentInstance, start: KeepStart) -> AssignmentInstance:
    """The instance with every kept item fixed to its current agent (and only that edge left):
    any search on it spends no budget beyond the forced moves."""
    kept = start.agent_of >= 0
    base_fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    fixed = np.where(kept, start.agent_of, base_fixed).astype(np.int32)
    held = current_edges(inst, start.agent_of)
    keep = ~kept[inst.edge_item] | (np.arange(inst.n_edges) == held[inst.edge_item])
    return with_edges(dataclasses.replace(inst, fixed_agent=fixed), keep)


def fit_onto_limits(inst: AssignmentInstance, agent_of: I32, budget: MoveBudget) -> I32:
    """Unassign the costliest moved items at agents over their onto limit (a search that does
    not know the per-agent limit may exceed it); the heuristic places them again."""
    vec = agent_of.copy()
    moved = (budget.current >= 0) & (vec != budget.current) & (vec >= 0)
    onto = np.bincount(vec[moved], minlength=inst.n_agents)
    rows = current_edges(inst, np.where(moved, vec, -1).astype(np.int32))
    for b in np.flatnonzero(onto > budget.onto_limit):
        mine = np.flatnonzero(moved & (vec == b))
        mine = mine[np.argsort(-inst.edge_cost[rows[mine]], kind="stable")]
        vec[mine[: int(onto[b] - budget.onto_limit[b])]] = -1
    return vec


def waiting_items(inc: Incumbent) -> np.ndarray:
    """Unassigned items with at least one edge, highest penalty first, fewest edges next."""
    inst = inc.inst
    n_edges = np.diff(inst.item_offsets)
    items = np.flatnonzero((inc.agent_of < 0) & (n_edges > 0))
    return items[np.lexsort((items, n_edges[items], -inc.penalty[items]))]


def place_waiting(inc: Incumbent, deadline: float) -> int:
    """Each waiting item takes its cheapest improving feasible edge; returns items placed."""
    placed = 0
    for k, item in enumerate(waiting_items(inc)):
        if k % 256 == 0 and time.monotonic() > deadline:
            break
        i = int(item)
        delta, ok = inc.price_edges(i)
        cand = np.flatnonzero(ok & (delta < 0))
        start = inc.inst.edges_of(i).start
        for c in cand[np.argsort(delta[cand], kind="stable")]:
            if inc.shift(i, start + int(c)):
                placed += 1
                break
    return placed


def free_descent(inc: Incumbent, deadline: float) -> tuple[Incumbent, int]:
    """Shift descent and ejection repair that move backlog items only (no budget spent)."""
    inst = inc.inst
    backlog = inc.budget.current < 0
    if not backlog.any():
        return inc, 0
    edge_index = np.arange(inst.n_edges)
    keep = backlog[inst.edge_item] | (edge_index == inc.rows[inst.edge_item])
    base_fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    frozen = np.where(~backlog & (inc.agent_of >= 0), inc.agent_of, base_fixed).astype(np.int32)
    sub = with_edges(dataclasses.replace(inst, fixed_agent=frozen), keep)
    vec, moves = descend(sub, inc.agent_of.copy(), deadline)
    vec, placed = repair_unassigned(sub, vec, deadline)
    if moves == 0 and placed == 0:
        return inc, 0
    return Incumbent(inst, vec, inc.budget), moves + placed


def _best_destinations(inc: Incumbent, items: list[int]) -> dict[int, tuple[int, int]]:
    """Per item its cheapest feasible other edge: (objective change, edge)."""
    out: dict[int, tuple[int, int]] = {}
    for i in items:
        delta, ok = inc.price_edges(i)
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            continue
        k = int(cand[np.argmin(delta[cand])])
        out[i] = (int(delta[k]), inc.inst.edges_of(i).start + k)
    return out


def _move_cost(inc: Incumbent, i: int, edge: int) -> int:
    """Change in the number of moves when item ``i`` moves along ``edge``."""
    c = int(inc.budget.current[i])
    if c < 0:
        return 0
    b = int(inc.inst.edge_agent[edge]) if edge >= 0 else -1
    return int(b != c) - int(int(inc.agent_of[i]) != c)


def ejection_chains(inc: Incumbent, deadline: float) -> int:
    """Make room for waiting items by moving one item off one of their agents; the chains that
    lower the objective are applied, free ones first, then by gain; returns chains applied."""
    waiting = waiting_items(inc)
    if waiting.size == 0:
        return 0
    dest_cache: dict[int, tuple[int, int]] = {}
    proposals: list[tuple[int, int, list[tuple[int, int]]]] = []
    for k, item in enumerate(waiting):
        if k % 64 == 0 and time.monotonic() > deadline:
            break
        j = int(item)
        best = _best_chain(inc, j, dest_cache)
        if best is not None:
            proposals.append(best)
    proposals.sort(key=lambda p: (p[0] > 0, p[1]))
    applied = 0
    for _cost, _delta, moves in proposals:
        if time.monotonic() > deadline:
            break
        if inc.objective_change(moves) < 0 and inc.apply_all(moves):
            applied += 1
    return applied


def _best_chain(
    inc: Incumbent, j: int, dest_cache: dict[int, tuple[int, int]]
) -> tuple[int, int, list[tuple[int, int]]] | None:
    inst = inc.inst
    sl = inst.edges_of(j)
    agents = inst.edge_agent[sl]
    order = np.argsort(inst.edge_cost[sl], kind="stable")[:CHAIN_AGENTS_PER_ITEM]
    allowed_j = inc.budget_mask(j, agents[order].astype(np.int64))
    best: tuple[int, int, list[tuple[int, int]]] | None = None
    for k, ok_j in zip(order, allowed_j, strict=True):
        if not ok_j:
            continue
        b, edge_j = int(agents[k]), sl.start + int(k)
        w_j = int(inst.edge_weight[edge_j])
        need = w_j - int(inst.capacity[b] - inc.added[b])
        if need <= 0 and inc.count[b] < inst.max_count[b]:
            continue  # room already: placing it is not a chain (place_waiting prices it)
        for i in sorted(inc.held_by[b]):
            if inc.fixed[i] >= 0 or int(inst.edge_weight[int(inc.rows[i])]) < need:
                continue
            if i not in dest_cache:
                dest_cache.update(_best_destinations(inc, [i]))
                dest_cache.setdefault(i, (0, -1))
            _d, edge_i = dest_cache[i]
            if edge_i < 0:
                continue
            moves = [(i, edge_i), (j, edge_j)]
            cost = _move_cost(inc, i, edge_i) + _move_cost(inc, j, edge_j)
            if cost > 0 and inc.total + cost > inc.budget.max_moves:
                continue
            delta = inc.objective_change(moves)
            if delta < 0 and (best is None or (cost > 0, delta) < (best[0] > 0, best[1])):
                best = (cost, delta, moves)
    return best


def paid_shifts(inc: Incumbent, deadline: float) -> int:
    """Single moves of currently assigned (movable) items that lower the objective on their
    own, best first; returns moves applied."""
    inst = inc.inst
    items = np.flatnonzero((inc.budget.current >= 0) & (inc.agent_of >= 0) & (inc.fixed < 0))
    found: list[tuple[int, int, int]] = []
    for k, item in enumerate(items):
        if k % 256 == 0 and time.monotonic() > deadline:
            break
        i = int(item)
        delta, ok = inc.price_edges(i)
        cand = np.flatnonzero(ok & (delta < 0))
        if cand.size:
            c = int(cand[np.argmin(delta[cand])])
            found.append((int(delta[c]), i, inst.edges_of(i).start + c))
    found.sort()
    applied = 0
    for _delta, i, edge in found:
        if inc.objective_change([(i, edge)]) < 0 and inc.shift(i, edge):
            applied += 1
    return applied


def improve_within_budget(
    inst: AssignmentInstance, start: I32, budget: MoveBudget, deadline: float
) -> tuple[I32, HeuristicStats]:
    """The heuristic above from a feasible, within-budget ``start``."""
    stats = HeuristicStats()
    inc = Incumbent(inst, start, budget)
    stats.placed = place_waiting(inc, deadline)
    for _ in range(MAX_ROUNDS):
        stats.rounds += 1
        chains = ejection_chains(inc, deadline)
        shifts = paid_shifts(inc, deadline)
        placed = place_waiting(inc, deadline)
        inc, free = free_descent(inc, deadline)
        stats.chains += chains
        stats.paid_shifts += shifts
        stats.placed += placed
        stats.free_moves += free
        if chains + shifts + placed + free == 0 or time.monotonic() > deadline:
            break
    return inc.agent_of, stats
