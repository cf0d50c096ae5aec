"""The LNS neighbourhood choosers: what each frees, and that the LNS keeps plans valid."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from assigner.search.cpsat import SearchParams
from assigner.search.greedy import greedy
from assigner.search.instance import I32, evaluate, feasibility_issues
from assigner.search.lns import Neighbourhoods, improve
from tests.search.instances import random_instance


def _grouped(seed: int, n_groups: int) -> tuple[Neighbourhoods, I32]:
    inst = random_instance(seed, n_items=60, n_agents=12)
    inst = dataclasses.replace(inst, agent_group=(np.arange(12) % n_groups).astype(np.int32))
    return Neighbourhoods(inst, None, seed), greedy(inst)


def test_agent_groups_free_whole_groups_when_the_size_allows() -> None:
    """Tests that with a size above every item, the firm neighbourhood frees every item held
    by every lawyer of every firm, plus waiting items that could go to them."""
    hoods, plan = _grouped(1, 3)
    free = hoods.agent_groups(10_000, plan)
    inst = hoods.inst
    waiting = np.flatnonzero((plan < 0) & (np.diff(inst.item_offsets) > 0))
    assert set(free.tolist()) == set(np.flatnonzero(plan >= 0).tolist()) | set(waiting.tolist())


def test_agent_groups_stop_at_the_size_inside_one_group() -> None:
    """Tests that the firm neighbourhood takes the lawyers of one firm first and stops once
    they hold the size asked for: every freed held item belongs to that firm's lawyers."""
    hoods, plan = _grouped(2, 3)
    inst = hoods.inst
    assert inst.agent_group is not None
    for _ in range(20):
        free = hoods.agent_groups(3, plan)
        held = free[plan[free] >= 0]
        groups = set(inst.agent_group[plan[held]].tolist())
        assert len(groups) == 1  # one firm holds at least 3 items in this instance
        assert held.size >= 3
        # Stopped at the lawyer that reached the size: without that lawyer's items (some
        # lawyer's) the rest holds fewer than asked.
        agents = set(plan[held].tolist())
        assert held.size - max(int((plan == a).sum()) for a in agents) < 3


def test_the_firm_neighbourhood_is_drawn_only_with_several_groups() -> None:
    """Tests that the rotation holds the firm chooser only when there is more than one firm
    (one firm would free the same items as random lawyers)."""
    several, _ = _grouped(3, 2)
    one, _ = _grouped(3, 1)
    without = Neighbourhoods(dataclasses.replace(one.inst, agent_group=None), None, 0)
    assert several.agent_groups in several.kinds()
    assert len(several.kinds()) == 4
    assert len(one.kinds()) == 3 and len(without.kinds()) == 3


def test_related_agents_free_what_their_agents_hold() -> None:
    """Tests that a related-lawyers neighbourhood frees all items of the lawyers it chose and
    nothing held elsewhere."""
    hoods, plan = _grouped(4, 3)
    free = hoods.related_agents(10, plan)
    held = free[plan[free] >= 0]
    agents = set(plan[held].tolist())
    assert agents
    for a in agents:
        assert set(np.flatnonzero(plan == a).tolist()) <= set(free.tolist())


def test_around_unassigned_frees_a_waiting_item() -> None:
    """Tests that the focused neighbourhood frees a waiting item (and is None without one)."""
    hoods, plan = _grouped(5, 3)
    inst = hoods.inst
    waiting = np.flatnonzero((plan < 0) & (np.diff(inst.item_offsets) > 0))
    if waiting.size == 0:
        plan = plan.copy()
        i = int(np.flatnonzero(np.diff(inst.item_offsets) > 0)[0])
        plan[i] = -1
        waiting = np.array([i])
    free = hoods.around_unassigned(10, plan)
    assert free is not None and set(free.tolist()) & set(waiting.tolist())
    full = np.where(np.diff(inst.item_offsets) > 0, 0, -1).astype(np.int32)
    assert hoods.around_unassigned(10, full) is None


def test_lns_with_firm_neighbourhoods_keeps_plans_valid_and_never_worse() -> None:
    """Tests that LNS drawing every chooser, firms included, returns a plan that breaks no
    rule and is no worse than its start."""
    for seed in range(4):
        inst = dataclasses.replace(
            random_instance(seed, n_items=40, n_agents=8),
            agent_group=(np.arange(8) % 3).astype(np.int32),
        )
        start = greedy(inst)
        best, obj, steps = improve(
            inst,
            start,
            SearchParams(5.0, 1, seed, True),
            time.monotonic() + 30,
            neighbourhood_items=10,
            step_time_s=0.2,
            max_steps=8,
        )
        assert steps == 8
        assert feasibility_issues(inst, best) == []
        assert obj == evaluate(inst, best).total <= evaluate(inst, start).total
