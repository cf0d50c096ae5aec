"""Tests that the independent verifier and the engine's eligibility agree on the conflict rules:
on random problems, every (case, lawyer) pair that why_not excludes by a conflict rule breaks
the same rules in the verifier's report when it is planned, and no other pair breaks one."""

from __future__ import annotations

import pytest

from assigner.domain.arrays import build_arrays
from assigner.eligibility import eligibility_tables, why_not
from assigner.verify import verify_plan
from tests.eligibility.factory import random_problem
from tests.verify.builders import build_plan

# The per-pair conflict rules, named alike by both sides.
CONFLICT_RULES = frozenset(
    {
        "explicit_exclusion",
        "adverse_party",
        "former_client",
        "relative",
        "colleague_relative",
        "codefendant_client",
        "complaint",
    }
)


@pytest.mark.parametrize("seed", range(4))
def test_verifier_breaks_exactly_the_conflict_rules_why_not_names(seed: int) -> None:
    """Tests agreement pair by pair on a random problem of 12 cases and 8 lawyers in 3 firms,
    and that the problem exercises conflict rules at all."""
    problem = random_problem(seed, 12, 8, 3)
    arrays = build_arrays(problem)
    tables = eligibility_tables(arrays)
    seen: set[str] = set()
    for case in problem.cases:
        for lawyer in problem.lawyers:
            engine = {str(e.rule) for e in why_not(arrays, case.id, lawyer.id, tables=tables)}
            report = verify_plan(problem, build_plan(problem, {case.id: lawyer.id}))
            verifier = {
                v.rule
                for v in report.violations
                if v.case_id == case.id and v.lawyer_id == lawyer.id
            }
            assert engine & CONFLICT_RULES == verifier & CONFLICT_RULES, (case.id, lawyer.id)
            seen |= engine & CONFLICT_RULES
    assert len(seen) >= 3, seen
