"""Independent re-check of a Plan against its Problem (DESIGN.md principle 1).

The verifier shares no code with the model builder: it reads only the pydantic documents of
``assigner.domain`` and re-derives every hard rule, every per-lawyer sum, every KPI and the
objective from them, plainly, one assignment at a time.  It checks what the plan does; it does
not search for a better plan.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from assigner.domain.catalogue import CaseType, Catalogue, QualificationRule, default_catalogue
from assigner.domain.plan import (
    Assignment,
    GroupShare,
    Plan,
    SolveStatus,
    UnassignedReason,
    Verification,
)
from assigner.domain.problem import (
    Case,
    Firm,
    KnownClient,
    Lawyer,
    Location,
    Party,
    PartyRole,
    Problem,
    Side,
)
from assigner.verify.names import NameKey, name_keys, name_variants

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used for great-circle distances."""

FLOAT_TOL = 1e-6
TRAVEL_KM_TOL = 0.01
DEADLINE_RISK_WINDOW = timedelta(hours=24)
NO_PRIORITY_GROUP = "none"

# Rule names: each violation names one of these; the report lists the ones that were run.
STRUCTURE = "structure"
PRACTICE_AREA = "practice_area"
QUALIFICATION = "qualification"
PROVIDER_KIND = "provider_kind"
AVAILABILITY = "availability"
TRAVEL = "travel"
JURISDICTION = "jurisdiction"
EXPLICIT_EXCLUSION = "explicit_exclusion"
COMPLAINT = "complaint"
ADVERSE_PARTY = "adverse_party"
FORMER_CLIENT = "former_client"
RELATIVE = "relative"
COLLEAGUE_RELATIVE = "colleague_relative"
CODEFENDANT_CLIENT = "codefendant_client"
CAPACITY_HOURS = "capacity_hours"
CAPACITY_CASES = "capacity_cases"
CO_DEFENDANTS = "co_defendants"
LINKED_CASES = "linked_cases"
CO_DEFENDANT_FIRM = "co_defendant_firm"
OPPOSING_SIDES_FIRM = "opposing_sides_firm"
PINNED = "pinned"
STARTED = "started"
WORKLOAD_HOURS = "workload_hours"
TRAVEL_KM = "travel_km"
COST_TERMS = "cost_terms"
SUBSIDY = "subsidy"
MOVED_FROM = "moved_from"
UNASSIGNED_REASON = "unassigned_reason"
KPIS = "kpis"
OBJECTIVE = "objective"
BOUND = "bound"

ALL_CHECKS: tuple[str, ...] = (
    STRUCTURE,
    PRACTICE_AREA,
    QUALIFICATION,
    PROVIDER_KIND,
    AVAILABILITY,
    TRAVEL,
    JURISDICTION,
    EXPLICIT_EXCLUSION,
    COMPLAINT,
    ADVERSE_PARTY,
    FORMER_CLIENT,
    RELATIVE,
    COLLEAGUE_RELATIVE,
    CODEFENDANT_CLIENT,
    CAPACITY_HOURS,
    CAPACITY_CASES,
    CO_DEFENDANTS,
    LINKED_CASES,
    CO_DEFENDANT_FIRM,
    OPPOSING_SIDES_FIRM,
    PINNED,
    STARTED,
    WORKLOAD_HOURS,
    TRAVEL_KM,
    COST_TERMS,
    SUBSIDY,
    MOVED_FROM,
    UNASSIGNED_REASON,
    KPIS,
    OBJECTIVE,
    BOUND,
)
"""Every check the verifier knows, in the order it runs them."""

FORMER_CLIENT_DAYS = 365
"""Conduct Norms Art 52: a former client conflicts "within 1 year" (kept apart from the
engine's constant on purpose: the verifier reads the rules on its own)."""

# Who is adverse to the client, by the client's side: the accused or sued side faces the
# victims, the injured or claiming side faces the co-defendants; an ADVERSE party always is.
_ADVERSE_TO: dict[Side, frozenset[PartyRole]] = {
    Side.DEFENDANT: frozenset({PartyRole.ADVERSE, PartyRole.VICTIM}),
    Side.RESPONDENT: frozenset({PartyRole.ADVERSE, PartyRole.VICTIM}),
    Side.VICTIM: frozenset({PartyRole.ADVERSE, PartyRole.CO_DEFENDANT}),
    Side.CLAIMANT: frozenset({PartyRole.ADVERSE, PartyRole.CO_DEFENDANT}),
}

