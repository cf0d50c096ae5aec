"""The independent verifier: each check rejects a plan that breaks only its rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from assigner.domain import (
    ConflictWaiver,
    CurrentAssignment,
    KnownClient,
    Leave,
    Location,
    Party,
    PartyRole,
    Plan,
    Policy,
    PracticeArea,
    Problem,
    ProviderKind,
    Side,
    SolveStatus,
    UnassignedReason,
    Verification,
)
from assigner.domain.plan import GroupShare
from assigner.verify import (
    ALL_CHECKS,
    PlanViolation,
    assert_valid,
    great_circle_km,
    verify_plan,
)
from assigner.verify import verifier as v
from tests.verify.builders import (
    AS_OF,
    HERE,
    assemble,
    assignment,
    build_plan,
    case,
    firm,
    lawyer,
    problem,
    unassigned,
)


def rules(prob: Problem, plan: Plan) -> set[str]:
    return verify_plan(prob, plan).rules_broken


def one_case(*, lawyer_kw: dict[str, Any] | None = None, **case_kw: Any) -> Problem:
    """One lawyer L1 and one case C1 (felony_low unless given)."""
    return problem([lawyer("L1", **(lawyer_kw or {}))], [case("C1", **case_kw)])


def rules_for_c1_to_l1(prob: Problem) -> set[str]:
    return rules(prob, build_plan(prob, {"C1": "L1"}))


def base_problem(**kw: Any) -> Problem:
    """A small county: three firms, four lawyers, a criminal matter, a civil matter, a backlog."""
    lawyers = [
        lawyer("L1", "F1"),
        lawyer("L2", "F2", yearly_quota_cases=3, cases_this_year=1),
        lawyer("L3", "F3", location=Location(lat=39.95, lon=116.45)),
        lawyer("L4", "F1", accepting_new_cases=False),
    ]
    cases = [
        case("C1", matter_id="M1", priority_groups=["detained"]),
        case("C2", matter_id="M1"),
        case("C3", "victim_representation", matter_id="M1", side=Side.VICTIM),
        case("C4", "maintenance", matter_id="M2", side=Side.CLAIMANT, priority_groups=["minor"]),
        case("C5", "maintenance", matter_id="M2", side=Side.RESPONDENT),
        case("C6", current_assignment=CurrentAssignment(lawyer_id="L4", started=True)),
        case("C7", current_assignment=CurrentAssignment(lawyer_id="L2")),
        case("C8", assign_by=AS_OF + timedelta(hours=12), received_at=AS_OF),
    ]
    return problem(lawyers, cases, **kw)


BASE_MAPPING = {"C1": "L1", "C2": "L2", "C3": "L3", "C4": "L1", "C5": "L2", "C6": "L4", "C7": "L3"}


# -- valid plans and the public API --------------------------------------------------------


def test_valid_plan_passes_every_check() -> None:
    """Tests that a plan respecting every rule passes with every default check listed."""
    prob = base_problem()
    report = verify_plan(prob, build_plan(prob, BASE_MAPPING))
    assert report.violations == []
    assert report.passed
    assert report.checks == [c for c in ALL_CHECKS if c != v.CO_DEFENDANT_FIRM]


def test_checks_follow_policy_switches() -> None:
    """Tests that the checks run follow the policy's rule switches."""
    policy = Policy(
        codefendants_same_firm_forbidden=True, allow_moving_pinned=True, allow_moving_started=True
    )
    prob = base_problem(policy=policy)
    report = verify_plan(prob, build_plan(prob, BASE_MAPPING))
    assert report.passed, report.violations
    assert v.CO_DEFENDANT_FIRM in report.checks
    assert v.PINNED not in report.checks
    assert v.STARTED not in report.checks


def test_assert_valid_returns_verification() -> None:
    """Tests that assert_valid returns a passed Verification naming the checks for a valid plan."""
    prob = base_problem()
    result = assert_valid(prob, build_plan(prob, BASE_MAPPING))
    assert isinstance(result, Verification)
    assert result.passed
    assert v.ADVERSE_PARTY in result.checks


def test_assert_valid_raises_with_every_violation() -> None:
    """Tests that assert_valid raises PlanViolation listing every violation with rule and ids."""
    prob = base_problem()
    plan = build_plan(prob, {**BASE_MAPPING, "C2": "L1"})  # co-defendant of C1, and ...
    plan = plan.model_copy(update={"policy_version": 9})  # ... a wrong policy version
    with pytest.raises(PlanViolation) as caught:
        assert_valid(prob, plan)
    found = {(x.rule, x.case_id, x.lawyer_id) for x in caught.value.violations}
    assert (v.CO_DEFENDANTS, "C2", "L1") in found
    assert (v.STRUCTURE, None, None) in found
    assert "co_defendants (case C2, lawyer L1)" in str(caught.value)
    assert "structure" in str(caught.value)


def test_report_to_verification() -> None:
    """Tests that a failing report converts to a Verification with passed False."""
    prob = one_case(lawyer_kw={"accepting_new_cases": False})
    report = verify_plan(prob, build_plan(prob, {"C1": "L1"}))
    assert report.to_verification() == Verification(passed=False, checks=report.checks)


