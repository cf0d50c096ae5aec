"""Tests that each per-edge hard rule alone keeps a lawyer off a case.

Each test starts from the default pair of ``tests.factory`` (eligible), flips one thing, and
checks that the edge disappears and that ``why_not`` names exactly that rule.
"""

from __future__ import annotations

import inspect
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from assigner.domain import (
    Case,
    ConflictWaiver,
    KnownClient,
    Leave,
    Location,
    Party,
    Policy,
    PracticeArea,
    Problem,
)
from assigner.domain.arrays import build_arrays
from assigner.eligibility import RULE_CITATIONS, RULE_FILTERS, Rule, why_not
from tests.eligibility.helpers import assert_eligible, assert_excluded_only_by
from tests.factory import AS_OF, make_case, make_firm, make_lawyer, make_problem

CRIMINAL_2Y = [PracticeArea(area="criminal_defence", level=3, years=2.0)]


def test_default_pair_is_eligible() -> None:
    """Tests that the factory's default lawyer and case form an edge with no exclusion."""
    assert_eligible(make_problem())


def test_every_rule_has_a_filter_and_a_citation() -> None:
    """Tests that each Rule has a filter function whose docstring cites its source."""
    assert list(RULE_FILTERS) == list(Rule)
    assert set(RULE_CITATIONS) == set(Rule)
    for rule, fn in RULE_FILTERS.items():
        assert inspect.getdoc(fn), rule
        assert RULE_CITATIONS[rule]


def test_practice_area_alone_excludes() -> None:
    """Tests that a lawyer without the case type's practice area is excluded."""
    lawyer = make_lawyer(practice_areas=[PracticeArea(area="labour", level=5, years=10)])
    found = assert_excluded_only_by(make_problem(lawyers=[lawyer]), Rule.PRACTICE_AREA)
    assert "'criminal_defence'" in found.detail


def test_qualification_capital_years_alone_excludes() -> None:
    """Tests that a possible life or death sentence needs 3 years of criminal defence
    (Legal Aid Law Art 26) and that 2 years are refused."""
    case = make_case(flags=["possible_life_or_death_sentence"])
    found = assert_excluded_only_by(
        make_problem(lawyers=[make_lawyer(practice_areas=CRIMINAL_2Y)], cases=[case]),
        Rule.QUALIFICATION,
    )
    assert "needs 3.0 years of criminal_defence practice, has 2.0" in found.detail
    assert "Art 26" in found.citation


def test_qualification_capital_years_boundary_passes() -> None:
    """Tests that exactly 3 years of criminal defence meet the capital rule."""
    areas = [PracticeArea(area="criminal_defence", level=3, years=3.0)]
    case = make_case(flags=["possible_life_or_death_sentence"])
    assert_eligible(make_problem(lawyers=[make_lawyer(practice_areas=areas)], cases=[case]))


def test_qualification_named_by_case_type_alone_excludes() -> None:
    """Tests that a case type naming a qualification rule (felony_life) applies it without a
    flag."""
    case = make_case(case_type="felony_life", workload_hours=50.0)
    found = assert_excluded_only_by(
        make_problem(lawyers=[make_lawyer(practice_areas=CRIMINAL_2Y)], cases=[case]),
        Rule.QUALIFICATION,
    )
    assert "case type 'felony_life'" in found.detail


def test_qualification_juvenile_certification_alone_excludes() -> None:
    """Tests that a minor in a criminal case needs the juvenile certification."""
    case = make_case(priority_groups=["minor"])
    found = assert_excluded_only_by(
        make_problem(lawyers=[make_lawyer(certifications=[])], cases=[case]),
        Rule.QUALIFICATION,
    )
    assert "needs certification 'juvenile'" in found.detail


def test_qualification_juvenile_rule_limited_to_criminal_cases() -> None:
    """Tests that only_practice_areas keeps the juvenile rule off a minor's wage claim."""
    case = make_case(case_type="wage_claim", stage="litigation", priority_groups=["minor"])
    assert_eligible(make_problem(lawyers=[make_lawyer(certifications=[])], cases=[case]))


