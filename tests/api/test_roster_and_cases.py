"""Firms, lawyers and cases: create or replace, read, list with filters and pages, delete."""

from __future__ import annotations

from api.auth import Role
from tests.api import world
from tests.api.conftest import Api


def test_firm_create_replace_read_and_delete(api: Api) -> None:
    """Tests that PUT creates (201) then replaces (200, version 2), GET returns the document
    with its version as ETag, and DELETE removes it."""
    firm = world.firms()[1]
    created = api.put("/v1/firms/F2", json=firm)
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    replaced = api.put("/v1/firms/F2", json={**firm, "name": "Renamed"})
    assert replaced.status_code == 200
    assert replaced.json()["version"] == 2
    got = api.get("/v1/firms/F2")
    assert got.json()["name"] == "Renamed"
    assert got.headers["ETag"] == '"2"'
    assert api.delete("/v1/firms/F2").status_code == 204
    assert api.get("/v1/firms/F2").status_code == 404


def test_replace_with_stale_if_match_is_refused(api: Api) -> None:
    """Tests that a replace with If-Match of an old version answers 409 stale_version and
    changes nothing."""
    firm = world.firms()[1]
    api.put("/v1/firms/F2", json=firm)
    api.put("/v1/firms/F2", json={**firm, "name": "Second"})
    stale = api.put("/v1/firms/F2", json={**firm, "name": "Third"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert stale.json()["reason"] == "stale_version"
    assert api.get("/v1/firms/F2").json()["name"] == "Second"


def test_path_id_must_match_document_id(api: Api) -> None:
    """Tests that a document whose id differs from the path is a 422 naming the id field."""
    r = api.put("/v1/firms/OTHER", json=world.firms()[0])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "id"


def test_lawyer_checks_firm_and_catalogue(api: Api) -> None:
    """Tests that a lawyer naming an unknown firm or practice area is refused with each field
    named, and nothing is written."""
    bad = world.lawyer("L9", "NOPE", practice_areas=[{"area": "astrology", "level": 3, "years": 1}])
    r = api.put("/v1/lawyers/L9", json=bad)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"firm_id", "practice_areas.0.area"} <= fields
    assert api.get("/v1/lawyers/L9").status_code == 404


def test_lists_filter_and_page(world_api: Api) -> None:
    """Tests list filters (firm, area, status, matter) and limit/offset pages with a total."""
    by_firm = world_api.get("/v1/lawyers", params={"firm_id": "F1"}).json()
    assert [x["id"] for x in by_firm["items"]] == ["L1", "L4"]
    family = world_api.get("/v1/lawyers", params={"area": "family"}).json()
    assert [x["id"] for x in family["items"]] == ["L2", "L3"]
    page = world_api.get("/v1/lawyers", params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 5
    assert [x["id"] for x in page["items"]] == ["L3", "L4"]
    matter = world_api.get("/v1/cases", params={"matter_id": "M1"}).json()
    assert [x["id"] for x in matter["items"]] == ["C3", "C4"]
    world_api.assign("C2", "L3")
    assigned = world_api.get("/v1/cases", params={"status": "assigned"}).json()
    assert [x["id"] for x in assigned["items"]] == ["C2"]
    assert assigned["items"][0]["current_assignment"]["lawyer_id"] == "L3"
    unassigned = world_api.get("/v1/cases", params={"status": "unassigned"}).json()
    assert unassigned["total"] == 3
    too_big = world_api.get("/v1/cases", params={"limit": 100_000})
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0] == {
        "field": "limit",
        "message": "at most 500",
        "in": "query",
    }


def test_lawyer_shows_assigned_load(world_api: Api) -> None:
    """Tests that a lawyer's record shows the hours and cases the service assigned on top of
    the document's own load."""
    world_api.assign("C2", "L3")
    l3 = world_api.get("/v1/lawyers/L3").json()
    assert l3["assigned_hours"] == 25.0
    assert l3["assigned_cases"] == 1
    assert l3["effective_load_hours"] == 25.0


def test_delete_refuses_what_is_still_referenced(world_api: Api) -> None:
    """Tests that a firm with lawyers, a lawyer holding a case, an assigned case and a case
    another case links to cannot be deleted (409 naming the reason)."""
    assert world_api.delete("/v1/firms/F1").json()["reason"] == "referenced"
    world_api.assign("C2", "L3")
    assert world_api.delete("/v1/lawyers/L3").json()["reason"] == "referenced"
    assert world_api.delete("/v1/cases/C2", role=Role.CASE_SYSTEM).json()["reason"] == "assigned"
    linking = world.case("C5", linked_case_ids=["C1"])
    assert world_api.put("/v1/cases/C5", json=linking, role=Role.CASE_SYSTEM).status_code == 201
    refused = world_api.delete("/v1/cases/C1", role=Role.CASE_SYSTEM)
    assert refused.status_code == 409
    assert refused.json()["referenced_by"] == ["C5"]


def test_case_document_cannot_set_an_assignment(world_api: Api) -> None:
    """Tests that current_assignment in a case document is refused unless it repeats the
    service's own assignment."""
    doc = world.case("C2", "maintenance", current_assignment={"lawyer_id": "L3"})
    r = world_api.put("/v1/cases/C2", json=doc, role=Role.CASE_SYSTEM)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "current_assignment"
    world_api.assign("C2", "L3")
    again = world_api.put("/v1/cases/C2", json=doc, role=Role.CASE_SYSTEM)
    assert again.status_code == 200
    assert again.json()["assignment"]["lawyer_id"] == "L3"


def test_a_deadline_before_receipt_names_the_deadline(api: Api) -> None:
    """Tests that a case due before it was received is a 422 naming ``assign_by``, in the
    check's own words (it named no field, with pydantic's "Value error, " before them)."""
    doc = world.case("C9", assign_by="2020-01-01T00:00:00Z")
    r = api.put("/v1/cases/C9", json=doc, role=Role.CASE_SYSTEM)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "assign_by", "message": "assign_by is before received_at", "in": "body"}
    ]


