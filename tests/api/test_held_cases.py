"""Edits of a lawyer or a case that the lawyer's current cases depend on: a lawyer edit that
would make the lawyer ineligible for a started or pinned case is refused, as is a mark that would
keep a case with a lawyer who cannot hold it; a case document may not exclude its own lawyer,
nor change the marks; the hours charged follow the case's workload."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.auth import Role
from api.db import Database
from api.models import LawyerRow
from api.state_export import Scope, export_state
from assigner.domain.arrays import build_arrays
from assigner.eligibility import build_candidates
from assigner.search.from_problem import fixed_lawyers
from tests.api import world
from tests.api.conftest import Api


def _l2(**changes: Any) -> dict[str, Any]:
    doc = next(lw for lw in world.lawyers() if lw["id"] == "L2")
    return {**doc, **changes}


FAMILY_ONLY = [{"area": "family", "level": 4, "years": 6}]


def _case_doc(api: Api, case_id: str) -> dict[str, Any]:
    """The case as GET shows it, as a document to PUT back."""
    case = api.get(f"/v1/cases/{case_id}").json()
    return {
        k: v
        for k, v in case.items()
        if k not in ("version", "created_at", "updated_at", "assignment")
    }


def _jobs_accept_the_caseload(api: Api) -> None:
    """The batch and rebalance jobs' own check of the cases that must stay (the engine's
    ``fixed_lawyers``) passes on the stored state."""
    db: Database = api.client.app.state.services.db  # type: ignore[union-attr]
    with db.transaction(write=False) as session:
        problem = export_state(session, datetime.now(UTC), Scope.FULL).problem
    arrays = build_arrays(problem)
    fixed_lawyers(arrays, build_candidates(arrays))


def test_lawyer_edit_breaking_a_started_case_is_refused(world_api: Api) -> None:
    """Tests that taking away the practice area of a started case, or cutting capacity hours or
    open cases below what it needs, is a 409 kept_cases naming the case and each rule, with
    nothing written; the edit that breaks nothing is accepted."""
    assert world_api.assign("C3", "L2").status_code == 201
    assert world_api.mark("C3", started=True).status_code == 200
    before = world_api.get("/v1/lawyers/L2").json()

    r = world_api.put("/v1/lawyers/L2", json=_l2(practice_areas=FAMILY_ONLY))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["reason"] == "kept_cases"
    assert body["lawyer_id"] == "L2"
    assert [c["case_id"] for c in body["cases"]] == ["C3"]
    assert body["cases"][0]["started"] is True
    assert [x["rule"] for x in body["cases"][0]["reasons"]] == ["practice_area"]
    assert "C3" in body["detail"] and "PATCH /v1/cases/{id}/assignment" in body["detail"]

    cut = world_api.put("/v1/lawyers/L2", json=_l2(capacity_hours=10, max_open_cases=0))
    assert cut.status_code == 409
    capacity = cut.json()["cases"][0]["reasons"]
    assert [x["rule"] for x in capacity] == ["capacity"]
    assert "35.0 h" in capacity[0]["detail"] and "max 0" in capacity[0]["detail"]

    after = world_api.get("/v1/lawyers/L2").json()
    assert after == before
    _jobs_accept_the_caseload(world_api)
    assert world_api.put("/v1/lawyers/L2", json=_l2(name="Renamed")).status_code == 200


def test_move_to_a_firm_acting_for_the_other_side_is_refused(world_api: Api) -> None:
    """Tests that moving a lawyer with a started case to a firm whose client (F1's), or whose
    colleague's client (L5's at F3), is adverse in that case is a 409 naming adverse_party."""
    assert world_api.assign("C1", "L2").status_code == 201  # Wang Wei, F1's client, is the victim
    assert world_api.mark("C1", started=True).status_code == 200
    to_f1 = world_api.put("/v1/lawyers/L2", json=_l2(firm_id="F1"))
    assert to_f1.status_code == 409, to_f1.text
    assert [x["rule"] for x in to_f1.json()["cases"][0]["reasons"]] == ["adverse_party"]
    l5 = next(lw for lw in world.lawyers() if lw["id"] == "L5")
    l5 = {**l5, "clients": [{"name": "Wang Wei"}]}
    assert world_api.put("/v1/lawyers/L5", json=l5).status_code == 200
    to_f3 = world_api.put("/v1/lawyers/L2", json=_l2(firm_id="F3"))
    assert to_f3.status_code == 409
    assert "colleague L5" in to_f3.json()["cases"][0]["reasons"][0]["detail"]


def test_move_to_a_firm_where_a_colleague_is_the_victims_relative_is_refused(
    world_api: Api,
) -> None:
    """Tests that moving a lawyer with a started case to a firm where a colleague (L5 at F3)
    declares the case's victim as a close relative is a 409 naming colleague_relative (Conduct
    Norms Art 52): the check reads colleagues with relatives, not only those with clients."""
    assert world_api.assign("C1", "L2").status_code == 201  # Wang Wei is the victim
    assert world_api.mark("C1", started=True).status_code == 200
    l5 = next(lw for lw in world.lawyers() if lw["id"] == "L5")
    l5 = {**l5, "clients": [], "relatives": ["Wei WANG"]}
    assert world_api.put("/v1/lawyers/L5", json=l5).status_code == 200
    to_f3 = world_api.put("/v1/lawyers/L2", json=_l2(firm_id="F3"))
    assert to_f3.status_code == 409, to_f3.text
    reasons = to_f3.json()["cases"][0]["reasons"]
    assert [x["rule"] for x in reasons] == ["colleague_relative"]
    assert "colleague L5" in reasons[0]["detail"]


def test_lawyer_edit_counts_every_pinned_case_against_capacity(world_api: Api) -> None:
    """Tests that two pinned cases of 35 h each need 70 h: capacity 69 h is refused for both
    (each counted beside the other), 70 h is accepted."""
    for case_id in ("P1", "P2"):
        assert world_api.put(
            f"/v1/cases/{case_id}", json=world.case(case_id), role=Role.CASE_SYSTEM
        ).is_success
        assert world_api.assign(case_id, "L2").status_code == 201
        assert world_api.mark(case_id, pinned=True).status_code == 200
    r = world_api.put("/v1/lawyers/L2", json=_l2(capacity_hours=69))
    assert r.status_code == 409
    assert [c["case_id"] for c in r.json()["cases"]] == ["P1", "P2"]
    assert world_api.put("/v1/lawyers/L2", json=_l2(capacity_hours=70)).status_code == 200
    _jobs_accept_the_caseload(world_api)


def test_lawyer_edit_is_allowed_for_cases_only_assigned(world_api: Api) -> None:
    """Tests that a case merely assigned (neither started nor pinned) does not stop the edit:
    the rebalance moves it."""
    assert world_api.assign("C3", "L2").status_code == 201
    r = world_api.put("/v1/lawyers/L2", json=_l2(practice_areas=FAMILY_ONLY))
    assert r.status_code == 200, r.text
    _jobs_accept_the_caseload(world_api)


def test_a_rule_broken_before_the_edit_does_not_refuse_it(world_api: Api) -> None:
    """Tests that an edit is refused only for the rules it breaks: with the stored lawyer
    already lacking the practice area of a started case, a rename is accepted, and an edit
    that also cuts capacity is refused for capacity alone."""
    assert world_api.assign("C3", "L2").status_code == 201
    assert world_api.mark("C3", started=True).status_code == 200
    db: Database = world_api.client.app.state.services.db  # type: ignore[union-attr]
    with db.transaction(write=True) as session:  # as the lawyer was stored before this check
        row = session.get(LawyerRow, "L2")
        assert row is not None
        row.document = _l2(practice_areas=FAMILY_ONLY)
    renamed = world_api.put("/v1/lawyers/L2", json=_l2(practice_areas=FAMILY_ONLY, name="New"))
    assert renamed.status_code == 200, renamed.text
    cut = world_api.put("/v1/lawyers/L2", json=_l2(practice_areas=FAMILY_ONLY, capacity_hours=1))
    assert cut.status_code == 409
    assert [x["rule"] for x in cut.json()["cases"][0]["reasons"]] == ["capacity"]


def test_edit_of_a_lawyer_stored_with_values_now_refused(world_api: Api) -> None:
    """Tests that a lawyer stored before the record checks refused a value (max_open_cases of
    2**31) can be corrected, and that an edit breaking a started case is still a 409 (every
    rule counts, since the stored document cannot be read)."""
    assert world_api.assign("C3", "L2").status_code == 201
    assert world_api.mark("C3", started=True).status_code == 200
    db: Database = world_api.client.app.state.services.db  # type: ignore[union-attr]
    with db.transaction(write=True) as session:
        row = session.get(LawyerRow, "L2")
        assert row is not None
        row.document = _l2(max_open_cases=2**31)
    broken = world_api.put("/v1/lawyers/L2", json=_l2(practice_areas=FAMILY_ONLY))
    assert broken.status_code == 409, broken.text
    assert [x["rule"] for x in broken.json()["cases"][0]["reasons"]] == ["practice_area"]
    assert world_api.put("/v1/lawyers/L2", json=_l2()).status_code == 200


def _import_one_created(api: Api, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Import the lawyer ``rows``; the report must say one was created and none replaced.
    Returns the rejected rows."""
    r = api.post(
        "/v1/lawyers/import", content=json.dumps(rows), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["replaced"]) == (1, 0)
    rejected: list[dict[str, Any]] = report["rejected"]
    return rejected


