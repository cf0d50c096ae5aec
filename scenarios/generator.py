"""Synthetic county generator: a realistic, reproducible ``assigner.domain.Problem`` per tier.

The pipeline per county: geography (seat and townships) -> caseload (cases, parties, matters)
-> roster sized to that caseload (firms, providers, areas, loads, histories) -> links between
cases and providers (prior lawyers, complaints, exclusions, true conflicts, current
assignments) -> domain models.  A province runs the same pipeline per county, each county on
its own random stream spawned from the seed, with counties far enough apart that travel limits
split the problem into independent regions.

Determinism: every draw comes from ``numpy.random.default_rng(seed)`` (and streams spawned from
it), ``as_of`` is fixed, and nothing reads the clock, so one seed gives byte-identical JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assigner.domain import (
    Case,
    Catalogue,
    ClientPreferences,
    CurrentAssignment,
    Firm,
    KnownClient,
    Lawyer,
    Leave,
    Location,
    Party,
    PartyRole,
    Policy,
    PracticeArea,
    Problem,
    QualificationRule,
    Side,
    default_catalogue,
    validate_problem,
)
from assigner.domain.arrays import build_arrays, haversine_km
from assigner.eligibility import build_candidates
from assigner.eligibility.conflicts import adverse_roles
from scenarios.caseload import (
    ASSIGN_WITHIN,
    CaseDraft,
    IdCounter,
    OrgPool,
    PartyDraft,
    build_caseload,
    build_org_pool,
)
from scenarios.draws import Draws
from scenarios.geography import build_county, county_centres
from scenarios.names import NameMaker
from scenarios.roster import (
    FirmDraft,
    LawyerDraft,
    build_roster,
    largest_remainder,
    meets_rule,
    rules_for_case,
)
from scenarios.tiers import TierSpec, get_tier

AS_OF = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
"""The fixed moment every generated problem is planned for (a Monday morning, Beijing time)."""

CURRENT_ASSIGNMENT_SHARE = 0.10
STARTED_SHARE = 0.40
"""Of currently assigned cases; a started case's hours are the remaining hours (30-90%)."""
PINNED_SHARE = 0.10
PRIOR_LAWYER_SHARE = 0.05
COMPLAINT_SHARE = 0.005
EXCLUSION_SHARE = 0.005
TRUE_CONFLICT_SHARE = 0.03
"""Cases where a qualified lawyer (or that lawyer's firm) acted for a party on the other side."""
FIRM_LEVEL_CONFLICT_SHARE = 0.3
MIN_CANDIDATES_KEPT = 2
"""Generated histories and conflicts never leave a case with fewer open providers than this
(unless the case had fewer to begin with): realistic friction, not unassignable cases."""
SPELLING_VARIANT_SHARE = 0.3
RELATIVE_APPEARS_SHARE = 0.5
COUNTY_SIZE_SIGMA = 0.25
"""Spread of county sizes in a province (lognormal sigma); case counts vary a little more."""

BoolArray = npt.NDArray[np.bool_]


def generate_county(tier: str | TierSpec, seed: int) -> Problem:
    """A validated Problem for ``tier`` (a registered name or a spec), reproducible per seed.

    Raises ``scenarios.tiers.UnknownTierError`` for an unknown tier name.
    """
    spec = tier if isinstance(tier, TierSpec) else get_tier(tier)
    catalogue = default_catalogue()
    travel_km = Policy().default_max_travel_km  # generated problems carry the default policy
    rng = np.random.default_rng(seed)
    centres = county_centres(
        spec.n_counties, spec.county_spacing_km, spec.seat_lat, spec.seat_lon, rng
    )
    lawyer_counts, case_counts = _county_sizes(spec, rng)
    streams = rng.spawn(spec.n_counties)
    ids = _Ids()
    firms: list[Firm] = []
    lawyers: list[Lawyer] = []
    cases: list[Case] = []
    for k, crng in enumerate(streams):
        prefix = f"D{k + 1:02d}-" if spec.n_counties > 1 else ""
        county_firms, county_lawyers, county_cases = _generate_one(
            spec,
            k,
            prefix,
            centres[k],
            lawyer_counts[k],
            case_counts[k],
            catalogue,
            travel_km,
            crng,
            ids,
        )
        firms += county_firms
        lawyers += county_lawyers
        cases += county_cases
    problem = Problem(
        name=f"{spec.name} seed {seed}",
        as_of=AS_OF,
        firms=firms,
        lawyers=lawyers,
        cases=cases,
    )
    return _drop_ineligible_current_assignments(validate_problem(problem))


