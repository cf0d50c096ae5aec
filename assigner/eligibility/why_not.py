"""Why a lawyer is not a candidate for a case: every rule that excludes the pair, explained.

The decision comes from the same filters ``build_candidates`` runs (here over a block of one
case and one lawyer, or one case and all lawyers), so a pair is a candidate edge exactly when
``why_not`` returns nothing; the details are then written from the Problem records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from assigner.domain.arrays import ProblemArrays
from assigner.domain.problem import Case, Lawyer, Party
from assigner.eligibility.conflicts import AdverseHit, ClientHolder, MatchKind
from assigner.eligibility.filters import (
    CAPACITY_TOLERANCE_HOURS,
    RULE_FILTERS,
    Block,
    EligibilityTables,
    eligibility_tables,
    pair_travel_km,
    qualification_certification_missing,
    qualification_triggers,
    qualification_years_short,
)
from assigner.eligibility.rules import RULE_CITATIONS, Rule


@dataclass(frozen=True)
class Exclusion:
    """One hard rule that excludes a (case, lawyer) pair."""

    rule: Rule
    citation: str
    detail: str


def _num(x: float) -> str:
    """One decimal when that is exact (3.0, 1.5), else up to 6 significant digits (2.9999)."""
    return f"{x:.1f}" if round(x, 1) == x else f"{x:g}"


def _quote(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values) if values else "none"


@dataclass(frozen=True)
class _Pair:
    tables: EligibilityTables
    c: int
    lawyer_pos: int

    @property
    def arrays(self) -> ProblemArrays:
        return self.tables.arrays

    @property
    def case(self) -> Case:
        return self.arrays.problem.cases[self.c]

    @property
    def lawyer(self) -> Lawyer:
        return self.arrays.problem.lawyers[self.lawyer_pos]


def _practice_area(p: _Pair) -> str:
    area = p.arrays.areas[p.arrays.case_area[p.c]]
    held = [pa.area for pa in p.lawyer.practice_areas]
    return (
        f"case type {p.case.case_type!r} needs practice area {area!r}; lawyer {p.lawyer.id} "
        f"has {_quote(held)}"
    )


def _qualification_parts(p: _Pair) -> list[tuple[str, str]]:
    """(detail, citation) per applicable catalogue rule the lawyer does not meet."""
    cat, case, lawyer = p.arrays.catalogue, p.case, p.lawyer
    type_rules = cat.case_types[case.case_type].qualification_rules
    area = p.arrays.areas[p.arrays.case_area[p.c]]
    years_by_area = {pa.area: pa.years for pa in lawyer.practice_areas}
    parts = []
    for name, rule in cat.qualification_rules.items():
        triggers = qualification_triggers(name, rule, case, type_rules, area)
        if not triggers:
            continue
        needs = []
        if rule.practice_area is not None:
            years = years_by_area.get(rule.practice_area, 0.0)
            if qualification_years_short(rule, years):
                needs.append(
                    f"needs {_num(rule.min_years)} years of {rule.practice_area} practice, "
                    f"has {_num(years)}"
                )
        if qualification_certification_missing(rule, lawyer):
            needs.append(
                f"needs certification {rule.certification!r}, has {_quote(lawyer.certifications)}"
            )
        if needs:
            parts.append(
                (f"rule {name!r} (by {', '.join(triggers)}): {'; '.join(needs)}", rule.citation)
            )
    return parts


def _qualification(p: _Pair) -> str:
    return "; ".join(detail for detail, _ in _qualification_parts(p))


def _provider_kind(p: _Pair) -> str:
    allowed = p.arrays.catalogue.case_types[p.case.case_type].allowed_provider_kinds
    return (
        f"provider kind {str(p.lawyer.kind)!r} may not take case type {p.case.case_type!r} "
        f"(allowed: {', '.join(str(k) for k in allowed)})"
    )


def _availability(p: _Pair) -> str:
    parts = []
    lawyer = p.lawyer
    if not lawyer.accepting_new_cases and p.arrays.current_lawyer[p.c] != p.lawyer_pos:
        parts.append(f"lawyer {lawyer.id} is not accepting new cases")
    first = date.fromordinal(p.tables.as_of_day)
    last = date.fromordinal(int(p.tables.case_last_day[p.c]))
    for leave in lawyer.leave:
        if leave.start <= last and leave.end >= first:
            parts.append(
                f"on leave {leave.start.isoformat()}..{leave.end.isoformat()}, overlapping "
                f"{first.isoformat()}..{last.isoformat()} (as_of..assign_by)"
            )
    return "; ".join(parts)


def _capacity(p: _Pair) -> str:
    a, c, lp = p.arrays, p.c, p.lawyer_pos
    parts = []
    load, hours, cap = a.current_load_hours[lp], a.workload_hours[c], a.capacity_hours[lp]
    if load + hours > cap + CAPACITY_TOLERANCE_HOURS:
        parts.append(
            f"load {_num(load)} h + case {_num(hours)} h = {_num(load + hours)} h > capacity "
            f"{_num(cap)} h"
        )
    open_cases, max_open = int(a.current_open_cases[lp]), int(a.max_open_cases[lp])
    if open_cases + 1 > max_open:
        parts.append(f"open cases {open_cases} + 1 > max {max_open}")
    return "; ".join(parts)


def _travel(p: _Pair) -> str:
    one = np.array([p.c], np.int32), np.array([p.lawyer_pos], np.int32)
    km = float(pair_travel_km(p.arrays, *one)[0])
    max_km = float(p.arrays.max_travel_km[p.lawyer_pos])
    shown = f"{km:.1f}" if round(km, 1) > max_km else f"{km:.6f}"
    return f"travel {shown} km > max {_num(max_km)} km"


def _jurisdiction(p: _Pair) -> str:
    return (
        f"case jurisdiction {p.case.jurisdiction!r} is not among lawyer {p.lawyer.id}'s "
        f"jurisdictions ({_quote(list(p.lawyer.jurisdictions or []))})"
    )


def _explicit_exclusion(p: _Pair) -> str:
    return f"staff excluded lawyer {p.lawyer.id} from case {p.case.id} (excluded_lawyer_ids)"


def _party_label(party: Party) -> str:
    label = f"{party.role} party {party.name!r}"
    return label + (f" (party {party.id})" if party.id is not None else "")


def _matched_by(kind: MatchKind, matched: str) -> str:
    if kind is MatchKind.PARTY_ID:
        return f"by party id {matched}"
    if kind is MatchKind.ALIAS:
        return f"by alias {matched!r}"
    return "by name"


def _holder(p: _Pair, hit: AdverseHit) -> str:
    problem = p.arrays.problem
    record = hit.record
    if record.holder is ClientHolder.FIRM:
        return f"a client of firm {problem.firms[record.holder_index].id}"
    if record.holder_index == p.lawyer_pos:
        return f"a client of lawyer {p.lawyer.id} (this lawyer)"
    colleague = problem.lawyers[record.holder_index].id
    return f"a client of colleague {colleague} at firm {problem.firms[record.firm_index].id}"


def _adverse_party(p: _Pair) -> str:
    firm = int(p.tables.conflicts.lawyer_firm[p.lawyer_pos])
    return "; ".join(
        f"{_party_label(hit.party)} matches {hit.record.client.name!r}, {_holder(p, hit)}, "
        f"{_matched_by(hit.kind, hit.matched)}"
        for hit in p.tables.conflicts.adverse_hits(p.case)
        if hit.record.firm_index == firm
    )


def _former_client(p: _Pair) -> str:
    firm = int(p.tables.conflicts.lawyer_firm[p.lawyer_pos])
    parts = []
    for hit in p.tables.conflicts.former_hits(p.case):
        if hit.record.firm_index != firm:
            continue
        client = hit.record.client
        matter = f" in matter {client.matter_id}" if client.matter_id else ""
        parts.append(
            f"{_party_label(hit.party)} matches {client.name!r}, a former client (until "
            f"{client.ended_on}{matter}) {_holder(p, hit).removeprefix('a client ')}, "
            f"{_matched_by(hit.kind, hit.matched)}; no written consent names lawyer {p.lawyer.id}"
        )
    return "; ".join(parts)


def _relative(p: _Pair) -> str:
    return "; ".join(
        f"{_party_label(hit.party)} matches lawyer {p.lawyer.id}'s declared relative "
        f"{hit.relative_name!r} {_matched_by(hit.kind, hit.matched)}"
        for hit in p.tables.conflicts.relative_hits(p.case)
        if hit.lawyer_index == p.lawyer_pos
    )


def _colleague_relative(p: _Pair) -> str:
    conflicts = p.tables.conflicts
    problem = p.arrays.problem
    return "; ".join(
        f"{_party_label(hit.party)} matches {hit.relative_name!r}, declared relative of "
        f"colleague {problem.lawyers[hit.lawyer_index].id} at firm {p.lawyer.firm_id}, "
        f"{_matched_by(hit.kind, hit.matched)}; no written consent names lawyer {p.lawyer.id}"
        for hit in conflicts.colleague_relative_hits(p.case)
        if conflicts.colleague_relative_binds(hit, p.lawyer_pos)
    )


def _codefendant_client(p: _Pair) -> str:
    conflicts = p.tables.conflicts
    same_firm = p.arrays.problem.policy.codefendants_same_firm_forbidden
    return "; ".join(
        f"{_party_label(hit.party)} matches {hit.record.client.name!r}, {_holder(p, hit)}, "
        f"{_matched_by(hit.kind, hit.matched)}"
        for hit in conflicts.codefendant_client_hits(p.case)
        if conflicts.codefendant_binds(hit, p.lawyer_pos, same_firm)
    )


def _complaint(p: _Pair) -> str:
    return f"the client complained about lawyer {p.lawyer.id} (complaint_lawyer_ids)"


_DETAILS: dict[Rule, Callable[[_Pair], str]] = {
    Rule.PRACTICE_AREA: _practice_area,
    Rule.QUALIFICATION: _qualification,
    Rule.PROVIDER_KIND: _provider_kind,
    Rule.AVAILABILITY: _availability,
    Rule.CAPACITY: _capacity,
    Rule.TRAVEL: _travel,
    Rule.JURISDICTION: _jurisdiction,
    Rule.EXPLICIT_EXCLUSION: _explicit_exclusion,
    Rule.ADVERSE_PARTY: _adverse_party,
    Rule.FORMER_CLIENT: _former_client,
    Rule.RELATIVE: _relative,
    Rule.COLLEAGUE_RELATIVE: _colleague_relative,
    Rule.CODEFENDANT_CLIENT: _codefendant_client,
    Rule.COMPLAINT: _complaint,
}


def _citation(rule: Rule, p: _Pair) -> str:
    if rule is Rule.QUALIFICATION:
        cited = list(dict.fromkeys(c for _, c in _qualification_parts(p) if c))
        if cited:
            return "; ".join(cited)
    return RULE_CITATIONS[rule]


def _position(index: dict[str, int], kind: str, key: str) -> int:
    try:
        return index[key]
    except KeyError:
        raise KeyError(f"unknown {kind} id {key!r}") from None


def exclusions_for_case(
    arrays: ProblemArrays, case_id: str, *, tables: EligibilityTables | None = None
) -> dict[str, list[Exclusion]]:
    """Lawyer id -> the rules excluding that lawyer, for every excluded lawyer of one case."""
    c = _position(arrays.case_pos, "case", case_id)
    tables = tables if tables is not None else eligibility_tables(arrays)
    block = Block(tables, np.array([c], np.int32), np.arange(arrays.n_lawyers, dtype=np.int32))
    masks = {rule: RULE_FILTERS[rule](block)[0] for rule in Rule}
    out: dict[str, list[Exclusion]] = {}
    for lp in np.flatnonzero(np.any(np.stack(list(masks.values())), axis=0)).tolist():
        pair = _Pair(tables, c, lp)
        out[arrays.lawyer_ids[lp]] = [
            Exclusion(rule, _citation(rule, pair), _DETAILS[rule](pair))
            for rule, mask in masks.items()
            if mask[lp]
        ]
    return out


def why_not(
    arrays: ProblemArrays,
    case_id: str,
    lawyer_id: str,
    *,
    tables: EligibilityTables | None = None,
) -> list[Exclusion]:
    """Every hard rule that keeps ``lawyer_id`` off ``case_id``; empty means eligible.

    Raises KeyError naming an unknown id.  Pass ``tables`` (``eligibility_tables(arrays)``) when
    asking about many pairs of one problem.
    """
    c = _position(arrays.case_pos, "case", case_id)
    lp = _position(arrays.lawyer_pos, "lawyer", lawyer_id)
    tables = tables if tables is not None else eligibility_tables(arrays)
    block = Block(tables, np.array([c], np.int32), np.array([lp], np.int32))
    pair = _Pair(tables, c, lp)
    return [
        Exclusion(rule, _citation(rule, pair), _DETAILS[rule](pair))
        for rule in Rule
        if RULE_FILTERS[rule](block)[0, 0]
    ]
