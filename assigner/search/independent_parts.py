"""Decomposition into independent parts: groups of items and agents that no edge and no group
rule connects, each searched as an instance of its own.

Two items are connected when they share a candidate agent, when they are in one
``same_group_cliques`` entry (they may not share an agent group, and a group such as a firm
can span the whole instance), or on either side of one ``opposing_sides`` entry.  Items of a
``same_agent_cliques`` entry that fall apart need no link: with no agent in common they can
never share one.  Every other term of the objective (edge costs, unassigned penalties, load
bands, quotas) belongs to one item or one agent, so the objective is the sum over the parts
and so is any lower bound.  A province, whose counties lie beyond each other's travel limits,
falls apart into its counties.

Components smaller than ``MIN_PART_EDGES`` are packed together (smallest first) so that a
scattered instance does not pay one search's overhead per lone case; items without edges and
agents without edges join the first part (their cost is the same in every plan).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from assigner.search.instance import (
    I32,
    I64,
    AssignmentInstance,
    LoadBand,
    OpposingSides,
)

MIN_PART_EDGES = 5_000
"""Components are packed into parts of at least this many edges (the exact MIP's size: parts
up to it are solved to optimality in well under a second)."""


@dataclass(frozen=True)
class Part:
    items: I32  # ascending item indices of the whole instance
    agents: I32  # ascending agent indices of the whole instance
    n_edges: int


@njit(cache=True, nogil=True)
def _find(parent: np.ndarray, x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # path compression
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@njit(cache=True, nogil=True)
def _union_pairs(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    for k in range(a.shape[0]):
        ra = _find(parent, a[k])
        rb = _find(parent, b[k])
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb


@njit(cache=True, nogil=True)
def _roots(parent: np.ndarray) -> np.ndarray:
    out = np.empty(parent.shape[0], dtype=np.int64)
    for x in range(parent.shape[0]):
        out[x] = _find(parent, x)
    return out


def _linked_item_pairs(inst: AssignmentInstance) -> tuple[I64, I64]:
    """Pairs of items the group rules tie together: each item of a firm clique or of an
    opposing pair's two sides with the first item of that rule."""
    groups = list(inst.same_group_cliques)
    groups += [np.concatenate([s.side_a, s.side_b]) for s in inst.opposing_sides]
    firsts: list[I64] = []
    others: list[I64] = []
    for group in groups:
        g = np.asarray(group, dtype=np.int64)
        if g.size > 1:
            firsts.append(np.full(g.size - 1, g[0], dtype=np.int64))
            others.append(g[1:])
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a, b = np.concatenate(firsts), np.concatenate(others)
    if min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= inst.n_items:
        raise ValueError(f"a group rule names an item outside 0..{inst.n_items - 1}")
    return a, b


def check_indices(inst: AssignmentInstance) -> None:
    """Refuse an edge or fixed agent outside the instance's agents: the compiled kernels that
    read them (the union below, the region labels) do not check bounds."""
    bad_edges = np.flatnonzero((inst.edge_agent < 0) | (inst.edge_agent >= inst.n_agents))
    if bad_edges.size:
        e = int(bad_edges[0])
        raise ValueError(
            f"an edge names an agent outside 0..{inst.n_agents - 1}: edge {e} (item "
            f"{int(inst.edge_item[e])}) names agent {int(inst.edge_agent[e])}"
        )
    if inst.fixed_agent is not None:
        bad_items = np.flatnonzero(inst.fixed_agent >= inst.n_agents)
        if bad_items.size:
            i = int(bad_items[0])
            raise ValueError(
                f"a fixed agent lies outside 0..{inst.n_agents - 1}: item {i} is fixed to "
                f"agent {int(inst.fixed_agent[i])}"
            )


def component_labels(inst: AssignmentInstance) -> I64:
    """Per node (items first, then agents), the smallest node index of its component."""
    check_indices(inst)
    parent = np.arange(inst.n_items + inst.n_agents, dtype=np.int64)
    _union_pairs(
        parent,
        inst.edge_item.astype(np.int64),
        inst.n_items + inst.edge_agent.astype(np.int64),
    )
    a, b = _linked_item_pairs(inst)
    _union_pairs(parent, a, b)
    if inst.fixed_agent is not None:
        fixed = np.flatnonzero(inst.fixed_agent >= 0)
        _union_pairs(parent, fixed.astype(np.int64), inst.n_items + inst.fixed_agent[fixed])
    roots: I64 = _roots(parent)
    return roots


