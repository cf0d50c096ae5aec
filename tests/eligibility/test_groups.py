"""Tests that group rules collect co-defendants, linked cases and opposing sides, and that an
assignment breaking them is reported with the rule's name."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from assigner.domain import Case, Problem
from assigner.domain.arrays import build_arrays
from assigner.eligibility import GroupConstraints, GroupRule, group_constraints
from tests.eligibility.factory import random_problem
from tests.factory import make_case, make_lawyer, make_problem


def _groups(problem: Problem) -> GroupConstraints:
    return group_constraints(build_arrays(problem))


def _as_lists(arrays: list[np.ndarray]) -> list[list[int]]:
    return [a.tolist() for a in arrays]


def _criminal_matter(forbid_same_firm: bool = False) -> Problem:
    """C1, C2, C3 defendants of M1, C4 its victim; C5 a lone defendant of M2."""
    cases = [
        make_case("C1", matter_id="M1"),
        make_case("C2", matter_id="M1"),
        make_case("C3", matter_id="M1"),
        make_case("C4", matter_id="M1", side="victim", case_type="victim_representation"),
        make_case("C5", matter_id="M2"),
    ]
    lawyers = [
        make_lawyer("L1"),
        make_lawyer("L2"),
        make_lawyer("L3", firm_id="F2"),
        make_lawyer("L4", firm_id="F3"),
    ]
    return make_problem(
        lawyers=lawyers,
        cases=cases,
        policy={"codefendants_same_firm_forbidden": forbid_same_firm},
    )


def test_co_defendants_form_one_clique() -> None:
    """Tests that the defendants of one matter form a clique; victims and lone defendants not."""
    groups = _groups(_criminal_matter())
    assert _as_lists(groups.same_lawyer_cliques) == [[0, 1, 2]]
    assert groups.same_lawyer_rules == [(GroupRule.CO_DEFENDANTS_SAME_LAWYER,)]
    assert groups.same_firm_cliques == []


def test_same_firm_cliques_follow_policy_switch() -> None:
    """Tests that the same cliques forbid a shared firm when the policy says so."""
    groups = _groups(_criminal_matter(forbid_same_firm=True))
    assert _as_lists(groups.same_firm_cliques) == [[0, 1, 2]]
    assert groups.same_firm_rules == [(GroupRule.CO_DEFENDANTS_SAME_FIRM,)]


def test_victim_and_defendants_are_opposing_sides() -> None:
    """Tests that a matter's victim and defendants are opposing sides (Conduct Norms Art 51)."""
    groups = _groups(_criminal_matter())
    assert [(a.tolist(), b.tolist()) for a, b in groups.opposing_sides] == [([3], [0, 1, 2])]


def test_civil_claimant_and_respondent_are_opposing_sides() -> None:
    """Tests that both sides of a civil matter are opposing sides, and no lawyer clique."""
    civil = {"case_type": "wage_claim", "stage": "litigation", "matter_id": "W1"}
    cases = [make_case("C1", side="claimant", **civil), make_case("C2", side="respondent", **civil)]
    groups = _groups(make_problem(cases=cases))
    assert [(a.tolist(), b.tolist()) for a, b in groups.opposing_sides] == [([0], [1])]
    assert groups.same_lawyer_cliques == []


def test_linked_cases_deduplicated() -> None:
    """Tests that linked cases form cliques, a link both ways counts once, and a clique equal
    to a co-defendant clique carries both rules."""
    cases = [
        make_case("C1", linked_case_ids=["C2"]),
        make_case("C2", linked_case_ids=["C1"]),
        make_case("C3", matter_id="M1", linked_case_ids=["C4"]),
        make_case("C4", matter_id="M1"),
        make_case("C5", linked_case_ids=["C1", "C4"]),
    ]
    groups = _groups(make_problem(cases=cases))
    got = dict(
        zip(
            (tuple(c.tolist()) for c in groups.same_lawyer_cliques),
            groups.same_lawyer_rules,
            strict=True,
        )
    )
    assert got == {
        (2, 3): (GroupRule.CO_DEFENDANTS_SAME_LAWYER, GroupRule.LINKED_CASES_SAME_LAWYER),
        (0, 1): (GroupRule.LINKED_CASES_SAME_LAWYER,),
        (0, 3, 4): (GroupRule.LINKED_CASES_SAME_LAWYER,),
    }


