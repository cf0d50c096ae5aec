"""Bulk import from JSON and CSV with a report of rejected rows."""

from __future__ import annotations

import json

from api.auth import Role
from tests.api import world
from tests.api.conftest import Api


def test_json_import_writes_valid_rows_and_reports_the_rest(api: Api) -> None:
    """Tests that a JSON import creates the valid lawyers and reports each rejected row with
    its number, id and the field in error."""
    for f in world.firms():
        api.put(f"/v1/firms/{f['id']}", json=f)
    rows = [
        world.lawyer("L1", "F1"),
        world.lawyer("L2", "F9"),  # unknown firm
        world.lawyer("L3", "F2", capacity_hours=-5),  # invalid value
        world.lawyer("L1", "F2"),  # duplicate id in the import
        "not an object",
    ]
    r = api.post(
        "/v1/lawyers/import", content=json.dumps(rows), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["received"], report["created"], report["replaced"]) == (5, 1, 0)
    rejected = {row["row"]: row for row in report["rejected"]}
    assert set(rejected) == {2, 3, 4, 5}
    assert rejected[2]["errors"][0]["field"] == "firm_id"
    assert rejected[3]["errors"][0]["field"] == "capacity_hours"
    assert "duplicate id" in rejected[4]["errors"][0]["message"]
    assert api.get("/v1/lawyers/L1").status_code == 200
    assert api.get("/v1/lawyers/L2").status_code == 404


def test_csv_import_with_nested_and_list_columns(api: Api) -> None:
    """Tests that CSV rows with dotted, JSON and ;-separated cells become documents, and that a
    bad row is reported by its data-row number."""
    csv_text = (
        "id,name,kind,location.lat,location.lon,clients\n"
        'F1,Harbour Law,law_firm,30.6,114.3,"[{""name"": ""Wang Wei""}]"\n'
        "F2,Centre,no_such_kind,30.6,114.3,\n"
        "F3,Hill Partners,law_firm,,,\n"
    )
    r = api.post("/v1/firms/import", content=csv_text, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["created"] == 2
    assert [x["row"] for x in report["rejected"]] == [2]
    assert report["rejected"][0]["errors"][0]["field"] == "kind"
    f1 = api.get("/v1/firms/F1").json()
    assert f1["location"] == {"lat": 30.6, "lon": 114.3}
    assert f1["clients"][0]["name"] == "Wang Wei"
    lawyers_csv = (
        "id,name,firm_id,kind,location.lat,location.lon,practice_areas,languages,capacity_hours,"
        "max_open_cases\n"
        'L7,Ma Li,F1,practising_lawyer,30.6,114.3,"[{""area"": ""family"", ""level"": 4, '
        '""years"": 6}]",zh;en,300,12\n'
    )
    r = api.post("/v1/lawyers/import", content=lawyers_csv, headers={"Content-Type": "text/csv"})
    assert r.json()["created"] == 1, r.text
    assert api.get("/v1/lawyers/L7").json()["languages"] == ["zh", "en"]


def test_all_or_nothing_writes_nothing_on_a_rejected_row(world_api: Api) -> None:
    """Tests that with all_or_nothing one bad row means a 422 carrying the report and no row
    written."""
    rows = [world.case("C8"), world.case("C9", case_type="no_such_type")]
    r = world_api.post(
        "/v1/cases/import",
        params={"all_or_nothing": "true"},
        content=json.dumps(rows),
        headers={"Content-Type": "application/json"},
        role=Role.CASE_SYSTEM,
    )
    assert r.status_code == 422
    body = r.json()
    assert body["report"]["written"] is False
    error = body["report"]["rejected"][0]["errors"][0]
    assert (error["field"], error["in"]) == ("case_type", "body")  # as in a 200 report
    assert "location" not in error
    assert world_api.get("/v1/cases/C8").status_code == 404


def test_import_rejects_links_to_rejected_cases(world_api: Api) -> None:
    """Tests that a case linking to a case rejected in the same import is rejected too."""
    rows = [world.case("C8", stage="no_stage"), world.case("C9", linked_case_ids=["C8"])]
    r = world_api.post("/v1/cases/import", json=rows, role=Role.CASE_SYSTEM)
    report = r.json()
    assert report["created"] == 0
    assert {x["id"] for x in report["rejected"]} == {"C8", "C9"}


def test_import_keeps_links_to_stored_cases_whose_replacement_was_rejected(
    world_api: Api,
) -> None:
    """Tests that a new case linking to a stored case is written although that case's
    replacement row was rejected in the same import: the stored case stays as it was."""
    rows = [world.case("C3", stage="no_stage"), world.case("C9", linked_case_ids=["C3"])]
    r = world_api.post("/v1/cases/import", json=rows, role=Role.CASE_SYSTEM)
    report = r.json()
    assert (report["created"], report["replaced"]) == (1, 0), report
    assert [x["id"] for x in report["rejected"]] == ["C3"]
    assert world_api.get("/v1/cases/C9").json()["linked_case_ids"] == ["C3"]
    assert world_api.get("/v1/cases/C3").json()["stage"] == "trial"


def test_csv_rows_with_a_broken_cell_are_reported_by_their_id(world_api: Api) -> None:
    """Tests that a CSV row with a cell that is not valid JSON, or with more cells than
    headers, is reported with the id from its id cell."""
    csv_text = (
        "id,name,firm_id,kind,location.lat,location.lon,practice_areas,capacity_hours,"
        "max_open_cases\n"
        'L7,Ma Li,F1,practising_lawyer,30.6,114.3,"[{""area"": ""family"", ""level"": 4, '
        '""years"": 6}]",300,12\n'
        'L8,Zhao Min,F1,practising_lawyer,30.6,114.3,"[{""area"": ""family"", ""level"": 4",'
        "300,12\n"
        'L9,Sun Yu,F1,practising_lawyer,30.6,114.3,"[]",300,12,extra\n'
    )
    r = world_api.post("/v1/lawyers/import", content=csv_text, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["created"] == 1
    rejected = {x["row"]: x for x in report["rejected"]}
    assert rejected[2]["id"] == "L8"
    assert rejected[2]["errors"][0]["field"] == "practice_areas"
    assert rejected[2]["errors"][0]["message"].startswith("not valid JSON")
    assert rejected[3]["id"] == "L9"
    assert [e["message"] for e in rejected[3]["errors"]] == ["more cells than headers"]
    assert world_api.get("/v1/lawyers/L8").status_code == 404


def test_import_refuses_other_media_types(api: Api) -> None:
    """Tests that a body that is neither JSON nor CSV is a 415 problem."""
    r = api.post("/v1/firms/import", content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert r.status_code == 415
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_rows_own_check_is_worded_as_a_puts(api: Api) -> None:
    """Tests that a row failing one of the records' own checks (an id with "/") is reported
    in the check's own words, as a PUT reports it, without pydantic's "Value error, "."""
    for f in world.firms():
        api.put(f"/v1/firms/{f['id']}", json=f)
    r = api.post("/v1/lawyers/import", json=[world.lawyer("L/1", "F1")])
    assert r.status_code == 200, r.text
    [rejected] = r.json()["rejected"]
    [error] = rejected["errors"]
    assert error["field"] == "id"
    assert error["message"].startswith("must not contain '/'"), error
