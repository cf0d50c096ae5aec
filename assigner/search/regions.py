"""Regions: one large connected instance cut where few edges cross, each region searched alone.

A province whose lawyers help across county borders is one connected instance, too large to
search whole in its budget (its LP does not fit, and a bound over 200,000 cases from the flow
alone is weak).  Yet most of its edges stay inside a county: a region's own search sees almost
all of its cases' options.  So the agents are labelled by label propagation over each item's
cheapest edges (each agent takes the label most of its items' strong edges carry, each item
the label most of its strong edges lead to), which settles on densely linked groups such as a
county's lawyers; small labels join the neighbour they share most edges with.

Every plan of the regions together is a plan of the whole (``_search_by_regions`` in
``solve.py`` drops the edges between regions):

- an item belongs to the region most of its strong edges lead to, so it keeps edges there; a
  fixed item belongs to its fixed agent's region;
- the agents of one agent group (a firm) share one region, so that a group rule (items that
  may not meet in one firm) between items of different regions can never be broken: their
  agents' firms differ.

The region bounds do not add up to a bound of the whole (the edges between regions are gone),
so the whole instance's bound is the knapsack bound at the regions' prices, valid at any prices.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from assigner.search.core import cost_rank
from assigner.search.independent_parts import Part, check_indices
from assigner.search.instance import I64, AssignmentInstance

REGION_MIN_ITEMS = 40_000
"""Only a connected instance with more items than this is cut (twice county-L's 20,000 cases,
which is searched whole)."""
STRONG_EDGES_PER_ITEM = 8
"""Each item's cheapest edges that vote in the propagation."""
PROPAGATION_ROUNDS = 30
MIN_REGION_ITEMS = 1_000
"""A label holding fewer items joins the neighbour it shares the most strong edges with."""


@njit(cache=True, nogil=True)
def _mode(values: np.ndarray) -> int:
    """The most frequent value (the smallest among ties); ``values`` non-empty."""
    s = np.sort(values)
    best = s[0]
    best_n = 0
    run = 1
    for k in range(1, s.size + 1):
        if k < s.size and s[k] == s[k - 1]:
            run += 1
            continue
        if run > best_n:
            best_n = run
            best = s[k - 1]
        run = 1
    return int(best)


@njit(cache=True, nogil=True)
def _propagate(
    item_offsets: np.ndarray,
    strong_agent: np.ndarray,
    agent_offsets: np.ndarray,
    agent_items: np.ndarray,
    n_agents: int,
    rounds: int,
) -> np.ndarray:
    """Agent labels after ``rounds`` of alternating item and agent steps (stops early once no
    agent label changes).  ``strong_agent`` is grouped by item (``item_offsets``),
    ``agent_items`` by agent (``agent_offsets``)."""
    n_items = item_offsets.size - 1
    agent_label = np.arange(n_agents, dtype=np.int64)
    item_label = np.full(n_items, -1, dtype=np.int64)
    for _ in range(rounds):
        for i in range(n_items):
            lo, hi = item_offsets[i], item_offsets[i + 1]
            if hi > lo:
                item_label[i] = _mode(agent_label[strong_agent[lo:hi]])
        changed = 0
        for a in range(n_agents):
            lo, hi = agent_offsets[a], agent_offsets[a + 1]
            if hi > lo:
                new = _mode(item_label[agent_items[lo:hi]])
                if new != agent_label[a]:
                    agent_label[a] = new
                    changed += 1
        if changed == 0:
            break
    return agent_label


def region_labels(inst: AssignmentInstance) -> tuple[I64, I64]:
    """Per item and per agent, its region (0, 1, ...; items without edges in region 0)."""
    check_indices(inst)
    n, m = inst.n_items, inst.n_agents
    strong = cost_rank(inst) < STRONG_EDGES_PER_ITEM
    s_item = inst.edge_item[strong].astype(np.int64)
    s_agent = inst.edge_agent[strong].astype(np.int64)
    item_offsets = np.concatenate([[0], np.cumsum(np.bincount(s_item, minlength=n))])
    by_agent = np.argsort(s_agent, kind="stable")
    agent_offsets = np.concatenate([[0], np.cumsum(np.bincount(s_agent, minlength=m))])
    label = _propagate(
        item_offsets.astype(np.int64),
        s_agent,
        agent_offsets.astype(np.int64),
        s_item[by_agent],
        m,
        PROPAGATION_ROUNDS,
    )
    label = _one_label_per_group(inst, label)
    label = _merge_small(inst, label, s_item, s_agent)
    _, agent_region = np.unique(label, return_inverse=True)
    agent_region = agent_region.astype(np.int64)
    item_region = _item_regions(inst, agent_region, s_item, s_agent)
    return item_region, agent_region