def _drop_ineligible_current_assignments(problem: Problem) -> Problem:
    """Current assignments are drawn before the conflict history, so a few land on a lawyer
    the hard rules now exclude (e.g. the firm acted for the adverse party).  Real data would be
    fixed by a person; generated data drops those assignments, so the case is open again."""
    arrays = build_arrays(problem)
    candidates = build_candidates(arrays)
    edges = set(zip(candidates.case_index.tolist(), candidates.lawyer_index.tolist(), strict=True))
    cases = list(problem.cases)
    changed = False
    for ci, case in enumerate(cases):
        cur = case.current_assignment
        if cur is not None and (ci, arrays.lawyer_pos[cur.lawyer_id]) not in edges:
            cases[ci] = case.model_copy(update={"current_assignment": None})
            changed = True
    return problem.model_copy(update={"cases": cases}) if changed else problem


def write_problem(problem: Problem, path: str | Path) -> Path:
    """Write ``problem`` as compact JSON (UTF-8); the same problem gives the same bytes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(problem.model_dump_json(indent=None), encoding="utf-8")
    return target


# -- sizes and ids ---------------------------------------------------------------------------


class _Ids:
    """Id counters shared by all counties of one problem, so ids stay unique."""

    def __init__(self) -> None:
        self.firms = IdCounter("F", 4)
        self.lawyers = IdCounter("L", 5)
        self.parties = IdCounter("P", 6)
        self.cases = IdCounter("C", 6)
        self.matters = IdCounter("M", 6)


def _county_sizes(spec: TierSpec, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Lawyers and cases per county, adding up to the tier's totals exactly."""
    if spec.n_counties == 1:
        return [spec.n_lawyers], [spec.n_cases]
    weights = rng.lognormal(0.0, COUNTY_SIZE_SIGMA, spec.n_counties)
    lawyers = largest_remainder(spec.n_lawyers - 4 * spec.n_counties, weights)
    lawyers = [n + 4 for n in lawyers]  # every county keeps a minimal roster
    case_weights = weights * rng.lognormal(0.0, 0.08, spec.n_counties)
    cases = largest_remainder(spec.n_cases, case_weights)
    return lawyers, cases


# -- one county ------------------------------------------------------------------------------


def _generate_one(
    spec: TierSpec,
    index: int,
    prefix: str,
    centre: tuple[float, float],
    n_lawyers: int,
    n_cases: int,
    catalogue: Catalogue,
    default_travel_km: float,
    rng: np.random.Generator,
    ids: _Ids,
) -> tuple[list[Firm], list[Lawyer], list[Case]]:
    names = NameMaker(rng)
    county = build_county(
        index,
        prefix,
        centre[0],
        centre[1],
        spec.townships_per_county,
        spec.township_radius_km,
        rng,
        names,
    )
    orgs = build_org_pool(county, n_cases, rng, names, ids.parties)
    drafts = build_caseload(
        county, n_cases, spec.case_mix, AS_OF, catalogue, rng, names, ids.parties, orgs
    )
    hours = [_hours(c, catalogue) for c in drafts]
    firm_drafts, lawyer_drafts = build_roster(
        county,
        n_lawyers,
        spec.providers.shares(),
        drafts,
        hours,
        spec.demand_share_of_free_capacity,
        catalogue,
        AS_OF.date(),
        rng,
        names,
        (ids.firms, ids.lawyers, ids.parties),
        orgs,
    )
    linker = _Linker(
        drafts,
        firm_drafts,
        lawyer_drafts,
        catalogue,
        default_travel_km,
        rng,
        names,
        ids.parties,
        orgs,
        county.name,
    )
    linker.relieve_org_conflicts()
    linker.history_links()
    linker.true_conflicts()
    linker.current_assignments()
    for c in drafts:
        c.id = ids.cases.take()
    matter_ids: dict[int, str] = {}
    for c in drafts:
        if c.matter_key is not None and c.matter_key not in matter_ids:
            matter_ids[c.matter_key] = ids.matters.take()
    firms = [_firm_model(f) for f in firm_drafts]
    lawyers = [_lawyer_model(lw, firm_drafts) for lw in lawyer_drafts]
    cases = [_case_model(c, drafts, lawyer_drafts, matter_ids) for c in drafts]
    return firms, lawyers, cases