def test_qualification_capital_rule_limited_to_the_defence() -> None:
    """Tests that the capital rule (Art 26: the defender) keeps off a flagged victim's case:
    a victim's lawyer needs no years of criminal defence."""
    case = make_case(
        case_type="victim_representation",
        side="victim",
        flags=["possible_life_or_death_sentence"],
    )
    areas = [PracticeArea(area="criminal_victim", level=3, years=1.0)]
    assert_eligible(make_problem(lawyers=[make_lawyer(practice_areas=areas)], cases=[case]))


def test_provider_kind_alone_excludes() -> None:
    """Tests that a volunteer may not take a representation case (Legal Aid Law Arts 12-17)."""
    found = assert_excluded_only_by(
        make_problem(lawyers=[make_lawyer(kind="volunteer")]), Rule.PROVIDER_KIND
    )
    assert "'volunteer'" in found.detail


def test_provider_kind_volunteer_may_give_advice() -> None:
    """Tests that a volunteer may take an advice-and-documents case."""
    lawyer = make_lawyer(
        kind="volunteer", practice_areas=[PracticeArea(area="general_advice", level=2, years=1)]
    )
    case = make_case(case_type="advice_documents", stage="non_litigation")
    assert_eligible(make_problem(lawyers=[lawyer], cases=[case]))


def test_availability_not_accepting_alone_excludes() -> None:
    """Tests that a lawyer not accepting new cases is excluded from a new case."""
    found = assert_excluded_only_by(
        make_problem(lawyers=[make_lawyer(accepting_new_cases=False)]), Rule.AVAILABILITY
    )
    assert "not accepting new cases" in found.detail


def test_availability_current_case_stays_with_closed_lawyer() -> None:
    """Tests that a lawyer not accepting new cases stays available for a case already held."""
    case = make_case(current_assignment={"lawyer_id": "L1"})
    assert_eligible(make_problem(lawyers=[make_lawyer(accepting_new_cases=False)], cases=[case]))


def test_availability_leave_alone_excludes() -> None:
    """Tests that a leave overlapping [as_of, assign_by] excludes the lawyer."""
    start = AS_OF.date() + timedelta(days=2)
    lawyer = make_lawyer(leave=[Leave(start=start, end=start + timedelta(days=7))])
    found = assert_excluded_only_by(make_problem(lawyers=[lawyer]), Rule.AVAILABILITY)
    assert start.isoformat() in found.detail


def test_availability_counts_the_offices_calendar_days() -> None:
    """Tests that leave is read in the office's days (``Policy.timezone``): a case due at 07:00
    in Beijing on the day a leave starts is due that Beijing day (in UTC the day before), so
    the lawyer on leave from that day is excluded there, and not where the office keeps UTC."""
    beijing = timezone(timedelta(hours=8))
    due = datetime(2025, 3, 6, 7, 0, tzinfo=beijing)  # 2025-03-05 23:00 UTC
    lawyer = make_lawyer(leave=[Leave(start=date(2025, 3, 6), end=date(2025, 3, 20))])
    case = make_case(assign_by=due)
    office = Policy(timezone="Asia/Shanghai")
    found = assert_excluded_only_by(
        make_problem(lawyers=[lawyer], cases=[case], policy=office), Rule.AVAILABILITY
    )
    assert "2025-03-06" in found.detail
    assert_eligible(make_problem(lawyers=[lawyer], cases=[case]))


def test_availability_leave_excludes_even_the_current_lawyer() -> None:
    """Tests that holding the case does not make a lawyer on leave available."""
    lawyer = make_lawyer(leave=[Leave(start=AS_OF.date(), end=AS_OF.date())])
    case = make_case(current_assignment={"lawyer_id": "L1"})
    assert_excluded_only_by(make_problem(lawyers=[lawyer], cases=[case]), Rule.AVAILABILITY)


