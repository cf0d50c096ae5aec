"""Candidate edges: the (case, lawyer) pairs that pass every per-edge hard rule.

The model is built over these edges only (DESIGN.md principle 5: sparse, not dense).  Pairs are
evaluated in blocks of cases times all lawyers, so memory stays bounded by ``block_pairs``
whatever the problem size.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from assigner.domain.arrays import ProblemArrays
from assigner.eligibility.filters import (
    RULE_FILTERS,
    Block,
    EligibilityTables,
    eligibility_tables,
    pair_travel_km,
)
from assigner.eligibility.rules import Rule

IntArray = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DEFAULT_BLOCK_PAIRS = 2_000_000
MAX_DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class Candidates:
    """Eligible edges, sorted by case then lawyer, and per-case exclusion counts."""

    case_index: IntArray
    lawyer_index: IntArray
    travel_km: FloatArray
    excluded_counts: IntArray  # (cases, len(rules)); a lawyer may count under several rules
    eligible_count: IntArray  # (cases,)
    rules: tuple[Rule, ...] = tuple(Rule)

    @property
    def n_edges(self) -> int:
        return len(self.case_index)

    @property
    def n_cases(self) -> int:
        return len(self.eligible_count)

    @cached_property
    def case_offsets(self) -> Int64Array:
        """Edges of case c are rows ``case_offsets[c]:case_offsets[c + 1]``."""
        offsets = np.zeros(self.n_cases + 1, dtype=np.int64)
        np.cumsum(self.eligible_count, out=offsets[1:])
        return offsets

    def edges_of_case(self, c: int) -> slice:
        """Rows of the edge arrays that belong to case position ``c``."""
        offsets = self.case_offsets
        return slice(int(offsets[c]), int(offsets[c + 1]))

    def excluded_by(self, c: int) -> dict[str, int]:
        """Rule name -> number of lawyers it excludes for case ``c`` (rules excluding none are
        left out), in the shape ``Unassigned.excluded_by`` takes."""
        return {
            str(rule): int(n)
            for rule, n in zip(self.rules, self.excluded_counts[c], strict=True)
            if n > 0
        }


def _block_edges(
    tables: EligibilityTables, start: int, stop: int
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Exclusion counts and eligible edges of cases ``start:stop`` against all lawyers."""
    arrays = tables.arrays
    n_lawyers = arrays.n_lawyers
    block = Block(
        tables, np.arange(start, stop, dtype=np.int32), np.arange(n_lawyers, dtype=np.int32)
    )
    counts = np.zeros((stop - start, len(Rule)), dtype=np.int32)
    excluded = np.zeros(block.shape, dtype=np.bool_)
    for col, rule in enumerate(Rule):
        mask = RULE_FILTERS[rule](block)
        counts[:, col] = mask.view(np.uint8).sum(axis=1, dtype=np.int32)
        excluded |= mask
    rows, cols = np.divmod(np.flatnonzero(~excluded), max(n_lawyers, 1))
    edge_cases = (rows + start).astype(np.int32)
    edge_lawyers = cols.astype(np.int32)
    return counts, edge_cases, edge_lawyers, pair_travel_km(arrays, edge_cases, edge_lawyers)


def build_candidates(
    arrays: ProblemArrays,
    *,
    tables: EligibilityTables | None = None,
    block_pairs: int = DEFAULT_BLOCK_PAIRS,
    workers: int | None = None,
) -> Candidates:
    """Run every per-edge hard rule over all (case, lawyer) pairs, in blocks of cases.

    ``block_pairs`` bounds the pairs one block holds (about 100 bytes each at peak, times
    ``workers`` blocks in flight).  ``workers`` threads evaluate blocks side by side (numpy
    releases the GIL); the default is up to 2, and the result never depends on it.  Pass
    ``tables`` to reuse columns already built for ``why_not``.
    """
    if block_pairs < 1:
        raise ValueError("block_pairs must be at least 1")
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    tables = tables if tables is not None else eligibility_tables(arrays)
    n_cases, n_lawyers = arrays.n_cases, arrays.n_lawyers
    block_cases = max(1, block_pairs // max(n_lawyers, 1))
    starts = list(range(0, n_cases, block_cases))
    bounds = [(start, min(start + block_cases, n_cases)) for start in starts]
    if workers is None:
        workers = min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1)
    n_workers = max(1, min(workers, len(bounds)))
    if n_workers == 1:
        parts = [_block_edges(tables, a, b) for a, b in bounds]
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            parts = list(pool.map(lambda ab: _block_edges(tables, *ab), bounds))

    excluded_counts = (
        np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, len(Rule)), dtype=np.int32)
    )
    case_index = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int32)
    lawyer_index = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int32)
    travel_km = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.float64)
    return Candidates(
        case_index=case_index,
        lawyer_index=lawyer_index,
        travel_km=travel_km,
        excluded_counts=excluded_counts,
        eligible_count=np.bincount(case_index, minlength=n_cases).astype(np.int32),
        rules=tuple(Rule),
    )