def _hours(case: CaseDraft, catalogue: Catalogue) -> float:
    if case.workload_hours is not None:
        return case.workload_hours
    return catalogue.case_types[case.case_type].workload_hours


@dataclass
class _Matter:
    """Current lawyers already placed in one matter: (side, lawyer index, firm index)."""

    placed: list[tuple[str, int, int]]


class _Linker:
    """Links a county's cases to its providers, as numpy masks over the providers.

    The masks mirror the hard rules loosely (area, provider kind, qualification rules,
    travel, jurisdictions, known conflicts); they exist so that generated prior lawyers,
    exclusions, conflicts and current assignments land on lawyers for whom they matter.
    """

    def __init__(
        self,
        cases: list[CaseDraft],
        firms: list[FirmDraft],
        lawyers: list[LawyerDraft],
        catalogue: Catalogue,
        default_travel_km: float,
        rng: np.random.Generator,
        names: NameMaker,
        party_ids: IdCounter,
        orgs: OrgPool,
        county_name: str,
    ) -> None:
        self.cases = cases
        self.orgs = orgs
        self.county_name = county_name
        self.firms = firms
        self.lawyers = lawyers
        self.catalogue = catalogue
        self.draw = Draws(rng)
        self.names = names
        self.party_ids = party_ids
        n = len(lawyers)
        # Providers sit at their firms' offices: distances are computed per office.
        offices = sorted({(lw.lat, lw.lon) for lw in lawyers})
        office_pos = {o: k for k, o in enumerate(offices)}
        self.office_lat = np.array([o[0] for o in offices])
        self.office_lon = np.array([o[1] for o in offices])
        self.office_of = np.array([office_pos[(lw.lat, lw.lon)] for lw in lawyers], dtype=np.int64)
        self.travel_km = np.array(
            [
                lw.max_travel_km if lw.max_travel_km is not None else default_travel_km
                for lw in lawyers
            ]
        )
        self.firm = np.array([lw.firm for lw in lawyers], dtype=np.int64)
        self.free_hours = np.array([lw.capacity_hours - lw.current_load_hours for lw in lawyers])
        self.free_slots = np.array(
            [lw.max_open_cases - lw.current_open_cases for lw in lawyers], dtype=np.int64
        )
        # Current lawyers have no leave at all; candidates need only be available today.
        self.fully_available = np.array(
            [lw.accepting and not lw.leave for lw in lawyers], dtype=np.bool_
        )
        self.available_now = np.array(
            [lw.available_on(AS_OF.date()) for lw in lawyers], dtype=np.bool_
        )
        self._zero = np.zeros(n, dtype=np.bool_)
        self._type_masks: dict[str, BoolArray] = {}
        self._rule_masks: dict[str, BoolArray] = {}
        self._jurisdiction_masks: dict[str, BoolArray] = {}
        # Who acted for whom: party id -> lawyer / firm positions; relative name -> lawyers.
        self._lawyer_clients: dict[str, set[int]] = {}
        self._firm_clients: dict[str, set[int]] = {}
        self._relatives: dict[str, set[int]] = {}
        for i, lw in enumerate(lawyers):
            for pid, _ in lw.clients:
                if pid is not None:
                    self._lawyer_clients.setdefault(pid, set()).add(i)
            for name in lw.relatives:
                self._relatives.setdefault(name, set()).add(i)
        for f, firm in enumerate(firms):
            for pid, _ in firm.clients:
                if pid is not None:
                    self._firm_clients.setdefault(pid, set()).add(f)
        # Party id -> positions of the cases where that party is on the other side.
        self._cases_with_party: dict[str, list[int]] = {}
        for pos, case in enumerate(cases):
            for p in case.others:
                self._cases_with_party.setdefault(p.id, []).append(pos)

    def _add_lawyer_client(self, lawyer: int, party: PartyDraft) -> None:
        self.lawyers[lawyer].clients.append((party.id, party.name))
        self._lawyer_clients.setdefault(party.id, set()).add(lawyer)

    def _add_firm_client(self, firm: int, party: PartyDraft) -> None:
        self.firms[firm].clients.append((party.id, party.name))
        self._firm_clients.setdefault(party.id, set()).add(firm)

    # -- masks ---------------------------------------------------------------------------
    def _type_mask(self, case_type: str) -> BoolArray:
        mask = self._type_masks.get(case_type)
        if mask is None:
            ct = self.catalogue.case_types[case_type]
            kinds = set(ct.allowed_provider_kinds)
            mask = np.array(
                [lw.kind in kinds and ct.practice_area in lw.areas for lw in self.lawyers],
                dtype=np.bool_,
            )
            self._type_masks[case_type] = mask
        return mask

    def _rule_mask(self, rule: QualificationRule) -> BoolArray:
        mask = self._rule_masks.get(rule.name)
        if mask is None:
            mask = np.array([meets_rule(lw, rule) for lw in self.lawyers], dtype=np.bool_)
            self._rule_masks[rule.name] = mask
        return mask

    def _jurisdiction_mask(self, code: str) -> BoolArray:
        mask = self._jurisdiction_masks.get(code)
        if mask is None:
            mask = np.array(
                [lw.jurisdictions is None or code in lw.jurisdictions for lw in self.lawyers],
                dtype=np.bool_,
            )
            self._jurisdiction_masks[code] = mask
        return mask

    def qualified(self, case: CaseDraft) -> BoolArray:
        """Providers who may take ``case`` by area, kind, rules, travel and jurisdiction."""
        mask = self._type_mask(case.case_type) & self._jurisdiction_mask(case.jurisdiction)
        for rule in rules_for_case(
            self.catalogue, case.case_type, case.priority_groups, case.flags
        ):
            mask &= self._rule_mask(rule)
        office_km = haversine_km(
            self.office_lat, self.office_lon, np.array([case.lat]), np.array([case.lon])
        )
        mask &= office_km[self.office_of] <= self.travel_km
        return mask

    def conflicted(self, case: CaseDraft) -> BoolArray:
        """Providers with a known conflict: they or their firm acted for a party on the other
        side, a declared relative of theirs is a party, one of a colleague's is the opposing
        party, or the case excludes them."""
        mask = self._zero.copy()
        bad_lawyers: set[int] = set()
        bad_firms: set[int] = set()
        opposing = adverse_roles(case.side)
        for p in case.others:
            bad_lawyers |= self._lawyer_clients.get(p.id, set())
            relatives_of = self._relatives.get(p.name, set())
            bad_lawyers |= relatives_of
            if p.role in opposing:
                # A colleague's relative as the opposing party conflicts the whole firm
                # (Conduct Norms Art 52; the generator writes no consents).
                bad_firms |= {int(self.firm[i]) for i in relatives_of}
            bad_firms |= self._firm_clients.get(p.id, set())
        bad_lawyers.update(case.excluded)
        bad_lawyers.update(case.complaints)
        if bad_lawyers:
            mask[sorted(bad_lawyers)] = True
        if bad_firms:
            mask |= np.isin(self.firm, sorted(bad_firms))
        return mask

    def _pick(self, mask: BoolArray) -> int | None:
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return None
        return int(idx[self.draw.integer(int(idx.size))])

    # -- links ---------------------------------------------------------------------------
    def relieve_org_conflicts(self) -> None:
        """Swap a recurring organisation for another where its firm conflicts starve a case.

        Local firms act for local employers, insurers and bureaus, so conflicts with
        organisations arise by themselves; in a small county they can leave a case with no
        provider at all, which no real institution would tolerate for long (it would send
        the case to a neighbouring county).  Such cases get a different organisation.
        """
        for pos, case in enumerate(self.cases):
            if not any(p.organisation and p.id in self._firm_clients for p in case.others):
                continue
            if int(self._open(case).sum()) >= MIN_CANDIDATES_KEPT:
                continue
            for k, party in enumerate(case.others):
                if party.organisation and party.id in self._firm_clients:
                    case.others[k] = replacement = self._other_org(party)
                    self._cases_with_party.setdefault(replacement.id, []).append(pos)

    def _other_org(self, party: PartyDraft) -> PartyDraft:
        """An organisation of the same kind that no firm acts for (a new employer if none)."""
        for pool in (self.orgs.companies, self.orgs.insurers, self.orgs.agencies):
            if any(pid == party.id for pid, _ in pool):
                free = [(pid, n) for pid, n in pool if pid not in self._firm_clients]
                if free:
                    pid, name = free[self.draw.integer(len(free))]
                    return PartyDraft(pid, name, party.role, organisation=True)
        name = self.names.company(self.county_name)
        return PartyDraft(self.party_ids.take(), name, party.role, organisation=True)

    def _open(self, case: CaseDraft) -> BoolArray:
        """Providers who could take ``case`` now: qualified, available, with room, no conflict."""
        room = self.available_now & (self.free_hours >= _hours(case, self.catalogue))
        return self.qualified(case) & room & ~self.conflicted(case)

    def _keeps_candidates(self, cases: list[int], removed: BoolArray) -> bool:
        """True if taking ``removed`` providers away leaves each of ``cases`` with at least
        ``MIN_CANDIDATES_KEPT`` open providers (or does not touch its open providers)."""
        for pos in cases:
            open_now = self._open(self.cases[pos])
            if (open_now & removed).any() and int((open_now & ~removed).sum()) < (
                MIN_CANDIDATES_KEPT
            ):
                return False
        return True

    def _one(self, lawyer: int) -> BoolArray:
        mask = self._zero.copy()
        mask[lawyer] = True
        return mask

    def history_links(self) -> None:
        """Prior lawyers, complaint-based and staff exclusions, with the matching histories.

        A client's prior or complained-about lawyer acted for that client, so the client goes
        into that lawyer's past clients (which makes the lawyer conflicted for the client's
        co-defendants and for the victim of the same matter, as in practice).  No link may
        leave a case with fewer than ``MIN_CANDIDATES_KEPT`` open providers.
        """
        draw = self.draw
        for pos, case in enumerate(self.cases):
            u = (draw.random(), draw.random(), draw.random())
            if u[0] < PRIOR_LAWYER_SHARE:
                prior = self._pick(self.qualified(case) & ~self.conflicted(case))
                affected = self._cases_with_party.get(case.client.id, [])
                if prior is not None and self._keeps_candidates(affected, self._one(prior)):
                    case.prior_lawyer = prior
                    self._add_lawyer_client(prior, case.client)
            if u[1] < COMPLAINT_SHARE:
                mask = self.qualified(case)
                if case.prior_lawyer is not None:
                    mask[case.prior_lawyer] = False
                lawyer = self._pick(mask)
                affected = [pos, *self._cases_with_party.get(case.client.id, [])]
                if lawyer is not None and self._keeps_candidates(affected, self._one(lawyer)):
                    case.complaints.append(lawyer)
                    self._add_lawyer_client(lawyer, case.client)
            if u[2] < EXCLUSION_SHARE:
                mask = self.qualified(case)
                if case.prior_lawyer is not None:
                    mask[case.prior_lawyer] = False
                lawyer = self._pick(mask)
                if (
                    lawyer is not None
                    and lawyer not in case.complaints
                    and self._keeps_candidates([pos], self._one(lawyer))
                ):
                    case.excluded.append(lawyer)

    def true_conflicts(self) -> None:
        """Real conflicts: a qualified lawyer (or firm) acted for a person on the other side;
        a lawyer's declared relative is a party.  Some names differ in spelling from the
        history (same party id), as records from different systems do.  No conflict may
        leave a case with fewer than ``MIN_CANDIDATES_KEPT`` open providers."""
        draw = self.draw
        for case in self.cases:
            persons = [p for p in case.others if not p.organisation]
            if not persons or not draw.below(TRUE_CONFLICT_SHARE):
                continue
            mask = self.qualified(case) & ~self.conflicted(case)
            if case.prior_lawyer is not None:
                mask[case.prior_lawyer] = False
            lawyer = self._pick(mask)
            if lawyer is None:
                continue
            party = persons[draw.integer(len(persons))]
            affected = self._cases_with_party.get(party.id, [])
            firm = self.lawyers[lawyer].firm
            if draw.below(FIRM_LEVEL_CONFLICT_SHARE):
                if self._keeps_candidates(affected, self.firm == firm):
                    self._add_firm_client(firm, party)
            elif self._keeps_candidates(affected, self._one(lawyer)):
                self._add_lawyer_client(lawyer, party)
            if draw.below(SPELLING_VARIANT_SHARE):
                party.name = self.names.spelling_variant(party.name)
        areas = [c.area for c in self.cases]
        for i, lw in enumerate(self.lawyers):
            for relative in lw.relatives:
                if not draw.below(RELATIVE_APPEARS_SHARE):
                    continue
                pool = [k for k, a in enumerate(areas) if a in lw.areas]
                if not pool:
                    continue
                pos = pool[draw.integer(len(pool))]
                case = self.cases[pos]
                # The relative is the opposing party: every lawyer of the firm of a lawyer who
                # declares it is conflicted (own relative, Art 39; a colleague's, Art 52).
                holders = sorted(self._relatives.get(relative, {i}))
                removed = np.isin(self.firm, self.firm[holders])
                if case.prior_lawyer == i or not self._keeps_candidates([pos], removed):
                    continue
                role = PartyRole.VICTIM if case.side is Side.DEFENDANT else PartyRole.ADVERSE
                party = PartyDraft(self.party_ids.take(), relative, role)
                case.others.append(party)
                self._cases_with_party.setdefault(party.id, []).append(pos)

    def current_assignments(self) -> None:
        """About 10% of cases already have a lawyer who may take them and has room.

        Co-defendants and linked cases get different lawyers; opposite sides of one matter get
        different firms; a started case keeps only its remaining hours.
        """
        draw = self.draw
        matters: dict[int, _Matter] = {}
        u = draw.rng.random((len(self.cases), 4))
        for pos, case in enumerate(self.cases):
            if u[pos, 0] >= CURRENT_ASSIGNMENT_SHARE:
                continue
            started = bool(u[pos, 1] < STARTED_SHARE)
            hours = _hours(case, self.catalogue)
            if started:
                hours = float(round(hours * draw.uniform(0.3, 0.9) * 2) / 2)
            mask = self.qualified(case) & ~self.conflicted(case) & self.fully_available
            mask &= (self.free_hours >= hours) & (self.free_slots >= 1)
            for other in case.linked:
                if self.cases[other].current_lawyer is not None:
                    mask[self.cases[other].current_lawyer] = False
            matter = matters.get(case.matter_key) if case.matter_key is not None else None
            if matter is not None:
                for side, lawyer, firm in matter.placed:
                    mask[lawyer] = False
                    if side != case.side.value:
                        mask &= self.firm != firm
            chosen = self._pick(mask)
            if chosen is None:
                continue
            case.current_lawyer = chosen
            case.started = started
            case.pinned = bool(u[pos, 2] < PINNED_SHARE)
            if started:
                case.workload_hours = hours
            self.free_hours[chosen] -= hours
            self.free_slots[chosen] -= 1
            if case.matter_key is not None:
                matters.setdefault(case.matter_key, _Matter([])).placed.append(
                    (case.side.value, chosen, int(self.firm[chosen]))
                )