def test_empty_plan_of_empty_problem_passes() -> None:
    """Tests that a problem without cases and its empty plan pass (all KPIs zero or one)."""
    prob = problem([lawyer("L1")], [])
    assert rules(prob, build_plan(prob, {})) == set()


# -- structure ---------------------------------------------------------------------------


def test_structure_unknown_case() -> None:
    """Tests that an assignment of a case the problem does not have is a structure violation."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    ghost = plan.assignments[0].model_copy(update={"case_id": "CX"})
    plan = assemble(prob, [*plan.assignments, ghost], plan.unassigned)
    assert rules(prob, plan) == {v.STRUCTURE}


def test_structure_unknown_lawyer() -> None:
    """Tests that an assignment to a lawyer the problem does not have is a structure violation."""
    prob = one_case()
    plan = build_plan(prob, {"C1": "L1"})
    moved = plan.assignments[0].model_copy(update={"lawyer_id": "LX"})
    report = verify_plan(prob, assemble(prob, [moved], []))
    assert report.rules_broken == {v.STRUCTURE}
    assert report.violations[0].lawyer_id == "LX"


def test_structure_case_twice() -> None:
    """Tests that a case both assigned and unassigned is a structure violation."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    extra = unassigned("C1").model_copy(update={"penalty_points": 0})
    plan = assemble(prob, plan.assignments, [*plan.unassigned, extra])
    assert rules(prob, plan) == {v.STRUCTURE}


def test_structure_case_assigned_twice() -> None:
    """Tests that a case assigned twice is a structure violation."""
    prob = problem([lawyer("L1"), lawyer("L2", "F2")], [case("C1")])
    plan = assemble(prob, [assignment(prob, "C1", "L1"), assignment(prob, "C1", "L2")], [])
    assert rules(prob, plan) == {v.STRUCTURE}


def test_structure_missing_case() -> None:
    """Tests that a problem case that is neither assigned nor unassigned is a violation."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    plan = assemble(prob, plan.assignments, [u for u in plan.unassigned if u.case_id != "C8"])
    report = verify_plan(prob, plan)
    assert report.rules_broken == {v.STRUCTURE}
    assert report.violations[0].case_id == "C8"


def test_structure_policy_version() -> None:
    """Tests that a plan made under another policy version is a structure violation."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING).model_copy(update={"policy_version": 2})
    assert rules(prob, plan) == {v.STRUCTURE}


# -- hard rules per assignment -----------------------------------------------------------


def test_practice_area() -> None:
    """Tests that a lawyer without the case type's practice area is rejected."""
    family_only = [PracticeArea(area="family", level=5, years=10)]
    prob = one_case(lawyer_kw={"practice_areas": family_only})
    assert rules_for_c1_to_l1(prob) == {v.PRACTICE_AREA}


def test_qualification_by_flag() -> None:
    """Tests that a possible life or death sentence needs 3 years of criminal defence (Art 26)."""
    junior = [PracticeArea(area="criminal_defence", level=3, years=2)]
    prob = one_case(lawyer_kw={"practice_areas": junior}, flags=["possible_life_or_death_sentence"])
    assert rules_for_c1_to_l1(prob) == {v.QUALIFICATION}
    senior = [PracticeArea(area="criminal_defence", level=3, years=3)]
    prob = one_case(lawyer_kw={"practice_areas": senior}, flags=["possible_life_or_death_sentence"])
    assert rules_for_c1_to_l1(prob) == set()


def test_qualification_named_by_case_type() -> None:
    """Tests that a case type naming a qualification rule applies it without any flag."""
    junior = [PracticeArea(area="criminal_defence", level=3, years=1)]
    prob = one_case(
        lawyer_kw={"practice_areas": junior, "capacity_hours": 400}, case_type="felony_murder"
    )
    assert rules_for_c1_to_l1(prob) == {v.QUALIFICATION}


def test_qualification_by_priority_group() -> None:
    """Tests that a juvenile criminal case needs the juvenile certification."""
    prob = one_case(priority_groups=["minor"])
    assert rules_for_c1_to_l1(prob) == {v.QUALIFICATION}
    prob = one_case(priority_groups=["minor"], lawyer_kw={"certifications": ["juvenile"]})
    assert rules_for_c1_to_l1(prob) == set()


def test_qualification_only_practice_areas() -> None:
    """Tests that a rule restricted to criminal defence does not apply to a family case."""
    prob = one_case(case_type="maintenance", priority_groups=["minor"])
    assert rules_for_c1_to_l1(prob) == set()


def test_provider_kind() -> None:
    """Tests that a volunteer may not take a representation case (Legal Aid Law Arts 12-17)."""
    prob = one_case(lawyer_kw={"kind": ProviderKind.VOLUNTEER})
    assert rules_for_c1_to_l1(prob) == {v.PROVIDER_KIND}
    prob = one_case(lawyer_kw={"kind": ProviderKind.VOLUNTEER}, case_type="advice_documents")
    assert rules_for_c1_to_l1(prob) == set()


