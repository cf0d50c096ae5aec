"""Tests of the synthetic county generator and its tier registry (scenarios/)."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import ArrayLike

from assigner.domain import (
    Case,
    Lawyer,
    PartyRole,
    Problem,
    ProviderKind,
    Side,
    default_catalogue,
    load_problem,
    validate_problem,
)
from assigner.domain.arrays import haversine_km
from assigner.search.instance import AssignmentInstance
from scenarios import (
    AS_OF,
    TIERS,
    TierSpec,
    UnknownTierError,
    generate_county,
    get_tier,
    tier_names,
    write_problem,
)

CATALOGUE = default_catalogue()
CAPITAL_TYPES = {"felony_life", "felony_murder", "death_sentence_review"}


@pytest.fixture(scope="module")
def demo() -> Problem:
    return generate_county("demo", seed=11)


@pytest.fixture(scope="module")
def tiny() -> Problem:
    return generate_county("tiny", seed=3)


def _hours(case: Case) -> float:
    if case.workload_hours is not None:
        return case.workload_hours
    return CATALOGUE.case_types[case.case_type].workload_hours


def _available(problem: Problem) -> np.ndarray:
    day = problem.as_of.date()
    return np.array(
        [
            lw.accepting_new_cases and not any(lv.start <= day <= lv.end for lv in lw.leave)
            for lw in problem.lawyers
        ]
    )


def _candidate_counts(problem: Problem) -> np.ndarray:
    """Per case, lawyers passing a simple reading of the hard rules (an independent check)."""
    lawyers = problem.lawyers
    pos = {lw.id: i for i, lw in enumerate(lawyers)}
    lat = np.array([lw.location.lat for lw in lawyers])
    lon = np.array([lw.location.lon for lw in lawyers])
    travel = np.array([lw.max_travel_km or problem.policy.default_max_travel_km for lw in lawyers])
    free = np.array([lw.capacity_hours - lw.current_load_hours for lw in lawyers])
    available = _available(problem)
    firm_of = np.array([lw.firm_id for lw in lawyers])
    acted_for: dict[str | None, set[int]] = defaultdict(set)
    for i, lw in enumerate(lawyers):
        for client in lw.clients:
            acted_for[client.party_id].add(i)
    for firm in problem.firms:
        members = set(np.flatnonzero(firm_of == firm.id).tolist())
        for client in firm.clients:
            acted_for[client.party_id] |= members
    counts = []
    for case in problem.cases:
        ok = available & (free >= _hours(case))
        ok &= _km(lat, lon, case.location.lat, case.location.lon) <= travel
        for i, lw in enumerate(lawyers):
            ok[i] = ok[i] and _may_take(lw, case)
        for party in case.parties[1:]:
            for i in acted_for.get(party.id, ()):
                ok[i] = False
        for lawyer_id in (*case.excluded_lawyer_ids, *case.complaint_lawyer_ids):
            ok[pos[lawyer_id]] = False
        counts.append(int(ok.sum()))
    return np.array(counts)


def _may_take(lw: Lawyer, case: Case) -> bool:
    """Area, provider kind, jurisdiction, qualification rules and declared relatives."""
    ct = CATALOGUE.case_types[case.case_type]
    years = {pa.area: pa.years for pa in lw.practice_areas}
    if ct.practice_area not in years or lw.kind not in ct.allowed_provider_kinds:
        return False
    if lw.jurisdictions is not None and case.jurisdiction not in lw.jurisdictions:
        return False
    capital = "possible_life_or_death_sentence" in case.flags
    if capital and years.get("criminal_defence", 0) < 3:
        return False
    juvenile = "minor" in case.priority_groups and ct.practice_area == "criminal_defence"
    if juvenile and "juvenile" not in lw.certifications:
        return False
    return not any(p.name in lw.relatives for p in case.parties[1:])


def _km(lat: ArrayLike, lon: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle km between points or arrays of points."""
    arrays = [np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (lat, lon, lat2, lon2)]
    return haversine_km(*arrays)


# -- registry --------------------------------------------------------------------------------