def test_lawyer_import_row_breaking_a_pinned_case_is_rejected(world_api: Api) -> None:
    """Tests that in a lawyer import the row that would break a pinned case is reported with
    the case and rule, and the other rows are written."""
    assert world_api.assign("C3", "L2").status_code == 201
    assert world_api.mark("C3", pinned=True).status_code == 200
    rows = [world.lawyer("L9", "F2"), _l2(practice_areas=FAMILY_ONLY)]
    [rejected] = _import_one_created(world_api, rows)
    assert (rejected["row"], rejected["id"]) == (2, "L2")
    error = rejected["errors"][0]
    assert error["record"] == "case C3"
    assert "practice_area" in error["message"] and "pinned" in error["message"]
    assert world_api.get("/v1/lawyers/L2").json()["practice_areas"][0]["area"] == "criminal_defence"


def _l3(**changes: Any) -> dict[str, Any]:
    doc = next(lw for lw in world.lawyers() if lw["id"] == "L3")
    return {**doc, **changes}


def test_an_edit_that_conflicts_a_colleagues_started_case_is_refused(world_api: Api) -> None:
    """Tests that with C1 (victim Wang Wei) started with L5 at F3, giving L5's colleague L3 the
    relative "Wei Wang" or the client "Wang Wei", creating a lawyer at F3 with that relative, or
    moving L2 there with it, is a 409 kept_cases naming L5's case and the rule (Conduct Norms
    Art 51-52); nothing is written, and once the mark is cleared the same edit is accepted."""
    assert world_api.assign("C1", "L5").status_code == 201
    assert world_api.mark("C1", started=True).status_code == 200
    before = world_api.get("/v1/lawyers/L3").json()
    edits = [
        ("/v1/lawyers/L3", _l3(relatives=["Wei Wang"]), "colleague_relative"),
        ("/v1/lawyers/L3", _l3(clients=[{"name": "Wang Wei"}]), "adverse_party"),
        ("/v1/lawyers/L6", world.lawyer("L6", "F3", relatives=["Wei Wang"]), "colleague_relative"),
        ("/v1/lawyers/L2", _l2(firm_id="F3", relatives=["Wei Wang"]), "colleague_relative"),
    ]
    for path, doc, rule in edits:
        r = world_api.put(path, json=doc)
        assert r.status_code == 409, (path, r.text)
        body = r.json()
        assert body["reason"] == "kept_cases"
        [case] = body["cases"]
        assert (case["case_id"], case["lawyer_id"], case["started"]) == ("C1", "L5", True)
        assert [x["rule"] for x in case["reasons"]] == [rule], (path, case)
        assert "lawyer L5's case C1" in body["detail"]
    assert world_api.get("/v1/lawyers/L3").json() == before
    assert world_api.get("/v1/lawyers/L6").status_code == 404
    # A relative who is not adverse (no party of C1) conflicts nothing.
    assert world_api.put("/v1/lawyers/L3", json=_l3(relatives=["Zhou Qi"])).status_code == 200
    assert world_api.mark("C1", started=False).status_code == 200
    assert world_api.put("/v1/lawyers/L3", json=_l3(relatives=["Wei Wang"])).status_code == 200