def test_availability_not_accepting() -> None:
    """Tests that a lawyer not accepting new cases cannot get a new one."""
    prob = one_case(lawyer_kw={"accepting_new_cases": False})
    assert rules_for_c1_to_l1(prob) == {v.AVAILABILITY}


def test_availability_current_lawyer_keeps_case() -> None:
    """Tests that a lawyer not accepting new cases may keep a case already theirs."""
    prob = one_case(
        lawyer_kw={"accepting_new_cases": False},
        current_assignment=CurrentAssignment(lawyer_id="L1"),
    )
    assert rules_for_c1_to_l1(prob) == set()


@pytest.mark.parametrize(
    ("start", "end", "broken"),
    [
        (date(2025, 3, 1), date(2025, 3, 3), True),  # ends on as_of
        (date(2025, 3, 6), date(2025, 3, 9), True),  # starts on assign_by
        (date(2025, 3, 1), date(2025, 3, 20), True),  # covers the window
        (date(2025, 2, 1), date(2025, 3, 2), False),  # ended the day before
        (date(2025, 3, 7), date(2025, 3, 9), False),  # starts after assign_by
    ],
)
def test_availability_leave(start: date, end: date, broken: bool) -> None:
    """Tests that leave overlapping [as_of, assign_by] (inclusive dates) rules a lawyer out."""
    prob = one_case(lawyer_kw={"leave": [Leave(start=start, end=end)]})
    assert rules_for_c1_to_l1(prob) == ({v.AVAILABILITY} if broken else set())


def test_availability_past_deadline_checks_today() -> None:
    """Tests that for a case past its deadline, leave on the as_of date still counts."""
    prob = one_case(
        lawyer_kw={"leave": [Leave(start=date(2025, 3, 3), end=date(2025, 3, 3))]},
        received_at=AS_OF - timedelta(days=5),
        assign_by=AS_OF - timedelta(days=2),
    )
    assert rules_for_c1_to_l1(prob) == {v.AVAILABILITY}


def test_travel() -> None:
    """Tests that a case farther than the lawyer's travel limit is rejected, and that the
    lawyer's own limit replaces the policy default."""
    far = Location(lat=HERE.lat + 1.0, lon=HERE.lon)  # about 111.2 km north
    assert great_circle_km(HERE, far) == pytest.approx(111.195, abs=0.01)
    prob = one_case(location=far)
    assert rules_for_c1_to_l1(prob) == {v.TRAVEL}
    prob = one_case(location=far, lawyer_kw={"max_travel_km": 120})
    assert rules_for_c1_to_l1(prob) == set()
    prob = problem(
        [lawyer("L1")], [case("C1", location=far)], policy=Policy(default_max_travel_km=150)
    )
    assert rules_for_c1_to_l1(prob) == set()


def test_jurisdiction() -> None:
    """Tests that a lawyer serving listed jurisdictions cannot take a case elsewhere."""
    prob = one_case(jurisdiction="B", lawyer_kw={"jurisdictions": ["A"]})
    assert rules_for_c1_to_l1(prob) == {v.JURISDICTION}
    prob = one_case(jurisdiction=None, lawyer_kw={"jurisdictions": ["A"]})
    assert rules_for_c1_to_l1(prob) == set()
    prob = one_case(jurisdiction="B")
    assert rules_for_c1_to_l1(prob) == set()


def test_explicit_exclusion() -> None:
    """Tests that a lawyer explicitly excluded from a case cannot take it."""
    prob = one_case(excluded_lawyer_ids=["L1"])
    assert rules_for_c1_to_l1(prob) == {v.EXPLICIT_EXCLUSION}


def test_complaint() -> None:
    """Tests that a lawyer the client complained about cannot take the case (Art 55)."""
    prob = one_case(complaint_lawyer_ids=["L1"])
    assert rules_for_c1_to_l1(prob) == {v.COMPLAINT}


def test_adverse_party_by_id() -> None:
    """Tests that a lawyer who acted for the adverse party (same party id) is rejected."""
    prob = one_case(
        case_type="maintenance",
        side=Side.CLAIMANT,
        parties=[Party(id="P9", name="Li Ming", role=PartyRole.ADVERSE)],
        lawyer_kw={"clients": [KnownClient(party_id="P9", name="Ming Li (old record)")]},
    )
    assert rules_for_c1_to_l1(prob) == {v.ADVERSE_PARTY}


def test_adverse_party_firm_client_by_name() -> None:
    """Tests that a firm's client matches an adverse party's name regardless of case, order and
    punctuation."""
    clients = [KnownClient(name="SMITH,  John-Paul")]
    prob = problem(
        [lawyer("L1", "F1")],
        [
            case(
                "C1",
                "maintenance",
                side=Side.CLAIMANT,
                parties=[Party(name="john paul smith", role=PartyRole.ADVERSE)],
            )
        ],
        firms=[firm("F1", clients=clients)],
    )
    assert rules_for_c1_to_l1(prob) == {v.ADVERSE_PARTY}