@pytest.mark.parametrize(
    ("assignment", "forbid_same_firm", "expected"),
    [
        ([0, 2, -1, 3, -1], False, []),
        ([0, 0, -1, 2, 0], False, [GroupRule.CO_DEFENDANTS_SAME_LAWYER]),
        ([0, 1, 2, 3, 0], False, []),
        ([0, 1, 2, 3, 0], True, [GroupRule.CO_DEFENDANTS_SAME_FIRM]),
        ([0, 2, 3, 1, -1], True, [GroupRule.OPPOSING_SIDES_SAME_FIRM]),
        ([-1, -1, -1, -1, -1], True, []),
        (
            [1, 1, 3, 0, 1],
            True,
            [
                GroupRule.CO_DEFENDANTS_SAME_LAWYER,
                GroupRule.CO_DEFENDANTS_SAME_FIRM,
                GroupRule.OPPOSING_SIDES_SAME_FIRM,
            ],
        ),
    ],
)
def test_violated_rules(
    assignment: list[int], forbid_same_firm: bool, expected: list[GroupRule]
) -> None:
    """Tests that an assignment is checked against every group rule (L1, L2 share firm F1)."""
    groups = _groups(_criminal_matter(forbid_same_firm))
    assert groups.violated_rules(assignment) == expected


def test_violation_detail_names_cases_and_holder() -> None:
    """Tests that a violation names the cases and the shared lawyer or firm."""
    groups = _groups(_criminal_matter())
    (violation,) = groups.violations([2, -1, 2, -1, -1])
    assert violation.case_indices == (0, 2)
    assert violation.detail == "cases C1, C3 share lawyer L3"
    assert "Art 43" in violation.citation
    (opposing,) = groups.violations([0, -1, -1, 1, -1])
    assert opposing.detail == "firm F1 acts on both sides of a matter: cases C4 against C1"


def test_bad_assignment_vector_refused() -> None:
    """Tests that a vector of the wrong length or with unknown lawyers raises ValueError."""
    groups = _groups(_criminal_matter())
    with pytest.raises(ValueError, match="shape"):
        groups.violations([0, 1])
    with pytest.raises(ValueError, match="out of range"):
        groups.violations([0, 1, 2, 3, 4])


def _brute_force_rules(problem: Problem, lawyer_of: list[int]) -> set[GroupRule]:
    """Pairwise re-check of the group rules, straight from the Problem records."""
    cases: list[Case] = problem.cases
    firm_of = [lw.firm_id for lw in problem.lawyers]
    pos = {c.id: i for i, c in enumerate(cases)}
    same_firm = problem.policy.codefendants_same_firm_forbidden
    opposing = {("victim", "defendant"), ("claimant", "respondent")}
    # Each case and the cases it links to may not share a lawyer with one another.
    linked_groups = [{k} | {pos[x] for x in c.linked_case_ids} for k, c in enumerate(cases)]
    broken: set[GroupRule] = set()
    for i, j in itertools.combinations(range(len(cases)), 2):
        li, lj = lawyer_of[i], lawyer_of[j]
        if li < 0 or lj < 0:
            continue
        a, b = cases[i], cases[j]
        one_matter = a.matter_id is not None and a.matter_id == b.matter_id
        codef = one_matter and a.side == b.side == "defendant"
        linked = any(i in g and j in g for g in linked_groups)
        share_firm = firm_of[li] == firm_of[lj]
        if codef and li == lj:
            broken.add(GroupRule.CO_DEFENDANTS_SAME_LAWYER)
        if codef and same_firm and share_firm:
            broken.add(GroupRule.CO_DEFENDANTS_SAME_FIRM)
        if linked and li == lj:
            broken.add(GroupRule.LINKED_CASES_SAME_LAWYER)
        if linked and same_firm and share_firm:
            broken.add(GroupRule.LINKED_CASES_SAME_FIRM)
        sides = {(str(a.side), str(b.side)), (str(b.side), str(a.side))}
        if one_matter and share_firm and sides & opposing:
            broken.add(GroupRule.OPPOSING_SIDES_SAME_FIRM)
    return broken


@pytest.mark.parametrize("seed", range(6))
def test_group_check_agrees_with_pairwise_brute_force(seed: int) -> None:
    """Tests that violated_rules equals a pairwise re-check on random problems and plans."""
    problem = random_problem(seed, n_cases=40, n_lawyers=8, n_firms=3, n_matters=6)
    groups = _groups(problem)
    rng = random.Random(seed)
    for _ in range(30):
        lawyer_of = [rng.randrange(-1, len(problem.lawyers)) for _ in problem.cases]
        expected = _brute_force_rules(problem, lawyer_of)
        assert set(groups.violated_rules(lawyer_of)) == expected