def test_registry_sizes() -> None:
    """Tests that every tier named in the design exists with its providers and open cases."""
    expected = {
        "tiny": (8, 40),
        "demo": (60, 600),
        "county-S": (60, 600),
        "county-M": (250, 5_000),
        "county-L": (1_000, 20_000),
        "province": (10_000, 200_000),
        "province-border": (10_000, 200_000),
    }
    assert set(tier_names()) == set(expected)
    for name, (n_lawyers, n_cases) in expected.items():
        spec = get_tier(name)
        assert (spec.n_lawyers, spec.n_cases) == (n_lawyers, n_cases)
    assert TIERS["province"].n_counties > 1
    assert TIERS["province-border"].n_counties > 1 and TIERS["province-border"].cross_border_help


def test_unknown_tier_names_the_known_ones() -> None:
    """Tests that an unknown tier raises a KeyError listing the known tiers, no fallback."""
    with pytest.raises(KeyError) as info:
        generate_county("county-XL", seed=1)
    assert isinstance(info.value, UnknownTierError)
    message = str(info.value)
    assert "county-XL" in message
    for name in tier_names():
        assert name in message


def test_bad_tier_spec_is_refused() -> None:
    """Tests that a tier spec with impossible sizes is refused when it is made."""
    with pytest.raises(ValueError):
        dataclasses.replace(get_tier("tiny"), n_cases=0)
    with pytest.raises(ValueError):
        dataclasses.replace(get_tier("tiny"), townships_per_county=(5, 2))
    with pytest.raises(ValueError):  # counties this close would share lawyers
        dataclasses.replace(get_tier("province"), county_spacing_km=60.0)
    with pytest.raises(ValueError):  # counties this far apart could not help each other
        dataclasses.replace(get_tier("province-border"), county_spacing_km=125.0)


# -- determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["tiny", "demo"])
def test_same_seed_gives_identical_json(tier: str, tmp_path: Path) -> None:
    """Tests that one tier and seed give byte-identical JSON on two runs."""
    first = write_problem(generate_county(tier, seed=42), tmp_path / "a.json")
    second = write_problem(generate_county(tier, seed=42), tmp_path / "b.json")
    assert first.read_bytes() == second.read_bytes()


def test_different_seeds_differ() -> None:
    """Tests that different seeds give different counties."""
    a = generate_county("tiny", seed=1).model_dump_json()
    b = generate_county("tiny", seed=2).model_dump_json()
    assert a != b


def test_spec_and_name_give_the_same_problem() -> None:
    """Tests that a TierSpec object generates the same problem as its registered name."""
    by_name = generate_county("tiny", seed=9)
    by_spec = generate_county(get_tier("tiny"), seed=9)
    assert by_name.model_dump_json() == by_spec.model_dump_json()


# -- sizes and validity ----------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["tiny", "demo", "county-S"])
def test_sizes_and_validation(tier: str) -> None:
    """Tests that a generated problem has the tier's sizes, unique ids and validates."""
    problem = generate_county(tier, seed=5)
    spec = get_tier(tier)
    assert len(problem.lawyers) == spec.n_lawyers
    assert len(problem.cases) == spec.n_cases
    assert problem.as_of == AS_OF
    validate_problem(problem)
    for records in (problem.firms, problem.lawyers, problem.cases):
        ids = [r.id for r in records]
        assert len(ids) == len(set(ids))


def test_written_json_loads_back(demo: Problem, tmp_path: Path) -> None:
    """Tests that the written JSON loads through the public loader into an equal problem."""
    path = write_problem(demo, tmp_path / "nested" / "demo.json")
    assert load_problem(path) == demo


# -- shape of the caseload -------------------------------------------------------------------


def test_case_types_and_stages_come_from_the_catalogue(demo: Problem) -> None:
    """Tests that every case type and stage used exists in the default catalogue."""
    for case in demo.cases:
        ct = CATALOGUE.case_types[case.case_type]
        assert case.stage in ct.subsidy_cny_by_stage
        assert set(case.priority_groups) <= set(CATALOGUE.priority_groups)
        assert set(case.flags) <= set(CATALOGUE.case_flags)


def test_case_mix(demo: Problem) -> None:
    """Tests the criminal / civil / advice mix of about 55 / 40 / 5 percent."""
    areas = Counter(CATALOGUE.case_types[c.case_type].practice_area for c in demo.cases)
    n = len(demo.cases)
    criminal = (areas["criminal_defence"] + areas["criminal_victim"]) / n
    advice = areas["general_advice"] / n
    assert 0.50 <= criminal <= 0.60
    assert 0.03 <= advice <= 0.07
    assert 0.35 <= 1 - criminal - advice <= 0.45