def test_adverse_party_alias() -> None:
    """Tests that an adverse party's alias matches a client name."""
    prob = one_case(
        case_type="maintenance",
        side=Side.CLAIMANT,
        parties=[Party(name="Zhang Wei", aliases=["Wei Z."], role=PartyRole.ADVERSE)],
        lawyer_kw={"clients": [KnownClient(name="z wei")]},
    )
    assert rules_for_c1_to_l1(prob) == {v.ADVERSE_PARTY}


def test_adverse_party_victim_of_defendant() -> None:
    """Tests that the victim counts as adverse in a defendant's case, and a co-defendant who is
    the lawyer's client is not adverse but the co-defendant rule's (one defender may not defend
    two co-defendants of one case)."""
    clients = [KnownClient(name="Chen Jie"), KnownClient(name="Zhou Yu")]
    prob = one_case(
        parties=[Party(name="Chen Jie", role=PartyRole.VICTIM)], lawyer_kw={"clients": clients}
    )
    assert rules_for_c1_to_l1(prob) == {v.ADVERSE_PARTY}
    prob = one_case(
        parties=[Party(name="Zhou Yu", role=PartyRole.CO_DEFENDANT)],
        lawyer_kw={"clients": clients},
    )
    assert rules_for_c1_to_l1(prob) == {v.CODEFENDANT_CLIENT}


def test_client_ending_later_is_current_and_unrecorded_matters_match() -> None:
    """Tests that a client whose representation ends after the plan's day is a current client
    (not a former one a consent could clear), and that a former client of a recorded matter
    conflicts in a case that records no matter."""
    base = one_case().as_of.date()
    parties = [Party(name="Sun Hao", role=PartyRole.ADVERSE)]
    consent = [ConflictWaiver(lawyer_id="L1", consent_ref="file 17")]
    later = [KnownClient(name="Sun Hao", ended_on=base + timedelta(days=30), matter_id="M9")]
    prob = one_case(parties=parties, conflict_waivers=consent, lawyer_kw={"clients": later})
    assert rules_for_c1_to_l1(prob) == {v.ADVERSE_PARTY}
    recent = [KnownClient(name="Sun Hao", ended_on=base - timedelta(days=30), matter_id="M9")]
    assert rules_for_c1_to_l1(one_case(parties=parties, lawyer_kw={"clients": recent})) == {
        v.FORMER_CLIENT
    }


def test_adverse_party_never_substring() -> None:
    """Tests that "Jon Smith" does not match "Ronjon Arrowsmith" (no substring matching)."""
    prob = one_case(
        case_type="maintenance",
        side=Side.CLAIMANT,
        parties=[Party(name="Jon Smith", role=PartyRole.ADVERSE)],
        lawyer_kw={"clients": [KnownClient(name="Ronjon Arrowsmith")]},
    )
    assert rules_for_c1_to_l1(prob) == set()


def test_client_of_lawyer_is_no_conflict() -> None:
    """Tests that the lawyer's own former client on the client side is not an adverse party."""
    prob = one_case(
        parties=[Party(id="P1", name="Sun Li", role=PartyRole.CLIENT)],
        lawyer_kw={"clients": [KnownClient(party_id="P1", name="Sun Li")]},
    )
    assert rules_for_c1_to_l1(prob) == set()


def test_relative() -> None:
    """Tests that a declared close relative among the parties excludes the lawyer (Art 39)."""
    prob = one_case(
        parties=[Party(name="Wang, Fang", role=PartyRole.WITNESS)],
        lawyer_kw={"relatives": ["fang  WANG"]},
    )
    assert rules_for_c1_to_l1(prob) == {v.RELATIVE}
    prob = one_case(
        parties=[Party(name="Wang Fangfang", role=PartyRole.WITNESS)],
        lawyer_kw={"relatives": ["Wang Fang"]},
    )
    assert rules_for_c1_to_l1(prob) == set()


def test_colleague_relative() -> None:
    """Tests that a colleague's declared relative adverse to the client breaks the plan (Norms
    Art 52), unless written consent names the lawyer; as a witness, or as the relative of a
    lawyer of another firm, it does not."""
    lawyers = [lawyer("L1"), lawyer("L2", relatives=["Wang Fang"])]

    def with_party(role: PartyRole, **case_kw: Any) -> Problem:
        parties = [Party(name="fang WANG", role=role)]
        return problem(lawyers, [case("C1", parties=parties, **case_kw)])

    assert rules_for_c1_to_l1(with_party(PartyRole.VICTIM)) == {v.COLLEAGUE_RELATIVE}
    consent = [ConflictWaiver(lawyer_id="L1", consent_ref="file 9")]
    assert rules_for_c1_to_l1(with_party(PartyRole.VICTIM, conflict_waivers=consent)) == set()
    assert rules_for_c1_to_l1(with_party(PartyRole.WITNESS)) == set()
    elsewhere = [lawyer("L1"), lawyer("L2", "F2", relatives=["Wang Fang"])]
    parties = [Party(name="Wang Fang", role=PartyRole.VICTIM)]
    other_firm = problem(elsewhere, [case("C1", parties=parties)])
    assert rules_for_c1_to_l1(other_firm) == set()


# -- per lawyer --------------------------------------------------------------------------


