"""Synthetic open caseload of one county: case types, stages, deadlines, parties and matters.

Rates are project assumptions shaped by DOMAIN.md: criminal ~55%, civil ~40%, advice ~5% of
cases; deadlines 3 days after receipt (Legal Aid Law Arts 36, 43); the priority groups of
Arts 31-32, 42 and 70; co-defendants, victims and both sides of a civil dispute sharing a matter
so that the conflict rules of the Lawyer Practice Conduct Norms (Art 51) have work to do.

Cases are drafts here (plain mutable records); ``scenarios.generator`` links them to lawyers,
adds conflicts and turns them into ``assigner.domain.Case`` models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

import numpy as np

from assigner.domain import Catalogue, PartyRole, Side
from scenarios.draws import Draws, WeightedKeys
from scenarios.geography import SEAT_SPREAD_KM, TOWNSHIP_SPREAD_KM, County, offset_km
from scenarios.names import NameMaker
from scenarios.tiers import CaseMixProfile

CATEGORY_SHARES = {"criminal": 0.55, "civil": 0.40, "advice": 0.05}
VICTIM_REP_SHARE_OF_CRIMINAL = 0.08
CO_DEFENDANT_SHARE_OF_DEFENCE = 0.10
GROUP_SIZES = (2, 3, 4)
GROUP_SIZE_P = (0.60, 0.28, 0.12)
LINKED_SHARE_OF_DEFENCE = 0.02
BOTH_SIDES_SHARE_OF_CIVIL = 0.04
BOTH_SIDES_TYPES = ("maintenance", "injury_claim")
COMPLEX_CASE_SHARE = 0.02
"""Cases whose hours the intake officer raised above the catalogue figure (complex facts)."""

# Defence case types by profile.  "cn": a Chinese county's aided criminal cases (dangerous
# driving and low felonies common, a few capital cases); "us": a US public-defence caseload,
# lighter on average (misdemeanours and probation violations dominate).  Project assumption.
DEFENCE_WEIGHTS: dict[CaseMixProfile, dict[str, float]] = {
    "cn": {
        "felony_life": 0.010,
        "felony_murder": 0.010,
        "death_sentence_review": 0.003,
        "felony_sex": 0.030,
        "felony_high": 0.070,
        "felony_mid": 0.160,
        "felony_low": 0.220,
        "dui_high": 0.060,
        "dui_low": 0.090,
        "misdemeanour_high": 0.130,
        "misdemeanour_low": 0.137,
        "probation_violation": 0.080,
    },
    "us": {
        "felony_life": 0.004,
        "felony_murder": 0.006,
        "death_sentence_review": 0.001,
        "felony_sex": 0.020,
        "felony_high": 0.050,
        "felony_mid": 0.100,
        "felony_low": 0.160,
        "dui_high": 0.050,
        "dui_low": 0.100,
        "misdemeanour_high": 0.180,
        "misdemeanour_low": 0.219,
        "probation_violation": 0.110,
    },
}
CO_DEFENDANT_WEIGHTS = {
    "felony_murder": 0.05,
    "felony_sex": 0.03,
    "felony_high": 0.25,
    "felony_mid": 0.35,
    "felony_low": 0.25,
    "misdemeanour_high": 0.07,
}
CIVIL_WEIGHTS = {
    "wage_claim": 0.30,
    "work_injury": 0.12,
    "maintenance": 0.18,
    "domestic_violence": 0.08,
    "social_insurance": 0.12,
    "injury_claim": 0.15,
    "administrative": 0.05,
}
CIVIL_LITIGATION_SHARE = {
    "wage_claim": 0.60,  # the rest settles in labour arbitration or mediation
    "work_injury": 0.70,
    "maintenance": 0.75,
    "domestic_violence": 0.85,
    "social_insurance": 0.55,
    "injury_claim": 0.80,
    "administrative": 0.90,
}
CRIMINAL_STAGE_P = {"investigation": 0.35, "prosecution": 0.25, "trial": 0.40}
VICTIM_PROBABILITY = {
    "felony_life": 0.9,
    "felony_murder": 1.0,
    "death_sentence_review": 1.0,
    "felony_sex": 1.0,
    "felony_high": 0.7,
    "felony_mid": 0.6,
    "felony_low": 0.5,
    "dui_high": 0.2,
    "dui_low": 0.0,
    "misdemeanour_high": 0.4,
    "misdemeanour_low": 0.2,
    "probation_violation": 0.0,
}
CAPITAL_TYPES = ("felony_life", "felony_murder", "death_sentence_review")
CAPITAL_FLAG = "possible_life_or_death_sentence"

# Priority group rates per case type ("defence" for every criminal defence type).  Detained
# defendants dominate notified criminal cases; migrant workers dominate wage claims (Art 42).
GROUP_RATES: dict[str, dict[str, float]] = {
    "defence": {
        "detained": 0.60,
        "minor": 0.06,
        "elderly": 0.03,
        "disabled": 0.04,
        "military_family": 0.01,
    },
    "victim_representation": {
        "minor": 0.20,
        "elderly": 0.05,
        "disabled": 0.05,
        "military_family": 0.01,
    },
    "wage_claim": {
        "migrant_wage_claim": 0.85,
        "elderly": 0.03,
        "disabled": 0.02,
        "military_family": 0.01,
    },
    "work_injury": {"migrant_wage_claim": 0.50, "disabled": 0.25, "military_family": 0.01},
    "maintenance": {
        "minor": 0.35,
        "elderly": 0.15,
        "domestic_violence": 0.08,
        "disabled": 0.04,
        "military_family": 0.02,
    },
    "domestic_violence": {
        "domestic_violence": 1.0,
        "minor": 0.10,
        "elderly": 0.08,
        "disabled": 0.05,
        "military_family": 0.01,
    },
    "social_insurance": {"elderly": 0.30, "disabled": 0.25, "military_family": 0.02},
    "injury_claim": {"disabled": 0.12, "elderly": 0.10, "minor": 0.05, "military_family": 0.01},
    "administrative": {"elderly": 0.08, "disabled": 0.05, "military_family": 0.03},
    "advice_documents": {
        "elderly": 0.15,
        "disabled": 0.05,
        "migrant_wage_claim": 0.10,
        "military_family": 0.01,
    },
}
# Share of received ages: fresh (0-48 h), urgent (48-72 h, deadline within a day), overdue.
RECEIVED_AGE_BANDS_H = ((0.0, 48.0, 0.80), (48.0, 72.0, 0.15), (72.0, 120.0, 0.05))
ASSIGN_WITHIN = timedelta(days=3)
"""Legal Aid Law 2021 Arts 36 and 43: assign within 3 days of notice or decision."""
MINORITY_LANGUAGE = "ug"
CLIENT_LANGUAGE_P = {MINORITY_LANGUAGE: 0.015, "en": 0.004}


@dataclass(slots=True)
class PartyDraft:
    id: str
    name: str
    role: PartyRole
    aliases: list[str] = field(default_factory=list)
    organisation: bool = False


@dataclass(slots=True)
class CaseDraft:
    """A case before ids are final: links point at positions in the county's draft list."""

    case_type: str
    area: str
    stage: str
    side: Side
    received_at: datetime
    lat: float
    lon: float
    jurisdiction: str
    client: PartyDraft
    others: list[PartyDraft] = field(default_factory=list)
    matter_key: int | None = None
    priority_groups: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    linked: list[int] = field(default_factory=list)
    workload_hours: float | None = None
    language: str | None = None
    lawyer_gender: str | None = None
    # filled by the generator once lawyers exist
    id: str = ""
    prior_lawyer: int | None = None
    excluded: list[int] = field(default_factory=list)
    complaints: list[int] = field(default_factory=list)
    current_lawyer: int | None = None
    started: bool = False
    pinned: bool = False

    def adverse_ids(self) -> set[str]:
        """Parties on the other side (and co-defendants): a lawyer who acts or acted for one
        of them is in conflict."""
        return {p.id for p in self.others}


