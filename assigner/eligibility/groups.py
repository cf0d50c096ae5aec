"""Plan-level hard rules over several cases: who may not share a lawyer or a firm.

These are not edge filters (each edge on its own is fine); the search keeps them as constraints
and the verifier re-checks them.  ``GroupConstraints.violations`` checks an assignment vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assigner.domain.arrays import ProblemArrays
from assigner.domain.problem import Side
from assigner.eligibility.rules import GROUP_RULE_CITATIONS, GroupRule

IntArray = npt.NDArray[np.int32]

_SAME_FIRM = {
    GroupRule.CO_DEFENDANTS_SAME_LAWYER: GroupRule.CO_DEFENDANTS_SAME_FIRM,
    GroupRule.LINKED_CASES_SAME_LAWYER: GroupRule.LINKED_CASES_SAME_FIRM,
}
# Per matter, the pairs of sides that one firm may not both act for.
OPPOSING_SIDE_PAIRS: tuple[tuple[Side, Side], ...] = (
    (Side.VICTIM, Side.DEFENDANT),
    (Side.CLAIMANT, Side.RESPONDENT),
)


@dataclass(frozen=True)
class GroupViolation:
    """A group rule broken by an assignment, with the cases involved."""

    rule: GroupRule
    case_indices: tuple[int, ...]
    detail: str

    @property
    def citation(self) -> str:
        return GROUP_RULE_CITATIONS[self.rule]


@dataclass(frozen=True)
class GroupConstraints:
    """Cliques of cases that may not share a lawyer or a firm, and opposing sides of matters.

    ``same_lawyer_rules[k]`` names why ``same_lawyer_cliques[k]`` exists (co-defendants, linked
    cases or both); likewise for the firm cliques.  Case indices in each clique are sorted.
    """

    same_lawyer_cliques: list[IntArray]
    same_firm_cliques: list[IntArray]
    opposing_sides: list[tuple[IntArray, IntArray]]
    same_lawyer_rules: list[tuple[GroupRule, ...]]
    same_firm_rules: list[tuple[GroupRule, ...]]
    lawyer_firm: IntArray  # per lawyer position, firm position
    case_ids: list[str]
    lawyer_ids: list[str]
    firm_ids: list[str]

    def _cases(self, cases: IntArray) -> str:
        return ", ".join(self.case_ids[int(c)] for c in cases)

    def violations(self, assignment: npt.ArrayLike) -> list[GroupViolation]:
        """Every group rule that ``assignment`` (case -> lawyer position, -1 = none) breaks."""
        lawyer_of = np.asarray(assignment, dtype=np.int64)
        n_cases = len(self.case_ids)
        if lawyer_of.shape != (n_cases,):
            raise ValueError(f"assignment must have shape ({n_cases},), has {lawyer_of.shape}")
        if lawyer_of.size and (lawyer_of.min() < -1 or lawyer_of.max() >= len(self.lawyer_firm)):
            raise ValueError("assignment holds a lawyer position out of range")
        firm_of = firms_of(lawyer_of, self.lawyer_firm)
        out: list[GroupViolation] = []

        for clique, rules in zip(self.same_lawyer_cliques, self.same_lawyer_rules, strict=True):
            for lw, cases in _shared(clique, lawyer_of):
                for rule in rules:
                    out.append(
                        GroupViolation(
                            rule,
                            tuple(int(c) for c in cases),
                            f"cases {self._cases(cases)} share lawyer {self.lawyer_ids[lw]}",
                        )
                    )
        for clique, rules in zip(self.same_firm_cliques, self.same_firm_rules, strict=True):
            for f, cases in _shared(clique, firm_of):
                for rule in rules:
                    out.append(
                        GroupViolation(
                            rule,
                            tuple(int(c) for c in cases),
                            f"cases {self._cases(cases)} share firm {self.firm_ids[f]}",
                        )
                    )
        for side_a, side_b in self.opposing_sides:
            firms_a, firms_b = firm_of[side_a], firm_of[side_b]
            for f in np.intersect1d(firms_a[firms_a >= 0], firms_b[firms_b >= 0]).tolist():
                cases_a, cases_b = side_a[firms_a == f], side_b[firms_b == f]
                out.append(
                    GroupViolation(
                        GroupRule.OPPOSING_SIDES_SAME_FIRM,
                        tuple(int(c) for c in np.concatenate([cases_a, cases_b])),
                        f"firm {self.firm_ids[f]} acts on both sides of a matter: cases "
                        f"{self._cases(cases_a)} against {self._cases(cases_b)}",
                    )
                )
        return out

    def violated_rules(self, assignment: npt.ArrayLike) -> list[GroupRule]:
        """The distinct group rules ``assignment`` breaks, in ``GroupRule`` order."""
        broken = {v.rule for v in self.violations(assignment)}
        return [rule for rule in GroupRule if rule in broken]


def firms_of(lawyer_of: npt.NDArray[np.int64], lawyer_firm: IntArray) -> npt.NDArray[np.int64]:
    """Per case, the firm (position) of its lawyer, -1 where it has none; also where there are
    no lawyers at all (every one removed in a what-if), when there is nothing to index."""
    firm_of = np.full(lawyer_of.shape, -1, dtype=np.int64)
    held = lawyer_of >= 0
    firm_of[held] = lawyer_firm[lawyer_of[held]]
    return firm_of


def _shared(clique: IntArray, holder_of: npt.NDArray[np.int64]) -> list[tuple[int, IntArray]]:
    """(holder, cases) for each lawyer or firm that holds two or more cases of the clique."""
    holders = holder_of[clique]
    values, counts = np.unique(holders[holders >= 0], return_counts=True)
    return [(int(h), clique[holders == h]) for h in values[counts > 1].tolist()]


def group_constraints(arrays: ProblemArrays) -> GroupConstraints:
    """Collect the group rules of a problem.

    Same lawyer (SPC 2021 criminal procedure interpretation Art 43): the defendants
    (side == defendant) of one matter, and each case with its linked cases.  Same firm: those
    cliques again when ``policy.codefendants_same_firm_forbidden``.  Opposing sides (Lawyer
    Practice Conduct Norms Art 51): per matter, victims vs defendants and claimants vs
    respondents.  Cliques are deduplicated and singletons dropped.
    """
    problem = arrays.problem
    matters: dict[str, list[int]] = {}
    for c, case in enumerate(problem.cases):
        if case.matter_id is not None:
            matters.setdefault(case.matter_id, []).append(c)

    cliques: dict[tuple[int, ...], list[GroupRule]] = {}

    def add(members: set[int], rule: GroupRule) -> None:
        if len(members) < 2:
            return
        rules = cliques.setdefault(tuple(sorted(members)), [])
        if rule not in rules:
            rules.append(rule)

    sides: dict[str, dict[Side, list[int]]] = {}
    for matter, members in matters.items():
        by_side: dict[Side, list[int]] = {}
        for c in members:
            by_side.setdefault(problem.cases[c].side, []).append(c)
        sides[matter] = by_side
        add(set(by_side.get(Side.DEFENDANT, [])), GroupRule.CO_DEFENDANTS_SAME_LAWYER)
    for c, case in enumerate(problem.cases):
        if case.linked_case_ids:
            linked = {arrays.case_pos[x] for x in case.linked_case_ids}
            add({c} | linked, GroupRule.LINKED_CASES_SAME_LAWYER)

    opposing: list[tuple[IntArray, IntArray]] = []
    for by_side in sides.values():
        for side_a, side_b in OPPOSING_SIDE_PAIRS:
            if by_side.get(side_a) and by_side.get(side_b):
                opposing.append(
                    (
                        np.array(by_side[side_a], dtype=np.int32),
                        np.array(by_side[side_b], dtype=np.int32),
                    )
                )

    same_lawyer = [np.array(members, dtype=np.int32) for members in cliques]
    same_lawyer_rules = [tuple(rules) for rules in cliques.values()]
    firm_rule = problem.policy.codefendants_same_firm_forbidden
    return GroupConstraints(
        same_lawyer_cliques=same_lawyer,
        same_firm_cliques=[c.copy() for c in same_lawyer] if firm_rule else [],
        opposing_sides=opposing,
        same_lawyer_rules=same_lawyer_rules,
        same_firm_rules=(
            [tuple(_SAME_FIRM[r] for r in rules) for rules in same_lawyer_rules]
            if firm_rule
            else []
        ),
        lawyer_firm=arrays.lawyer_firm,
        case_ids=arrays.case_ids,
        lawyer_ids=arrays.lawyer_ids,
        firm_ids=arrays.firm_ids,
    )