def test_capacity_hours() -> None:
    """Tests that current load plus assigned hours may not exceed capacity hours."""
    prob = one_case(lawyer_kw={"capacity_hours": 50, "current_load_hours": 20})  # 20 + 35
    assert rules_for_c1_to_l1(prob) == {v.CAPACITY_HOURS}
    prob = one_case(lawyer_kw={"capacity_hours": 55, "current_load_hours": 20})
    assert rules_for_c1_to_l1(prob) == set()


def test_capacity_hours_uses_case_override() -> None:
    """Tests that a case's own workload hours replace the catalogue's in the capacity sum."""
    prob = one_case(workload_hours=60, lawyer_kw={"capacity_hours": 50})
    assert rules_for_c1_to_l1(prob) == {v.CAPACITY_HOURS}


def test_capacity_cases() -> None:
    """Tests that current open cases plus assigned cases may not exceed max open cases."""
    prob = one_case(lawyer_kw={"max_open_cases": 2, "current_open_cases": 2})
    assert rules_for_c1_to_l1(prob) == {v.CAPACITY_CASES}


# -- rules over groups of cases ----------------------------------------------------------


def test_co_defendants_share_no_lawyer() -> None:
    """Tests that co-defendants of one matter never share a lawyer (SPC 2021 Art 43)."""
    prob = base_problem()
    assert rules(prob, build_plan(prob, {**BASE_MAPPING, "C2": "L1"})) == {v.CO_DEFENDANTS}


def test_linked_cases_share_no_lawyer() -> None:
    """Tests that linked cases never share a lawyer."""
    prob = problem(
        [lawyer("L1"), lawyer("L2", "F2")], [case("C1", linked_case_ids=["C2"]), case("C2")]
    )
    assert rules(prob, build_plan(prob, {"C1": "L1", "C2": "L1"})) == {v.LINKED_CASES}
    assert rules(prob, build_plan(prob, {"C1": "L1", "C2": "L2"})) == set()


def test_co_defendant_firm_switch() -> None:
    """Tests that with the policy switch, co-defendants and linked cases never share a firm."""
    lawyers = [lawyer("L1", "F1"), lawyer("L2", "F1"), lawyer("L3", "F2")]
    cases = [
        case("C1", matter_id="M1"),
        case("C2", matter_id="M1"),
        case("C3", linked_case_ids=["C4"]),
        case("C4"),
    ]
    mapping = {"C1": "L1", "C2": "L2", "C3": "L3", "C4": "L3"}
    prob = problem(lawyers, cases)
    assert rules(prob, build_plan(prob, {**mapping, "C4": "L1"})) == set()
    strict = problem(lawyers, cases, policy=Policy(codefendants_same_firm_forbidden=True))
    report = verify_plan(strict, build_plan(strict, {**mapping, "C4": "L1"}))
    assert report.rules_broken == {v.CO_DEFENDANT_FIRM}
    assert len(report.violations) == 1
    report = verify_plan(
        strict, build_plan(strict, {**mapping, "C2": "L3", "C3": "L2", "C4": "L1"})
    )
    assert report.rules_broken == {v.CO_DEFENDANT_FIRM}
    assert {x.case_id for x in report.violations} == {"C4"}


def test_opposing_sides_victim_and_defendant() -> None:
    """Tests that one firm never acts for victim and defendant of one matter (Norms Art 51)."""
    lawyers = [lawyer("L1", "F1"), lawyer("L2", "F1"), lawyer("L3", "F2")]
    cases = [
        case("C1", matter_id="M1"),
        case("C3", "victim_representation", matter_id="M1", side=Side.VICTIM),
    ]
    prob = problem(lawyers, cases)
    assert rules(prob, build_plan(prob, {"C1": "L1", "C3": "L2"})) == {v.OPPOSING_SIDES_FIRM}
    assert rules(prob, build_plan(prob, {"C1": "L1", "C3": "L3"})) == set()


def test_opposing_sides_claimant_and_respondent() -> None:
    """Tests that one firm never acts for both sides of a civil matter (Norms Art 51)."""
    prob = base_problem()
    assert rules(prob, build_plan(prob, {**BASE_MAPPING, "C5": "L1"})) == {v.OPPOSING_SIDES_FIRM}


def test_same_side_same_firm_is_allowed() -> None:
    """Tests that two claimants of one matter may share a firm and even a lawyer."""
    cases = [
        case("C1", "maintenance", matter_id="M1", side=Side.CLAIMANT),
        case("C2", "maintenance", matter_id="M1", side=Side.CLAIMANT),
    ]
    prob = problem([lawyer("L1")], cases)
    assert rules(prob, build_plan(prob, {"C1": "L1", "C2": "L1"})) == set()


# -- pinned and started ------------------------------------------------------------------


def pinned_problem(policy: Policy | None = None, **current: bool) -> Problem:
    lawyers = [lawyer("L1"), lawyer("L2", "F2")]
    cases = [case("C1", current_assignment=CurrentAssignment(lawyer_id="L1", **current))]
    return problem(lawyers, cases, policy=policy or Policy())