@dataclass(frozen=True)
class OrgPool:
    """Organisations that recur across cases and firms' client lists in one county.

    Local employers, insurers and government bureaus are adverse parties in many aided civil
    cases and also clients of local law firms (as employers or as retained counsel), which is
    where most real firm-level conflicts come from.
    """

    companies: tuple[tuple[str, str], ...]
    insurers: tuple[tuple[str, str], ...]
    agencies: tuple[tuple[str, str], ...]


class IdCounter:
    """Sequential ids with a prefix and width ("P000123"); one per kind of record."""

    def __init__(self, prefix: str, width: int) -> None:
        self._prefix = prefix
        self._width = width
        self._next = 1

    def take(self) -> str:
        value = f"{self._prefix}{self._next:0{self._width}d}"
        self._next += 1
        return value


def build_org_pool(
    county: County, n_cases: int, rng: np.random.Generator, names: NameMaker, parties: IdCounter
) -> OrgPool:
    n_companies = max(6, n_cases // 25)
    companies = tuple((parties.take(), names.company(county.name)) for _ in range(n_companies))
    insurers = tuple((parties.take(), names.insurer(county.name)) for _ in range(3))
    agencies: list[tuple[str, str]] = []
    seen: set[str] = set()
    for _ in range(12):
        name = names.agency(county.name)
        if name not in seen:
            seen.add(name)
            agencies.append((parties.take(), name))
    return OrgPool(companies=companies, insurers=insurers, agencies=tuple(agencies))


_CRIMINAL_STAGES = WeightedKeys(CRIMINAL_STAGE_P)
_CO_DEFENDANT_TYPES = WeightedKeys(CO_DEFENDANT_WEIGHTS)
_CIVIL_TYPES = WeightedKeys(CIVIL_WEIGHTS)
_DEFENCE_TYPES = {profile: WeightedKeys(w) for profile, w in DEFENCE_WEIGHTS.items()}
_AGE_BANDS = WeightedKeys({str(i): share for i, (_, _, share) in enumerate(RECEIVED_AGE_BANDS_H)})


def _round_half(x: float) -> float:
    return float(round(x * 2) / 2)


class _CaseloadBuilder:
    """Builds one county's drafts; a class only to share the random stream and counters."""

    def __init__(
        self,
        county: County,
        profile: CaseMixProfile,
        as_of: datetime,
        catalogue: Catalogue,
        rng: np.random.Generator,
        names: NameMaker,
        parties: IdCounter,
        orgs: OrgPool,
    ) -> None:
        self.county = county
        self.profile = profile
        self.as_of = as_of
        self.catalogue = catalogue
        self.rng = rng
        self.draw = Draws(rng)
        self.names = names
        self.parties = parties
        self.orgs = orgs
        places = county.places
        self._place_cum = list(accumulate(p.client_weight for p in places))
        self._matter_keys = 0
        self._name_buffer: list[str] = []

    # -- small helpers -------------------------------------------------------------------
    def _person(self, role: PartyRole) -> PartyDraft:
        if not self._name_buffer:
            self._name_buffer = self.names.people(512)[::-1]
        name = self._name_buffer.pop()
        aliases = [self.names.spelling_variant(name)] if self.draw.below(0.02) else []
        return PartyDraft(id=self.parties.take(), name=name, role=role, aliases=aliases)

    def _org(self, pool: tuple[tuple[str, str], ...], role: PartyRole) -> PartyDraft:
        pid, name = pool[self.draw.integer(len(pool))]
        return PartyDraft(id=pid, name=name, role=role, organisation=True)

    def _new_matter(self) -> int:
        self._matter_keys += 1
        return self._matter_keys

    def _received(self) -> datetime:
        lo_h, hi_h, _ = RECEIVED_AGE_BANDS_H[int(_AGE_BANDS.draw(self.draw))]
        age_min = int(self.draw.uniform(lo_h, hi_h) * 60)
        return self.as_of - timedelta(minutes=age_min)

    def _client_place(self) -> tuple[float, float, str]:
        """A client's home: a village or street up to 3-4 km from a town centre."""
        i = self.draw.index(self._place_cum)
        place = self.county.places[i]
        spread_km = SEAT_SPREAD_KM if i == 0 else TOWNSHIP_SPREAD_KM
        radius_km = spread_km * math.sqrt(self.draw.random())
        angle = self.draw.uniform(0.0, 2 * math.pi)
        lat, lon = offset_km(
            place.lat, place.lon, radius_km * math.cos(angle), radius_km * math.sin(angle)
        )
        return round(lat, 6), round(lon, 6), place.code

    def _groups_for(self, key: str) -> list[str]:
        groups = [g for g, p in GROUP_RATES[key].items() if self.draw.below(p)]
        if "minor" in groups and "elderly" in groups:
            groups.remove("elderly")
        return groups

    def _preferences(self, case: CaseDraft, female_pref_p: float) -> None:
        u = self.draw.random()
        acc = 0.0
        for lang, p in CLIENT_LANGUAGE_P.items():
            acc += p
            if u < acc:
                case.language = lang
                break
        u = self.draw.random()
        if u < female_pref_p:
            case.lawyer_gender = "female"
        elif u < female_pref_p + 0.015:
            case.lawyer_gender = "male"

    # -- criminal ------------------------------------------------------------------------
    def defence_matter(self, case_type: str, size: int) -> list[CaseDraft]:
        """One criminal matter with ``size`` aided defendants (co-defendants when > 1)."""
        draw = self.draw
        stage = _CRIMINAL_STAGES.draw(draw)
        if case_type == "death_sentence_review":
            stage = "trial"
        received = self._received()
        n_victims = 0
        if draw.below(VICTIM_PROBABILITY[case_type]):
            n_victims = 1 if draw.below(0.8) else 2
        victims = [self._person(PartyRole.VICTIM) for _ in range(n_victims)]
        defendants = [self._person(PartyRole.CLIENT) for _ in range(size)]
        matter = self._new_matter() if size > 1 else None
        cases = []
        for k in range(size):
            groups = self._groups_for("defence")
            if stage in ("prosecution", "trial") and draw.below(0.85):
                lat, lon, jur = self.county.court_lat, self.county.court_lon, self.county.seat.code
            elif "detained" in groups:
                lat, lon = self.county.detention_lat, self.county.detention_lon
                jur = self.county.seat.code
            else:
                lat, lon, jur = self._client_place()
            others = [
                PartyDraft(d.id, d.name, PartyRole.CO_DEFENDANT)
                for j, d in enumerate(defendants)
                if j != k
            ]
            others += [PartyDraft(v.id, v.name, PartyRole.VICTIM) for v in victims]
            flags = []
            if case_type in CAPITAL_TYPES:
                flags.append(CAPITAL_FLAG)
            if "disabled" in groups and draw.below(0.5):
                flags.append("blind_deaf_or_mute")
            elif draw.below(0.01):
                flags.append("limited_capacity")
            if stage == "trial" and draw.below(0.002):
                flags.append("trial_in_absentia")
            case = CaseDraft(
                case_type=case_type,
                area=self.catalogue.case_types[case_type].practice_area,
                stage=stage,
                side=Side.DEFENDANT,
                received_at=received,
                lat=lat,
                lon=lon,
                jurisdiction=jur,
                client=defendants[k],
                others=others,
                matter_key=matter,
                priority_groups=groups,
                flags=flags,
            )
            self._preferences(case, 0.03)
            cases.append(case)
        return cases

    def victim_representation(self, defence: list[CaseDraft]) -> CaseDraft:
        """The victim of a defence matter, aided too: same matter, opposite side."""
        first = defence[0]
        victims = [p for p in first.others if p.role is PartyRole.VICTIM]
        victim = victims[self.draw.integer(len(victims))]
        if first.matter_key is None:
            first.matter_key = self._new_matter()
        adverse = [PartyDraft(c.client.id, c.client.name, PartyRole.ADVERSE) for c in defence]
        lat, lon, jur = self._client_place()
        case_type = "victim_representation"
        stage = first.stage if first.stage in ("prosecution", "trial") else "prosecution"
        groups = self._groups_for(case_type)
        case = CaseDraft(
            case_type=case_type,
            area=self.catalogue.case_types[case_type].practice_area,
            stage=stage,
            side=Side.VICTIM,
            received_at=self._received(),
            lat=lat,
            lon=lon,
            jurisdiction=jur,
            client=PartyDraft(victim.id, victim.name, PartyRole.CLIENT),
            others=adverse,
            matter_key=first.matter_key,
            priority_groups=groups,
        )
        female_p = 0.30 if first.case_type == "felony_sex" else 0.05
        self._preferences(case, female_p)
        return case

    # -- civil and advice ----------------------------------------------------------------
    def _civil_adverse(self, case_type: str) -> list[PartyDraft]:
        orgs, adverse = self.orgs, PartyRole.ADVERSE
        u = (self.draw.random(), self.draw.random())
        if case_type in ("wage_claim", "work_injury"):
            if u[0] < 0.35:
                out = [self._org(orgs.companies, adverse)]
            else:
                name = self.names.company(self.county.name)
                out = [PartyDraft(self.parties.take(), name, adverse, organisation=True)]
            if case_type == "wage_claim" and u[1] < 0.3:  # the labour contractor in person
                out.append(self._person(adverse))
            if case_type == "work_injury" and u[1] < 0.3:
                out.append(self._org(orgs.insurers, adverse))
            return out
        if case_type in ("maintenance", "domestic_violence"):
            return [self._person(adverse)]
        if case_type == "injury_claim":
            out = [self._person(adverse)]
            if u[0] < 0.7:
                out.append(self._org(orgs.insurers, adverse))
            return out
        if case_type == "social_insurance":
            if u[0] < 0.7:
                return [self._org(orgs.agencies, adverse)]
            return [self._org(orgs.companies, adverse)]
        if case_type == "administrative":
            if u[1] < 0.2:  # a township government rather than a county bureau
                town = self.county.townships[self.draw.integer(len(self.county.townships))]
                name = f"{town.name} People's Government"
                return [PartyDraft(self.parties.take(), name, adverse, organisation=True)]
            return [self._org(orgs.agencies, adverse)]
        return []

    def civil(self, case_type: str, side: Side = Side.CLAIMANT) -> CaseDraft:
        litigation = self.draw.below(CIVIL_LITIGATION_SHARE[case_type])
        stage = "litigation" if litigation else "non_litigation"
        lat, lon, jur = self._client_place()
        case = CaseDraft(
            case_type=case_type,
            area=self.catalogue.case_types[case_type].practice_area,
            stage=stage,
            side=side,
            received_at=self._received(),
            lat=lat,
            lon=lon,
            jurisdiction=jur,
            client=self._person(PartyRole.CLIENT),
            others=self._civil_adverse(case_type),
            priority_groups=self._groups_for(case_type),
        )
        female_p = {"domestic_violence": 0.25, "maintenance": 0.12}.get(case_type, 0.03)
        self._preferences(case, female_p)
        return case

    def both_sides(self, case_type: str) -> list[CaseDraft]:
        """A civil dispute where both sides qualify for aid (e.g. two poor parents)."""
        claimant = self.civil(case_type, Side.CLAIMANT)
        respondent = self.civil(case_type, Side.RESPONDENT)
        respondent.stage = claimant.stage
        matter = self._new_matter()
        claimant.matter_key = respondent.matter_key = matter
        claimant.others = [
            PartyDraft(respondent.client.id, respondent.client.name, PartyRole.ADVERSE),
            *claimant.others[1:],
        ]
        respondent.others = [
            PartyDraft(claimant.client.id, claimant.client.name, PartyRole.ADVERSE),
            *respondent.others[1:],
        ]
        return [claimant, respondent]

    def advice(self) -> CaseDraft:
        lat, lon, jur = self._client_place()
        case_type = "advice_documents"
        case = CaseDraft(
            case_type=case_type,
            area=self.catalogue.case_types[case_type].practice_area,
            stage="non_litigation",
            side=Side.CLAIMANT,
            received_at=self._received(),
            lat=lat,
            lon=lon,
            jurisdiction=jur,
            client=self._person(PartyRole.CLIENT),
            priority_groups=self._groups_for(case_type),
        )
        self._preferences(case, 0.03)
        return case


def _group_sizes(target_cases: int, rng: np.random.Generator) -> list[int]:
    sizes: list[int] = []
    total = 0
    while total < target_cases:
        size = int(rng.choice(GROUP_SIZES, p=GROUP_SIZE_P))
        size = min(size, target_cases - total)
        if size < 2:
            break
        sizes.append(size)
        total += size
    return sizes


def build_caseload(
    county: County,
    n_cases: int,
    profile: CaseMixProfile,
    as_of: datetime,
    catalogue: Catalogue,
    rng: np.random.Generator,
    names: NameMaker,
    parties: IdCounter,
    orgs: OrgPool,
) -> list[CaseDraft]:
    """Exactly ``n_cases`` drafts for ``county``, in order of receipt (oldest first)."""
    b = _CaseloadBuilder(county, profile, as_of, catalogue, rng, names, parties, orgs)
    n_advice = round(CATEGORY_SHARES["advice"] * n_cases)
    n_criminal = round(CATEGORY_SHARES["criminal"] * n_cases)
    n_victim_rep = round(VICTIM_REP_SHARE_OF_CRIMINAL * n_criminal)
    n_defence = n_criminal - n_victim_rep

    matters: list[list[CaseDraft]] = []
    sizes = _group_sizes(round(CO_DEFENDANT_SHARE_OF_DEFENCE * n_defence), rng)
    for size in sizes:
        matters.append(b.defence_matter(_CO_DEFENDANT_TYPES.draw(b.draw), size))
    defence_types = _DEFENCE_TYPES[profile]
    for _ in range(n_defence - sum(sizes)):
        matters.append(b.defence_matter(defence_types.draw(b.draw), 1))

    with_victims = [m for m in matters if any(p.role is PartyRole.VICTIM for p in m[0].others)]
    n_victim_rep = min(n_victim_rep, len(with_victims))
    chosen = rng.choice(len(with_victims), size=n_victim_rep, replace=False)
    victim_cases = [b.victim_representation(with_victims[int(i)]) for i in sorted(chosen)]

    n_civil = n_cases - n_advice - n_defence - n_victim_rep
    n_pairs = round(BOTH_SIDES_SHARE_OF_CIVIL * n_civil / 2)
    civil: list[CaseDraft] = []
    for _ in range(n_pairs):
        civil += b.both_sides(BOTH_SIDES_TYPES[b.draw.integer(len(BOTH_SIDES_TYPES))])
    for _ in range(n_civil - 2 * n_pairs):
        civil.append(b.civil(_CIVIL_TYPES.draw(b.draw)))
    advice = [b.advice() for _ in range(n_advice)]

    defence = [c for m in matters for c in m]
    cases = defence + victim_cases + civil + advice

    # Defendants of linked cases handled separately (SPC 2021 interpretation Art 43): pairs of
    # single-defendant cases that may never share a defender.
    singles = [i for i, c in enumerate(defence) if c.matter_key is None]
    n_links = min(round(LINKED_SHARE_OF_DEFENCE * len(defence) / 2), len(singles) // 2)
    if n_links:
        picked = rng.choice(singles, size=2 * n_links, replace=False)
        for a, c in zip(picked[0::2], picked[1::2], strict=True):
            cases[int(a)].linked.append(int(c))
            cases[int(c)].linked.append(int(a))

    for case in cases:
        if b.draw.below(COMPLEX_CASE_SHARE):
            base = catalogue.case_types[case.case_type].workload_hours
            case.workload_hours = _round_half(base * b.draw.uniform(1.3, 1.8))

    # Order of receipt; links are remapped to the new positions.
    order = sorted(range(len(cases)), key=lambda i: (cases[i].received_at, i))
    new_pos = {old: new for new, old in enumerate(order)}
    ordered = [cases[i] for i in order]
    for case in ordered:
        case.linked = sorted(new_pos[i] for i in case.linked)
    if len(ordered) != n_cases:  # an invariant of the counts above, not an input error
        raise RuntimeError(f"caseload built {len(ordered)} cases instead of {n_cases}")
    return ordered