# -- conversion to domain models -------------------------------------------------------------


def _firm_model(f: FirmDraft) -> Firm:
    return Firm(
        id=f.id,
        name=f.name,
        kind=f.kind,
        location=Location(lat=f.lat, lon=f.lon),
        clients=[KnownClient(party_id=pid, name=name) for pid, name in f.clients],
    )


def _lawyer_model(lw: LawyerDraft, firms: list[FirmDraft]) -> Lawyer:
    return Lawyer(
        id=lw.id,
        name=lw.name,
        firm_id=firms[lw.firm].id,
        kind=lw.kind,
        gender=lw.gender,
        location=Location(lat=lw.lat, lon=lw.lon),
        practice_areas=[
            PracticeArea(area=a, level=level, years=years) for a, (level, years) in lw.areas.items()
        ],
        certifications=list(lw.certifications),
        languages=list(lw.languages),
        capacity_hours=lw.capacity_hours,
        max_open_cases=lw.max_open_cases,
        current_load_hours=lw.current_load_hours,
        current_open_cases=lw.current_open_cases,
        accepting_new_cases=lw.accepting,
        leave=[Leave(start=s, end=e) for s, e in lw.leave],
        max_travel_km=lw.max_travel_km,
        jurisdictions=list(lw.jurisdictions) if lw.jurisdictions is not None else None,
        rating=lw.rating,
        yearly_quota_cases=lw.yearly_quota_cases,
        cases_this_year=lw.cases_this_year,
        subsidy_class=lw.subsidy_class,
        clients=[KnownClient(party_id=pid, name=name) for pid, name in lw.clients],
        relatives=list(lw.relatives),
    )


