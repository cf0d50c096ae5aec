"""The assignment instance every search method works on: sparse edges and integer data.

A generalised assignment problem (items = cases, agents = lawyers) with the legal-aid extras:
optional items with an unassigned penalty, a count capacity beside the weight capacity, a convex
piecewise-linear load penalty, a quota-deficit penalty, and group rules (cliques of items that
may not share an agent, or an agent group such as a firm; opposing sides that may not meet in
one agent group).  It knows nothing of lawyers or law; the GAP benchmark instances load into it
as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

MUST_ASSIGN = -1
UNASSIGNED = -1


@dataclass(frozen=True)
class LoadBand:
    """Each started ``unit`` of agent load above ``threshold[agent]`` costs ``points``."""

    threshold: I64
    points: int
    unit: int


@dataclass(frozen=True)
class OpposingSides:
    side_a: I32
    side_b: I32


@dataclass
class AssignmentInstance:
    n_items: int
    n_agents: int
    edge_item: I32  # sorted by item
    edge_agent: I32
    edge_cost: I64
    edge_weight: I64
    capacity: I64  # per agent, in weight units
    max_count: I64  # per agent; a large number when unlimited
    unassigned_penalty: I64  # per item; MUST_ASSIGN (-1) when the item must be assigned
    bands: list[LoadBand] = field(default_factory=list)
    base_load: I64 | None = None  # per agent load that bands see on top of the plan's
    quota_short: I64 | None = None  # per agent, items still owed
    quota_points: int = 0
    same_agent_cliques: list[I32] = field(default_factory=list)
    agent_group: I32 | None = None  # per agent group (firm) for the group rules below
    same_group_cliques: list[I32] = field(default_factory=list)
    opposing_sides: list[OpposingSides] = field(default_factory=list)
    fixed_agent: I32 | None = None  # per item: agent it must keep, or -1
    item_offsets: I32 = field(init=False)

    def __post_init__(self) -> None:
        if len(self.edge_item) > 1 and np.any(np.diff(self.edge_item) < 0):
            raise ValueError("edges must be sorted by item")
        counts = np.bincount(self.edge_item, minlength=self.n_items)
        self.item_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)

    @property
    def n_edges(self) -> int:
        return len(self.edge_item)

    def edges_of(self, item: int) -> slice:
        return slice(int(self.item_offsets[item]), int(self.item_offsets[item + 1]))

    def edges_of_items(self, items: npt.NDArray[np.integer]) -> I64:
        """The edge rows of ``items``, item after item (vectorised ``edges_of``)."""
        first = self.item_offsets[items].astype(np.int64)
        lengths = self.item_offsets[items + 1].astype(np.int64) - first
        if lengths.size == 0:
            return np.zeros(0, dtype=np.int64)
        shift = np.repeat(first - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
        return shift + np.arange(int(lengths.sum()), dtype=np.int64)

    def base(self) -> I64:
        if self.base_load is None:
            return np.zeros(self.n_agents, dtype=np.int64)
        return self.base_load


@dataclass(frozen=True)
class ObjectiveParts:
    edge: int
    unassigned: int
    load: int
    quota: int

    @property
    def total(self) -> int:
        return self.edge + self.unassigned + self.load + self.quota


def item_minima(
    inst: AssignmentInstance, values: npt.NDArray[np.floating] | I64
) -> npt.NDArray[np.float64]:
    """Per item, the least of ``values`` (one per edge) over its edges; +inf for an item without
    edges."""
    has = np.diff(inst.item_offsets) > 0
    minima = np.full(inst.n_items, np.inf)
    if has.any():
        minima[has] = np.minimum.reduceat(values, inst.item_offsets[:-1][has])
    return minima


def waiting_items(inst: AssignmentInstance, agent_of_item: I32) -> I64:
    """Items that have an edge yet are left unassigned: they wait for a lawyer."""
    return np.flatnonzero((agent_of_item < 0) & (np.diff(inst.item_offsets) > 0)).astype(np.int64)


def edge_rows(inst: AssignmentInstance, agent_of_item: I32) -> I64:
    """Edge row of each item's agent; -1 for unassigned items and for items whose agent is not
    one of their edges.  Vectorised: one binary search per item over the (item, agent) keys of
    the edges (engine instances are sorted by item, then agent; others are sorted here)."""
    rows = np.full(inst.n_items, -1, dtype=np.int64)
    held = np.flatnonzero(agent_of_item >= 0)
    if held.size == 0 or inst.n_edges == 0:
        return rows
    key = inst.edge_item.astype(np.int64) * inst.n_agents + inst.edge_agent
    order: np.ndarray | None = None
    if np.any(key[1:] <= key[:-1]):
        order = np.argsort(key, kind="stable")
        key = key[order]
    want = held.astype(np.int64) * inst.n_agents + agent_of_item[held]
    pos = np.minimum(np.searchsorted(key, want), len(key) - 1)
    hit = key[pos] == want
    rows[held[hit]] = pos[hit] if order is None else order[pos[hit]]
    return rows


def chosen_edges(inst: AssignmentInstance, agent_of_item: I32) -> I64:
    """Edge row of each assigned item (-1 for unassigned); raises if an agent is not an edge."""
    rows = edge_rows(inst, agent_of_item)
    off = np.flatnonzero((agent_of_item >= 0) & (rows < 0))
    if off.size:
        item = int(off[0])
        raise ValueError(f"item {item} assigned to agent {agent_of_item[item]} off its edges")
    return rows


def band_cost(inst: AssignmentInstance, load: I64) -> int:
    total = 0
    for band in inst.bands:
        excess = np.maximum(0, load - band.threshold)
        total += int(band.points * np.sum(-(-excess // band.unit)))
    return total


def quota_cost(inst: AssignmentInstance, count: I64) -> int:
    if inst.quota_short is None or inst.quota_points == 0:
        return 0
    return int(inst.quota_points * np.sum(np.maximum(0, inst.quota_short - count)))


def evaluate(inst: AssignmentInstance, agent_of_item: I32) -> ObjectiveParts:
    """Objective parts of an assignment vector (agent per item, -1 unassigned)."""
    rows = chosen_edges(inst, agent_of_item)
    used = rows[rows >= 0]
    load = inst.base() + np.bincount(
        inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
    ).astype(np.int64)
    count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents).astype(np.int64)
    unassigned = agent_of_item < 0
    return ObjectiveParts(
        edge=int(inst.edge_cost[used].sum()),
        unassigned=int(np.clip(inst.unassigned_penalty[unassigned], 0, None).sum()),
        load=band_cost(inst, load),
        quota=quota_cost(inst, count),
    )


def feasibility_issues(inst: AssignmentInstance, agent_of_item: I32) -> list[str]:
    """Hard-constraint breaches of an assignment vector in instance terms (empty = feasible)."""
    issues: list[str] = []
    rows = chosen_edges(inst, agent_of_item)
    used = rows[rows >= 0]
    added = np.bincount(
        inst.edge_agent[used], weights=inst.edge_weight[used], minlength=inst.n_agents
    ).astype(np.int64)
    count = np.bincount(inst.edge_agent[used], minlength=inst.n_agents)
    for a in np.flatnonzero(added > inst.capacity):
        issues.append(f"agent {a}: weight {added[a]} > capacity {inst.capacity[a]}")
    for a in np.flatnonzero(count > inst.max_count):
        issues.append(f"agent {a}: count {count[a]} > max {inst.max_count[a]}")
    must = (inst.unassigned_penalty == MUST_ASSIGN) & (agent_of_item < 0)
    for i in np.flatnonzero(must):
        issues.append(f"item {i}: must be assigned")
    if inst.fixed_agent is not None:
        fixed = inst.fixed_agent >= 0
        for i in np.flatnonzero(fixed & (agent_of_item != inst.fixed_agent)):
            issues.append(f"item {i}: fixed to agent {inst.fixed_agent[i]}")
    for clique in inst.same_agent_cliques:
        agents = agent_of_item[clique]
        agents = agents[agents >= 0]
        if len(np.unique(agents)) < len(agents):
            issues.append(f"items {clique.tolist()} share an agent")
    if inst.agent_group is not None:
        for clique in inst.same_group_cliques:
            agents = agent_of_item[clique]
            groups = inst.agent_group[agents[agents >= 0]]
            if len(np.unique(groups)) < len(groups):
                issues.append(f"items {clique.tolist()} share an agent group")
        for opp in inst.opposing_sides:
            ga = {int(inst.agent_group[a]) for a in agent_of_item[opp.side_a] if a >= 0}
            gb = {int(inst.agent_group[a]) for a in agent_of_item[opp.side_b] if a >= 0}
            if ga & gb:
                issues.append(f"opposing sides {opp.side_a.tolist()} / {opp.side_b.tolist()} meet")
    return issues


def kept_edges(inst: AssignmentInstance, keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """``keep`` plus each fixed item's fixed edge: the edges ``with_edges`` keeps."""
    keep = keep.copy()
    if inst.fixed_agent is not None:
        fixed = inst.fixed_agent[inst.edge_item]
        keep |= (fixed >= 0) & (inst.edge_agent == fixed)
    return keep


def with_edges(inst: AssignmentInstance, keep: npt.NDArray[np.bool_]) -> AssignmentInstance:
    """The same instance over a subset of its edges (items and agents unchanged; a fixed item
    keeps its fixed edge); edges keep their order."""
    keep = kept_edges(inst, keep)
    return AssignmentInstance(
        n_items=inst.n_items,
        n_agents=inst.n_agents,
        edge_item=inst.edge_item[keep],
        edge_agent=inst.edge_agent[keep],
        edge_cost=inst.edge_cost[keep],
        edge_weight=inst.edge_weight[keep],
        capacity=inst.capacity,
        max_count=inst.max_count,
        unassigned_penalty=inst.unassigned_penalty,
        bands=inst.bands,
        base_load=inst.base_load,
        quota_short=inst.quota_short,
        quota_points=inst.quota_points,
        same_agent_cliques=inst.same_agent_cliques,
        agent_group=inst.agent_group,
        same_group_cliques=inst.same_group_cliques,
        opposing_sides=inst.opposing_sides,
        fixed_agent=inst.fixed_agent,
    )
