"""Tests that the knapsack table built one weight class at a time is the item-by-item table: the
same cheapest cost at every load, and a set read back from it that weighs that load and costs
that much, through each way a class is added (one item in place, a few direct passes, divide
and conquer along residue chains, weightless items)."""

from __future__ import annotations

import numpy as np
import pytest

from assigner.search.knapsack_table import (
    _chain_convolution,
    chosen_items,
    knapsack_table,
    weight_classes,
)


def _item_by_item(weight: np.ndarray, cost: np.ndarray, cells: int) -> np.ndarray:
    best = np.full(cells + 1, np.inf)
    best[0] = 0.0
    for w, c in zip(weight.tolist(), cost.tolist(), strict=True):
        if w == 0:
            best = np.minimum(best, best + c)
            continue
        if w > cells:
            continue
        shifted = np.full(cells + 1, np.inf)
        shifted[w:] = best[: cells + 1 - w] + c
        best = np.minimum(best, shifted)
    return best


def _check(weight: np.ndarray, cost: np.ndarray, cells: int) -> None:
    order, starts = weight_classes(weight, cost)
    best, counts, reach = knapsack_table(weight, cost, cells, order, starts)
    expected = _item_by_item(weight, cost, cells)
    assert np.array_equal(np.isfinite(best), np.isfinite(expected))
    finite = np.isfinite(expected)
    assert best[finite] == pytest.approx(expected[finite])
    assert reach >= int(np.flatnonzero(finite).max())
    for load in np.flatnonzero(finite).tolist():
        chosen = np.zeros(weight.size, dtype=np.bool_)
        chosen_items(weight, load, counts, order, starts, chosen)
        assert int(weight[chosen].sum()) == load
        assert float(cost[chosen].sum()) == pytest.approx(expected[load])


@pytest.mark.parametrize("seed", range(30))
def test_the_table_by_weight_class_is_the_item_by_item_table(seed: int) -> None:
    """Random items of few distinct weights (so classes of many items take divide and conquer
    or direct passes), some weightless, some of costs that tie, and capacities from below the
    lightest item to above the total."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    weights = rng.choice(np.array([0, 1, 2, 3, 5, 7, 12]), size=int(rng.integers(1, 5)))
    weight = rng.choice(weights, size=n).astype(np.int64)
    cost = -np.round(rng.uniform(0.5, 40, size=n), int(rng.integers(0, 2)))
    cells = int(rng.integers(0, int(weight.sum()) + 5))
    _check(weight, cost, cells)


@pytest.mark.parametrize(
    ("weight_of_class", "items", "cells"),
    [
        (1, 40, 100),  # 40 usable items, a chain of 41 loads: divide and conquer
        (3, 4, 60),  # 4 items against a chain of 13 loads: direct passes
        (7, 1, 30),  # one item: the pass in place
        (4, 30, 50),  # more items than fit: at most 12 of them
    ],
)
def test_each_way_of_adding_a_class_beside_a_mixed_table(
    weight_of_class: int, items: int, cells: int
) -> None:
    """One class of the given size, added to a table already holding items of other weights
    (so its chains start from a table with gaps)."""
    rng = np.random.default_rng(weight_of_class * 1000 + items)
    weight = np.r_[np.array([5, 9, 11], dtype=np.int64), np.full(items, weight_of_class)]
    cost = -rng.uniform(1, 30, size=weight.size)
    _check(weight, cost, cells)


@pytest.mark.parametrize("seed", range(20))
def test_the_chain_convolution_is_the_minimum_over_every_count(seed: int) -> None:
    """Against the direct minimum over every count, with unreachable (infinite) entries in the
    chain and a convex prefix of up to ``most`` items."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 50))
    chain = rng.uniform(-100, 100, size=n)
    chain[rng.random(n) < 0.4] = np.inf
    most = int(rng.integers(1, n + 3))
    steps = np.sort(rng.uniform(-30, 5, size=most))
    prefix = np.r_[0.0, np.cumsum(steps)]
    out = np.empty(n)
    count = np.empty(n, dtype=np.int64)
    _chain_convolution(chain, prefix, most, out, count)
    for j in range(n):
        options = [chain[j - t] + prefix[t] for t in range(0, min(most, j) + 1)]
        expected = min(options)
        if np.isinf(expected):
            assert np.isinf(out[j])
            continue
        assert out[j] == pytest.approx(expected)
        assert chain[j - count[j]] + prefix[count[j]] == pytest.approx(expected)