def test_lawyer_import_row_conflicting_a_colleagues_case_is_rejected(world_api: Api) -> None:
    """Tests that in a lawyer import the row giving L5's colleague the victim as a relative is
    reported with L5's case, and the other rows are written."""
    assert world_api.assign("C1", "L5").status_code == 201
    assert world_api.mark("C1", pinned=True).status_code == 200
    rows = [world.lawyer("L9", "F2"), _l3(relatives=["Wei Wang"])]
    [rejected] = _import_one_created(world_api, rows)
    assert (rejected["row"], rejected["id"]) == (2, "L3")
    [error] = rejected["errors"]
    assert error["record"] == "case C1"
    assert "lawyer L5 of the firm" in error["message"]
    assert "colleague_relative" in error["message"]
    assert world_api.get("/v1/lawyers/L3").json()["relatives"] == []


def _l5(**changes: Any) -> dict[str, Any]:
    doc = next(lw for lw in world.lawyers() if lw["id"] == "L5")
    return {**doc, **changes}


def _import(api: Api, rows: list[dict[str, Any]]) -> dict[str, Any]:
    r = api.post(
        "/v1/lawyers/import", content=json.dumps(rows), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def test_import_rows_that_only_together_conflict_a_kept_case_do_not_both_pass(
    world_api: Api,
) -> None:
    """Tests that with C1 (victim Wang Wei) started with L5, an import whose rows give L2 (at
    F2) the relative "Wei Wang" and move L5 to F2 rejects the later row, in either order, as
    the same edits sent as two PUTs would be; each row alone is accepted; the jobs still
    accept the caseload."""
    assert world_api.assign("C1", "L5").status_code == 201
    assert world_api.mark("C1", started=True).status_code == 200
    relative = _l2(relatives=["Wei Wang"])
    moved = _l5(firm_id="F2")
    for rows in ([relative, moved], [moved, relative]):
        report = _import(world_api, rows)
        [rejected] = report["rejected"]
        assert (rejected["row"], rejected["id"]) == (2, rows[1]["id"]), report
        [error] = rejected["errors"]
        assert error["record"] == "case C1"
        assert "colleague_relative" in error["message"]
        _jobs_accept_the_caseload(world_api)
        # Undo the accepted first row for the next order.
        first = rows[0]["id"]
        original = _l2() if first == "L2" else _l5()
        assert _import(world_api, [original])["rejected"] == []
    assert world_api.get("/v1/lawyers/L5").json()["firm_id"] == "F3"
    assert world_api.get("/v1/lawyers/L2").json()["relatives"] == []


def test_a_firm_edit_that_conflicts_its_lawyers_started_case_is_refused(world_api: Api) -> None:
    """Tests that with C1 (victim Wang Wei) started with L5 at F3, giving F3 the client "Wang
    Wei" is a 409 kept_cases naming L5's case and adverse_party, by PUT and as an import row
    (the other rows written); another client is accepted, and nothing else was written."""
    assert world_api.assign("C1", "L5").status_code == 201
    assert world_api.mark("C1", started=True).status_code == 200
    f3 = next(f for f in world.firms() if f["id"] == "F3")
    before = world_api.get("/v1/firms/F3").json()
    r = world_api.put("/v1/firms/F3", json={**f3, "clients": [{"name": "Wang Wei"}]})
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["reason"], body["firm_id"]) == ("kept_cases", "F3")
    [case] = body["cases"]
    assert (case["case_id"], case["lawyer_id"]) == ("C1", "L5")
    assert [x["rule"] for x in case["reasons"]] == ["adverse_party"]
    assert world_api.get("/v1/firms/F3").json() == before
    rows = [
        {"id": "F9", "name": "New", "kind": "law_firm"},
        {**f3, "clients": [{"name": "Wang Wei"}]},
    ]
    imported = world_api.post(
        "/v1/firms/import", content=json.dumps(rows), headers={"Content-Type": "application/json"}
    )
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert (report["created"], report["replaced"]) == (1, 0)
    [rejected] = report["rejected"]
    assert (rejected["row"], rejected["id"]) == (2, "F3")
    assert "lawyer L5 of the firm" in rejected["errors"][0]["message"]
    assert world_api.get("/v1/firms/F3").json() == before
    other = {**f3, "clients": [{"name": "Zhou Qi"}]}
    assert world_api.put("/v1/firms/F3", json=other).status_code == 200