@pytest.mark.parametrize(
    ("start_days", "end_days"),
    [(-10, -1), (4, 9)],
    ids=["ended-before-as-of", "starts-after-assign-by"],
)
def test_availability_leave_outside_window_passes(start_days: int, end_days: int) -> None:
    """Tests that a leave outside [as_of date, assign_by date] does not exclude."""
    today = AS_OF.date()
    leave = Leave(start=today + timedelta(days=start_days), end=today + timedelta(days=end_days))
    assert_eligible(make_problem(lawyers=[make_lawyer(leave=[leave])]))


def test_availability_overdue_case_checks_today() -> None:
    """Tests that a case already past its assign-by date is checked against the as_of day."""
    case = make_case(received_at=AS_OF - timedelta(days=5), assign_by=AS_OF - timedelta(days=2))
    on_leave_today = make_lawyer(leave=[Leave(start=AS_OF.date(), end=date(2025, 3, 10))])
    assert_excluded_only_by(make_problem(lawyers=[on_leave_today], cases=[case]), Rule.AVAILABILITY)
    leave_past = Leave(start=date(2025, 2, 27), end=date(2025, 3, 2))
    assert_eligible(make_problem(lawyers=[make_lawyer(leave=[leave_past])], cases=[case]))


def test_capacity_hours_alone_excludes() -> None:
    """Tests that load + case hours above capacity exclude (110 + 57 > 160)."""
    found = assert_excluded_only_by(
        make_problem(lawyers=[make_lawyer(current_load_hours=110.0)]), Rule.CAPACITY
    )
    assert "> capacity 160.0 h" in found.detail


def test_capacity_hours_exactly_full_passes() -> None:
    """Tests that a case filling the capacity exactly (103 + 57 = 160) is allowed."""
    assert_eligible(make_problem(lawyers=[make_lawyer(current_load_hours=103.0)]))


def test_capacity_open_cases_alone_excludes() -> None:
    """Tests that a lawyer at the max open-case count is excluded."""
    lawyer = make_lawyer(current_open_cases=20, max_open_cases=20)
    found = assert_excluded_only_by(make_problem(lawyers=[lawyer]), Rule.CAPACITY)
    assert "open cases 20 + 1 > max 20" in found.detail


FAR = Location(lat=40.8042, lon=116.4074)  # about 100 km north of the default lawyer


def test_travel_alone_excludes() -> None:
    """Tests that a case beyond the default max travel (80 km) is excluded."""
    found = assert_excluded_only_by(make_problem(cases=[make_case(location=FAR)]), Rule.TRAVEL)
    assert found.detail.startswith("travel 100.")
    assert "> max 80.0 km" in found.detail


def test_travel_lawyer_limit_overrides_policy_default() -> None:
    """Tests that Lawyer.max_travel_km replaces the policy default, both ways."""
    far_case = make_case(location=FAR)
    assert_eligible(make_problem(lawyers=[make_lawyer(max_travel_km=150.0)], cases=[far_case]))
    assert_excluded_only_by(make_problem(lawyers=[make_lawyer(max_travel_km=0.5)]), Rule.TRAVEL)
    assert_eligible(make_problem(cases=[far_case], policy={"default_max_travel_km": 120.0}))


def test_jurisdiction_alone_excludes() -> None:
    """Tests that a lawyer serving listed jurisdictions is excluded from another one."""
    lawyer = make_lawyer(jurisdictions=["J2", "J3"])
    found = assert_excluded_only_by(
        make_problem(lawyers=[lawyer], cases=[make_case(jurisdiction="J1")]), Rule.JURISDICTION
    )
    assert "'J1'" in found.detail


