"""Synthetic roster of one county: firms and their providers, sized to the county's caseload.

**Period.** Capacity is workload hours per *year* of legal aid work: 2,080 working hours times
the share of a provider's time that goes to aided cases (practising lawyers 30-60%, staff
lawyers 70-85%, public and alternate defenders 80-90%, grassroots workers 30-50%, volunteers
50-80%).  A year, not a quarter, because catalogue hours are whole-case hours (RAND 2023 states
them against 2,080 h a year) and an open case runs for months: a quarter's 150-300 h would hold
only a handful of cases while counties carry 10-20 open aided cases per provider.

**Calibration.** Practice areas are handed out so that each area's supply follows its demand
(with a random tightness per area), and current loads (20-80% of capacity) are shifted so that
the county's case hours come to ``demand_share_of_free_capacity`` of the free hours of available
providers.  Finally every case type / qualification combination present in the caseload is
covered by at least one or two available, qualified providers with room for its largest case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from assigner.domain import Catalogue, FirmKind, ProviderKind, QualificationRule
from scenarios.caseload import MINORITY_LANGUAGE, CaseDraft, IdCounter, OrgPool
from scenarios.geography import County, offset_km
from scenarios.names import NameMaker
from scenarios.tiers import GRASSROOTS_MAX_TRAVEL_KM

ANNUAL_HOURS = 2080.0
LEGAL_AID_SHARE: dict[ProviderKind, tuple[float, float]] = {
    ProviderKind.PRACTISING_LAWYER: (0.30, 0.60),
    ProviderKind.STAFF_LAWYER: (0.70, 0.85),
    ProviderKind.PUBLIC_DEFENDER: (0.80, 0.90),
    ProviderKind.ALTERNATE_DEFENDER: (0.80, 0.90),
    ProviderKind.GRASSROOTS_WORKER: (0.30, 0.50),
    ProviderKind.VOLUNTEER: (0.50, 0.80),
}
HOURS_PER_OPEN_CASE = (16.0, 24.0)
"""Capacity hours per allowed open case: sets max_open_cases (project assumption)."""
LOAD_SHARE_RANGE = (0.20, 0.80)
"""Current load outside the problem, as a share of capacity."""
YEARLY_QUOTA_CASES = 2
"""Guangdong 2006 regulations: at least 2 aided cases per lawyer per year (DOMAIN.md)."""
SECOND_AREA_SHARE = 0.30
# Share of providers who also take advice cases: (criminal-only lawyers, civil or grassroots).
ADVICE_SIDELINE_SHARE = {False: 0.1, True: 0.5}
LEAVE_SHARE = 0.05
NOT_ACCEPTING_SHARE = 0.02
JUVENILE_SHARE = {"female": 0.26, "male": 0.16}
"""Juvenile certification among criminal lawyers (~20%); juvenile panels lean female (Yulin
keeps at least half women)."""
RELATIVES_SHARE = 0.03
SUBSIDY_CLASS = {
    ProviderKind.GRASSROOTS_WORKER: "grassroots",
    ProviderKind.STAFF_LAWYER: "staff",
    # Public and alternate defenders are salaried offices like a legal aid centre's staff; the
    # per-case subsidy does not go to them in full (project assumption).
    ProviderKind.PUBLIC_DEFENDER: "staff",
    ProviderKind.ALTERNATE_DEFENDER: "staff",
}
CRIMINAL_AREA = "criminal_defence"
ADVICE_AREA = "general_advice"
# Which second area goes with which first one (relative weights; 1 when not listed).
AREA_AFFINITY: dict[str, dict[str, float]] = {
    "criminal_defence": {"criminal_victim": 5.0, "general_advice": 0.5},
    "criminal_victim": {"criminal_defence": 5.0},
    "labour": {"personal_injury": 3.0, "social_welfare": 3.0},
    "family": {"general_advice": 2.0, "social_welfare": 2.0},
    "personal_injury": {"labour": 3.0},
    "social_welfare": {"labour": 2.0, "family": 2.0, "general_advice": 2.0},
    "administrative": {"social_welfare": 2.0, "labour": 1.5},
}


@dataclass(slots=True)
class FirmDraft:
    id: str
    name: str
    kind: FirmKind
    lat: float
    lon: float
    clients: list[tuple[str | None, str]] = field(default_factory=list)


@dataclass(slots=True)
class LawyerDraft:
    id: str
    name: str
    firm: int
    kind: ProviderKind
    gender: str
    lat: float
    lon: float
    career_years: float
    capacity_hours: float
    max_open_cases: int
    rating: float
    areas: dict[str, tuple[int, float]] = field(default_factory=dict)  # area -> (level, years)
    certifications: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["zh"])
    current_load_hours: float = 0.0
    current_open_cases: int = 0
    accepting: bool = True
    leave: list[tuple[date, date]] = field(default_factory=list)
    max_travel_km: float | None = None
    jurisdictions: list[str] | None = None
    yearly_quota_cases: int = 0
    cases_this_year: int = 0
    subsidy_class: str = "standard"
    clients: list[tuple[str | None, str]] = field(default_factory=list)
    relatives: list[str] = field(default_factory=list)

    def available_on(self, day: date) -> bool:
        return self.accepting and not any(s <= day <= e for s, e in self.leave)

    def years_in(self, area: str) -> float:
        entry = self.areas.get(area)
        return entry[1] if entry else 0.0


def largest_remainder(total: int, weights: Sequence[float] | npt.NDArray[np.float64]) -> list[int]:
    """Integers proportional to ``weights`` that add up to ``total`` exactly."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return [0] * len(w)
    quotas = total * w / w.sum()
    counts = np.floor(quotas).astype(int)
    short = total - int(counts.sum())
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[:short]] += 1
    return [int(c) for c in counts]