def test_deadlines_follow_the_three_day_rule(demo: Problem) -> None:
    """Tests receipt within 5 days before as_of, assign-by 3 days later, some urgent/overdue."""
    overdue = urgent = 0
    for case in demo.cases:
        assert timedelta(0) <= demo.as_of - case.received_at <= timedelta(days=5)
        assert case.assign_by - case.received_at == timedelta(days=3)
        left = case.assign_by - demo.as_of
        overdue += left < timedelta(0)
        urgent += timedelta(0) <= left < timedelta(hours=24)
    assert 0 < overdue < 0.15 * len(demo.cases)
    assert 0 < urgent < 0.30 * len(demo.cases)


def test_capital_flag_marks_capital_types(demo: Problem) -> None:
    """Tests that possible life or death sentences are flagged on capital case types only."""
    for case in demo.cases:
        flagged = "possible_life_or_death_sentence" in case.flags
        assert flagged == (case.case_type in CAPITAL_TYPES)


def test_priority_groups_fit_the_case(demo: Problem) -> None:
    """Tests that wage claims carry the migrant group and DV cases the DV group."""
    wage = [c for c in demo.cases if c.case_type == "wage_claim"]
    dv = [c for c in demo.cases if c.case_type == "domestic_violence"]
    assert wage and dv
    assert sum("migrant_wage_claim" in c.priority_groups for c in wage) > 0.6 * len(wage)
    assert all("domestic_violence" in c.priority_groups for c in dv)
    detained = [c for c in demo.cases if "detained" in c.priority_groups]
    assert all(c.side is Side.DEFENDANT for c in detained)


def test_co_defendants_share_a_matter(demo: Problem) -> None:
    """Tests that co-defendants are clients of defence cases of the same matter."""
    client_case = {c.parties[0].id: c for c in demo.cases if c.side is Side.DEFENDANT}
    groups = 0
    for case in demo.cases:
        co = [p for p in case.parties if p.role is PartyRole.CO_DEFENDANT]
        if not co:
            continue
        groups += 1
        assert case.matter_id is not None
        assert case.side is Side.DEFENDANT
        for party in co:
            other = client_case[party.id]
            assert other.matter_id == case.matter_id
            assert other.case_type == case.case_type
    assert groups >= 0.05 * sum(c.side is Side.DEFENDANT for c in demo.cases)


def test_victims_and_both_sides_share_the_matter(demo: Problem) -> None:
    """Tests that victim cases and civil respondents share a matter with the other side."""
    by_matter: dict[str, list[Case]] = defaultdict(list)
    for case in demo.cases:
        if case.matter_id is not None:
            by_matter[case.matter_id].append(case)
    victims = [c for c in demo.cases if c.side is Side.VICTIM]
    respondents = [c for c in demo.cases if c.side is Side.RESPONDENT]
    assert victims and respondents
    for case in victims:
        assert case.case_type == "victim_representation"
        defence = [c for c in by_matter[case.matter_id or ""] if c.side is Side.DEFENDANT]
        assert defence
        assert {c.parties[0].id for c in defence} <= {p.id for p in case.parties[1:]}
        assert case.parties[0].id in {p.id for p in defence[0].parties}
    for case in respondents:
        claimants = [c for c in by_matter[case.matter_id or ""] if c.side is Side.CLAIMANT]
        assert len(claimants) == 1
        assert claimants[0].parties[0].id in {p.id for p in case.parties[1:]}


def test_links_and_lawyer_references(demo: Problem) -> None:
    """Tests that linked cases link both ways and that lawyer references are plausible."""
    cases = {c.id: c for c in demo.cases}
    lawyers = {lw.id: lw for lw in demo.lawyers}
    assert any(c.linked_case_ids for c in demo.cases)
    for case in demo.cases:
        for other in case.linked_case_ids:
            assert case.id in cases[other].linked_case_ids
        area = CATALOGUE.case_types[case.case_type].practice_area
        if case.prior_lawyer_id is not None:
            assert area in {pa.area for pa in lawyers[case.prior_lawyer_id].practice_areas}
    assert 0 < sum(c.prior_lawyer_id is not None for c in demo.cases) < 0.1 * len(demo.cases)


