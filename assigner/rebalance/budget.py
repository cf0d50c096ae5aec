"""The move budget in instance terms: what counts as a move, what the hard rules force, limits.

A *move* is an item (case) that has a current agent (lawyer) and ends with another agent or
unassigned.  Placing a backlog item (no current agent) is never a move.

Limits:

- total: at most ``max_moves`` moves;
- per agent, when a per-agent limit ``K`` is set, two counts, each at most its limit:
  *away* (moves of items this agent holds now) and *onto* (moves that end with this agent).
  The away limit of an agent is ``max(K, required)``, where ``required`` is the number of its
  items that the hard rules force away (the agent is no longer eligible for them, or its pinned,
  started and kept items no longer fit its capacity): a per-agent limit never makes the hard
  rules unsatisfiable.  The onto limit is ``K``.

The total limit is not relaxed: when the forced moves alone exceed it, :class:`BudgetTooSmall`
names how many the state needs and why, and a person decides.

Leaving a case open: a case whose current lawyer is still eligible is never taken away only to
be left without a lawyer, except where the hard rules force cases off that lawyer (over
capacity, a group rule) and no one else can take them: per agent at most ``open_limit`` such
cases end unassigned (the number ``keep_start`` takes off there).  A case whose lawyer is no
longer eligible may end unassigned when no one has room.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assigner.domain.fields import MAX_CASE_COUNT
from assigner.search.greedy import GroupState
from assigner.search.instance import (
    I32,
    I64,
    AssignmentInstance,
    edge_rows,
)

UNLIMITED = np.iinfo(np.int64).max // 4
DEFAULT_MOVE_SHARE = 0.02
"""Without an explicit budget, a nightly run may move this share of the open cases (the issue's
benchmark budget: 2% of open cases), at least one."""
MAX_MOVES = 10 * MAX_CASE_COUNT
"""A rebalance's move budget, in all or per lawyer: far above any office's open cases (a
budget above them only means "no limit"), well within the solver's 32-bit counts."""


def default_move_budget(open_cases: int) -> int:
    return max(1, int(DEFAULT_MOVE_SHARE * open_cases))


class BudgetTooSmall(ValueError):
    """The state forces more moves than the total budget allows."""

    def __init__(self, required: int, max_moves: int, detail: str) -> None:
        super().__init__(
            f"the current state needs at least {required} moves ({detail}), more than the "
            f"budget of {max_moves}; raise the move budget or resolve these cases by hand"
        )
        self.required = required
        self.max_moves = max_moves


class RebalanceInfeasible(ValueError):
    """Items that must stay with their agent (pinned or started) break a hard rule together."""


@dataclass(frozen=True)
class MoveBudget:
    """Per item its current agent; the limits (per-agent arrays are in agent order)."""

    current: I32  # per item: current agent, -1 for a backlog item
    still_eligible: np.ndarray  # per item: the current agent is still one of its edges
    max_moves: int
    away_limit: I64  # per agent; UNLIMITED without a per-agent limit
    onto_limit: I64  # per agent; UNLIMITED without a per-agent limit
    open_limit: I64  # per agent: still-eligible items of it that may end unassigned

    @property
    def n_agents(self) -> int:
        return len(self.away_limit)


@dataclass(frozen=True)
class MoveCount:
    total: int
    away: I64  # per agent
    onto: I64  # per agent
    opened: I64  # per agent: its still-eligible items left unassigned


def is_moved(current: I32, agent_of: I32) -> np.ndarray:
    return (current >= 0) & (agent_of != current)


def count_moves(
    current: I32, agent_of: I32, n_agents: int, still_eligible: np.ndarray | None = None
) -> MoveCount:
    moved = is_moved(current, agent_of)
    away = np.bincount(current[moved], minlength=n_agents).astype(np.int64)
    landed = agent_of[moved]
    onto = np.bincount(landed[landed >= 0], minlength=n_agents).astype(np.int64)
    opened = np.zeros(n_agents, dtype=np.int64)
    if still_eligible is not None:
        left_open = moved & (agent_of < 0) & still_eligible
        opened = np.bincount(current[left_open], minlength=n_agents).astype(np.int64)
    return MoveCount(int(moved.sum()), away, onto, opened)


def budget_issues(budget: MoveBudget, agent_of: I32) -> list[str]:
    """Breaches of the budget by an assignment vector (empty = within budget)."""
    used = count_moves(budget.current, agent_of, budget.n_agents, budget.still_eligible)
    issues = []
    if used.total > budget.max_moves:
        issues.append(f"{used.total} moves > budget {budget.max_moves}")
    for a in np.flatnonzero(used.away > budget.away_limit):
        issues.append(f"agent {a}: {used.away[a]} moves away > {budget.away_limit[a]}")
    for a in np.flatnonzero(used.onto > budget.onto_limit):
        issues.append(f"agent {a}: {used.onto[a]} moves onto > {budget.onto_limit[a]}")
    for a in np.flatnonzero(used.opened > budget.open_limit):
        issues.append(f"agent {a}: {used.opened[a]} cases left open > {budget.open_limit[a]}")
    return issues


def current_edges(inst: AssignmentInstance, current: I32) -> I64:
    """Edge row of each item's agent in ``current``; -1 for unassigned items and for items whose
    agent is not one of their edges (for a current lawyer: the hard rules now exclude the pair)."""
    return edge_rows(inst, current)


@dataclass(frozen=True)
class KeepStart:
    """The current state made feasible with the fewest moves the hard rules force."""

    agent_of: I32  # kept items at their current agent, everything else unassigned
    ineligible: np.ndarray  # bool per item: current agent no longer eligible
    over_capacity: np.ndarray  # bool per item: taken off an agent over capacity
    group_rule: np.ndarray  # bool per item: taken off because a group rule now forbids it
    required_away: I64  # per agent

    @property
    def required_total(self) -> int:
        return int(self.required_away.sum())


