"""Tests that the independent verifier and the engine's eligibility agree on every per-pair
rule: on random problems, each (case, lawyer) pair planned alone breaks in the verifier's report
exactly the rules why_not names for it (the engine's capacity rule being the verifier's hours or
open-cases check of that lawyer)."""

from __future__ import annotations

import pytest

from assigner.domain.arrays import build_arrays
from assigner.eligibility import Rule, eligibility_tables, why_not
from assigner.verify import verify_plan
from tests.eligibility.factory import random_problem
from tests.verify.builders import build_plan

# The per-pair rules the two sides name alike: every engine rule but capacity.
SAME_NAME = frozenset(str(r) for r in Rule if r is not Rule.CAPACITY)
CAPACITY_CHECKS = frozenset({"capacity_hours", "capacity_cases"})


@pytest.mark.parametrize("seed", range(4))
def test_verifier_breaks_exactly_the_rules_why_not_names(seed: int) -> None:
    """Tests agreement pair by pair on a random problem of 12 cases and 8 lawyers in 3 firms,
    and that the problem exercises conflict and fitness rules alike."""
    problem = random_problem(seed, 12, 8, 3)
    arrays = build_arrays(problem)
    tables = eligibility_tables(arrays)
    seen: set[str] = set()
    for case in problem.cases:
        for lawyer in problem.lawyers:
            engine = {str(e.rule) for e in why_not(arrays, case.id, lawyer.id, tables=tables)}
            report = verify_plan(problem, build_plan(problem, {case.id: lawyer.id}))
            pair = {
                v.rule
                for v in report.violations
                if v.case_id == case.id and v.lawyer_id == lawyer.id
            }
            full = {v.rule for v in report.violations if v.lawyer_id == lawyer.id}
            where = (case.id, lawyer.id)
            assert engine & SAME_NAME == pair & SAME_NAME, where
            assert (str(Rule.CAPACITY) in engine) == bool(full & CAPACITY_CHECKS), where
            seen |= engine
    assert len(seen) >= 8, seen
