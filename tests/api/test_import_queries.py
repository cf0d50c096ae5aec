"""Imports and case edits read the database a bounded number of times: the statements are
counted with a SQLAlchemy event listener, never timed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from api import reads
from api.app import create_app
from api.auth import Role
from tests.api import world
from tests.api.conftest import Api, make_keys, settings_for

FAMILY_ONLY = [{"area": "family", "level": 4, "years": 6}]


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    """The app with the test world, checking the API key on every request (no cache whose
    expiry would change what a request reads)."""
    app = create_app(settings_for(sqlite_url, auth_cache_s=0, sqlite_checkpoint_s=0))
    with TestClient(app) as client:
        keys = make_keys(app.state.services.db)
        api = Api(client, keys)
        api.load_world()
        yield api


def _engine(api: Api) -> Engine:
    engine: Engine = api.client.app.state.services.db.engine  # type: ignore[union-attr]
    return engine


@contextmanager
def _statements(api: Api) -> Iterator[list[str]]:
    """Every SQL statement the service sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = _engine(api)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _selects(statements: list[str]) -> int:
    return sum(s.lstrip().upper().startswith("SELECT") for s in statements)


def _import(api: Api, kind: str, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The import's report and the number of SELECTs it sent."""
    role = Role.CASE_SYSTEM if kind == "cases" else Role.ADMIN
    with _statements(api) as seen:
        r = api.post(f"/v1/{kind}/import", json=rows, role=role)
    assert r.status_code == 200, r.text
    return r.json(), _selects(seen)


def _lawyers(prefix: str, n: int, **kw: Any) -> list[dict[str, Any]]:
    return [world.lawyer(f"{prefix}{i}", ("F1", "F2", "F3")[i % 3], **kw) for i in range(n)]


def _cases(prefix: str, n: int, **kw: Any) -> list[dict[str, Any]]:
    """Cases naming stored lawyers and linking to the one before (or to a stored case)."""
    return [
        world.case(
            f"{prefix}{i}",
            excluded_lawyer_ids=["L3"],
            linked_case_ids=[f"{prefix}{i - 1}" if i else "C2"],
            **kw,
        )
        for i in range(n)
    ]


def _keepers(api: Api, prefix: str, n: int, hours: float = 20) -> None:
    """``n`` lawyers (criminal defence, F2), each holding one started case."""
    assert api.post("/v1/lawyers/import", json=_lawyers(prefix, n)).status_code == 200
    cases = [world.case(f"{prefix}C{i}", workload_hours=hours) for i in range(n)]
    assert api.post("/v1/cases/import", json=cases, role=Role.CASE_SYSTEM).status_code == 200
    for i in range(n):
        assert api.assign(f"{prefix}C{i}", f"{prefix}{i}").status_code == 201
        assert api.mark(f"{prefix}C{i}", started=True).status_code == 200


def test_lawyer_import_reads_as_much_for_50_rows_as_for_5(api: Api) -> None:
    """Tests that creating, then replacing, 50 lawyers sends as many SELECTs as 5 (the rows'
    checks and writes read the stored lawyers together, not one by one)."""
    small, large = _lawyers("A", 5), _lawyers("B", 50)
    report_small, created_small = _import(api, "lawyers", small)
    report_large, created_large = _import(api, "lawyers", large)
    assert (report_small["created"], report_large["created"]) == (5, 50)
    assert created_large == created_small

    renamed = [{**lw, "name": "Renamed"} for lw in large]
    report_small, replaced_small = _import(api, "lawyers", [{**lw, "name": "R"} for lw in small])
    report_large, replaced_large = _import(api, "lawyers", renamed)
    assert (report_small["replaced"], report_large["replaced"]) == (5, 50)
    assert replaced_large == replaced_small
    assert api.get("/v1/lawyers/B49").json()["name"] == "Renamed"


def test_lawyer_import_reads_as_much_for_8_lawyers_keeping_cases_as_for_2(api: Api) -> None:
    """Tests that replacing 8 lawyers who each keep a started case sends as many SELECTs as
    2, the first row of each import breaking its lawyer's case (rejected, naming it) and the
    others accepted."""
    _keepers(api, "M", 2)
    _keepers(api, "N", 8)
    counts = []
    for prefix, n in (("M", 2), ("N", 8)):
        rows = _lawyers(prefix, n, name="Renamed")
        rows[0]["practice_areas"] = FAMILY_ONLY
        report, selects = _import(api, "lawyers", rows)
        assert report["replaced"] == n - 1
        [rejected] = report["rejected"]
        assert rejected["id"] == f"{prefix}0"
        assert rejected["errors"][0]["record"] == f"case {prefix}C0"
        counts.append(selects)
    assert counts[0] == counts[1]


def test_case_import_reads_as_much_for_50_rows_as_for_5(api: Api) -> None:
    """Tests that creating, then replacing, 50 cases that name lawyers and link to other
    cases sends as many SELECTs as 5."""
    small, large = _cases("A", 5), _cases("B", 50)
    report_small, created_small = _import(api, "cases", small)
    report_large, created_large = _import(api, "cases", large)
    assert (report_small["created"], report_large["created"]) == (5, 50)
    assert created_large == created_small

    report_small, replaced_small = _import(api, "cases", _cases("A", 5, workload_hours=30))
    report_large, replaced_large = _import(api, "cases", _cases("B", 50, workload_hours=30))
    assert (report_small["replaced"], report_large["replaced"]) == (5, 50)
    assert replaced_large == replaced_small


def test_case_import_reads_as_much_for_8_started_cases_as_for_2(api: Api) -> None:
    """Tests that replacing 8 started cases, each with new hours charged to its lawyer and
    checked against the lawyer's other cases that must stay, sends as many SELECTs as 2."""
    _keepers(api, "M", 2)
    _keepers(api, "N", 8)
    counts = []
    for prefix, n in (("M", 2), ("N", 8)):
        rows = [world.case(f"{prefix}C{i}", workload_hours=25) for i in range(n)]
        report, selects = _import(api, "cases", rows)
        assert (report["replaced"], report["rejected"]) == (n, [])
        counts.append(selects)
        assert api.get(f"/v1/lawyers/{prefix}1").json()["assigned_hours"] == 25.0
    assert counts[0] == counts[1]


def test_import_reads_in_chunks_of_ids(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that with ids read a few at a time every row still finds its stored record and
    lawyer, and that twice the chunks cost at most one more statement per chunked read."""
    monkeypatch.setattr(reads, "ID_CHUNK", 3)
    _keepers(api, "M", 6)
    _keepers(api, "N", 12)
    counts = []
    for prefix, n in (("M", 6), ("N", 12)):
        report, lawyer_selects = _import(api, "lawyers", _lawyers(prefix, n, name="Renamed"))
        assert (report["replaced"], report["rejected"]) == (n, [])
        rows = [world.case(f"{prefix}C{i}", workload_hours=25) for i in range(n)]
        report, case_selects = _import(api, "cases", rows)
        assert (report["replaced"], report["rejected"]) == (n, [])
        assert api.get(f"/v1/lawyers/{prefix}{n - 1}").json()["assigned_hours"] == 25.0
        counts.append((lawyer_selects, case_selects))
    # 2 -> 4 chunks of ids.  Read by the rows' ids: lawyers, the cases they hold, the marked
    # ones (a lawyer import); cases, assignments, loads, lawyers, marked cases (a case import).
    assert counts[1][0] == counts[0][0] + 2 * 3, counts
    assert counts[1][1] == counts[0][1] + 2 * 5, counts


def test_case_edit_reads_the_firm_and_policy_once(api: Api) -> None:
    """Tests that a case PUT whose new document breaks its started assignment (409, so both
    the new and the stored document are checked) reads the lawyer's firm, its lawyers and the
    policy once each."""
    assert api.assign("C3", "L1").status_code == 201
    assert api.mark("C3", started=True).status_code == 200
    victim = {"id": "P-ADV", "name": "Wang Wei", "role": "victim"}
    doc = world.case("C3", matter_id="M1")
    adverse = {**doc, "parties": [*doc["parties"], victim]}
    with _statements(api) as seen:
        r = api.put("/v1/cases/C3", json=adverse, role=Role.CASE_SYSTEM)
    assert r.status_code == 409, r.text
    assert [x["rule"] for x in r.json()["cases"][0]["reasons"]] == ["adverse_party"]
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert sum("FROM firms" in s for s in selects) == 1
    assert sum("lawyers.firm_id IN" in s for s in selects) == 1
    assert sum("FROM policies" in s for s in selects) == 1