def _one_label_per_group(inst: AssignmentInstance, label: I64) -> I64:
    """Each agent group (firm) takes the label most of its agents carry."""
    if inst.agent_group is None:
        return label
    group = inst.agent_group.astype(np.int64)
    order = np.lexsort((label, group))
    out = label.copy()
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for members in np.split(order, bounds):
        if members.size:
            out[members] = _mode(label[members])
    return out


def _merge_small(inst: AssignmentInstance, label: I64, s_item: I64, s_agent: I64) -> I64:
    """Labels holding fewer than ``MIN_REGION_ITEMS`` items (by their strong edges' most
    common label; a label of agents alone holds none) join, smallest first, the label they
    share most strong edges with, either way (agent groups move whole: their agents carry one
    label already); repeated until no label is small or one is left."""
    label = label.copy()
    while True:
        item_label = _item_labels(inst, label, s_item, s_agent)
        labels = np.unique(label)
        sizes = np.bincount(
            np.searchsorted(labels, item_label[item_label >= 0]), minlength=labels.size
        )
        is_small = sizes < MIN_REGION_ITEMS
        if labels.size <= 1 or not is_small.any():
            return label
        parent = np.arange(int(label.max()) + 1, dtype=np.int64)  # union-find over labels
        edge_item_label = item_label[s_item]
        edge_agent_label = label[s_agent]
        largest = int(labels[np.argmax(sizes)])
        held = {int(x): int(n) for x, n in zip(labels, sizes, strict=True)}  # per root
        for idx in np.flatnonzero(is_small)[np.argsort(sizes[is_small], kind="stable")]:
            victim = int(labels[idx])
            v = _root(parent, victim)
            if held[v] >= MIN_REGION_ITEMS:
                continue  # grown large enough by the labels merged into it already
            # Strong edges with the victim on one side: the labels on the other side.
            other = np.concatenate(
                [
                    edge_agent_label[edge_item_label == victim],
                    edge_item_label[edge_agent_label == victim],
                ]
            )
            counts: dict[int, int] = {}
            for x, c in zip(*np.unique(other[other >= 0], return_counts=True), strict=True):
                t = _root(parent, int(x))
                counts[t] = counts.get(t, 0) + int(c)
            counts.pop(v, None)
            if counts:
                target = max(counts, key=lambda t: (counts[t], -t))
            else:
                target = _root(parent, largest)
            if target != v:
                parent[v] = target
                held[target] += held[v]
        label = np.array([_root(parent, x) for x in range(parent.size)], dtype=np.int64)[label]


def _root(parent: I64, x: int) -> int:
    while parent[x] != x:
        x = int(parent[x])
    return x


def _item_labels(inst: AssignmentInstance, label: I64, s_item: I64, s_agent: I64) -> I64:
    """Per item, the most common label among its strong edges' agents (-1 without edges)."""
    out = np.full(inst.n_items, -1, dtype=np.int64)
    if s_item.size == 0:
        return out
    width = int(label.max()) + 1
    key = s_item * width + label[s_agent]
    uniq, counts = np.unique(key, return_counts=True)
    items, labs = np.divmod(uniq, width)
    # Per item the label with the most edges (the smallest among ties: np.unique sorts).
    order = np.lexsort((labs, -counts, items))
    first = np.r_[True, items[order][1:] != items[order][:-1]]
    out[items[order][first]] = labs[order][first]
    return out


def _item_regions(inst: AssignmentInstance, agent_region: I64, s_item: I64, s_agent: I64) -> I64:
    """Each item's region: the one most of its strong edges lead to (so it keeps an edge
    there); a fixed item's is its agent's; items without edges go to region 0."""
    region = _item_labels(inst, agent_region, s_item, s_agent)
    if inst.fixed_agent is not None:
        fixed = inst.fixed_agent >= 0
        region[fixed] = agent_region[inst.fixed_agent[fixed]]
    return np.maximum(region, 0)


def region_parts(inst: AssignmentInstance) -> list[Part]:
    """The regions as parts (their ``n_edges``: the edges inside the region); one part, the
    whole, when the propagation finds no structure."""
    item_region, agent_region = region_labels(inst)
    k = int(max(item_region.max(initial=0), agent_region.max(initial=0))) + 1
    inside = item_region[inst.edge_item] == agent_region[inst.edge_agent]
    counts = np.bincount(item_region[inst.edge_item][inside], minlength=k)
    parts = [
        Part(
            items=np.flatnonzero(item_region == r).astype(np.int32),
            agents=np.flatnonzero(agent_region == r).astype(np.int32),
            n_edges=int(counts[r]),
        )
        for r in range(k)
    ]
    return [p for p in parts if p.items.size or p.agents.size]