def test_mark_is_refused_for_a_lawyer_who_cannot_keep_the_case(world_api: Api) -> None:
    """Tests that marking started a case whose lawyer no longer has its practice area is a
    409 ineligible naming the rule, with the marks unchanged; clearing a mark is always
    accepted."""
    assert world_api.assign("C3", "L2").status_code == 201
    assert world_api.put("/v1/lawyers/L2", json=_l2(practice_areas=FAMILY_ONLY)).status_code == 200
    r = world_api.mark("C3", started=True)
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["reason"], body["case_id"], body["lawyer_id"]) == ("ineligible", "C3", "L2")
    assert [x["rule"] for x in body["reasons"]] == ["practice_area"]
    assignment = world_api.get("/v1/cases/C3").json()["assignment"]
    assert (assignment["started"], assignment["pinned"]) == (False, False)
    assert world_api.mark("C3", started=False).status_code == 200
    _jobs_accept_the_caseload(world_api)


def test_marks_are_refused_beyond_the_capacity_of_what_must_stay(world_api: Api) -> None:
    """Tests that a second pinned case that does not fit beside the first (80 h + 80 h against
    150 h of capacity) is refused for capacity, while the first is accepted."""
    for case_id in ("H1", "H2"):
        doc = world.case(case_id, workload_hours=80)
        assert world_api.put(f"/v1/cases/{case_id}", json=doc, role=Role.CASE_SYSTEM).is_success
        assert world_api.assign(case_id, "L2").status_code == 201
    assert world_api.put("/v1/lawyers/L2", json=_l2(capacity_hours=150)).status_code == 200
    assert world_api.mark("H1", pinned=True).status_code == 200
    r = world_api.mark("H2", pinned=True)
    assert r.status_code == 409
    assert r.json()["reason"] == "capacity"
    assert "80.0 h + case 80.0 h" in r.json()["reasons"][0]["detail"]
    _jobs_accept_the_caseload(world_api)


