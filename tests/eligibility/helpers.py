"""Assertions shared by the eligibility tests."""

from __future__ import annotations

from assigner.domain import Problem
from assigner.domain.arrays import build_arrays
from assigner.eligibility import Exclusion, Rule, build_candidates, why_not


def exclusions(problem: Problem, case_id: str = "C1", lawyer_id: str = "L1") -> list[Exclusion]:
    """why_not for one pair, after checking that build_candidates agrees with it."""
    arrays = build_arrays(problem)
    candidates = build_candidates(arrays)
    c, lw = arrays.case_pos[case_id], arrays.lawyer_pos[lawyer_id]
    rows = candidates.edges_of_case(c)
    is_edge = bool((candidates.lawyer_index[rows] == lw).any())
    found = why_not(arrays, case_id, lawyer_id)
    assert is_edge == (not found), (is_edge, found)
    return found


def assert_eligible(problem: Problem, case_id: str = "C1", lawyer_id: str = "L1") -> None:
    found = exclusions(problem, case_id, lawyer_id)
    assert found == [], [f"{e.rule}: {e.detail}" for e in found]


def assert_excluded_only_by(
    problem: Problem, rule: Rule, case_id: str = "C1", lawyer_id: str = "L1"
) -> Exclusion:
    """The pair is no edge, ``rule`` alone excludes it, and the counts say so."""
    found = exclusions(problem, case_id, lawyer_id)
    assert [e.rule for e in found] == [rule], [f"{e.rule}: {e.detail}" for e in found]
    if len(problem.cases) == 1 and len(problem.lawyers) == 1:
        counts = build_candidates(build_arrays(problem)).excluded_counts[0].tolist()
        assert counts == [1 if r is rule else 0 for r in Rule]
    assert found[0].citation
    assert found[0].detail
    return found[0]