def _party_model(p: PartyDraft) -> Party:
    return Party(id=p.id, name=p.name, role=p.role, aliases=list(p.aliases))


def _case_model(
    c: CaseDraft, drafts: list[CaseDraft], lawyers: list[LawyerDraft], matter_ids: dict[int, str]
) -> Case:
    current = None
    if c.current_lawyer is not None:
        current = CurrentAssignment(
            lawyer_id=lawyers[c.current_lawyer].id, started=c.started, pinned=c.pinned
        )
    return Case(
        id=c.id,
        case_type=c.case_type,
        stage=c.stage,
        location=Location(lat=c.lat, lon=c.lon),
        jurisdiction=c.jurisdiction,
        received_at=c.received_at,
        assign_by=c.received_at + ASSIGN_WITHIN,
        priority_groups=list(c.priority_groups),
        flags=list(c.flags),
        workload_hours=c.workload_hours,
        matter_id=matter_ids[c.matter_key] if c.matter_key is not None else None,
        side=c.side,
        linked_case_ids=[drafts[i].id for i in c.linked],
        parties=[_party_model(c.client), *(_party_model(p) for p in c.others)],
        prior_lawyer_id=lawyers[c.prior_lawyer].id if c.prior_lawyer is not None else None,
        excluded_lawyer_ids=[lawyers[i].id for i in c.excluded],
        complaint_lawyer_ids=[lawyers[i].id for i in c.complaints],
        preferences=ClientPreferences(language=c.language, lawyer_gender=c.lawyer_gender),
        current_assignment=current,
    )