def rules_for_case(
    catalogue: Catalogue, case_type: str, groups: Sequence[str], flags: Sequence[str]
) -> list[QualificationRule]:
    """Qualification rules that apply to a case (see ``QualificationRule``'s docstring)."""
    ct = catalogue.case_types[case_type]
    out = []
    for name, rule in catalogue.qualification_rules.items():
        triggered = (
            name in ct.qualification_rules
            or (rule.when_flag is not None and rule.when_flag in flags)
            or (rule.when_priority_group is not None and rule.when_priority_group in groups)
        )
        scoped = rule.only_practice_areas is None or ct.practice_area in rule.only_practice_areas
        if triggered and scoped:
            out.append(rule)
    return out


def meets_rule(lawyer: LawyerDraft, rule: QualificationRule) -> bool:
    if rule.certification is not None and rule.certification not in lawyer.certifications:
        return False
    return not (
        rule.practice_area is not None
        and rule.min_years > 0
        and lawyer.years_in(rule.practice_area) < rule.min_years
    )


def _level_for_years(years: float, rng: np.random.Generator) -> int:
    """Practice level 1-5 grows with years in the area, with spread between people."""
    raw = 1 + 4 * (1 - math.exp(-years / 7.0)) + float(rng.normal(0, 0.6))
    return int(min(5, max(1, round(raw))))


def _career_years(kind: ProviderKind, rng: np.random.Generator) -> float:
    if kind is ProviderKind.VOLUNTEER:
        years = float(rng.uniform(0.0, 2.0))  # recent graduates of the volunteer programme
    elif kind is ProviderKind.GRASSROOTS_WORKER:
        years = 2 + float(rng.lognormal(2.0, 0.5))
    else:
        years = 1 + float(rng.lognormal(1.9, 0.65))
    return float(round(min(years, 38.0) * 2) / 2)