@pytest.mark.parametrize(
    ("lawyer_jurisdictions", "case_jurisdiction"),
    [(None, "J1"), (["J2"], None), (["J1", "J2"], "J1")],
    ids=["lawyer-serves-any", "case-without-jurisdiction", "listed"],
)
def test_jurisdiction_passes(
    lawyer_jurisdictions: list[str] | None, case_jurisdiction: str | None
) -> None:
    """Tests that jurisdiction passes when either side leaves it open or the case's is listed."""
    lawyer = make_lawyer(jurisdictions=lawyer_jurisdictions)
    case = make_case(jurisdiction=case_jurisdiction)
    assert_eligible(make_problem(lawyers=[lawyer], cases=[case]))


def test_explicit_exclusion_alone_excludes() -> None:
    """Tests that a lawyer listed in Case.excluded_lawyer_ids is excluded."""
    assert_excluded_only_by(
        make_problem(cases=[make_case(excluded_lawyer_ids=["L1"])]), Rule.EXPLICIT_EXCLUSION
    )


def test_adverse_party_firm_client_alone_excludes() -> None:
    """Tests that an adverse party who is the firm's client (by normalised name) excludes."""
    firm = make_firm(clients=[KnownClient(name="LEI, Wang")])
    case = make_case(parties=[Party(id="P17", name="Wang Lei", role="adverse")])
    found = assert_excluded_only_by(make_problem(firms=[firm], cases=[case]), Rule.ADVERSE_PARTY)
    assert found.detail == (
        "adverse party 'Wang Lei' (party P17) matches 'LEI, Wang', a client of firm F1, by name"
    )


def test_adverse_party_own_client_by_party_id_alone_excludes() -> None:
    """Tests that an adverse party matching the lawyer's own client by party id excludes."""
    lawyer = make_lawyer(clients=[KnownClient(party_id="P9", name="Someone Else")])
    case = make_case(parties=[Party(id="P9", name="Zhao Min", role="adverse")])
    found = assert_excluded_only_by(
        make_problem(lawyers=[lawyer], cases=[case]), Rule.ADVERSE_PARTY
    )
    assert "by party id P9" in found.detail


def test_adverse_party_colleague_client_alone_excludes() -> None:
    """Tests that a colleague's client is imputed to the firm (Conduct Norms Art 51)."""
    colleague = make_lawyer("L2", clients=[KnownClient(name="Zhao Min")])
    case = make_case(parties=[Party(name="Zhao Min", role="adverse")])
    found = assert_excluded_only_by(
        make_problem(lawyers=[make_lawyer(), colleague], cases=[case]), Rule.ADVERSE_PARTY
    )
    assert "colleague L2" in found.detail


def test_adverse_party_victim_of_defendant_case_alone_excludes() -> None:
    """Tests that for a defendant's case the victim counts as adverse."""
    lawyer = make_lawyer(clients=[KnownClient(name="Chen Jie")])
    case = make_case(parties=[Party(name="Chen Jie", role="victim")])
    assert_excluded_only_by(make_problem(lawyers=[lawyer], cases=[case]), Rule.ADVERSE_PARTY)


def test_adverse_party_side_decides_which_roles_are_adverse() -> None:
    """Tests that a claimant's co-defendant (the sued side) is adverse, but its victim
    (own side), client and witness are not."""
    lawyer = make_lawyer(clients=[KnownClient(name="Chen Jie")])

    def civil(role: str) -> Case:
        return make_case(
            case_type="wage_claim",
            stage="litigation",
            side="claimant",
            parties=[Party(name="Chen Jie", role=role)],
        )

    assert_excluded_only_by(
        make_problem(lawyers=[lawyer], cases=[civil("co_defendant")]), Rule.ADVERSE_PARTY
    )
    for role in ("victim", "client", "witness"):
        assert_eligible(make_problem(lawyers=[lawyer], cases=[civil(role)]))


def test_adverse_party_other_firm_client_passes() -> None:
    """Tests that another firm's client does not conflict this lawyer."""
    other = make_lawyer("L2", firm_id="F2", clients=[KnownClient(name="Zhao Min")])
    case = make_case(parties=[Party(name="Zhao Min", role="adverse")])
    assert_eligible(make_problem(lawyers=[make_lawyer(), other], cases=[case]))


