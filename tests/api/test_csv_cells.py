"""CSV imports: how a cell is read by the type of the field its column names, and which
header rows are refused."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from api.auth import Role
from api.importing import RecordKind, parse_body
from api.problems import ApiProblem
from tests.api import world
from tests.api.conftest import Api

CSV = {"Content-Type": "text/csv"}


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_text_cells_starting_with_a_bracket_stay_text(api: Api) -> None:
    """Tests that a firm, lawyer or case text field whose value starts with "[" or "{" is
    imported as that text, not read as JSON, while the row's list and object columns still
    are."""
    firms = _csv(
        [
            {"id": "F1", "name": "[Closed] Riverside branch", "kind": "law_firm", "clients": ""},
            {
                "id": "F2",
                "name": "{Acme} Law",
                "kind": "law_firm",
                "clients": '[{"name": "Wang Wei"}]',
            },
        ]
    )
    r = api.post("/v1/firms/import", content=firms, headers=CSV)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["rejected"]) == (2, []), r.text
    assert api.get("/v1/firms/F1").json()["name"] == "[Closed] Riverside branch"
    assert api.get("/v1/firms/F2").json()["name"] == "{Acme} Law"
    assert api.get("/v1/firms/F2").json()["clients"][0]["name"] == "Wang Wei"

    lawyers = _csv(
        [
            {
                "id": "L7",
                "name": "[Senior] Ma Li",
                "firm_id": "F1",
                "kind": "practising_lawyer",
                "gender": "{not given}",
                "location": json.dumps(world.HERE),
                "practice_areas": json.dumps([{"area": "family", "level": 4, "years": 6}]),
                "languages": '["zh", "en"]',
                "relatives": "Li Hua;Wang Fang",
                "capacity_hours": "300",
                "max_open_cases": "12",
            }
        ]
    )
    r = api.post("/v1/lawyers/import", content=lawyers, headers=CSV)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["rejected"]) == (1, []), r.text
    lawyer = api.get("/v1/lawyers/L7").json()
    assert (lawyer["name"], lawyer["gender"]) == ("[Senior] Ma Li", "{not given}")
    assert lawyer["location"] == world.HERE
    assert lawyer["languages"] == ["zh", "en"]
    assert lawyer["relatives"] == ["Li Hua", "Wang Fang"]

    case = world.case("C9")
    cases = _csv(
        [
            {
                "id": "C9",
                "case_type": case["case_type"],
                "stage": case["stage"],
                "location.lat": str(world.HERE["lat"]),
                "location.lon": str(world.HERE["lon"]),
                "received_at": case["received_at"],
                "assign_by": case["assign_by"],
                "matter_id": "[2024]M-7",
                "preferences.lawyer_gender": "{any}",
                "parties": json.dumps(case["parties"]),
            }
        ]
    )
    r = api.post("/v1/cases/import", content=cases, headers=CSV, role=Role.CASE_SYSTEM)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["rejected"]) == (1, []), r.text
    stored = api.get("/v1/cases/C9").json()
    assert stored["matter_id"] == "[2024]M-7"
    assert stored["preferences"]["lawyer_gender"] == "{any}"


def test_structured_cells_are_still_checked_as_json(api: Api) -> None:
    """Tests that a broken JSON cell in a list column is reported as not valid JSON, and that
    a bracketed cell in a column naming no field is reported as an unknown field (not as
    JSON)."""
    rows = (
        "id,name,kind,clients,motto\n"
        'F1,Harbour Law,law_firm,"[{""name"": ""Wang Wei""",\n'
        "F2,Hill Partners,law_firm,,[always] open\n"
    )
    r = api.post("/v1/firms/import", content=rows, headers=CSV)
    assert r.status_code == 200, r.text
    rejected = {x["row"]: x["errors"] for x in r.json()["rejected"]}
    assert rejected[1][0]["field"] == "clients"
    assert rejected[1][0]["message"].startswith("not valid JSON")
    assert [e["field"] for e in rejected[2]] == ["motto"]
    assert "not valid JSON" not in rejected[2][0]["message"]


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("id,id,name,kind", "'id' (columns 1 and 2)"),
        ("id,name,kind,name,kind", "'name' (columns 2 and 4), 'kind' (columns 3 and 5)"),
    ],
)
def test_duplicate_headers_are_refused(api: Api, header: str, named: str) -> None:
    """Tests that a CSV naming a field in two columns is refused as a whole, naming the
    header and its columns, and that nothing of it is written."""
    body = f"{header}\nF1,F1,Harbour Law,law_firm,law_firm\n"
    r = api.post("/v1/firms/import", content=body, headers=CSV)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert named in r.json()["detail"]
    assert api.get("/v1/firms/F1").status_code == 404


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("id,,name,kind", "column 2"),
        ("id,name,kind,", "column 4"),
        ("id,name,kind,location.", "column 4"),
    ],
)
def test_empty_header_names_are_refused(api: Api, header: str, named: str) -> None:
    """Tests that a header row with an empty name (or an empty part of a dotted name) is
    refused, naming the column, even where the column's cells are empty."""
    body = f"{header}\nF1,Harbour Law,law_firm,\n"
    r = api.post("/v1/firms/import", content=body, headers=CSV)
    assert r.status_code == 400, r.text
    assert named in r.json()["detail"]
    assert api.get("/v1/firms/F1").status_code == 404


def test_a_csv_without_a_header_row_is_refused() -> None:
    """Tests that an empty CSV is a 400 saying it has no header row."""
    with pytest.raises(ApiProblem) as raised:
        parse_body(b"", "text/csv", RecordKind.CASE, max_rows=10)
    assert raised.value.status == 400
    assert "no header row" in raised.value.detail
