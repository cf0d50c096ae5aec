"""The flow's solution with the count limits put back (``count_repair.py``): the cases on lawyers
above their count limit placed again by the LP over them alone, the others held."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assigner.search.count_repair import over_count_agents, repair_counts
from assigner.search.flow_relaxation import flow_relaxation
from assigner.search.instance import MUST_ASSIGN, AssignmentInstance
from tests.search.instances import random_instance


def _crowded(max_count_0: int) -> AssignmentInstance:
    """Three items prefer agent 0 (10 points each, hours for all of them), whose count limit is
    ``max_count_0``; agent 1 costs them 30, 50 and 70.  Item 3 has agent 2 alone."""
    return AssignmentInstance(
        n_items=4,
        n_agents=3,
        edge_item=np.array([0, 0, 1, 1, 2, 2, 3], dtype=np.int32),
        edge_agent=np.array([0, 1, 0, 1, 0, 1, 2], dtype=np.int32),
        edge_cost=np.array([10, 30, 10, 50, 10, 70, 5], dtype=np.int64),
        edge_weight=np.full(7, 10, dtype=np.int64),
        capacity=np.array([100, 100, 100], dtype=np.int64),
        max_count=np.array([max_count_0, 5, 5], dtype=np.int64),
        unassigned_penalty=np.full(4, MUST_ASSIGN, dtype=np.int64),
    )


def test_repair_moves_the_item_that_loses_least_off_an_agent_over_its_count() -> None:
    """Tests the rule the repair puts back (a lawyer's case-count limit, ``max_count``): the
    flow puts all three items on agent 0, one above its limit of 2; the repair moves item 0
    (20 points more on agent 1, the least of the three) and leaves item 3, held whole by an
    agent within its limit, where it is."""
    inst = _crowded(max_count_0=2)
    flow = flow_relaxation(inst)
    assert flow is not None
    assert flow.x.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert over_count_agents(inst, flow.x).tolist() == [0]
    repaired = repair_counts(inst, flow.x, time_limit_s=10.0)
    assert repaired is not None
    assert repaired.x.tolist() == [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert (repaired.over_agents, repaired.freed_items) == (1, 3)
    assert repaired.rounds >= 1 and repaired.converged


def test_repair_has_nothing_to_do_when_no_agent_is_over_its_count() -> None:
    """Tests that with room for the three items on agent 0 there is no repair (None): the
    search then rounds the flow's own solution."""
    inst = _crowded(max_count_0=3)
    flow = flow_relaxation(inst)
    assert flow is not None and over_count_agents(inst, flow.x).size == 0
    assert repair_counts(inst, flow.x, time_limit_s=10.0) is None


def test_repair_needs_one_share_per_edge() -> None:
    """Tests that a wrongly shaped solution is refused with an error naming its shape."""
    inst = _crowded(max_count_0=2)
    with pytest.raises(ValueError, match=r"x has shape \(3,\)"):
        repair_counts(inst, np.zeros(3), time_limit_s=1.0)


@pytest.mark.parametrize("seed", range(12))
def test_repaired_flow_keeps_every_count_limit_and_the_items_held_elsewhere(seed: int) -> None:
    """Tests on random instances (count limits of 1 to 3, with bands, quotas and group rules)
    that the repaired solution puts no agent above its count limit, places each item at most
    once (must-assign items exactly once), keeps each agent's hours, and leaves the items the
    flow holds whole on an agent within its limit as they were."""
    inst = random_instance(seed, n_items=12, n_agents=4)
    must = (np.arange(inst.n_items) % 4 == 0) & (np.diff(inst.item_offsets) > 0)
    inst = dataclasses.replace(
        inst,
        unassigned_penalty=np.where(must, MUST_ASSIGN, inst.unassigned_penalty),
        capacity=inst.capacity * 3,
    )
    flow = flow_relaxation(inst)
    assert flow is not None
    over = over_count_agents(inst, flow.x)
    assert over.size  # every draw here puts an agent above its count limit
    repaired = repair_counts(inst, flow.x, time_limit_s=10.0)
    assert repaired is not None
    x = repaired.x
    assert over_count_agents(inst, x).size == 0
    share = np.bincount(inst.edge_item, weights=x, minlength=inst.n_items)
    assert np.all(share <= 1 + 1e-6)
    assert np.allclose(share[must], 1.0)
    hours = np.bincount(inst.edge_agent, weights=x * inst.edge_weight, minlength=inst.n_agents)
    assert np.all(hours <= inst.capacity + 1e-6)
    held = (flow.x >= 1 - 1e-9) & ~np.isin(inst.edge_agent, over)
    for item in np.unique(inst.edge_item[held]):
        rows = inst.edge_item == item
        assert np.array_equal(x[rows], flow.x[rows])