def test_relative_alone_excludes() -> None:
    """Tests that a declared relative among the parties (any role) excludes (Lawyers Law
    Art 39)."""
    lawyer = make_lawyer(relatives=["Liu Yang"])
    case = make_case(parties=[Party(name="YANG, Liu", role="witness")])
    found = assert_excluded_only_by(make_problem(lawyers=[lawyer], cases=[case]), Rule.RELATIVE)
    assert "declared relative 'Liu Yang' by name" in found.detail


def test_relative_by_alias_alone_excludes() -> None:
    """Tests that a relative matching a party's alias excludes and is reported as an alias."""
    lawyer = make_lawyer(relatives=["Liu Yang"])
    case = make_case(parties=[Party(name="L. Y.", role="client", aliases=["liu yang"])])
    found = assert_excluded_only_by(make_problem(lawyers=[lawyer], cases=[case]), Rule.RELATIVE)
    assert "by alias 'liu yang'" in found.detail


def _colleague_relative_problem(role: str, **case_kw: Any) -> Problem:
    """L1 and L2 of firm F1, L2 with the declared relative "Liu Yang", L3 of firm F2 with the
    same; the case (a defendant's) has "Liu Yang" as a party in ``role``."""
    lawyers = [
        make_lawyer("L1"),
        make_lawyer("L2", relatives=["Liu Yang"]),
        make_lawyer("L3", firm_id="F2", relatives=["Liu Yang"]),
    ]
    case = make_case(parties=[Party(name="Yang LIU", role=role)], **case_kw)
    return make_problem(lawyers=lawyers, cases=[case])


def test_colleague_relative_alone_excludes() -> None:
    """Tests that a colleague's declared relative who is the opposing party (a victim, for a
    defendant's case) excludes the lawyer by the colleague's-relative rule alone (Conduct Norms
    Art 52), and the colleague by the own-relative rule."""
    problem = _colleague_relative_problem("victim")
    found = assert_excluded_only_by(problem, Rule.COLLEAGUE_RELATIVE, lawyer_id="L1")
    assert "declared relative of colleague L2 at firm F1" in found.detail
    assert "no written consent names lawyer L1" in found.detail
    assert "Art 52" in found.citation
    assert_excluded_only_by(problem, Rule.RELATIVE, lawyer_id="L2")


def test_colleague_relative_waived_by_written_consent() -> None:
    """Tests that written consent naming the lawyer clears the colleague's-relative conflict,
    while the same consent never clears the lawyer's own relative."""
    consent = [
        ConflictWaiver(lawyer_id="L1", consent_ref="c1"),
        ConflictWaiver(lawyer_id="L2", consent_ref="c2"),
    ]
    problem = _colleague_relative_problem("victim", conflict_waivers=consent)
    assert_eligible(problem, lawyer_id="L1")
    assert_excluded_only_by(problem, Rule.RELATIVE, lawyer_id="L2")


def test_colleague_relative_not_opposing_or_of_another_firm_passes() -> None:
    """Tests that a colleague's relative as a witness, or as a co-defendant on the client's own
    side, does not conflict, and a relative of a lawyer of another firm (L3) never does."""
    for role in ("witness", "co_defendant"):
        assert_eligible(_colleague_relative_problem(role), lawyer_id="L1")
    lawyers = [make_lawyer("L1"), make_lawyer("L3", firm_id="F2", relatives=["Liu Yang"])]
    case = make_case(parties=[Party(name="Liu Yang", role="victim")])
    assert_eligible(make_problem(lawyers=lawyers, cases=[case]), lawyer_id="L1")