@pytest.mark.parametrize(("flag", "rule"), [("pinned", v.PINNED), ("started", v.STARTED)])
def test_pinned_or_started_case_moved(flag: str, rule: str) -> None:
    """Tests that a pinned or started case moved to another lawyer is rejected."""
    prob = pinned_problem(None, **{flag: True})
    assert rules(prob, build_plan(prob, {"C1": "L2"})) == {rule}
    assert rules(prob, build_plan(prob, {"C1": "L1"})) == set()


@pytest.mark.parametrize(("flag", "rule"), [("pinned", v.PINNED), ("started", v.STARTED)])
def test_pinned_or_started_case_unassigned(flag: str, rule: str) -> None:
    """Tests that a pinned or started case left unassigned is rejected."""
    prob = pinned_problem(None, **{flag: True})
    assert rules(prob, build_plan(prob, {})) == {rule}


def test_moving_allowed_by_policy() -> None:
    """Tests that the policy switches allow moving pinned and started cases."""
    policy = Policy(allow_moving_pinned=True, allow_moving_started=True)
    prob = pinned_problem(policy, pinned=True, started=True)
    assert rules(prob, build_plan(prob, {"C1": "L2"})) == set()


def test_unpinned_case_may_move() -> None:
    """Tests that a case with a current lawyer but neither pinned nor started may move."""
    prob = pinned_problem()
    assert rules(prob, build_plan(prob, {"C1": "L2"})) == set()


# -- plan content ------------------------------------------------------------------------


def tampered(prob: Problem, mapping: dict[str, str], **update: Any) -> Plan:
    """A plan whose first assignment has ``update`` applied, KPIs and objective re-added."""
    plan = build_plan(prob, mapping)
    first = plan.assignments[0].model_copy(update=update)
    return assemble(prob, [first, *plan.assignments[1:]], plan.unassigned)


def test_workload_hours() -> None:
    """Tests that an assignment's workload hours must be the case's hours."""
    prob = base_problem()
    assert rules(prob, tampered(prob, BASE_MAPPING, workload_hours=34.0)) == {v.WORKLOAD_HOURS}


def test_travel_km() -> None:
    """Tests that an assignment's travel must match the great-circle distance within 0.01 km."""
    prob = base_problem()
    mapping = {"C3": "L3", **BASE_MAPPING}
    good = build_plan(prob, mapping).assignments[0].travel_km
    assert good > 5
    assert rules(prob, tampered(prob, mapping, travel_km=good + 0.005)) == set()
    assert rules(prob, tampered(prob, mapping, travel_km=good + 0.02)) == {v.TRAVEL_KM}


def test_cost_terms() -> None:
    """Tests that an assignment's cost must be the sum of its terms."""
    prob = base_problem()
    assert rules(prob, tampered(prob, BASE_MAPPING, cost_points=1)) == {v.COST_TERMS}


def test_subsidy() -> None:
    """Tests that an assignment's subsidy is the catalogue's for type and stage times the class
    multiplier."""
    prob = one_case(stage="investigation", lawyer_kw={"subsidy_class": "grassroots"})
    plan = build_plan(prob, {"C1": "L1"})
    assert plan.assignments[0].subsidy_cny == 300.0
    assert rules(prob, plan) == set()
    assert rules(prob, tampered(prob, {"C1": "L1"}, subsidy_cny=600.0)) == {v.SUBSIDY}


def test_moved_from() -> None:
    """Tests that moved_from names the current lawyer exactly when the case moves."""
    prob = base_problem()
    mapping = {"C7": "L3", **BASE_MAPPING}
    assert build_plan(prob, mapping).assignments[0].moved_from == "L2"
    assert rules(prob, tampered(prob, mapping, moved_from=None)) == {v.MOVED_FROM}
    assert rules(prob, tampered(prob, BASE_MAPPING, moved_from="L3")) == {v.MOVED_FROM}


def test_unassigned_reason() -> None:
    """Tests that an unassigned case with reason no_eligible_lawyer must have no eligible lawyer."""
    prob = base_problem()
    bad = unassigned("C8", UnassignedReason.NO_ELIGIBLE_LAWYER, eligible=2)
    assert rules(prob, build_plan(prob, BASE_MAPPING, [bad])) == {v.UNASSIGNED_REASON}
    good = unassigned("C8", UnassignedReason.NO_ELIGIBLE_LAWYER, eligible=0)
    assert rules(prob, build_plan(prob, BASE_MAPPING, [good])) == set()


# -- KPIs --------------------------------------------------------------------------------


