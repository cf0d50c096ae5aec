"""Recommend: one case, top-k eligible lawyers against current loads, explained.

Reuses eligibility (per-edge filters, why-not, group rules) and scoring (``score_edges``); a
warm :class:`RosterIndex` keeps the lawyer side so that one case is scored in milliseconds.
"""

from assigner.recommend.recommend import (
    CONFLICT_RULES,
    CaseQuery,
    Reason,
    Recommendations,
    Scored,
    UnknownLawyer,
    Verdict,
    recommend,
)
from assigner.recommend.roster_index import CaseView, RosterIndex, build_roster_index

__all__ = [
    "CONFLICT_RULES",
    "CaseQuery",
    "CaseView",
    "Reason",
    "Recommendations",
    "RosterIndex",
    "Scored",
    "UnknownLawyer",
    "Verdict",
    "build_roster_index",
    "recommend",
]
