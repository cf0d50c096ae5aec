"""Probes, Prometheus metrics, the OpenAPI document and the keys command."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from api.app import prepare_database
from api.auth import Role
from api.cli import keys_app
from api.db import Database
from api.recommending import RosterCache
from api.seed import demo_problem, seed_problem
from tests.api.conftest import ROOT, Api, settings_for


def test_probes_need_no_key(api: Api) -> None:
    """Tests that /healthz answers ok and /readyz reports the database and migrations."""
    assert api.get("/healthz", role=None).json() == {"status": "ok", "checks": {}}
    ready = api.get("/readyz", role=None)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}


def test_metrics_count_requests_by_route(world_api: Api) -> None:
    """Tests that /metrics exposes request durations labelled by route template and the
    assignment outcomes, and that responses carry Server-Timing."""
    r = world_api.post("/v1/cases/C3/recommendations", json={})
    assert r.headers["Server-Timing"].startswith("app;dur=")
    world_api.assign("C1", "L1")  # a conflict
    text = world_api.get("/metrics", role=None).text
    assert 'route="/v1/cases/{case_id}/recommendations"' in text
    assert "assigner_http_request_duration_seconds_bucket" in text
    assert 'assigner_assignment_requests_total{action="assign",outcome="conflict"} 1.0' in text


def test_openapi_is_complete(api: Api) -> None:
    """Tests that the OpenAPI document declares both key schemes on /v1 operations, names
    the problem responses, and carries examples for the request bodies."""
    spec = api.get("/openapi.json", role=None).json()
    schemes = spec["components"]["securitySchemes"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(schemes)
    put_case = spec["paths"]["/v1/cases/{case_id}"]["put"]
    assert put_case["security"]
    assert "examples" in put_case["requestBody"]["content"]["application/json"]
    assign = spec["paths"]["/v1/cases/{case_id}/assignment"]["put"]
    assert "application/problem+json" in assign["responses"]["409"]["content"]
    assert "example" in assign["responses"]["409"]["content"]["application/problem+json"]
    solve = spec["paths"]["/v1/solve"]["post"]
    assert "examples" in solve["requestBody"]["content"]["application/json"]
    imports = spec["paths"]["/v1/lawyers/import"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv"} <= set(imports)
    for record in ("firms", "lawyers", "cases"):
        answers = spec["paths"][f"/v1/{record}/import"]["post"]["responses"]
        assert {"200", "400", "413", "415", "422"} <= set(answers), record
        assert "application/problem+json" in answers["413"]["content"]
    report = spec["paths"]["/v1/jobs/{job_id}/report"]["get"]["responses"]
    assert report["409"]["content"]["application/problem+json"]["example"]["type"] == (
        "/problems/no-report"
    )
    for path, item in spec["paths"].items():
        for op in item.values():
            assert op.get("summary") or op.get("description"), path


def _readme_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the README's service table names, with ``{a,b}``
    spelled out and every path parameter written ``{}``."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## The service", 1)[1].split("\n\n", 2)[1]
    routes = set()
    for methods, path in re.findall(r"`((?:GET|PUT|POST|PATCH|DELETE)[A-Z/]*) (/[^`?\s]+)", table):
        choices = re.search(r"\{([^}]*,[^}]*)\}", path)
        paths = (
            [path.replace(choices.group(0), c) for c in choices.group(1).split(",")]
            if choices
            else [path]
        )
        for method in methods.split("/"):
            routes.update((method, re.sub(r"\{[^}]*\}", "{}", p)) for p in paths)
    return routes


def test_readme_names_only_routes_that_exist(api: Api) -> None:
    """Tests that every method and path in the README's service table is an operation of
    the OpenAPI document (POST /v1/policy, say, is not: new versions go to
    /v1/policy/versions)."""
    spec = api.get("/openapi.json", role=None).json()
    operations = {
        (method.upper(), re.sub(r"\{[^}]*\}", "{}", path))
        for path, item in spec["paths"].items()
        for method in item
    }
    named = _readme_routes()
    assert ("POST", "/v1/policy/versions") in named
    assert len(named) >= 20
    assert named - operations == set()


def test_keys_create_prints_a_working_key(tmp_path: Path, api: Api) -> None:
    """Tests that `keys create --role` on a new database prints one key, stored hashed, that
    the service accepts with that role."""
    url = f"sqlite:///{tmp_path / 'keys.sqlite'}"
    result = CliRunner().invoke(
        keys_app, ["create", "--role", "read-only", "--name", "ops", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("asg_")
    listed = CliRunner().invoke(keys_app, ["list", "--database-url", url])
    assert "read-only\tops\tactive" in listed.stdout
    secret = key.split("_", 2)[2]  # token_urlsafe secrets may themselves contain "_"
    assert len(secret) >= 40
    assert secret not in (tmp_path / "keys.sqlite").read_bytes().decode("latin-1")
    assert Role.READ_ONLY in api.keys


def test_demo_seed_writes_once(tmp_path: Path) -> None:
    """Tests that seeding writes a generated county through the service (records, checked
    current assignments) into an empty database, and that a second seed finds it not empty
    and writes nothing."""
    db = Database(settings_for(f"sqlite:///{tmp_path / 'seed.sqlite'}"))
    try:
        prepare_database(settings_for(str(db.engine.url)), db, RosterCache())
        problem = demo_problem("tiny", 3)
        # moved to now: the service judges deadlines on the clock
        assert abs((problem.as_of - datetime.now(UTC)).total_seconds()) < 600
        counts = seed_problem(db, RosterCache(), problem)
        assert counts is not None
        assert (counts["lawyers"], counts["cases"]) == (len(problem.lawyers), len(problem.cases))
        assigned = sum(1 for c in problem.cases if c.current_assignment)
        assert counts["assigned"] + counts["assignments_refused"] == assigned
        assert seed_problem(db, RosterCache(), problem) is None
    finally:
        db.dispose()


def test_server_checkpoints_the_log_and_commits_do_not(tmp_path: Path) -> None:
    """Tests that the server's database turns SQLite's automatic checkpoints off and its
    checkpointer copies committed frames back, while a tool's database keeps them on."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'wal.sqlite'}"
    server = Database(settings_for(url, sqlite_checkpoint_s=3600), background_checkpoints=True)
    tool = Database(settings_for(url))
    try:
        with server.engine.connect() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        with tool.engine.connect() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
        with server.transaction(write=True) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert server._checkpointer is not None
        busy, frames, copied = server._checkpointer.checkpoint()
        assert busy == 0 and frames > 0 and copied == frames
    finally:
        server.dispose()
        tool.dispose()