@pytest.mark.parametrize(
    ("hours", "fits"),
    [((75.04, 74.96), True), ((75.0004, 74.9996), False)],
)
def test_marks_are_checked_in_the_engines_units_of_hours(
    world_api: Api, hours: tuple[float, float], fits: bool
) -> None:
    """Tests that two pinned cases whose hours fill the capacity exactly (75.04 h + 74.96 h
    against 150 h) are accepted: the engine counts these hours in hundredths, exactly.  Hours
    on no grid down to a thousandth (75.0004 h + 74.9996 h) are counted in thousandths rounded
    up (75.001 h + 75 h), as every job counts them, and the second mark is refused."""
    for case_id, case_hours in zip(("H1", "H2"), hours, strict=True):
        doc = world.case(case_id, workload_hours=case_hours)
        assert world_api.put(f"/v1/cases/{case_id}", json=doc, role=Role.CASE_SYSTEM).is_success
        assert world_api.assign(case_id, "L2").status_code == 201
    assert world_api.put("/v1/lawyers/L2", json=_l2(capacity_hours=150)).status_code == 200
    assert world_api.mark("H1", pinned=True).status_code == 200
    r = world_api.mark("H2", pinned=True)
    if fits:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 409, r.text
        assert r.json()["reason"] == "capacity"
        assert "need 150.001 h, more than the 150 h free" in r.json()["reasons"][0]["detail"]
    _jobs_accept_the_caseload(world_api)


