"""Names of the hard rules and the legal source each one encodes (../shared/DOMAIN.md).

``Rule`` holds the per-edge rules that decide whether one (case, lawyer) pair is a candidate;
``GroupRule`` holds the plan-level rules that involve several cases at once (``groups.py``).
The member order of ``Rule`` is the column order of ``Candidates.excluded_counts``.
"""

from __future__ import annotations

from enum import StrEnum

FORMER_CLIENT_DAYS = 365
"""A former client conflicts for this many days after the representation ended (Lawyer
Practice Conduct Norms Art 52: "within 1 year")."""


class Rule(StrEnum):
    """Per-edge hard rules, in the order eligibility reports them."""

    PRACTICE_AREA = "practice_area"
    QUALIFICATION = "qualification"
    PROVIDER_KIND = "provider_kind"
    AVAILABILITY = "availability"
    CAPACITY = "capacity"
    TRAVEL = "travel"
    JURISDICTION = "jurisdiction"
    EXPLICIT_EXCLUSION = "explicit_exclusion"
    ADVERSE_PARTY = "adverse_party"
    FORMER_CLIENT = "former_client"
    RELATIVE = "relative"
    COLLEAGUE_RELATIVE = "colleague_relative"
    CODEFENDANT_CLIENT = "codefendant_client"
    COMPLAINT = "complaint"


RULE_CITATIONS: dict[Rule, str] = {
    Rule.PRACTICE_AREA: (
        "MoJ order 148 (2023) Art 25: the institution picks the provider by specialty and "
        "practice experience"
    ),
    Rule.QUALIFICATION: (
        "Legal Aid Law 2021 Art 26, MoJ order 148 (2023) Art 26 (life or death sentence: 3+ "
        "years of criminal defence); Legal Aid Law 2021 Art 25-26 (juvenile defence); catalogue "
        "qualification rules"
    ),
    Rule.PROVIDER_KIND: (
        "Legal Aid Law 2021 Arts 12-17: volunteers give advice and documents only; the provider "
        "kind must be allowed for the case type"
    ),
    Rule.AVAILABILITY: (
        "Legal Aid Law 2021 Arts 36, 43 (assign within 3 days): the provider must accept new "
        "cases and not be on leave before the assign-by deadline"
    ),
    Rule.CAPACITY: (
        "MoJ order 148 (2023) Art 25 (assignment by headcount and workload); RAND National "
        "Public Defense Workload Study (2023) hours per case"
    ),
    Rule.TRAVEL: "policy: lawyer max_travel_km, else policy.default_max_travel_km",
    Rule.JURISDICTION: "policy: a lawyer with listed jurisdictions serves only those",
    Rule.EXPLICIT_EXCLUSION: "staff-recorded exclusion (Case.excluded_lawyer_ids)",
    Rule.ADVERSE_PARTY: (
        "Lawyers Law Art 39 (one lawyer may not act for both sides): a current client of the "
        "lawyer or the firm is adverse; Lawyer Practice Conduct Norms Art 51 (firm level, not "
        "waivable)"
    ),
    Rule.FORMER_CLIENT: (
        "Lawyer Practice Conduct Norms Art 52: acting against a former client in the same "
        "matter within 1 year; waivable with the client's written consent "
        "(Case.conflict_waivers)"
    ),
    Rule.RELATIVE: (
        "Lawyers Law Art 39 (a close relative's interest conflicts); Lawyer Practice Conduct "
        "Norms Art 51 (a close relative is the opposing party)"
    ),
    Rule.COLLEAGUE_RELATIVE: (
        "Lawyer Practice Conduct Norms Art 52: a colleague at the lawyer's firm is a close "
        "relative of the opposing party; waivable with the client's written consent "
        "(Case.conflict_waivers)"
    ),
    Rule.CODEFENDANT_CLIENT: (
        "Supreme People's Court 2021 criminal procedure interpretation Art 43: one defender may "
        "not defend two co-defendants of the same case (a co-defendant is the lawyer's current "
        "client; with policy.codefendants_same_firm_forbidden, a client of the lawyer's firm)"
    ),
    Rule.COMPLAINT: "Legal Aid Law 2021 Art 55: the aided person may ask for another lawyer",
}


class GroupRule(StrEnum):
    """Plan-level hard rules over several cases (checked by ``GroupConstraints``)."""

    CO_DEFENDANTS_SAME_LAWYER = "co_defendants_same_lawyer"
    LINKED_CASES_SAME_LAWYER = "linked_cases_same_lawyer"
    CO_DEFENDANTS_SAME_FIRM = "co_defendants_same_firm"
    LINKED_CASES_SAME_FIRM = "linked_cases_same_firm"
    OPPOSING_SIDES_SAME_FIRM = "opposing_sides_same_firm"


GROUP_RULE_CITATIONS: dict[GroupRule, str] = {
    GroupRule.CO_DEFENDANTS_SAME_LAWYER: (
        "SPC 2021 criminal procedure interpretation Art 43: one defender may not defend two "
        "co-defendants of the same case"
    ),
    GroupRule.LINKED_CASES_SAME_LAWYER: (
        "SPC 2021 criminal procedure interpretation Art 43: nor defendants of linked cases "
        "handled separately"
    ),
    GroupRule.CO_DEFENDANTS_SAME_FIRM: (
        "policy.codefendants_same_firm_forbidden (US public defender practice: the office "
        "counts as one firm; the conflicted co-defendant goes to alternate counsel)"
    ),
    GroupRule.LINKED_CASES_SAME_FIRM: (
        "policy.codefendants_same_firm_forbidden, applied to linked cases handled separately"
    ),
    GroupRule.OPPOSING_SIDES_SAME_FIRM: (
        "Lawyer Practice Conduct Norms Art 51: one firm may not act for the victim and the "
        "defendant of one criminal case, nor for both sides of a civil matter"
    ),
}