def test_complaint_alone_excludes() -> None:
    """Tests that a lawyer the client complained about is excluded (Legal Aid Law Art 55)."""
    found = assert_excluded_only_by(
        make_problem(cases=[make_case(complaint_lawyer_ids=["L1"])]), Rule.COMPLAINT
    )
    assert found.citation == RULE_CITATIONS[Rule.COMPLAINT]


def test_why_not_lists_every_rule_in_rule_order() -> None:
    """Tests that a pair excluded by several rules gets one Exclusion per rule, in Rule order."""
    lawyer = make_lawyer(kind="volunteer", accepting_new_cases=False)
    case = make_case(complaint_lawyer_ids=["L1"], excluded_lawyer_ids=["L1"])
    arrays = build_arrays(make_problem(lawyers=[lawyer], cases=[case]))
    rules = [e.rule for e in why_not(arrays, "C1", "L1")]
    assert rules == [
        Rule.PROVIDER_KIND,
        Rule.AVAILABILITY,
        Rule.EXPLICIT_EXCLUSION,
        Rule.COMPLAINT,
    ]


@pytest.mark.parametrize(
    ("case_id", "lawyer_id", "missing"), [("C9", "L1", "C9"), ("C1", "L9", "L9")]
)
def test_why_not_unknown_id_raises_key_error(case_id: str, lawyer_id: str, missing: str) -> None:
    """Tests that why_not refuses an unknown case or lawyer id with a KeyError naming it."""
    arrays = build_arrays(make_problem())
    with pytest.raises(KeyError, match=missing):
        why_not(arrays, case_id, lawyer_id)


def _former(days_ago: int, **kw: Any) -> KnownClient:
    ended = (AS_OF - timedelta(days=days_ago)).date()
    return KnownClient(name="Sun Hao", ended_on=ended, **kw)


def test_former_client_within_a_year_alone_excludes() -> None:
    """Tests that a former client of the lawyer, adverse in the case and ended 200 days ago
    (within Art 52's year), excludes with the former-client rule, not the current-client one."""
    lawyer = make_lawyer(clients=[_former(200)])
    case = make_case(parties=[Party(name="Sun Hao", role="adverse")])
    found = assert_excluded_only_by(
        make_problem(lawyers=[lawyer], cases=[case]), Rule.FORMER_CLIENT
    )
    assert "a former client (until" in found.detail
    assert "no written consent names lawyer L1" in found.detail
    assert "Art 52" in found.citation


def test_former_client_after_a_year_passes() -> None:
    """Tests that a representation that ended more than a year ago no longer conflicts."""
    lawyer = make_lawyer(clients=[_former(400)])
    case = make_case(parties=[Party(name="Sun Hao", role="adverse")])
    assert_eligible(make_problem(lawyers=[lawyer], cases=[case]))


def test_former_client_in_another_matter_passes() -> None:
    """Tests that a former client of another recorded matter does not conflict, and of the
    case's own matter does."""
    case = make_case(matter_id="M7", parties=[Party(name="Sun Hao", role="adverse")])
    other = make_lawyer(clients=[_former(30, matter_id="M1")])
    assert_eligible(make_problem(lawyers=[other], cases=[case]))
    same = make_lawyer(clients=[_former(30, matter_id="M7")])
    assert_excluded_only_by(make_problem(lawyers=[same], cases=[case]), Rule.FORMER_CLIENT)


def test_former_client_waived_by_written_consent() -> None:
    """Tests that written consent naming the lawyer clears the former-client conflict, while
    the same consent never clears a current client (Lawyers Law Art 39)."""
    parties = [Party(name="Sun Hao", role="adverse")]
    waiver = [ConflictWaiver(lawyer_id="L1", consent_ref="file 2025/17")]
    former = make_lawyer(clients=[_former(30)])
    case = make_case(parties=parties, conflict_waivers=waiver)
    assert_eligible(make_problem(lawyers=[former], cases=[case]))
    current = make_lawyer(clients=[KnownClient(name="Sun Hao")])
    assert_excluded_only_by(make_problem(lawyers=[current], cases=[case]), Rule.ADVERSE_PARTY)