def test_current_assignments_are_plausible(demo: Problem) -> None:
    """Tests ~10% current assignments, to qualified lawyers, never two in one matter."""
    lawyers = {lw.id: lw for lw in demo.lawyers}
    assigned = [c for c in demo.cases if c.current_assignment is not None]
    assert 0.05 * len(demo.cases) <= len(assigned) <= 0.15 * len(demo.cases)
    assert any(c.current_assignment.started for c in assigned if c.current_assignment)
    per_matter: dict[str, list[str]] = defaultdict(list)
    for case in assigned:
        assert case.current_assignment is not None
        lw = lawyers[case.current_assignment.lawyer_id]
        ct = CATALOGUE.case_types[case.case_type]
        assert ct.practice_area in {pa.area for pa in lw.practice_areas}
        assert lw.kind in ct.allowed_provider_kinds
        if case.matter_id is not None:
            per_matter[case.matter_id].append(lw.id)
    for lawyer_ids in per_matter.values():
        assert len(lawyer_ids) == len(set(lawyer_ids))


def test_some_true_conflicts_exist(demo: Problem) -> None:
    """Tests that some lawyers or firms acted for a party on the other side of a case."""
    known = {c.party_id for lw in demo.lawyers for c in lw.clients}
    known |= {c.party_id for f in demo.firms for c in f.clients}
    hits = sum(any(p.id in known for p in case.parties[1:]) for case in demo.cases)
    assert hits >= 5


# -- shape of the roster ---------------------------------------------------------------------


def test_roster_shape(demo: Problem) -> None:
    """Tests capacities, loads, quotas and subsidy classes against the documented ranges."""
    firms = {f.id: f for f in demo.firms}
    kinds = Counter(lw.kind for lw in demo.lawyers)
    assert kinds[ProviderKind.PRACTISING_LAWYER] > kinds[ProviderKind.STAFF_LAWYER] > 0
    assert any(f.kind.value == "legal_aid_centre" for f in demo.firms)
    criminal = [
        lw for lw in demo.lawyers if "criminal_defence" in {pa.area for pa in lw.practice_areas}
    ]
    assert 0.1 <= sum("juvenile" in lw.certifications for lw in criminal) / len(criminal) <= 0.4
    for lw in demo.lawyers:
        assert 0 < lw.capacity_hours <= 2080
        assert 0.19 <= lw.current_load_hours / lw.capacity_hours <= 0.81
        assert lw.current_open_cases <= lw.max_open_cases
        assert 3 <= lw.rating <= 5
        assert "zh" in lw.languages
        expected_class = {
            ProviderKind.GRASSROOTS_WORKER: "grassroots",
            ProviderKind.STAFF_LAWYER: "staff",
        }.get(lw.kind)
        if expected_class is not None:
            assert lw.subsidy_class == expected_class
        if lw.kind is ProviderKind.PRACTISING_LAWYER:
            assert lw.yearly_quota_cases == 2
            assert firms[lw.firm_id].kind.value == "law_firm"
        if lw.kind is ProviderKind.GRASSROOTS_WORKER:
            assert firms[lw.firm_id].kind.value == "grassroots_office"


@pytest.mark.parametrize("tier", ["demo", "county-S"])
def test_demand_is_a_share_of_free_capacity(tier: str) -> None:
    """Tests that case hours come to 60-90% of the free hours of available lawyers."""
    problem = generate_county(tier, seed=8)
    free = np.array([lw.capacity_hours - lw.current_load_hours for lw in problem.lawyers])
    demand = sum(_hours(c) for c in problem.cases)
    assert 0.6 <= demand / float((free * _available(problem)).sum()) <= 0.9


def test_tiny_has_a_lawyer_of_each_cases_area(tiny: Problem) -> None:
    """Tests that in the tiny tier every case has a lawyer of its practice area."""
    areas = {pa.area for lw in tiny.lawyers for pa in lw.practice_areas}
    for case in tiny.cases:
        assert CATALOGUE.case_types[case.case_type].practice_area in areas


def test_cases_have_candidates(demo: Problem, tiny: Problem) -> None:
    """Tests that (almost) every case has a lawyer passing a simple reading of the hard rules."""
    assert _candidate_counts(tiny).min() >= 1
    demo_counts = _candidate_counts(demo)
    assert np.mean(demo_counts >= 1) >= 0.98
    assert np.median(demo_counts) >= 3