_OPPOSING_SIDES: tuple[tuple[Side, Side], ...] = (
    (Side.VICTIM, Side.DEFENDANT),
    (Side.CLAIMANT, Side.RESPONDENT),
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: which rule, on which case and lawyer (when it concerns them), and why."""

    rule: str
    case_id: str | None
    lawyer_id: str | None
    detail: str

    def __str__(self) -> str:
        where = []
        if self.case_id is not None:
            where.append(f"case {self.case_id}")
        if self.lawyer_id is not None:
            where.append(f"lawyer {self.lawyer_id}")
        place = f" ({', '.join(where)})" if where else ""
        return f"{self.rule}{place}: {self.detail}"


@dataclass
class VerificationReport:
    """The outcome of :func:`verify_plan`: every violation found and the checks that were run."""

    violations: list[Violation] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations

    @property
    def rules_broken(self) -> set[str]:
        """The names of the rules with at least one violation."""
        return {v.rule for v in self.violations}

    def to_verification(self) -> Verification:
        """The plan's ``verification`` field."""
        return Verification(passed=self.passed, checks=list(self.checks))


class PlanViolation(Exception):
    """A plan broke at least one rule; ``violations`` lists every one of them."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = list(violations)
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(
            f"plan fails verification with {len(self.violations)} violation(s):\n{lines}"
        )


def great_circle_km(a: Location, b: Location) -> float:
    """Haversine distance in km on a sphere of radius :data:`EARTH_RADIUS_KM`."""
    lat1, lon1, lat2, lon2 = (math.radians(x) for x in (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def gini(values: Iterable[float]) -> float:
    """Gini coefficient, G = sum_i (2i - n - 1) x_i / (n * sum x) over ascending x (i from 1)."""
    xs = sorted(values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total <= 0:
        return 0.0
    return sum((2 * i - n - 1) * x for i, x in enumerate(xs, start=1)) / (n * total)


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=FLOAT_TOL, abs_tol=FLOAT_TOL)


class _Verifier:
    """Holds the lookups of one problem and collects violations for one plan."""

    def __init__(self, problem: Problem, plan: Plan) -> None:
        self.problem = problem
        self.plan = plan
        self.policy = problem.policy
        self.catalogue: Catalogue = (
            problem.catalogue if problem.catalogue is not None else default_catalogue()
        )
        self.cases: dict[str, Case] = {}
        for case in problem.cases:
            self.cases.setdefault(case.id, case)
        self.lawyers: dict[str, Lawyer] = {}
        for lawyer in problem.lawyers:
            self.lawyers.setdefault(lawyer.id, lawyer)
        self.firms: dict[str, Firm] = {}
        for firm in problem.firms:
            self.firms.setdefault(firm.id, firm)
        self.violations: list[Violation] = []
        # The first assignment of each known case to a known lawyer (duplicates are structure
        # violations); the rules over groups of cases and per-lawyer sums use these.
        self.assigned: dict[str, Assignment] = {}
        self._firm_clients: dict[str, list[tuple[str, KnownClient, set[NameKey]]]] = {}
        self._relative_keys: dict[str, set[NameKey]] = {}
        self._firm_relatives: dict[str, list[tuple[str, NameKey]]] = {}
        self._party_keys: dict[str, list[tuple[Party, set[NameKey]]]] = {}

    # -- bookkeeping -------------------------------------------------------------------------

    def add(self, rule: str, case_id: str | None, lawyer_id: str | None, detail: str) -> None:
        self.violations.append(Violation(rule, case_id, lawyer_id, detail))

    def run(self) -> VerificationReport:
        self.check_structure()
        for assignment in self.plan.assignments:
            case = self.cases.get(assignment.case_id)
            lawyer = self.lawyers.get(assignment.lawyer_id)
            if case is None or lawyer is None:
                continue
            self.assigned.setdefault(case.id, assignment)
            case_type = self.case_type(case)
            if case_type is not None:
                self.check_practice_area(case, case_type, lawyer)
                self.check_qualification(case, case_type, lawyer)
                self.check_provider_kind(case, case_type, lawyer)
            self.check_availability(case, lawyer)
            self.check_travel(case, lawyer)
            self.check_jurisdiction(case, lawyer)
            self.check_exclusions(case, lawyer)
            self.check_adverse_party(case, lawyer)
            self.check_relative(case, lawyer)
            self.check_colleague_relative(case, lawyer)
        self.check_capacity()
        self.check_co_defendants_and_links()
        self.check_opposing_sides()
        self.check_pinned_and_started()
        self.check_plan_content()
        self.check_kpis()
        self.check_objective()
        return VerificationReport(violations=self.violations, checks=self.checks_run())

    def checks_run(self) -> list[str]:
        """All checks, less the ones the policy switches off."""
        skipped = set()
        if not self.policy.codefendants_same_firm_forbidden:
            skipped.add(CO_DEFENDANT_FIRM)
        if self.policy.allow_moving_pinned:
            skipped.add(PINNED)
        if self.policy.allow_moving_started:
            skipped.add(STARTED)
        return [name for name in ALL_CHECKS if name not in skipped]

    def case_type(self, case: Case) -> CaseType | None:
        return self.catalogue.case_types.get(case.case_type)

    def case_hours(self, case: Case) -> float | None:
        """Workload hours: the case's own figure, else the catalogue's for its type."""
        if case.workload_hours is not None:
            return case.workload_hours
        case_type = self.case_type(case)
        return case_type.workload_hours if case_type is not None else None

    def firm_id(self, lawyer_id: str) -> str:
        return self.lawyers[lawyer_id].firm_id

    # -- structure ---------------------------------------------------------------------------

    def check_structure(self) -> None:
        """Every case once (assigned or unassigned), known ids, known catalogue entries."""
        seen: dict[str, int] = defaultdict(int)
        for a in self.plan.assignments:
            seen[a.case_id] += 1
            if a.case_id not in self.cases:
                self.add(STRUCTURE, a.case_id, a.lawyer_id, "assignment of an unknown case")
            if a.lawyer_id not in self.lawyers:
                self.add(STRUCTURE, a.case_id, a.lawyer_id, "assignment to an unknown lawyer")
        for u in self.plan.unassigned:
            seen[u.case_id] += 1
            if u.case_id not in self.cases:
                self.add(STRUCTURE, u.case_id, None, "unassigned entry for an unknown case")
        for case_id, count in seen.items():
            if count > 1:
                self.add(
                    STRUCTURE,
                    case_id,
                    None,
                    f"case appears {count} times over assignments and unassigned",
                )
        for case in self.problem.cases:
            if case.id not in seen:
                self.add(STRUCTURE, case.id, None, "case is neither assigned nor unassigned")
        if len(self.cases) != len(self.problem.cases):
            self.add(STRUCTURE, None, None, "the problem has duplicate case ids")
        if self.plan.policy_version != self.policy.version:
            self.add(
                STRUCTURE,
                None,
                None,
                f"plan policy_version {self.plan.policy_version} is not the problem's "
                f"{self.policy.version}",
            )
        for a in self.plan.assignments:
            known = self.cases.get(a.case_id)
            lawyer = self.lawyers.get(a.lawyer_id)
            if known is None:
                continue
            case_type = self.case_type(known)
            if case_type is None:
                self.add(STRUCTURE, known.id, a.lawyer_id, f"unknown case type {known.case_type!r}")
            elif known.stage not in case_type.subsidy_cny_by_stage:
                self.add(STRUCTURE, known.id, a.lawyer_id, f"unknown stage {known.stage!r}")
            if lawyer is not None:
                mult = self.catalogue.subsidy_class_multiplier
                if lawyer.subsidy_class not in mult:
                    self.add(
                        STRUCTURE,
                        known.id,
                        lawyer.id,
                        f"unknown subsidy class {lawyer.subsidy_class!r}",
                    )

    # -- hard rules per assignment -----------------------------------------------------------

    def check_practice_area(self, case: Case, case_type: CaseType, lawyer: Lawyer) -> None:
        """The lawyer practises the case type's area (MoJ order 148 (2023) Art 25: specialty)."""
        if not any(pa.area == case_type.practice_area for pa in lawyer.practice_areas):
            self.add(
                PRACTICE_AREA,
                case.id,
                lawyer.id,
                f"lawyer does not practise {case_type.practice_area!r}",
            )

    def applicable_rules(self, case: Case, case_type: CaseType) -> list[QualificationRule]:
        """Catalogue rules named by the case type or triggered by a flag or priority group."""
        rules: list[QualificationRule] = []
        for key, rule in self.catalogue.qualification_rules.items():
            triggered = (
                key in case_type.qualification_rules
                or (rule.when_flag is not None and rule.when_flag in case.flags)
                or (
                    rule.when_priority_group is not None
                    and rule.when_priority_group in case.priority_groups
                )
            )
            if not triggered:
                continue
            if (
                rule.only_practice_areas is not None
                and case_type.practice_area not in rule.only_practice_areas
            ):
                continue
            rules.append(rule)
        return rules

    def check_qualification(self, case: Case, case_type: CaseType, lawyer: Lawyer) -> None:
        """Catalogue qualification rules (Legal Aid Law 2021 Art 26; MoJ order 148 Art 26)."""
        for rule in self.applicable_rules(case, case_type):
            cited = f"rule {rule.name}" + (f" ({rule.citation})" if rule.citation else "")
            if rule.practice_area is not None and rule.min_years > 0:
                years = max(
                    (pa.years for pa in lawyer.practice_areas if pa.area == rule.practice_area),
                    default=None,
                )
                if years is None or years < rule.min_years:
                    has = "none" if years is None else f"{years:g}"
                    self.add(
                        QUALIFICATION,
                        case.id,
                        lawyer.id,
                        f"{cited} needs {rule.min_years:g} years of {rule.practice_area}; "
                        f"lawyer has {has}",
                    )
            if rule.certification is not None and rule.certification not in lawyer.certifications:
                self.add(
                    QUALIFICATION,
                    case.id,
                    lawyer.id,
                    f"{cited} needs certification {rule.certification!r}",
                )

    def check_provider_kind(self, case: Case, case_type: CaseType, lawyer: Lawyer) -> None:
        """The provider kind may take this case type (Legal Aid Law 2021 Arts 12-17)."""
        if lawyer.kind not in case_type.allowed_provider_kinds:
            self.add(
                PROVIDER_KIND,
                case.id,
                lawyer.id,
                f"provider kind {lawyer.kind.value!r} may not take {case.case_type!r}",
            )

    def check_availability(self, case: Case, lawyer: Lawyer) -> None:
        """Accepting new cases (unless already the case's lawyer) and no leave before assign-by."""
        current = case.current_assignment
        keeps_case = current is not None and current.lawyer_id == lawyer.id
        if not lawyer.accepting_new_cases and not keeps_case:
            self.add(AVAILABILITY, case.id, lawyer.id, "lawyer is not accepting new cases")
        start = self.local_day(self.problem.as_of)
        end = max(start, self.local_day(case.assign_by))
        for leave in lawyer.leave:
            if leave.start <= end and leave.end >= start:
                self.add(
                    AVAILABILITY,
                    case.id,
                    lawyer.id,
                    f"leave {leave.start}..{leave.end} overlaps {start}..{end}",
                )

    def check_travel(self, case: Case, lawyer: Lawyer) -> None:
        """Great-circle distance from the office within the lawyer's (or the policy's) limit."""
        limit = lawyer.max_travel_km or self.policy.default_max_travel_km
        km = great_circle_km(lawyer.location, case.location)
        if km > limit + FLOAT_TOL:
            self.add(TRAVEL, case.id, lawyer.id, f"{km:.3f} km exceeds the limit {limit:g} km")

    def check_jurisdiction(self, case: Case, lawyer: Lawyer) -> None:
        """The case's jurisdiction is one the lawyer serves (when both are given)."""
        if (
            lawyer.jurisdictions is not None
            and case.jurisdiction is not None
            and case.jurisdiction not in lawyer.jurisdictions
        ):
            self.add(
                JURISDICTION,
                case.id,
                lawyer.id,
                f"lawyer does not serve jurisdiction {case.jurisdiction!r}",
            )

    def check_exclusions(self, case: Case, lawyer: Lawyer) -> None:
        """Staff exclusions, and former lawyers the client complained about (Art 55)."""
        if lawyer.id in case.excluded_lawyer_ids:
            self.add(EXPLICIT_EXCLUSION, case.id, lawyer.id, "lawyer is explicitly excluded")
        if lawyer.id in case.complaint_lawyer_ids:
            self.add(
                COMPLAINT,
                case.id,
                lawyer.id,
                "the client complained about this lawyer (Legal Aid Law 2021 Art 55)",
            )

    def local_day(self, moment: datetime) -> date:
        """The calendar day of ``moment`` where the office is (``Policy.timezone``): leave and
        client dates are the office's days."""
        return moment.astimezone(ZoneInfo(self.problem.policy.timezone)).date()

    def party_keys(self, case: Case) -> list[tuple[Party, set[NameKey]]]:
        """Each party of the case with the name keys of its name and aliases."""
        cached = self._party_keys.get(case.id)
        if cached is None:
            cached = [(p, name_keys([p.name, *p.aliases])) for p in case.parties]
            self._party_keys[case.id] = cached
        return cached

    def firm_clients(self, firm_id: str) -> list[tuple[str, KnownClient, set[NameKey]]]:
        """Every client record imputed to a firm's lawyers: the firm's own and those of each
        of its lawyers (Conduct Norms Art 51 works at firm level), with who holds it."""
        cached = self._firm_clients.get(firm_id)
        if cached is None:
            cached = []
            firm = self.firms.get(firm_id)
            for client in firm.clients if firm is not None else []:
                cached.append((f"firm {firm_id}", client, name_variants(client.name)))
            for other in self.problem.lawyers:
                if other.firm_id == firm_id:
                    for client in other.clients:
                        cached.append((f"lawyer {other.id}", client, name_variants(client.name)))
            self._firm_clients[firm_id] = cached
        return cached

    def check_adverse_party(self, case: Case, lawyer: Lawyer) -> None:
        """A party adverse to the client is a client of the lawyer, a colleague or the firm:
        a current client always (Lawyers Law Art 39; Norms Art 51); a former one in the same
        (or an unrecorded) matter within a year, unless the case holds written consent naming
        the lawyer (Norms Art 52)."""
        roles = _ADVERSE_TO[case.side]
        records = self.firm_clients(lawyer.firm_id)
        if not records:
            return
        today = self.local_day(self.problem.as_of)
        cutoff = today - timedelta(days=FORMER_CLIENT_DAYS)
        consented = any(w.lawyer_id == lawyer.id for w in case.conflict_waivers)
        for party, keys in self.party_keys(case):
            codefendant = case.side is Side.DEFENDANT and party.role is PartyRole.CO_DEFENDANT
            if party.role not in roles and not codefendant:
                continue
            for who, client, client_keys in records:
                if party.id is not None and party.id == client.party_id:
                    how = f"party id {party.id}"
                elif not client_keys.isdisjoint(keys):
                    how = "name"
                else:
                    continue
                label = f"{party.role.value} party {party.name!r} is a"
                current = client.ended_on is None or client.ended_on > today
                if codefendant:
                    # One defender may not defend two co-defendants of one case (SPC Art 43);
                    # with the one-firm rule, nor two lawyers of one firm.
                    if current and (
                        who == f"lawyer {lawyer.id}" or self.policy.codefendants_same_firm_forbidden
                    ):
                        self.add(
                            CODEFENDANT_CLIENT,
                            case.id,
                            lawyer.id,
                            f"{label} client of the {who}, whom the case's client is tried "
                            f"with (matched by {how})",
                        )
                elif current:
                    self.add(
                        ADVERSE_PARTY,
                        case.id,
                        lawyer.id,
                        f"{label} client of the {who} (matched by {how})",
                    )
                elif (
                    client.ended_on is not None
                    and client.ended_on >= cutoff
                    and (
                        client.matter_id is None
                        or case.matter_id is None
                        or client.matter_id == case.matter_id
                    )
                    and not consented
                ):
                    self.add(
                        FORMER_CLIENT,
                        case.id,
                        lawyer.id,
                        f"{label} former client of the {who} until {client.ended_on} "
                        f"(matched by {how}) and no written consent names the lawyer",
                    )

    def check_relative(self, case: Case, lawyer: Lawyer) -> None:
        """A declared close relative of the lawyer is a party (Lawyers Law Art 39)."""
        relatives = self._relative_keys.get(lawyer.id)
        if relatives is None:
            relatives = name_keys(lawyer.relatives)
            self._relative_keys[lawyer.id] = relatives
        if not relatives:
            return
        for party, keys in self.party_keys(case):
            if keys & relatives:
                self.add(
                    RELATIVE,
                    case.id,
                    lawyer.id,
                    f"party {party.name!r} is a declared relative of the lawyer",
                )

    def firm_relatives(self, firm_id: str) -> list[tuple[str, NameKey]]:
        """(lawyer id, name key) of every declared relative of the firm's lawyers."""
        cached = self._firm_relatives.get(firm_id)
        if cached is None:
            cached = [
                (other.id, key)
                for other in self.problem.lawyers
                if other.firm_id == firm_id
                for key in name_keys(other.relatives)
            ]
            self._firm_relatives[firm_id] = cached
        return cached

    def check_colleague_relative(self, case: Case, lawyer: Lawyer) -> None:
        """A declared close relative of a colleague at the lawyer's firm is a party adverse to
        the client, and no written consent on the case names the lawyer (Conduct Norms
        Art 52)."""
        if any(w.lawyer_id == lawyer.id for w in case.conflict_waivers):
            return
        colleagues = [
            (who, key) for who, key in self.firm_relatives(lawyer.firm_id) if who != lawyer.id
        ]
        if not colleagues:
            return
        roles = _ADVERSE_TO[case.side]
        for party, keys in self.party_keys(case):
            if party.role not in roles:
                continue
            for who, key in colleagues:
                if key in keys:
                    self.add(
                        COLLEAGUE_RELATIVE,
                        case.id,
                        lawyer.id,
                        f"{party.role.value} party {party.name!r} is a declared relative of "
                        f"colleague {who} and no written consent names the lawyer",
                    )

    # -- per lawyer --------------------------------------------------------------------------

    def assigned_by_lawyer(self) -> dict[str, list[Case]]:
        by_lawyer: dict[str, list[Case]] = defaultdict(list)
        for a in self.plan.assignments:
            case = self.cases.get(a.case_id)
            if case is not None and a.lawyer_id in self.lawyers:
                by_lawyer[a.lawyer_id].append(case)
        return by_lawyer

    def check_capacity(self) -> None:
        """Workload hours and open cases within each lawyer's capacity (RAND 2023 weighting)."""
        for lawyer_id, cases in self.assigned_by_lawyer().items():
            lawyer = self.lawyers[lawyer_id]
            hours = lawyer.current_load_hours + sum(self.case_hours(c) or 0.0 for c in cases)
            if hours > lawyer.capacity_hours + FLOAT_TOL:
                self.add(
                    CAPACITY_HOURS,
                    None,
                    lawyer_id,
                    f"load {hours:g} h exceeds capacity {lawyer.capacity_hours:g} h",
                )
            count = lawyer.current_open_cases + len(cases)
            if count > lawyer.max_open_cases:
                self.add(
                    CAPACITY_CASES,
                    None,
                    lawyer_id,
                    f"{count} open cases exceed the maximum {lawyer.max_open_cases}",
                )

    # -- rules over groups of cases ----------------------------------------------------------

    def check_co_defendants_and_links(self) -> None:
        """Co-defendants of one matter and linked cases never share a lawyer (SPC 2021 Art 43);
        by policy switch they never share a firm either."""
        same_firm_forbidden = self.policy.codefendants_same_firm_forbidden
        pairs: dict[tuple[str, str], str] = {}
        by_matter: dict[str, list[str]] = defaultdict(list)
        for case_id in self.assigned:
            case = self.cases[case_id]
            if case.matter_id is not None and case.side == Side.DEFENDANT:
                by_matter[case.matter_id].append(case_id)
        for members in by_matter.values():
            for i, first in enumerate(members):
                for second in members[i + 1 :]:
                    pairs.setdefault(_pair(first, second), CO_DEFENDANTS)
        for case_id in self.assigned:
            for linked in self.cases[case_id].linked_case_ids:
                if linked in self.assigned and linked != case_id:
                    pairs.setdefault(_pair(case_id, linked), LINKED_CASES)
        for (first, second), rule in pairs.items():
            lawyer_a = self.assigned[first].lawyer_id
            lawyer_b = self.assigned[second].lawyer_id
            what = "co-defendant" if rule == CO_DEFENDANTS else "linked"
            if lawyer_a == lawyer_b:
                self.add(rule, second, lawyer_b, f"same lawyer as {what} case {first}")
            elif same_firm_forbidden and self.firm_id(lawyer_a) == self.firm_id(lawyer_b):
                self.add(
                    CO_DEFENDANT_FIRM,
                    second,
                    lawyer_b,
                    f"same firm {self.firm_id(lawyer_b)} as {what} case {first} "
                    f"(lawyer {lawyer_a})",
                )

    def check_opposing_sides(self) -> None:
        """One firm never acts for opposing sides of one matter (Conduct Norms Art 51)."""
        by_matter_firm: dict[tuple[str, str], dict[Side, list[str]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for case_id, a in self.assigned.items():
            case = self.cases[case_id]
            if case.matter_id is not None:
                by_matter_firm[(case.matter_id, self.firm_id(a.lawyer_id))][case.side].append(
                    case_id
                )
        for (matter, firm), sides in by_matter_firm.items():
            for side_a, side_b in _OPPOSING_SIDES:
                for case_a in sides.get(side_a, []):
                    for case_b in sides.get(side_b, []):
                        self.add(
                            OPPOSING_SIDES_FIRM,
                            case_b,
                            self.assigned[case_b].lawyer_id,
                            f"firm {firm} acts for the {side_b.value} here and for the "
                            f"{side_a.value} in case {case_a} of matter {matter}",
                        )

    # -- pinned and started ------------------------------------------------------------------

    def check_pinned_and_started(self) -> None:
        """Pinned or started cases keep their current lawyer unless the policy allows moving."""
        for case in self.problem.cases:
            current = case.current_assignment
            if current is None:
                continue
            checks = []
            if current.pinned and not self.policy.allow_moving_pinned:
                checks.append(PINNED)
            if current.started and not self.policy.allow_moving_started:
                checks.append(STARTED)
            if not checks:
                continue
            a = self.assigned.get(case.id)
            if a is not None and a.lawyer_id == current.lawyer_id:
                continue
            if a is None:
                detail = f"left unassigned; it must stay with {current.lawyer_id}"
            else:
                detail = f"moved from {current.lawyer_id} to {a.lawyer_id}"
            for rule in checks:
                self.add(rule, case.id, a.lawyer_id if a is not None else None, detail)

    # -- plan content ------------------------------------------------------------------------

    def expected_subsidy(self, case: Case, lawyer: Lawyer) -> float | None:
        case_type = self.case_type(case)
        if case_type is None:
            return None
        base = case_type.subsidy_cny_by_stage.get(case.stage)
        mult = self.catalogue.subsidy_class_multiplier.get(lawyer.subsidy_class)
        if base is None or mult is None:
            return None
        return base * mult

    def check_plan_content(self) -> None:
        """Each assignment's figures are the problem's; unassigned reasons are consistent."""
        for a in self.plan.assignments:
            if a.cost_points != sum(a.terms.values()):
                self.add(
                    COST_TERMS,
                    a.case_id,
                    a.lawyer_id,
                    f"cost_points {a.cost_points} != sum of terms {sum(a.terms.values())}",
                )
            case = self.cases.get(a.case_id)
            lawyer = self.lawyers.get(a.lawyer_id)
            if case is None or lawyer is None:
                continue
            hours = self.case_hours(case)
            if hours is not None and not _close(a.workload_hours, hours):
                self.add(
                    WORKLOAD_HOURS,
                    case.id,
                    lawyer.id,
                    f"workload_hours {a.workload_hours:g} != case hours {hours:g}",
                )
            km = great_circle_km(lawyer.location, case.location)
            if not abs(a.travel_km - km) <= TRAVEL_KM_TOL + 1e-9:
                self.add(
                    TRAVEL_KM,
                    case.id,
                    lawyer.id,
                    f"travel_km {a.travel_km:g} != great-circle distance {km:.4f}",
                )
            subsidy = self.expected_subsidy(case, lawyer)
            if subsidy is not None and not _close(a.subsidy_cny, subsidy):
                self.add(
                    SUBSIDY,
                    case.id,
                    lawyer.id,
                    f"subsidy_cny {a.subsidy_cny:g} != catalogue subsidy {subsidy:g}",
                )
            current = case.current_assignment
            moved_from = (
                current.lawyer_id
                if current is not None and current.lawyer_id != lawyer.id
                else None
            )
            if a.moved_from != moved_from:
                self.add(
                    MOVED_FROM,
                    case.id,
                    lawyer.id,
                    f"moved_from is {a.moved_from!r}, expected {moved_from!r}",
                )
        for u in self.plan.unassigned:
            if u.reason == UnassignedReason.NO_ELIGIBLE_LAWYER and u.eligible_lawyers != 0:
                self.add(
                    UNASSIGNED_REASON,
                    u.case_id,
                    None,
                    f"reason no_eligible_lawyer but eligible_lawyers = {u.eligible_lawyers}",
                )

    # -- KPIs --------------------------------------------------------------------------------

    def recomputed_kpis(self) -> dict[str, Any]:
        """The KPIs of the plan, derived from the problem and the plan's assignments."""
        problem, plan = self.problem, self.plan
        assigned_ids = {a.case_id for a in plan.assignments if a.case_id in self.cases}
        no_eligible = {
            u.case_id
            for u in plan.unassigned
            if u.reason == UnassignedReason.NO_ELIGIBLE_LAWYER
            and u.case_id in self.cases
            and u.case_id not in assigned_ids
        }
        n_cases = len(problem.cases)
        n_assigned = sum(1 for c in problem.cases if c.id in assigned_ids)
        n_eligible = sum(1 for c in problem.cases if c.id not in no_eligible)

        groups: dict[str, list[int]] = {}
        for case in problem.cases:
            for group in case.priority_groups or [NO_PRIORITY_GROUP]:
                tally = groups.setdefault(group, [0, 0])
                tally[0] += 1
                tally[1] += case.id in assigned_ids
        by_group = {
            g: GroupShare(cases=n, assigned=k, share=k / n if n else 0.0)
            for g, (n, k) in groups.items()
        }

        deadline_risk = sum(
            1
            for case in problem.cases
            if case.id not in assigned_ids
            and case.assign_by - problem.as_of <= DEADLINE_RISK_WINDOW
        )

        by_lawyer = self.assigned_by_lawyer()
        utilisation: list[float] = []
        for lawyer in problem.lawyers:
            cases = by_lawyer.get(lawyer.id, [])
            if lawyer.capacity_hours <= 0 or not (lawyer.accepting_new_cases or cases):
                continue
            hours = lawyer.current_load_hours + sum(self.case_hours(c) or 0.0 for c in cases)
            utilisation.append(hours / lawyer.capacity_hours)

        travel = [a.travel_km for a in plan.assignments]
        deficits = [
            max(
                0,
                lw.yearly_quota_cases - lw.cases_this_year - len(by_lawyer.get(lw.id, [])),
            )
            for lw in problem.lawyers
        ]
        moves = 0
        for a in plan.assignments:
            moved_case = self.cases.get(a.case_id)
            current = moved_case.current_assignment if moved_case is not None else None
            if current is not None and current.lawyer_id != a.lawyer_id:
                moves += 1

        return {
            "cases": n_cases,
            "assigned": n_assigned,
            "assigned_share": n_assigned / n_cases if n_cases else 0.0,
            "assigned_share_of_eligible": n_assigned / n_eligible if n_eligible else 1.0,
            "by_priority_group": by_group,
            "deadline_risk": deadline_risk,
            "utilisation_mean": float(np.mean(utilisation)) if utilisation else 0.0,
            "utilisation_p95": float(np.percentile(utilisation, 95)) if utilisation else 0.0,
            "utilisation_max": max(utilisation) if utilisation else 0.0,
            "utilisation_gini": gini(utilisation),
            "travel_km_total": sum(travel),
            "travel_km_mean": sum(travel) / len(travel) if travel else 0.0,
            "subsidy_cny_total": sum(a.subsidy_cny for a in plan.assignments),
            "quota_deficit_cases": sum(deficits),
            "lawyers_below_quota": sum(1 for d in deficits if d > 0),
            "moves": moves,
        }

    def check_kpis(self) -> None:
        """Every KPI equals its recomputation (DESIGN.md principle 3: measured, not claimed)."""
        expected = self.recomputed_kpis()
        reported = self.plan.kpis
        for name, want in expected.items():
            got = getattr(reported, name)
            if name == "by_priority_group":
                self.compare_groups(got, want)
            elif isinstance(want, int):
                if got != want:
                    self.add(KPIS, None, None, f"kpis.{name} is {got}, recomputed {want}")
            elif not _close(float(got), float(want)):
                self.add(KPIS, None, None, f"kpis.{name} is {got!r}, recomputed {want!r}")

    def compare_groups(self, got: dict[str, GroupShare], want: dict[str, GroupShare]) -> None:
        for group in sorted(set(got) | set(want)):
            g, w = got.get(group), want.get(group)
            if g is None or w is None:
                where = "missing from the plan" if g is None else "not a group of any case"
                self.add(KPIS, None, None, f"kpis.by_priority_group[{group}] {where}")
            elif g.cases != w.cases or g.assigned != w.assigned or not _close(g.share, w.share):
                self.add(
                    KPIS,
                    None,
                    None,
                    f"kpis.by_priority_group[{group}] is {g.model_dump()}, "
                    f"recomputed {w.model_dump()}",
                )

    # -- objective and bound -----------------------------------------------------------------

    def hour_grid(self, hours: list[Fraction]) -> int:
        """The grid the documented objective counts hours on: the coarsest of tenths,
        hundredths and thousandths every value lies on, else thousandths."""
        for grid in (10, 100, 1000):
            if all((h * grid).denominator == 1 for h in hours):
                return grid
        return 1000

    def recomputed_utilisation_points(self) -> int | None:
        """The utilisation bands' points of the plan: per lawyer, each started hour of load
        (current load plus the plan's cases) above each band's share of capacity, counted on
        the problem's hour grid (a case's hours and a load rounded up to it, a band's
        threshold down), as the objective is documented.  None when a case's hours are
        unknown (reported elsewhere)."""
        problem = self.problem
        by_lawyer = self.assigned_by_lawyer()
        case_hours: dict[str, Fraction] = {}
        for case in problem.cases:
            hours = self.case_hours(case)
            if hours is None:
                return None
            case_hours[case.id] = Fraction(str(hours))
        capacity = {lw.id: Fraction(str(lw.capacity_hours)) for lw in problem.lawyers}
        current = {lw.id: Fraction(str(lw.current_load_hours)) for lw in problem.lawyers}
        grid = self.hour_grid([*capacity.values(), *current.values(), *case_hours.values()])
        total = 0
        for lawyer in problem.lawyers:
            load = math.ceil(current[lawyer.id] * grid) + sum(
                math.ceil(case_hours[c.id] * grid) for c in by_lawyer.get(lawyer.id, [])
            )
            for band in self.policy.weights.utilisation_bands:
                threshold = math.floor(capacity[lawyer.id] * Fraction(str(band.above_share)) * grid)
                if load > threshold:
                    total += band.points_per_hour * math.ceil((load - threshold) / grid)
        return total

    def recomputed_quota_points(self) -> int:
        """Each case a lawyer stays short of the yearly quota (after this year's cases and the
        plan's) costs the policy's quota deficit points."""
        by_lawyer = self.assigned_by_lawyer()
        short = sum(
            max(0, lw.yearly_quota_cases - lw.cases_this_year - len(by_lawyer.get(lw.id, [])))
            for lw in self.problem.lawyers
        )
        return int(self.policy.weights.quota_deficit_points * short)

    def check_objective(self) -> None:
        """Objective parts add up; the bound never exceeds the objective and proves optimality."""
        obj, solver = self.plan.objective, self.plan.solver
        edge = sum(a.cost_points for a in self.plan.assignments)
        if obj.edge_points != edge:
            self.add(OBJECTIVE, None, None, f"edge_points {obj.edge_points} != sum of costs {edge}")
        penalties = sum(u.penalty_points for u in self.plan.unassigned)
        if obj.unassigned_points != penalties:
            self.add(
                OBJECTIVE,
                None,
                None,
                f"unassigned_points {obj.unassigned_points} != sum of penalties {penalties}",
            )
        load = self.recomputed_utilisation_points()
        if load is not None and obj.utilisation_points != load:
            self.add(
                OBJECTIVE,
                None,
                None,
                f"utilisation_points {obj.utilisation_points} != recomputed {load} (each "
                "started hour above a band's share of capacity)",
            )
        quota = self.recomputed_quota_points()
        if obj.quota_points != quota:
            self.add(
                OBJECTIVE,
                None,
                None,
                f"quota_points {obj.quota_points} != recomputed {quota} (cases short of the "
                "yearly quotas)",
            )
        total = obj.edge_points + obj.unassigned_points + obj.utilisation_points + obj.quota_points
        if solver.objective_points != total:
            self.add(
                OBJECTIVE,
                None,
                None,
                f"solver objective_points {solver.objective_points} != sum of parts {total}",
            )
        objective = solver.objective_points
        tol = FLOAT_TOL * max(1.0, abs(objective))
        bound = solver.best_bound_points
        if not bound <= objective + tol:
            self.add(BOUND, None, None, f"best bound {bound!r} exceeds the objective {objective}")
        if solver.status == SolveStatus.OPTIMAL and not bound >= objective - tol:
            self.add(
                BOUND,
                None,
                None,
                f"status optimal but best bound {bound!r} is below the objective {objective}",
            )
        # The gap leaves out what every plan pays alike: the penalties of the cases no lawyer
        # may take.
        constant = sum(u.penalty_points for u in self.plan.unassigned if u.eligible_lawyers == 0)
        gap = (
            max(0.0, (objective - bound) / max(1.0, abs(objective - constant)))
            if math.isfinite(bound)
            else math.inf
        )
        if not math.isclose(solver.gap, gap, rel_tol=1e-9, abs_tol=1e-12):
            self.add(
                BOUND,
                None,
                None,
                f"gap {solver.gap!r} is not (objective - bound) / (objective - {constant}) = "
                f"{gap!r}",
            )


def verify_plan(problem: Problem, plan: Plan) -> VerificationReport:
    """Re-check every hard rule, per-lawyer sum, KPI and objective figure of ``plan``.

    Never raises for a bad plan: the report lists every violation found and the checks run.
    """
    return _Verifier(problem, plan).run()


def assert_valid(problem: Problem, plan: Plan) -> Verification:
    """Verify ``plan``; raise :class:`PlanViolation` listing every violation if any rule fails."""
    report = verify_plan(problem, plan)
    if not report.passed:
        raise PlanViolation(report.violations)
    return report.to_verification()