def test_kpis_by_hand() -> None:
    """Tests the KPI definitions on hand-computed figures, and that the verifier accepts them."""
    lawyers = [
        lawyer("L1", current_load_hours=10, capacity_hours=100, yearly_quota_cases=2),
        lawyer("L2", accepting_new_cases=False, capacity_hours=100),  # not counted
        lawyer("L3", capacity_hours=0),  # not counted
        lawyer("L4", capacity_hours=50, yearly_quota_cases=3, cases_this_year=1),
    ]
    cases = [
        case("C1", priority_groups=["detained", "minor"]),
        case("C2", priority_groups=["minor"], assign_by=AS_OF + timedelta(hours=24)),
        case("C3", "maintenance"),
    ]
    prob = problem(lawyers, cases)
    plan = build_plan(
        prob,
        {"C1": "L1"},
        [unassigned("C3", UnassignedReason.NO_ELIGIBLE_LAWYER, eligible=0)],
    )
    k = plan.kpis
    assert (k.cases, k.assigned, k.deadline_risk) == (3, 1, 1)
    assert k.assigned_share == pytest.approx(1 / 3)
    assert k.assigned_share_of_eligible == pytest.approx(1 / 2)
    assert k.by_priority_group == {
        "detained": GroupShare(cases=1, assigned=1, share=1.0),
        "minor": GroupShare(cases=2, assigned=1, share=0.5),
        "none": GroupShare(cases=1, assigned=0, share=0.0),
    }
    # Utilisation: L1 (10 + 35) / 100 = 0.45, L4 0 / 50 = 0.
    assert k.utilisation_mean == pytest.approx(0.225)
    assert k.utilisation_max == pytest.approx(0.45)
    assert k.utilisation_p95 == pytest.approx(0.4275)
    assert k.utilisation_gini == pytest.approx(0.5)
    assert (k.quota_deficit_cases, k.lawyers_below_quota) == (3, 2)
    assert k.subsidy_cny_total == pytest.approx(1200.0)
    assert rules(prob, plan) == {v.QUALIFICATION}  # C1 is a minor's case; L1 lacks juvenile
    certified = lawyers[0].model_copy(update={"certifications": ["juvenile"]})
    cert = prob.model_copy(update={"lawyers": [certified, *lawyers[1:]]})
    assert rules(cert, plan) == set()


def test_gini_formula() -> None:
    """Tests the sorted-formula Gini on known values."""
    assert v.gini([]) == 0.0
    assert v.gini([0.0, 0.0]) == 0.0
    assert v.gini([1.0, 1.0, 1.0]) == pytest.approx(0.0)
    assert v.gini([0.0, 0.0, 0.0, 1.0]) == pytest.approx(0.75)


SCALAR_KPIS = [
    ("cases", 1),
    ("assigned", 1),
    ("assigned_share", 0.01),
    ("assigned_share_of_eligible", 0.01),
    ("deadline_risk", 1),
    ("utilisation_mean", 0.01),
    ("utilisation_p95", 0.01),
    ("utilisation_max", 0.01),
    ("utilisation_gini", 0.01),
    ("travel_km_total", 0.5),
    ("travel_km_mean", 0.5),
    ("subsidy_cny_total", 1.0),
    ("quota_deficit_cases", 1),
    ("lawyers_below_quota", 1),
    ("moves", 1),
]


@pytest.mark.parametrize(("name", "delta"), SCALAR_KPIS)
def test_kpi_mismatch(name: str, delta: float) -> None:
    """Tests that every reported KPI is recomputed and a wrong value rejected."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    kpis = plan.kpis.model_copy(update={name: getattr(plan.kpis, name) + delta})
    report = verify_plan(prob, plan.model_copy(update={"kpis": kpis}))
    assert report.rules_broken == {v.KPIS}
    assert name in report.violations[0].detail


def test_kpi_float_tolerance() -> None:
    """Tests that float KPIs within 1e-6 relative or absolute are accepted."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    kpis = plan.kpis.model_copy(update={"travel_km_total": plan.kpis.travel_km_total + 1e-7})
    assert rules(prob, plan.model_copy(update={"kpis": kpis})) == set()


@pytest.mark.parametrize(
    "groups",
    [
        {"minor": GroupShare(cases=1, assigned=1, share=1.0)},  # groups missing
        "extra",
        "wrong",
    ],
)
def test_kpi_by_priority_group(groups: Any) -> None:
    """Tests that the assigned share by priority group is recomputed group by group."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    reported = dict(plan.kpis.by_priority_group)
    if groups == "extra":
        reported["elderly"] = GroupShare(cases=0, assigned=0, share=0.0)
    elif groups == "wrong":
        reported["none"] = GroupShare(cases=5, assigned=4, share=0.8)
    else:
        reported = groups
    kpis = plan.kpis.model_copy(update={"by_priority_group": reported})
    assert rules(prob, plan.model_copy(update={"kpis": kpis})) == {v.KPIS}


# -- objective and bound -----------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["edge_points", "unassigned_points", "utilisation_points", "quota_points"]
)
def test_objective_parts(field: str) -> None:
    """Tests that the objective parts add up and edge and unassigned parts are recomputed."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    objective = plan.objective.model_copy(update={field: getattr(plan.objective, field) + 1})
    report = verify_plan(prob, plan.model_copy(update={"objective": objective}))
    assert report.rules_broken == {v.OBJECTIVE}