def keep_start(inst: AssignmentInstance, current: I32) -> KeepStart:
    """Keep every item with its current agent where the hard rules allow; otherwise take off
    as few items as possible: those whose agent is no longer eligible, then, per agent over its
    capacity (hours or count), the largest movable items first (the fewest that restore it),
    and items a group rule now separates from an item kept before them.

    Raises :class:`RebalanceInfeasible` when the items that must stay (fixed) break a rule.
    """
    rows = current_edges(inst, current)
    fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    ineligible = (current >= 0) & (rows < 0)
    agent_of = np.where(rows >= 0, current, -1).astype(np.int32)

    # Group rules: fixed items first, then the others in item order.
    group_rule = np.zeros(inst.n_items, dtype=np.bool_)
    groups = GroupState(inst)
    held = np.flatnonzero(agent_of >= 0)
    held = held[np.argsort(fixed[held] < 0, kind="stable")]
    for item in held:
        i, holder = int(item), int(agent_of[item])
        if groups.involved(i) and not groups.allows(i, holder):
            if fixed[i] >= 0:
                raise RebalanceInfeasible(
                    f"item {i} must stay with agent {holder}, which a group rule forbids"
                )
            agent_of[i] = -1
            group_rule[i] = True
            continue
        groups.add(i, holder)

    # Capacity: per agent over its weight or count capacity, largest movable items first.
    over_capacity = np.zeros(inst.n_items, dtype=np.bool_)
    kept = np.flatnonzero(agent_of >= 0)
    kept_rows = rows[kept]
    weight = np.bincount(
        agent_of[kept], weights=inst.edge_weight[kept_rows], minlength=inst.n_agents
    ).astype(np.int64)
    count = np.bincount(agent_of[kept], minlength=inst.n_agents).astype(np.int64)
    for a in np.flatnonzero((weight > inst.capacity) | (count > inst.max_count)):
        mine = kept[agent_of[kept] == a]
        movable = mine[fixed[mine] < 0]
        w = inst.edge_weight[rows[movable]]
        movable = movable[np.lexsort((movable, -w))]  # largest first, then item order
        for item in movable:
            if weight[a] <= inst.capacity[a] and count[a] <= inst.max_count[a]:
                break
            agent_of[item] = -1
            over_capacity[item] = True
            weight[a] -= inst.edge_weight[rows[item]]
            count[a] -= 1
            groups.remove(int(item), int(a))
        if weight[a] > inst.capacity[a] or count[a] > inst.max_count[a]:
            raise RebalanceInfeasible(
                f"agent {a}: the items that must stay (pinned or started) exceed its capacity"
            )

    moved = (current >= 0) & (agent_of != current)
    required_away = np.bincount(current[moved], minlength=inst.n_agents).astype(np.int64)
    return KeepStart(agent_of, ineligible, over_capacity, group_rule, required_away)


def make_budget(
    start: KeepStart, current: I32, n_agents: int, max_moves: int, per_agent: int | None
) -> MoveBudget:
    """The budget for this state; raises :class:`BudgetTooSmall` when the forced moves alone
    exceed ``max_moves``."""
    if max_moves < 0 or (per_agent is not None and per_agent < 0):
        raise ValueError("move budgets must be non-negative")
    if start.required_total > max_moves:
        parts = []
        for label, mask in (
            ("their lawyer is no longer eligible", start.ineligible),
            ("their lawyer is over capacity", start.over_capacity),
            ("a group rule now separates them", start.group_rule),
        ):
            if mask.any():
                parts.append(f"{int(mask.sum())} because {label}")
        raise BudgetTooSmall(start.required_total, max_moves, "; ".join(parts))
    if per_agent is None:
        away = np.full(n_agents, UNLIMITED, dtype=np.int64)
        onto = np.full(n_agents, UNLIMITED, dtype=np.int64)
    else:
        away = np.maximum(per_agent, start.required_away).astype(np.int64)
        onto = np.full(n_agents, per_agent, dtype=np.int64)
    dropped = start.over_capacity | start.group_rule
    open_limit = np.bincount(current[dropped], minlength=n_agents).astype(np.int64)
    still_eligible = (current >= 0) & ~start.ineligible
    return MoveBudget(current.astype(np.int32), still_eligible, max_moves, away, onto, open_limit)


def held_by_onto_limits(inst: AssignmentInstance, budget: MoveBudget, agent_of: I32) -> I64:
    """Cases left unassigned that have a current lawyer (so placing them is a move) and an
    edge to a lawyer with room for them (hours and open cases at the plan's loads), where every
    such lawyer has taken ``onto_limit`` moves already: the per-lawyer budget, not the search,
    keeps them out."""
    used = count_moves(budget.current, agent_of, budget.n_agents)
    rows = edge_rows(inst, agent_of)
    placed = rows >= 0
    load = np.bincount(
        inst.edge_agent[rows[placed]],
        weights=inst.edge_weight[rows[placed]],
        minlength=inst.n_agents,
    ).astype(np.int64)
    count = np.bincount(inst.edge_agent[rows[placed]], minlength=inst.n_agents).astype(np.int64)
    out = []
    for item in np.flatnonzero((agent_of < 0) & (budget.current >= 0)):
        edges = inst.edges_of(int(item))
        agents = inst.edge_agent[edges]
        room = (load[agents] + inst.edge_weight[edges] <= inst.capacity[agents]) & (
            count[agents] + 1 <= inst.max_count[agents]
        )
        if room.any() and np.all(used.onto[agents[room]] >= budget.onto_limit[agents[room]]):
            out.append(int(item))
    return np.asarray(out, dtype=np.int64)