def independent_parts(inst: AssignmentInstance, min_edges: int | None = None) -> list[Part]:
    """The instance's independent parts, components packed (smallest first) into parts of at
    least ``min_edges`` edges (default ``MIN_PART_EDGES``); one part when it does not fall
    apart (or when every component but one is packed with it)."""
    if min_edges is None:
        min_edges = MIN_PART_EDGES
    n = inst.n_items
    labels = component_labels(inst)
    item_label = labels[:n]
    agent_label = labels[n:]
    edges_per_label = np.bincount(labels[inst.edge_item], minlength=labels.size)
    with_edges = np.flatnonzero(edges_per_label)
    if with_edges.size <= 1:
        return [_whole(inst)]
    order = with_edges[np.argsort(edges_per_label[with_edges], kind="stable")]
    # Pack components, smallest first, into parts of at least ``min_edges`` edges; a last
    # group short of it joins the part before.
    groups: list[list[int]] = []
    size = 0
    for label in order:
        if not groups or size >= min_edges:
            groups.append([])
            size = 0
        groups[-1].append(int(label))
        size += int(edges_per_label[label])
    if len(groups) > 1 and size < min_edges:
        groups[-2].extend(groups.pop())
    if len(groups) == 1:
        return [_whole(inst)]
    part_of_label = np.full(labels.size, -1, dtype=np.int64)
    for k, group in enumerate(groups):
        part_of_label[group] = k
    # Items and agents without edges (their labels have none) go to the first part.
    item_part = np.maximum(part_of_label[item_label], 0)
    agent_part = np.maximum(part_of_label[agent_label], 0)
    edge_part = item_part[inst.edge_item]
    counts = np.bincount(edge_part, minlength=len(groups))
    return [
        Part(
            items=np.flatnonzero(item_part == k).astype(np.int32),
            agents=np.flatnonzero(agent_part == k).astype(np.int32),
            n_edges=int(counts[k]),
        )
        for k in range(len(groups))
    ]


def _whole(inst: AssignmentInstance) -> Part:
    return Part(
        items=np.arange(inst.n_items, dtype=np.int32),
        agents=np.arange(inst.n_agents, dtype=np.int32),
        n_edges=inst.n_edges,
    )


def part_instance(
    inst: AssignmentInstance, part: Part, inside_only: bool = False
) -> AssignmentInstance:
    """The instance restricted to ``part``'s items and agents, renumbered in their order.  Every
    edge of a part's item leads to an agent of the part (``independent_parts``), or, with
    ``inside_only`` (a region, ``regions.py``), the edges to agents outside it are dropped."""
    item_index = np.full(inst.n_items, -1, dtype=np.int64)
    item_index[part.items] = np.arange(part.items.size)
    agent_index = np.full(inst.n_agents, -1, dtype=np.int64)
    agent_index[part.agents] = np.arange(part.agents.size)
    rows = np.flatnonzero(item_index[inst.edge_item] >= 0)
    if inside_only:
        rows = rows[agent_index[inst.edge_agent[rows]] >= 0]
    edge_agent = agent_index[inst.edge_agent[rows]]
    if np.any(edge_agent < 0):
        e = int(rows[np.argmax(edge_agent < 0)])
        raise ValueError(
            f"the part's item {int(inst.edge_item[e])} has an edge to agent "
            f"{int(inst.edge_agent[e])}, outside the part"
        )

    def items_of(group: np.ndarray) -> I32:
        """A rule's items that lie in the part, renumbered."""
        local = item_index[np.asarray(group, dtype=np.int64)]
        return local[local >= 0].astype(np.int32)

    cliques = [c for c in (items_of(g) for g in inst.same_agent_cliques) if c.size > 1]
    group_cliques = [c for c in (items_of(g) for g in inst.same_group_cliques) if c.size > 1]
    sides = [OpposingSides(items_of(s.side_a), items_of(s.side_b)) for s in inst.opposing_sides]
    fixed: I32 | None = None
    if inst.fixed_agent is not None:
        own = inst.fixed_agent[part.items].astype(np.int64)
        fixed = np.where(own >= 0, agent_index[np.maximum(own, 0)], -1).astype(np.int32)
        outside = (own >= 0) & (fixed < 0)
        if np.any(outside):
            k = int(np.argmax(outside))
            raise ValueError(
                f"the part's item {int(part.items[k])} is fixed to agent {int(own[k])}, "
                "outside the part"
            )
    agents = part.agents
    return AssignmentInstance(
        n_items=int(part.items.size),
        n_agents=int(agents.size),
        edge_item=item_index[inst.edge_item[rows]].astype(np.int32),
        edge_agent=edge_agent.astype(np.int32),
        edge_cost=inst.edge_cost[rows],
        edge_weight=inst.edge_weight[rows],
        capacity=inst.capacity[agents],
        max_count=inst.max_count[agents],
        unassigned_penalty=inst.unassigned_penalty[part.items],
        bands=[LoadBand(b.threshold[agents], b.points, b.unit) for b in inst.bands],
        base_load=None if inst.base_load is None else inst.base_load[agents],
        quota_short=None if inst.quota_short is None else inst.quota_short[agents],
        quota_points=inst.quota_points,
        same_agent_cliques=cliques,
        agent_group=None if inst.agent_group is None else inst.agent_group[agents],
        same_group_cliques=group_cliques,
        opposing_sides=[s for s in sides if s.side_a.size and s.side_b.size],
        fixed_agent=fixed,
    )
