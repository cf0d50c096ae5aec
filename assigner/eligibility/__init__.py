"""Eligibility: hard per-edge filters -> candidate edges, exclusion reasons, group rules."""

from assigner.eligibility.candidates import Candidates, build_candidates
from assigner.eligibility.conflicts import (
    AdverseHit,
    ClientHolder,
    ClientRecord,
    ConflictIndex,
    MatchKind,
    RelativeHit,
    adverse_roles,
    name_key,
    name_keys,
    name_tokens,
    names_match,
)
from assigner.eligibility.filters import RULE_FILTERS, Block, EligibilityTables, eligibility_tables
from assigner.eligibility.groups import GroupConstraints, GroupViolation, group_constraints
from assigner.eligibility.rules import GROUP_RULE_CITATIONS, RULE_CITATIONS, GroupRule, Rule
from assigner.eligibility.why_not import Exclusion, exclusions_for_case, why_not

__all__ = [
    "GROUP_RULE_CITATIONS",
    "RULE_CITATIONS",
    "RULE_FILTERS",
    "AdverseHit",
    "Block",
    "Candidates",
    "ClientHolder",
    "ClientRecord",
    "ConflictIndex",
    "EligibilityTables",
    "Exclusion",
    "GroupConstraints",
    "GroupRule",
    "GroupViolation",
    "MatchKind",
    "RelativeHit",
    "Rule",
    "adverse_roles",
    "build_candidates",
    "eligibility_tables",
    "exclusions_for_case",
    "group_constraints",
    "name_key",
    "name_keys",
    "name_tokens",
    "names_match",
    "why_not",
]