class _RosterBuilder:
    def __init__(
        self,
        county: County,
        catalogue: Catalogue,
        as_of: date,
        rng: np.random.Generator,
        names: NameMaker,
        firm_ids: IdCounter,
        lawyer_ids: IdCounter,
        party_ids: IdCounter,
        orgs: OrgPool,
    ) -> None:
        self.county = county
        self.catalogue = catalogue
        self.as_of = as_of
        self.rng = rng
        self.names = names
        self.firm_ids = firm_ids
        self.lawyer_ids = lawyer_ids
        self.party_ids = party_ids
        self.orgs = orgs
        self.firms: list[FirmDraft] = []
        self.lawyers: list[LawyerDraft] = []
        areas_by_kind: dict[ProviderKind, set[str]] = {k: set() for k in ProviderKind}
        for ct in catalogue.case_types.values():
            for kind in ct.allowed_provider_kinds:
                areas_by_kind[kind].add(ct.practice_area)
        # Keep the catalogue's order of areas so draws do not depend on set order.
        self.kind_areas = {
            k: [a for a in catalogue.practice_areas if a in v] for k, v in areas_by_kind.items()
        }

    # -- firms ---------------------------------------------------------------------------
    def _firm(self, name: str, kind: FirmKind, lat: float, lon: float) -> int:
        self.firms.append(FirmDraft(self.firm_ids.take(), name, kind, lat, lon))
        return len(self.firms) - 1

    def _seat_spot(self, max_km: float) -> tuple[float, float]:
        r = max_km * math.sqrt(float(self.rng.random()))
        a = float(self.rng.uniform(0, 2 * math.pi))
        lat, lon = offset_km(
            self.county.seat.lat, self.county.seat.lon, r * math.cos(a), r * math.sin(a)
        )
        return round(lat, 6), round(lon, 6)

    def build_firms(self, counts: dict[ProviderKind, int]) -> dict[ProviderKind, list[int]]:
        """Firms, and for each provider kind the firm index of each of its providers."""
        county, rng = self.county, self.rng
        slots: dict[ProviderKind, list[int]] = {k: [] for k in ProviderKind}
        centre = self._firm(
            f"{county.name} County Legal Aid Centre",
            FirmKind.LEGAL_AID_CENTRE,
            *self._seat_spot(1.0),
        )
        slots[ProviderKind.STAFF_LAWYER] = [centre] * counts[ProviderKind.STAFF_LAWYER]
        slots[ProviderKind.VOLUNTEER] = [centre] * counts[ProviderKind.VOLUNTEER]
        if counts[ProviderKind.PUBLIC_DEFENDER]:
            pd = self._firm(
                f"{county.name} County Public Defender",
                FirmKind.PUBLIC_DEFENDER_OFFICE,
                *self._seat_spot(1.0),
            )
            slots[ProviderKind.PUBLIC_DEFENDER] = [pd] * counts[ProviderKind.PUBLIC_DEFENDER]
        if counts[ProviderKind.ALTERNATE_DEFENDER]:
            alt = self._firm(
                f"{county.name} County Alternate Defender",
                FirmKind.ALTERNATE_DEFENDER_OFFICE,
                *self._seat_spot(1.5),
            )
            slots[ProviderKind.ALTERNATE_DEFENDER] = [alt] * counts[ProviderKind.ALTERNATE_DEFENDER]
        remaining = counts[ProviderKind.PRACTISING_LAWYER]
        used_names: set[str] = set()
        while remaining > 0:
            size = min(remaining, 1 + int(rng.geometric(0.18)), 40)
            name = self.names.law_firm(county.name)
            while name in used_names:
                name = self.names.law_firm(county.name)
            used_names.add(name)
            firm = self._firm(name, FirmKind.LAW_FIRM, *self._seat_spot(2.5))
            slots[ProviderKind.PRACTISING_LAWYER] += [firm] * size
            remaining -= size
        workers = counts[ProviderKind.GRASSROOTS_WORKER]
        if workers:
            towns = county.townships
            n_offices = min(len(towns), math.ceil(workers / 2))
            w = np.array([t.client_weight for t in towns])
            picked = rng.choice(len(towns), size=n_offices, replace=False, p=w / w.sum())
            offices = []
            for t in sorted(int(i) for i in picked):
                town = towns[t]
                offices.append(
                    self._firm(
                        f"{town.name} Legal Service Office",
                        FirmKind.GRASSROOTS_OFFICE,
                        town.lat,
                        town.lon,
                    )
                )
            slots[ProviderKind.GRASSROOTS_WORKER] = [offices[i % n_offices] for i in range(workers)]
        return slots

    # -- providers -----------------------------------------------------------------------
    def build_lawyers(self, slots: dict[ProviderKind, list[int]]) -> None:
        rng = self.rng
        order = [
            ProviderKind.STAFF_LAWYER,
            ProviderKind.PUBLIC_DEFENDER,
            ProviderKind.ALTERNATE_DEFENDER,
            ProviderKind.PRACTISING_LAWYER,
            ProviderKind.GRASSROOTS_WORKER,
            ProviderKind.VOLUNTEER,
        ]
        total = sum(len(v) for v in slots.values())
        people = self.names.people(total)
        k = 0
        for kind in order:
            for firm in slots[kind]:
                female_p = (
                    0.55 if kind in (ProviderKind.STAFF_LAWYER, ProviderKind.VOLUNTEER) else 0.42
                )
                gender = "female" if rng.random() < female_p else "male"
                lo, hi = LEGAL_AID_SHARE[kind]
                capacity = round(ANNUAL_HOURS * float(rng.uniform(lo, hi)))
                max_open = int(
                    min(120, max(6, round(capacity / float(rng.uniform(*HOURS_PER_OPEN_CASE)))))
                )
                career = _career_years(kind, rng)
                firm_draft = self.firms[firm]
                lawyer = LawyerDraft(
                    id=self.lawyer_ids.take(),
                    name=people[k],
                    firm=firm,
                    kind=kind,
                    gender=gender,
                    lat=firm_draft.lat,
                    lon=firm_draft.lon,
                    career_years=career,
                    capacity_hours=float(capacity),
                    max_open_cases=max_open,
                    rating=round(min(5.0, 3.0 + 2.0 * float(rng.beta(2.5, 1.5))), 1),
                    subsidy_class=SUBSIDY_CLASS.get(kind, "standard"),
                )
                u = rng.random(3)
                young = career < 8
                if u[0] < (0.10 if young else 0.03):
                    lawyer.languages.append("en")
                if u[1] < 0.04:
                    lawyer.languages.append(MINORITY_LANGUAGE)
                if kind is ProviderKind.GRASSROOTS_WORKER:
                    top = GRASSROOTS_MAX_TRAVEL_KM
                    lawyer.max_travel_km = float(5 * round(rng.uniform(20, top) / 5))
                elif kind is ProviderKind.PRACTISING_LAWYER and u[2] < 0.15:
                    lawyer.max_travel_km = float(5 * round(rng.uniform(30, 60) / 5))
                if kind in (ProviderKind.PUBLIC_DEFENDER, ProviderKind.ALTERNATE_DEFENDER):
                    lawyer.jurisdictions = self.county.jurisdictions  # a county office
                if kind is ProviderKind.PRACTISING_LAWYER:
                    lawyer.yearly_quota_cases = YEARLY_QUOTA_CASES
                    lawyer.cases_this_year = int(rng.poisson(0.6))
                else:  # two months into the year (as_of in early March)
                    lawyer.cases_this_year = int(rng.poisson(max_open * 0.3))
                self.lawyers.append(lawyer)
                k += 1

    def assign_areas(self, demand_hours: dict[str, float], target_share: float) -> None:
        """Practice areas so that each area's free hours follow its demand.

        Each area's need is its demand over the target share, scaled by a random tightness
        (0.85-1.15) so that some areas come out tighter than others.  Providers pick their
        first area in proportion to the need still uncovered, plus a floor so that every area
        with demand gets some specialists even when salaried offices already cover it.
        """
        rng, areas = self.rng, self.catalogue.practice_areas
        need = {
            a: demand_hours.get(a, 0.0) / target_share * float(rng.uniform(0.85, 1.15))
            for a in areas
        }
        remaining = dict(need)
        fixed = {
            ProviderKind.PUBLIC_DEFENDER: CRIMINAL_AREA,
            ProviderKind.ALTERNATE_DEFENDER: CRIMINAL_AREA,
            ProviderKind.VOLUNTEER: ADVICE_AREA,
        }
        flexible = []
        for i, lw in enumerate(self.lawyers):
            area = fixed.get(lw.kind)
            if area is None:
                flexible.append(i)
                continue
            self._give_area(lw, area, primary=True)
            remaining[area] -= 0.5 * lw.capacity_hours
        for i in rng.permutation(flexible):
            lw = self.lawyers[int(i)]
            allowed = [a for a in self.kind_areas[lw.kind] if a != ADVICE_AREA]
            if lw.kind is ProviderKind.GRASSROOTS_WORKER:
                allowed = [a for a in allowed if a != "administrative"] or allowed
            first = self._draw_area(allowed, remaining, need, {})
            self._give_area(lw, first, primary=True)
            free = 0.5 * lw.capacity_hours
            second_p = 0.5 if lw.kind is ProviderKind.GRASSROOTS_WORKER else SECOND_AREA_SHARE
            if rng.random() < second_p:
                options = [a for a in self.kind_areas[lw.kind] if a != first]
                second = self._draw_area(options, remaining, need, AREA_AFFINITY.get(first, {}))
                self._give_area(lw, second, primary=False)
                remaining[first] -= 0.7 * free
                remaining[second] -= 0.3 * free
            else:
                remaining[first] -= free
        # Advice and document drafting is light work that most civil practitioners and all
        # grassroots workers take on beside their main areas; without it the few volunteers'
        # open-case limits, not hours, would decide how many advice cases get a provider.
        for i in flexible:
            lw = self.lawyers[int(i)]
            civil = CRIMINAL_AREA not in lw.areas
            share = ADVICE_SIDELINE_SHARE[lw.kind is ProviderKind.GRASSROOTS_WORKER or civil]
            if ADVICE_AREA not in lw.areas and rng.random() < share:
                self._give_area(lw, ADVICE_AREA, primary=False)

    def _draw_area(
        self,
        options: list[str],
        remaining: dict[str, float],
        need: dict[str, float],
        affinity: dict[str, float],
    ) -> str:
        weights = np.array(
            [
                affinity.get(a, 1.0) * (max(remaining[a], 0.0) + 0.08 * need[a] + 1e-6)
                for a in options
            ]
        )
        return options[int(self.rng.choice(len(options), p=weights / weights.sum()))]

    def _give_area(self, lw: LawyerDraft, area: str, primary: bool) -> None:
        share = self.rng.uniform(0.6, 1.0) if primary else self.rng.uniform(0.15, 0.6)
        years = float(round(lw.career_years * float(share) * 2) / 2)
        lw.areas[area] = (_level_for_years(years, self.rng), years)
        if area == CRIMINAL_AREA:
            if self.rng.random() < JUVENILE_SHARE[lw.gender]:
                lw.certifications.append("juvenile")
            if years >= 8 and self.rng.random() < 0.1:
                lw.certifications.append("capital")

    def set_availability(self) -> None:
        rng = self.rng
        for lw in self.lawyers:
            u = rng.random(2)
            if u[0] < LEAVE_SHARE:
                start = self.as_of + timedelta(days=int(rng.integers(-25, 21)))
                if lw.gender == "female" and rng.random() < 0.15:
                    days = 98  # maternity leave
                else:
                    days = int(rng.integers(3, 31))
                lw.leave.append((start, start + timedelta(days=days - 1)))
            if u[1] < NOT_ACCEPTING_SHARE:
                lw.accepting = False

    def cover(
        self, cases: Sequence[CaseDraft], case_hours: Sequence[float], min_cover: int
    ) -> None:
        """Every case type and qualification mix present gets ``min_cover`` providers with room.

        A county's roster is built for its caseload: if too few available providers may take
        some case at all (area, kind, qualification rules, free hours for its largest case),
        the generator gives the area, certification or years to a seat-based provider of an
        allowed kind and, if needed, lightens that provider's current load (never below 20%),
        as a legal aid centre would recruit, train or free up someone.
        """
        signatures: dict[tuple[str, tuple[str, ...]], tuple[list[QualificationRule], float]] = {}
        for c, hours in zip(cases, case_hours, strict=True):
            rules = rules_for_case(self.catalogue, c.case_type, c.priority_groups, c.flags)
            key = (c.case_type, tuple(r.name for r in rules))
            most = signatures.get(key, (rules, 0.0))[1]
            signatures[key] = (rules, max(most, hours))
        for (case_type, _), (rules, hours) in sorted(signatures.items()):
            ct = self.catalogue.case_types[case_type]
            kinds = set(ct.allowed_provider_kinds)
            self._cover_one(kinds, ct.practice_area, rules, hours, min_cover)

    def _cover_one(
        self,
        kinds: set[ProviderKind],
        area: str,
        rules: list[QualificationRule],
        hours: float,
        min_cover: int,
    ) -> None:
        def eligible(lw: LawyerDraft) -> bool:
            return (
                lw.kind in kinds
                and lw.available_on(self.as_of)
                and lw.max_travel_km is None
                and lw.kind is not ProviderKind.GRASSROOTS_WORKER
            )

        def qualified(lw: LawyerDraft) -> bool:
            return area in lw.areas and all(meets_rule(lw, r) for r in rules)

        def free_hours(lw: LawyerDraft) -> float:
            return lw.capacity_hours - lw.current_load_hours

        have = sum(
            1 for lw in self.lawyers if eligible(lw) and qualified(lw) and free_hours(lw) >= hours
        )
        if have >= min_cover:
            return
        lo_share = LOAD_SHARE_RANGE[0]
        pool = [
            lw
            for lw in self.lawyers
            if eligible(lw)
            and not (qualified(lw) and free_hours(lw) >= hours)
            and (area in lw.areas or len(lw.areas) < 3)
            and lw.capacity_hours * (1 - lo_share) >= hours
        ]
        # Prefer providers already in the area and qualified, then the most experienced.
        pool.sort(key=lambda lw: (area not in lw.areas, not qualified(lw), -lw.career_years, lw.id))
        for lw in pool[: min_cover - have]:
            if area not in lw.areas:
                self._give_area(lw, area, primary=False)
            for rule in rules:
                if rule.certification and rule.certification not in lw.certifications:
                    lw.certifications.append(rule.certification)
                if rule.practice_area and lw.years_in(rule.practice_area) < rule.min_years:
                    years = rule.min_years + float(round(self.rng.uniform(0, 4) * 2) / 2)
                    lw.career_years = max(lw.career_years, years)
                    lw.areas[rule.practice_area] = (_level_for_years(years, self.rng), years)
            if free_hours(lw) < hours:
                share = max(lo_share, 1 - 1.1 * hours / lw.capacity_hours)
                self._set_load(lw, share, 1.0)

    def calibrate_loads(self, demand_hours: float, target_share: float) -> None:
        """Shift current loads (kept within 20-80%) so demand / free hours ~ target_share."""
        rng = self.rng
        lo, hi = LOAD_SHARE_RANGE
        base = rng.uniform(lo, hi, len(self.lawyers))
        cap = np.array([lw.capacity_hours for lw in self.lawyers])
        avail = np.array([lw.available_on(self.as_of) for lw in self.lawyers])
        wanted_free = demand_hours / target_share

        def free(shift: float) -> float:
            return float((cap * (1 - np.clip(base + shift, lo, hi)) * avail).sum())

        a, b = -(hi - lo), hi - lo
        for _ in range(50):  # free() falls as the shift grows
            mid = (a + b) / 2
            if free(mid) > wanted_free:
                a = mid
            else:
                b = mid
        shares = np.clip(base + (a + b) / 2, lo, hi)
        jitter = rng.uniform(0.85, 1.15, len(self.lawyers))
        for lw, share, j in zip(self.lawyers, shares, jitter, strict=True):
            self._set_load(lw, float(share), float(j))

    @staticmethod
    def _set_load(lw: LawyerDraft, share: float, open_cases_jitter: float) -> None:
        """Current load as a share of capacity; open cases follow it, give or take."""
        lw.current_load_hours = float(round(lw.capacity_hours * share * 2) / 2)
        lw.current_open_cases = int(
            min(lw.max_open_cases, round(lw.max_open_cases * share * open_cases_jitter))
        )

    def histories(self) -> None:
        """Past clients of providers and firms, and declared relatives (conflict checks)."""
        rng, orgs = self.rng, self.orgs
        for lw in self.lawyers:
            n = int(rng.integers(2, 7))
            lw.clients = [(self.party_ids.take(), name) for name in self.names.people(n)]
            if rng.random() < RELATIVES_SHARE:
                lw.relatives = [
                    self.names.relative_of(lw.name) for _ in range(int(rng.integers(1, 3)))
                ]
        for firm in self.firms:
            persons = int(rng.integers(1, 4))
            firm.clients = [(self.party_ids.take(), name) for name in self.names.people(persons)]
            if firm.kind is FirmKind.LAW_FIRM:
                # Local firms act for local employers and serve as counsel to county bureaus.
                n_comp = int(rng.integers(1, 5))
                for j in rng.choice(
                    len(orgs.companies), size=min(n_comp, len(orgs.companies)), replace=False
                ):
                    firm.clients.append(orgs.companies[int(j)])
                if rng.random() < 0.3:
                    firm.clients.append(orgs.agencies[int(rng.integers(0, len(orgs.agencies)))])
                if rng.random() < 0.2:
                    firm.clients.append(orgs.insurers[int(rng.integers(0, len(orgs.insurers)))])