def test_case_document_may_not_exclude_its_own_lawyer(world_api: Api) -> None:
    """Tests that a case document naming its current lawyer in excluded_lawyer_ids or
    complaint_lawyer_ids is a 422 naming each field and saying to withdraw first, with nothing
    written; other lawyers may be named."""
    assert world_api.assign("C3", "L2").status_code == 201
    doc = _case_doc(world_api, "C3")
    version = world_api.get("/v1/cases/C3").json()["version"]
    r = world_api.put(
        "/v1/cases/C3",
        json={**doc, "excluded_lawyer_ids": ["L2"], "complaint_lawyer_ids": ["L2"]},
        role=Role.CASE_SYSTEM,
    )
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {"excluded_lawyer_ids", "complaint_lawyer_ids"}
    assert "withdraw" in errors["excluded_lawyer_ids"]
    assert "reason=complaint" in errors["complaint_lawyer_ids"]
    assert world_api.get("/v1/cases/C3").json()["version"] == version
    other = world_api.put(
        "/v1/cases/C3", json={**doc, "excluded_lawyer_ids": ["L1"]}, role=Role.CASE_SYSTEM
    )
    assert other.status_code == 200, other.text


def test_case_edit_breaking_its_started_assignment_is_refused(world_api: Api) -> None:
    """Tests that a new document of a started case that its lawyer cannot hold (a type of
    another practice area; a victim who is a client of the lawyer's firm) is a 409 kept_cases
    naming the rule, with nothing written; the same edit of a case only assigned is accepted."""
    assert world_api.assign("C3", "L1").status_code == 201
    assert world_api.mark("C3", started=True).status_code == 200
    doc = _case_doc(world_api, "C3")
    version = world_api.get("/v1/cases/C3").json()["version"]
    family = {**doc, "case_type": "maintenance", "stage": "litigation", "side": "claimant"}
    r = world_api.put("/v1/cases/C3", json=family, role=Role.CASE_SYSTEM)
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["reason"], body["lawyer_id"]) == ("kept_cases", "L1")
    assert [x["rule"] for x in body["cases"][0]["reasons"]] == ["practice_area"]
    victim = {"id": "P-ADV", "name": "Wang Wei", "role": "victim"}
    adverse = {**doc, "parties": [*doc["parties"], victim]}
    r = world_api.put("/v1/cases/C3", json=adverse, role=Role.CASE_SYSTEM)
    assert r.status_code == 409
    assert [x["rule"] for x in r.json()["cases"][0]["reasons"]] == ["adverse_party"]
    assert world_api.get("/v1/cases/C3").json()["version"] == version
    _jobs_accept_the_caseload(world_api)
    assert world_api.mark("C3", started=False).status_code == 200
    doc = _case_doc(world_api, "C3")
    family = {**doc, "case_type": "maintenance", "stage": "litigation", "side": "claimant"}
    assert world_api.put("/v1/cases/C3", json=family, role=Role.CASE_SYSTEM).status_code == 200


