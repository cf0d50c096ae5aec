"""One agent's 0/1 knapsack table, built one weight class at a time.

For every load ``0..cells`` (in units of the items' common step) the table holds the cheapest
set of items that weighs exactly that much.  Items of the same weight are interchangeable but
for their cost, so a cheapest set of a given load takes the ``t`` cheapest of each weight class
for some counts ``t``: the table grows by one class at a time, each a min-plus convolution of
the table so far with the class's prefix sums ``F(t)`` (the ``t`` cheapest costs), which are
convex (costs sorted rising).  That convolution splits into the residues of the load modulo
the class's weight, and along each residue chain the best count moves monotonically with the
load (``F`` convex), so divide and conquer finds every cell's best in ``O(n log n)`` instead
of one pass per item.  On county data an agent's few thousand candidates fall into far fewer
weight classes (county-L: 195 distinct workloads, 120 per agent on average and at most 181),
which makes the table many times cheaper than the item-by-item one: county-L, one evaluation
of the knapsack bound with every agent exact at a count-priced flow's prices, 3.7 s against
27.4 s (one-off script, each version in turn).

Classes of one item, or of few next to their chain's length, take the direct passes: one in
place for a single item, ``t`` shifted passes for up to a few.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

DIRECT_PASSES_PER_LEVEL = 1
"""A class of ``m`` usable items is convolved by ``m`` direct passes when ``m`` is at most this
many times the depth of the divide and conquer (log2 of its chain length) plus 2.  County-L
at a count-priced flow's prices, the agents' knapsacks (the compiled part of one evaluation,
every agent exact; one-off script): 0 3.7 s, 1 3.1 s, 4 3.4 s, 8 3.4 s."""


@nb.njit(cache=True, nogil=True)
def weight_classes(weight: I64, cost: F64) -> tuple[I64, I64]:
    """The items ordered by weight, then cost rising (``order``), and where each weight class
    starts in that order (``starts``, with the end as its last entry)."""
    by_cost = np.argsort(cost, kind="mergesort")
    order = by_cost[np.argsort(weight[by_cost], kind="mergesort")]
    n = order.shape[0]
    starts = np.empty(n + 1, dtype=np.int64)
    n_classes = 0
    for t in range(n):
        if t == 0 or weight[order[t]] != weight[order[t - 1]]:
            starts[n_classes] = t
            n_classes += 1
    starts[n_classes] = n
    return order, starts[: n_classes + 1]


@nb.njit(cache=True, nogil=True)
def _chain_convolution(a: F64, prefix: F64, most: int, out: F64, count: I64) -> None:
    """``out[j] = min over j - most <= i <= j of a[i] + prefix[j - i]`` (``prefix`` convex),
    with ``count[j] = j - i`` of the best ``i`` (the largest on ties), for every ``j`` of
    ``a``; ``inf`` where no ``i`` is finite.

    Divide and conquer on ``j``: the largest best ``i`` never falls as ``j`` rises (for
    ``i1 < i2`` both in reach, once ``i2`` is at least as good it stays so, ``prefix`` rising
    faster further out), so the middle row's best splits the candidates of the rows on either
    side.  A row with no finite candidate splits nothing: its neighbours keep the whole range
    (their best lies outside its window anyway)."""
    n = a.shape[0]
    stack = np.empty((128, 4), dtype=np.int64)  # depth about log2(n) + 2
    stack[0, 0] = 0
    stack[0, 1] = n - 1
    stack[0, 2] = 0
    stack[0, 3] = n - 1
    size = 1
    while size:
        size -= 1
        j_lo, j_hi, i_lo, i_hi = stack[size, 0], stack[size, 1], stack[size, 2], stack[size, 3]
        if j_lo > j_hi:
            continue
        mid = (j_lo + j_hi) // 2
        best = np.inf
        arg = -1
        for i in range(max(i_lo, mid - most), min(i_hi, mid) + 1):
            v = a[i] + prefix[mid - i]
            if v <= best and v < np.inf:
                best = v
                arg = i
        out[mid] = best
        if arg >= 0:
            count[mid] = mid - arg
            below_hi = arg
            above_lo = arg
        else:
            count[mid] = 0
            below_hi = i_hi
            above_lo = i_lo
        stack[size, 0] = j_lo
        stack[size, 1] = mid - 1
        stack[size, 2] = i_lo
        stack[size, 3] = below_hi
        stack[size + 1, 0] = mid + 1
        stack[size + 1, 1] = j_hi
        stack[size + 1, 2] = above_lo
        stack[size + 1, 3] = i_hi
        size += 2


@nb.njit(cache=True, nogil=True)
def knapsack_table(
    weight: I64, cost: F64, cells: int, order: I64, starts: I64
) -> tuple[F64, I32, int]:
    """The cheapest cost of each load ``0..cells`` (``inf`` where no set weighs exactly that),
    the count taken of each class at each load as the table stood after that class
    (``counts[c, load]``, the ``t`` cheapest of class ``c``), and the highest load reached.
    ``weight`` (>= 0, in steps) and ``cost`` are per item; ``order`` and ``starts`` are
    ``weight_classes``'s."""
    n_classes = starts.shape[0] - 1
    counts = np.zeros((n_classes, cells + 1), dtype=np.int32)
    best = np.full(cells + 1, np.inf)
    best[0] = 0.0
    new = np.empty(cells + 1)
    prefix = np.empty(order.shape[0] + 1)
    chain = np.empty(cells + 1)
    chain_best = np.empty(cells + 1)
    chain_count = np.empty(cells + 1, dtype=np.int64)
    reach = 0
    for c in range(n_classes):
        first, end = starts[c], starts[c + 1]
        w = weight[order[first]]
        if w > cells:
            continue
        most = end - first if w == 0 else min(end - first, cells // w)
        prefix[0] = 0.0
        for t in range(most):
            prefix[t + 1] = prefix[t] + cost[order[first + t]]
        if w == 0:
            # Weightless items change no load: take each one that pays.
            take = 0
            while take < most and cost[order[first + take]] < 0:
                take += 1
            for load in range(reach + 1):
                best[load] += prefix[take]
                counts[c, load] = take
            continue
        top = min(cells, reach + most * w)
        if most == 1:
            for load in range(top, w - 1, -1):
                v = best[load - w] + prefix[1]
                if v < best[load]:
                    best[load] = v
                    counts[c, load] = 1
            reach = top
            continue
        chain_length = top // w + 1
        depth = 0
        while (1 << depth) < chain_length:
            depth += 1
        if most <= DIRECT_PASSES_PER_LEVEL * depth + 2:
            for load in range(top + 1):
                new[load] = best[load] if load <= reach else np.inf
            for t in range(1, most + 1):
                shift = t * w
                for load in range(shift, min(top, reach + shift) + 1):
                    v = best[load - shift] + prefix[t]
                    if v < new[load]:
                        new[load] = v
                        counts[c, load] = t
        else:
            for residue in range(min(w, top + 1)):
                length = (top - residue) // w + 1
                for k in range(length):
                    load = residue + k * w
                    chain[k] = best[load] if load <= reach else np.inf
                _chain_convolution(chain[:length], prefix, most, chain_best, chain_count)
                for k in range(length):
                    load = residue + k * w
                    new[load] = chain_best[k]
                    counts[c, load] = chain_count[k]
        for load in range(top + 1):
            best[load] = new[load]
        reach = top
    return best, counts, reach


@nb.njit(cache=True, nogil=True)
def chosen_items(
    weight: I64, load: int, counts: I32, order: I64, starts: I64, chosen: npt.NDArray[np.bool_]
) -> None:
    """Marks in ``chosen`` (per item) a cheapest set of ``load``, read back from the table's
    ``counts``, the last class first."""
    for c in range(starts.shape[0] - 2, -1, -1):
        first = starts[c]
        t = counts[c, load]
        for u in range(t):
            chosen[order[first + u]] = True
        load -= t * weight[order[first]]
