"""What-if scenario jobs: the scenario document is checked when the job is submitted, so a bad
file is a 422 naming its fields rather than a failed job later.

Baselines a service job may use: a generated tier, or this service's stored state
(``database_url: service://``, exported when the job starts).  A Problem file or another
database on the server's disk are refused: a job runs with the server's file access, which a
caller should not get through a scenario.
"""

from __future__ import annotations

from typing import Any

from api.problems import FieldError, invalid
from scenarios.whatif.errors import ScenarioError
from scenarios.whatif.spec import DatabaseBaseline, ProblemFileBaseline, scenario_from_data

SERVICE_STATE_URL = "service://"
REPORT_ARTIFACT = "report.html"
_FIELD = "params.scenario"


def _field(path: str) -> str:
    return f"{_FIELD}.{path}" if path else _FIELD


def check_scenario_document(document: dict[str, Any]) -> None:
    """Raise 422 (every issue named by its field) when the document is not a scenario a
    service job can run."""
    try:
        spec = scenario_from_data(document, None, source="params.scenario")
    except ScenarioError as exc:
        raise invalid(
            [
                FieldError(field=_field(i.path), message=i.message, location="body")
                for i in exc.issues
            ]
        ) from exc
    base = spec.baseline
    if isinstance(base, ProblemFileBaseline):
        raise invalid(
            [
                FieldError(
                    field=_field("baseline.problem_file"),
                    message="a service job cannot read files on the server; use a tier or "
                    f"database_url: {SERVICE_STATE_URL} (this service's stored state)",
                    location="body",
                )
            ]
        )
    if isinstance(base, DatabaseBaseline) and base.database_url != SERVICE_STATE_URL:
        raise invalid(
            [
                FieldError(
                    field=_field("baseline.database_url"),
                    message=f"a service job reads only its own state: use {SERVICE_STATE_URL}",
                    location="body",
                )
            ]
        )


def uses_service_state(document: dict[str, Any]) -> bool:
    baseline = document.get("baseline")
    return isinstance(baseline, dict) and baseline.get("database_url") == SERVICE_STATE_URL