def test_case_document_may_only_repeat_the_marks(world_api: Api) -> None:
    """Tests that current_assignment.started / .pinned in a case document that differ from
    the stored marks are a 422 naming each and pointing to PATCH, with nothing written; the
    document as GET shows it (marks repeated) is accepted."""
    assert world_api.assign("C3", "L2").status_code == 201
    assert world_api.mark("C3", pinned=True).status_code == 200
    doc = _case_doc(world_api, "C3")
    assert doc["current_assignment"] == {"lawyer_id": "L2", "started": False, "pinned": True}
    version = world_api.get("/v1/cases/C3").json()["version"]
    r = world_api.put(
        "/v1/cases/C3",
        json={**doc, "current_assignment": {"lawyer_id": "L2", "started": True, "pinned": False}},
        role=Role.CASE_SYSTEM,
    )
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {"current_assignment.started", "current_assignment.pinned"}
    assert all("PATCH /v1/cases/{id}/assignment" in m for m in errors.values())
    assert world_api.get("/v1/cases/C3").json()["version"] == version
    assert world_api.put("/v1/cases/C3", json=doc, role=Role.CASE_SYSTEM).status_code == 200
    lawyer_only = {**doc, "current_assignment": {"lawyer_id": "L2"}}  # marks left out: kept
    assert world_api.put("/v1/cases/C3", json=lawyer_only, role=Role.CASE_SYSTEM).is_success
    assignment = world_api.get("/v1/cases/C3").json()["assignment"]
    assert (assignment["started"], assignment["pinned"]) == (False, True)


def test_hours_charged_follow_the_case_workload(world_api: Api) -> None:
    """Tests that raising and lowering an assigned case's workload_hours changes the hours
    charged to its lawyer, shown on the assignment and in the audit, and that later capacity
    checks use the new figure: L1 (100 h) holding C3 at 90 h cannot take another 35 h case."""
    assert world_api.assign("C3", "L1").status_code == 201
    doc = _case_doc(world_api, "C3")
    r = world_api.put("/v1/cases/C3", json={**doc, "workload_hours": 90}, role=Role.CASE_SYSTEM)
    assert r.status_code == 200, r.text
    assert r.json()["assignment"]["workload_hours"] == 90.0
    assert world_api.get("/v1/lawyers/L1").json()["assigned_hours"] == 90.0
    assert world_api.get("/v1/cases/C3/assignment").json()["workload_hours"] == 90.0
    replaced = world_api.get("/v1/audit", params={"action": "case.replace"}).json()["items"]
    assert "hours charged to L1 35 h -> 90 h" in replaced[0]["explanation"]
    assert world_api.put("/v1/cases/X1", json=world.case("X1"), role=Role.CASE_SYSTEM).is_success
    refused = world_api.assign("X1", "L1")
    assert refused.status_code == 409
    assert refused.json()["reason"] == "capacity"
    lower = world_api.put("/v1/cases/C3", json={**doc, "workload_hours": 20}, role=Role.CASE_SYSTEM)
    assert lower.status_code == 200
    assert world_api.get("/v1/lawyers/L1").json()["assigned_hours"] == 20.0
    assert world_api.assign("X1", "L1").status_code == 201
    assert world_api.get("/v1/lawyers/L1").json()["assigned_hours"] == 55.0


def test_more_hours_than_fit_are_refused(world_api: Api) -> None:
    """Tests that raising an assigned case's hours beyond its lawyer's capacity is a 409
    capacity naming the lawyer and the hours, with nothing written (load, case version and
    document unchanged)."""
    assert world_api.assign("C3", "L5").status_code == 201  # L5: 40 h, C3: 35 h
    doc = _case_doc(world_api, "C3")
    version = world_api.get("/v1/cases/C3").json()["version"]
    r = world_api.put("/v1/cases/C3", json={**doc, "workload_hours": 41}, role=Role.CASE_SYSTEM)
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["reason"], body["lawyer_id"], body["case_id"]) == ("capacity", "L5", "C3")
    assert (body["workload_hours"], body["charged_hours"]) == (41.0, 35.0)
    assert [x["rule"] for x in body["reasons"]] == ["capacity"]
    assert "41.0 h" in body["reasons"][0]["detail"] and "capacity 40.0 h" in body["detail"]
    case = world_api.get("/v1/cases/C3").json()
    assert (case["version"], case["workload_hours"]) == (version, None)
    assert world_api.get("/v1/lawyers/L5").json()["assigned_hours"] == 35.0
    fits = world_api.put("/v1/cases/C3", json={**doc, "workload_hours": 40}, role=Role.CASE_SYSTEM)
    assert fits.status_code == 200
    assert world_api.get("/v1/lawyers/L5").json()["assigned_hours"] == 40.0