def test_former_client_whose_representation_has_not_ended_is_current() -> None:
    """Tests that a client whose representation ends after the plan's day is a current client
    (firm level, never waivable), not a former one."""
    lawyer = make_lawyer(clients=[_former(-30, matter_id="M1")])  # ends in 30 days
    case = make_case(
        parties=[Party(name="Sun Hao", role="adverse")],
        conflict_waivers=[{"lawyer_id": "L1", "consent_ref": "file 3"}],
    )
    assert_excluded_only_by(make_problem(lawyers=[lawyer], cases=[case]), Rule.ADVERSE_PARTY)


def test_former_client_and_a_case_without_a_matter_conflict() -> None:
    """Tests that a former client of a recorded matter, adverse in a case that records no
    matter, conflicts: an unrecorded matter is taken as the same on either side."""
    lawyer = make_lawyer(clients=[_former(30, matter_id="M1")])
    case = make_case(parties=[Party(name="Sun Hao", role="adverse")])
    assert_excluded_only_by(make_problem(lawyers=[lawyer], cases=[case]), Rule.FORMER_CLIENT)


def test_codefendant_client_alone_excludes() -> None:
    """Tests that a co-defendant of a defendant's case who is the lawyer's current client
    excludes the lawyer (one defender may not defend two co-defendants, SPC Art 43), while a
    colleague stays eligible unless the policy's one-firm rule is on."""
    lawyer = make_lawyer(clients=[KnownClient(party_id="P-CO", name="Chen Qi")])
    colleague = make_lawyer("L2")
    case = make_case(parties=[Party(id="P-CO", name="Chen Qi", role="co_defendant")])
    found = assert_excluded_only_by(
        make_problem(lawyers=[lawyer, colleague], cases=[case]), Rule.CODEFENDANT_CLIENT
    )
    assert "a client of lawyer L1 (this lawyer), by party id P-CO" in found.detail
    assert "Art 43" in found.citation
    assert_eligible(make_problem(lawyers=[lawyer, colleague], cases=[case]), lawyer_id="L2")
    one_firm = make_problem(
        lawyers=[lawyer, colleague],
        cases=[case],
        policy=Policy(codefendants_same_firm_forbidden=True),
    )
    assert_excluded_only_by(one_firm, Rule.CODEFENDANT_CLIENT, lawyer_id="L2")
    # Alone: the one lawyer, whose client the co-defendant is (the counts say so too).
    alone = make_problem(lawyers=[lawyer], cases=[case])
    assert_excluded_only_by(alone, Rule.CODEFENDANT_CLIENT)


def test_codefendant_client_names_only_the_records_that_exclude() -> None:
    """Tests that why-not names, for a lawyer excluded by their own client, only that record:
    a colleague's client among the co-defendants excludes no one without the one-firm rule,
    and is named for the colleague's firm-mates only with it."""
    lawyer = make_lawyer(clients=[KnownClient(party_id="P-CO", name="Chen Qi")])
    colleague = make_lawyer("L2", clients=[KnownClient(party_id="P-CO2", name="Zhou Lan")])
    case = make_case(
        parties=[
            Party(id="P-CO", name="Chen Qi", role="co_defendant"),
            Party(id="P-CO2", name="Zhou Lan", role="co_defendant"),
        ]
    )
    found = assert_excluded_only_by(
        make_problem(lawyers=[lawyer, colleague], cases=[case]), Rule.CODEFENDANT_CLIENT
    )
    assert "Chen Qi" in found.detail
    assert "Zhou Lan" not in found.detail
    one_firm = make_problem(
        lawyers=[lawyer, colleague],
        cases=[case],
        policy=Policy(codefendants_same_firm_forbidden=True),
    )
    both = assert_excluded_only_by(one_firm, Rule.CODEFENDANT_CLIENT)
    assert "Chen Qi" in both.detail and "Zhou Lan" in both.detail
