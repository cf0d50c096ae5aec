"""A plan from the LP solution by fixing: every item the LP assigns whole stays on that edge, and
a MIP places the rest (the items the LP splits or leaves out) around them.

The LP's whole assignments agree with each other on every row (capacities, counts, group
rules; an LP without the group rows, as the LP by pricing is, may break those, and such items
are freed), so fixing them leaves a feasible subproblem, and a small one: on county data the LP
splits a few dozen items where a rounding places them one by one, greedily.  The MIP places them
together, exactly (load bands priced per tenth of an hour), and where capacity is short it finds
the items that fit together: a county-S lawyer shortage scenario (633 cases, 9,863 edges) gave
5,020,646 in 0.5 s against 9,723,579 for the LP rounding and descent; county-S 310,480 in 1 s
against 311,051 (one-off script, plans before descent).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from assigner.search.greedy import GroupState
from assigner.search.instance import I32, AssignmentInstance, with_edges
from assigner.search.lp_bound import solve_mip

WHOLE_TOLERANCE = 1e-6
# Above this many edges left free the MIP does not reach a useful plan in the time it gets.
MAX_FREE_EDGES = 60_000


def lp_fixed_instance(inst: AssignmentInstance, lp_x: np.ndarray) -> AssignmentInstance:
    """``inst`` with every item the LP assigns whole (and every fixed item) held on that edge,
    the other items (and any whose edge would break a group rule) keeping all their edges."""
    if lp_x.shape != (inst.n_edges,):
        raise ValueError(
            f"lp_x has shape {lp_x.shape}; it needs one value per edge ({inst.n_edges})"
        )
    whole = lp_x > 1.0 - WHOLE_TOLERANCE
    fixed = np.full(inst.n_items, -1, dtype=np.int32)
    fixed[inst.edge_item[whole]] = inst.edge_agent[whole]
    if inst.fixed_agent is not None:
        fixed = np.where(inst.fixed_agent >= 0, inst.fixed_agent, fixed).astype(np.int32)
    _free_group_conflicts(inst, fixed)
    keep = (fixed[inst.edge_item] < 0) | (inst.edge_agent == fixed[inst.edge_item])
    return with_edges(dataclasses.replace(inst, fixed_agent=fixed), keep)


def _free_group_conflicts(inst: AssignmentInstance, fixed: I32) -> None:
    """Free (in place) every item whose fixed edge breaks a group rule with the fixed items
    before it: the LP by pricing leaves the group rows out, so its whole assignments may."""
    groups = GroupState(inst)
    pinned = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    held = np.flatnonzero(fixed >= 0)
    # The instance's own fixed items first: they stay whatever the LP did.
    for item in held[np.argsort(pinned[held] < 0, kind="stable")]:
        i, a = int(item), int(fixed[item])
        if not groups.involved(i):
            continue
        if pinned[i] >= 0 or groups.allows(i, a):
            groups.add(i, a)
        else:
            fixed[i] = -1


def free_edges(inst: AssignmentInstance) -> int:
    """Edges of the items not fixed."""
    if inst.fixed_agent is None:
        return inst.n_edges
    return int(np.count_nonzero(inst.fixed_agent[inst.edge_item] < 0))


def lp_fixed_plan(
    inst: AssignmentInstance,
    lp_x: np.ndarray,
    time_limit_s: float,
    seed: int = 0,
    max_nodes: int | None = None,
) -> I32 | None:
    """The MIP's plan with the LP's whole assignments fixed (``lp_fixed_instance``), a plan of
    ``inst``; None when nothing is left to place, when too much is (``MAX_FREE_EDGES``), or when
    the MIP finds no plan in ``time_limit_s`` (or ``max_nodes``, a work limit)."""
    fixed = lp_fixed_instance(inst, lp_x)
    free = free_edges(fixed)
    if free == 0 or free > MAX_FREE_EDGES:
        return None
    return solve_mip(fixed, time_limit_s, seed=seed, max_nodes=max_nodes).agent_of_item