def build_roster(
    county: County,
    n_lawyers: int,
    kind_shares: dict[ProviderKind, float],
    cases: Sequence[CaseDraft],
    case_hours: Sequence[float],
    target_share: float,
    catalogue: Catalogue,
    as_of: date,
    rng: np.random.Generator,
    names: NameMaker,
    ids: tuple[IdCounter, IdCounter, IdCounter],
    orgs: OrgPool,
) -> tuple[list[FirmDraft], list[LawyerDraft]]:
    """Firms and ``n_lawyers`` providers for ``county``, sized to its ``cases``.

    ``ids`` are the firm, lawyer and party counters, shared across counties.
    """
    firm_ids, lawyer_ids, party_ids = ids
    b = _RosterBuilder(county, catalogue, as_of, rng, names, firm_ids, lawyer_ids, party_ids, orgs)
    kinds = list(kind_shares)
    counts = dict(
        zip(kinds, largest_remainder(n_lawyers, [kind_shares[k] for k in kinds]), strict=True)
    )
    for k in ProviderKind:
        counts.setdefault(k, 0)
    b.build_lawyers(b.build_firms(counts))
    demand: dict[str, float] = {}
    for c, h in zip(cases, case_hours, strict=True):
        demand[c.area] = demand.get(c.area, 0.0) + h
    b.assign_areas(demand, target_share)
    b.set_availability()
    b.calibrate_loads(sum(case_hours), target_share)
    b.cover(cases, case_hours, min_cover=1 if n_lawyers < 20 else 2)
    b.histories()
    return b.firms, b.lawyers