def test_geography(demo: Problem) -> None:
    """Tests that cases sit in the seat or townships 5-45 km away, near Xi'an."""
    seat = next(f for f in demo.firms if f.kind.value == "legal_aid_centre").location
    assert seat is not None
    assert abs(seat.lat - 34.3) < 0.1 and abs(seat.lon - 108.9) < 0.1
    jurisdictions = {c.jurisdiction for c in demo.cases}
    assert "SEAT" in jurisdictions and len(jurisdictions) >= 6
    for case in demo.cases:
        d = float(_km(seat.lat, seat.lon, case.location.lat, case.location.lon)[0])
        assert d <= 45


def _three_counties(
    cross_border_help: bool,
    spacing_km: float,
    *,
    n_lawyers: int = 60,
    n_cases: int = 600,
    seed: int = 3,
) -> Problem:
    """Three counties in a row of the province's provider mix, ``spacing_km`` apart."""
    spec = TierSpec(
        name="three-counties",
        stands_for="a test province",
        n_lawyers=n_lawyers,
        n_cases=n_cases,
        providers=get_tier("province").providers,
        case_mix="us",
        n_counties=3,
        townships_per_county=(4, 6),
        township_radius_km=(5.0, 30.0),
        county_spacing_km=spacing_km,
        cross_border_help=cross_border_help,
    )
    return generate_county(spec, seed=seed)


def test_counties_of_a_province_are_separate_regions() -> None:
    """Tests that in a multi-county tier no lawyer can reach another county's cases."""
    problem = _three_counties(False, 125.0, n_lawyers=45, n_cases=450, seed=2)
    assert len(problem.lawyers) == 45 and len(problem.cases) == 450
    validate_problem(problem)
    lat, lon = _case_points(problem)
    county = np.array([(c.jurisdiction or "").split("-")[0] for c in problem.cases])
    assert len(set(county)) == 3
    for lw in problem.lawyers:
        reach = _km(lw.location.lat, lw.location.lon, lat, lon) <= (
            lw.max_travel_km or problem.policy.default_max_travel_km
        )
        assert len(set(county[reach])) <= 1


def test_counties_side_by_side_help_across_borders() -> None:
    """Tests that with help across borders some cases have an eligible lawyer of another
    county, that the county offices (public and alternate defenders) never do, and that the
    help joins counties that are separate problems without it."""
    from assigner.engine import prepare

    problem = _three_counties(True, get_tier("province-border").county_spacing_km)
    validate_problem(problem)
    prepared = prepare(problem)
    cands = prepared.candidates
    case_county = np.array([(c.jurisdiction or "").split("-")[0] for c in problem.cases])
    lawyers = prepared.arrays.lawyer_ids
    by_id = {lw.id: lw for lw in problem.lawyers}
    home = {}
    for lw in problem.lawyers:
        # A lawyer's county: the one whose cases are nearest to the lawyer's office.
        d = _km(lw.location.lat, lw.location.lon, *_case_points(problem))
        home[lw.id] = case_county[int(np.argmin(d))]
    across = [
        (int(ci), lawyers[int(li)])
        for ci, li in zip(cands.case_index, cands.lawyer_index, strict=True)
        if home[lawyers[int(li)]] != case_county[int(ci)]
    ]
    assert len(across) > 0
    offices = {ProviderKind.PUBLIC_DEFENDER, ProviderKind.ALTERNATE_DEFENDER}
    assert not [lid for _, lid in across if by_id[lid].kind in offices]
    apart = _components(prepare(_three_counties(False, 125.0)).instance)
    assert apart >= 3  # one per county at least
    assert _components(prepared.instance) < apart


def _components(inst: AssignmentInstance) -> int:
    """Connected components holding a case with a candidate."""
    from assigner.search.independent_parts import component_labels

    labels = component_labels(inst)
    has_edge = np.diff(inst.item_offsets) > 0
    return len(set(labels[: inst.n_items][has_edge].tolist()))


def _case_points(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    lat = np.array([c.location.lat for c in problem.cases])
    lon = np.array([c.location.lon for c in problem.cases])
    return lat, lon