def test_name_filter_folds_any_letter_and_takes_wildcards_as_text(api: Api) -> None:
    """Tests that the name filter finds "ÉCOLE Légale" by "école" and "LÉGALE" (SQLite folds
    ASCII letters only by itself), and that "_" and "%" match themselves, not any
    character."""
    for firm_id, name in (("FA", "ÉCOLE Légale"), ("FB", "Smith_Jones"), ("FC", "Smith Jones")):
        doc = {"id": firm_id, "name": name, "kind": "law_firm", "location": {"lat": 30, "lon": 114}}
        assert api.put(f"/v1/firms/{firm_id}", json=doc).status_code == 201

    def found(name: str) -> list[str]:
        r = api.get("/v1/firms", params={"name": name})
        assert r.status_code == 200, r.text
        return sorted(f["id"] for f in r.json()["items"])

    assert found("école") == ["FA"]
    assert found("LÉGALE") == ["FA"]
    assert found("h_J") == ["FB"]
    assert found("_") == ["FB"]
    assert found("%") == []


def test_a_case_read_before_a_mark_or_withdrawal_is_put_back_as_stale(world_api: Api) -> None:
    """Tests that a case document read before its assignment was marked, or withdrawn, and
    sent back at the version read is a 409 stale_version (read it again), not a 422 about
    the assignment it repeats as it was."""
    assert world_api.assign("C2", "L2").status_code == 201
    for change in ("mark", "withdraw"):
        doc = world_api.get("/v1/cases/C2").json()
        if change == "mark":
            assert world_api.mark("C2", started=True).status_code == 200
        else:
            r = world_api.call(
                "DELETE",
                "/v1/cases/C2/assignment",
                params={"reason": "other"},
                headers={"If-Match": f'"{doc["version"]}"'},
                role=Role.CASE_SYSTEM,
            )
            assert r.status_code == 200, r.text
        doc["jurisdiction"] = "Changed"
        r = world_api.put(
            "/v1/cases/C2",
            json=doc,
            headers={"If-Match": f'"{doc["version"]}"'},
            role=Role.CASE_SYSTEM,
        )
        assert r.status_code == 409, (change, r.text)
        assert r.json()["reason"] == "stale_version"
        assert world_api.get("/v1/cases/C2").json()["jurisdiction"] != "Changed"


def test_a_record_read_back_can_be_changed_and_put_again(world_api: Api) -> None:
    """Tests that a lawyer, a firm and a case as GET returns them (with their version, times,
    loads and assignment) are accepted back by PUT and by an import, the read-only fields
    ignored; a field no record has is still refused."""
    for path, field, role in (
        ("/v1/lawyers/L2", "name", Role.ADMIN),
        ("/v1/firms/F1", "name", Role.ADMIN),
        ("/v1/cases/C1", "jurisdiction", Role.CASE_SYSTEM),
    ):
        doc = world_api.get(path).json()
        version = doc["version"]
        doc[field] = "Changed"
        r = world_api.put(path, json=doc, headers={"If-Match": f'"{version}"'}, role=role)
        assert r.status_code == 200, (path, r.text)
        assert world_api.get(path).json()[field] == "Changed"
        assert r.json()["version"] == version + 1
    lawyer = world_api.get("/v1/lawyers/L3").json()
    r = world_api.post("/v1/lawyers/import", json=[lawyer])
    assert r.status_code == 200 and r.json()["rejected"] == [], r.text
    r = world_api.put("/v1/lawyers/L3", json={**lawyer, "nickname": "x"})
    assert r.status_code == 422, r.text
