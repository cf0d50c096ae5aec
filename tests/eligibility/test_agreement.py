"""Tests that build_candidates and why_not agree on random problems: a pair is an edge exactly
when why_not is empty, and the per-case exclusion counts are why_not's rules counted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigner.domain import Problem
from assigner.domain.arrays import build_arrays, haversine_km
from assigner.eligibility import (
    Candidates,
    Rule,
    build_candidates,
    eligibility_tables,
    exclusions_for_case,
    why_not,
)
from tests.eligibility.factory import random_problem


def _check_agreement(problem: Problem) -> Candidates:
    arrays = build_arrays(problem)
    candidates = build_candidates(arrays)
    tables = eligibility_tables(arrays)
    n_cases = arrays.n_cases
    rules = list(Rule)
    assert candidates.rules == tuple(rules)
    assert candidates.excluded_counts.shape == (n_cases, len(rules))
    assert candidates.excluded_counts.dtype == np.int32
    assert candidates.case_index.dtype == np.int32
    assert candidates.lawyer_index.dtype == np.int32
    assert candidates.eligible_count.dtype == np.int32

    order = np.lexsort((candidates.lawyer_index, candidates.case_index))
    assert np.array_equal(order, np.arange(candidates.n_edges)), "edges not sorted"
    edges = set(zip(candidates.case_index.tolist(), candidates.lawyer_index.tolist(), strict=True))
    assert len(edges) == candidates.n_edges

    counts = np.zeros((n_cases, len(rules)), dtype=np.int32)
    for c, case_id in enumerate(arrays.case_ids):
        by_lawyer = exclusions_for_case(arrays, case_id, tables=tables)
        for lw, lawyer_id in enumerate(arrays.lawyer_ids):
            found = why_not(arrays, case_id, lawyer_id, tables=tables)
            assert ((c, lw) in edges) == (not found), (case_id, lawyer_id, found)
            assert by_lawyer.get(lawyer_id, []) == found
            for exclusion in found:
                assert exclusion.detail, exclusion
                counts[c, rules.index(exclusion.rule)] += 1
        rows = candidates.edges_of_case(c)
        assert np.all(candidates.case_index[rows] == c)
        assert rows.stop - rows.start == candidates.eligible_count[c]
    assert np.array_equal(candidates.excluded_counts, counts)

    expected_km = haversine_km(
        arrays.lawyer_lat[candidates.lawyer_index],
        arrays.lawyer_lon[candidates.lawyer_index],
        arrays.case_lat[candidates.case_index],
        arrays.case_lon[candidates.case_index],
    )
    assert np.allclose(candidates.travel_km, expected_km, rtol=0, atol=1e-9)
    return candidates


@pytest.mark.parametrize("seed", range(8))
def test_candidates_agree_with_why_not(seed: int) -> None:
    """Tests that candidates and why_not agree on seeded random problems (30 x 15)."""
    candidates = _check_agreement(random_problem(seed))
    assert candidates.n_edges > 0
    assert candidates.excluded_counts.sum() > 0


def test_random_problems_exercise_every_rule() -> None:
    """Tests that the random problems used here hit every rule, so agreement means something."""
    total = np.zeros(len(Rule), dtype=np.int64)
    for seed in range(8):
        total += build_candidates(build_arrays(random_problem(seed))).excluded_counts.sum(axis=0)
    assert all(total > 0), dict(zip(Rule, total.tolist(), strict=True))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    n_cases=st.integers(min_value=0, max_value=10),
    n_lawyers=st.integers(min_value=0, max_value=8),
    n_firms=st.integers(min_value=1, max_value=3),
)
def test_candidates_agree_with_why_not_property(
    seed: int, n_cases: int, n_lawyers: int, n_firms: int
) -> None:
    """Tests that candidates and why_not agree on hypothesis-chosen sizes, empty included."""
    _check_agreement(random_problem(seed, n_cases, n_lawyers, n_firms))


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("block_pairs", [1, 7, 15, 100, 10_000])
def test_block_size_and_workers_do_not_change_result(block_pairs: int, workers: int) -> None:
    """Tests that block size and worker threads bound memory and time but never change the
    edges or counts."""
    arrays = build_arrays(random_problem(3, n_cases=40, n_lawyers=15))
    whole = build_candidates(arrays, workers=1)
    blocked = build_candidates(arrays, block_pairs=block_pairs, workers=workers)
    for name in ("case_index", "lawyer_index", "travel_km", "excluded_counts", "eligible_count"):
        assert np.array_equal(getattr(whole, name), getattr(blocked, name)), name


def test_excluded_by_names_rules_with_counts() -> None:
    """Tests that excluded_by gives rule name -> count for the non-zero rules of a case."""
    candidates = build_candidates(build_arrays(random_problem(0)))
    for c in range(candidates.n_cases):
        got = candidates.excluded_by(c)
        assert all(n > 0 for n in got.values())
        assert sum(got.values()) == int(candidates.excluded_counts[c].sum())