@pytest.mark.parametrize("field", ["utilisation_points", "quota_points"])
def test_band_and_quota_points_are_recomputed(field: str) -> None:
    """Tests that utilisation and quota points changed together with the total, the bound and
    the gap (a plan consistent with itself) are still caught: both are recomputed from the
    loads and the quotas."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    objective = plan.objective.model_copy(update={field: getattr(plan.objective, field) + 5})
    total = plan.solver.objective_points + 5
    solver = plan.solver.model_copy(
        update={"objective_points": total, "best_bound_points": total, "gap": 0.0}
    )
    changed = plan.model_copy(update={"objective": objective, "solver": solver})
    assert rules(prob, changed) == {v.OBJECTIVE}


def test_objective_solver_total() -> None:
    """Tests that the solver's objective equals the sum of the objective parts."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    solver = plan.solver.model_copy(
        update={
            "objective_points": plan.solver.objective_points + 1,
            "best_bound_points": plan.solver.objective_points + 1,
        }
    )
    assert rules(prob, plan.model_copy(update={"solver": solver})) == {v.OBJECTIVE}


def test_bound_optimal_needs_matching_bound() -> None:
    """Tests that a plan claimed optimal needs a bound equal to its objective."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    weak = assemble(prob, plan.assignments, plan.unassigned, bound_offset=-10)
    assert rules(prob, weak) == {v.BOUND}
    feasible = assemble(
        prob, plan.assignments, plan.unassigned, status=SolveStatus.FEASIBLE, bound_offset=-10
    )
    assert rules(prob, feasible) == set()


def test_bound_above_objective() -> None:
    """Tests that a bound above the objective is rejected whatever the status."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    for status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        bad = assemble(prob, plan.assignments, plan.unassigned, status=status, bound_offset=5)
        assert rules(prob, bad) == {v.BOUND}


def test_gap_must_follow_objective_and_bound() -> None:
    """Tests that a gap other than (objective - bound) / (objective - constant) is rejected
    (a plan once passed with a gap of 0 where the real one was 50%), and the right one is
    not."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    right = assemble(
        prob, plan.assignments, plan.unassigned, status=SolveStatus.FEASIBLE, bound_offset=-10
    )
    assert right.solver.gap > 0
    assert rules(prob, right) == set()
    tampered = right.solver.model_copy(update={"gap": 0.0})
    assert rules(prob, right.model_copy(update={"solver": tampered})) == {v.BOUND}


def test_bound_nan_rejected() -> None:
    """Tests that a NaN bound is rejected."""
    prob = base_problem()
    plan = build_plan(prob, BASE_MAPPING)
    solver = plan.solver.model_copy(
        update={"best_bound_points": float("nan"), "status": SolveStatus.FEASIBLE}
    )
    assert rules(prob, plan.model_copy(update={"solver": solver})) == {v.BOUND}


def test_former_client_within_a_year_unless_consented() -> None:
    """Tests that an adverse party who was the lawyer's client until 100 days before the plan
    date is a former-client violation, that written consent naming the lawyer clears it, and
    that a representation ended two years ago is none."""
    base = one_case().as_of.date()
    parties = [Party(name="Sun Hao", role=PartyRole.ADVERSE)]
    recent = [KnownClient(name="Sun Hao", ended_on=base - timedelta(days=100))]
    prob = one_case(parties=parties, lawyer_kw={"clients": recent})
    assert rules_for_c1_to_l1(prob) == {v.FORMER_CLIENT}
    consent = [ConflictWaiver(lawyer_id="L1", consent_ref="file 17")]
    prob = one_case(parties=parties, conflict_waivers=consent, lawyer_kw={"clients": recent})
    assert rules_for_c1_to_l1(prob) == set()
    old = [KnownClient(name="Sun Hao", ended_on=base - timedelta(days=730))]
    assert rules_for_c1_to_l1(one_case(parties=parties, lawyer_kw={"clients": old})) == set()


def test_colleague_client_and_claimant_side_roles() -> None:
    """Tests that a colleague's client is imputed to the lawyer's firm, and that for a
    claimant the co-defendant (the sued side) is adverse."""
    colleague = lawyer("L2", "F1", clients=[KnownClient(name="Qian Bo")])
    prob = problem(
        [lawyer("L1", "F1"), colleague],
        [
            case(
                "C1",
                "maintenance",
                side=Side.CLAIMANT,
                parties=[Party(name="Qian Bo", role=PartyRole.CO_DEFENDANT)],
            )
        ],
        firms=[firm("F1")],
    )
    assert rules_for_c1_to_l1(prob) == {v.ADVERSE_PARTY}


def test_leave_is_read_in_the_offices_days() -> None:
    """Tests that the verifier reads leave in the office's calendar days (``Policy.timezone``):
    a case due at 07:00 in Beijing on the day a leave starts is due that Beijing day (in UTC
    the day before)."""
    due = datetime(2025, 3, 6, 7, 0, tzinfo=timezone(timedelta(hours=8)))
    leave = [Leave(start=date(2025, 3, 6), end=date(2025, 3, 20))]
    beijing = problem(
        [lawyer("L1", leave=leave)],
        [case("C1", assign_by=due)],
        policy=Policy(timezone="Asia/Shanghai"),
    )
    assert beijing.as_of < due
    assert v.AVAILABILITY in rules_for_c1_to_l1(beijing)
    in_utc = problem([lawyer("L1", leave=leave)], [case("C1", assign_by=due)])
    assert v.AVAILABILITY not in rules_for_c1_to_l1(in_utc)
