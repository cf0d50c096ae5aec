"""Helpers shared by the routers: the path id must be the document's id; raw bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from api.auth import Principal
from api.importing import RecordKind, parse_body, run_import
from api.problems import ApiProblem, FieldError, invalid, problem_response
from api.schemas import ImportReport
from api.services import Services


def same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise invalid(
            [
                FieldError(
                    field="id",
                    message=f"must equal the id in the path ({path_id!r})",
                    location="body",
                )
            ]
        )


async def _raw_body(request: Request) -> tuple[bytes, str]:
    return await request.body(), request.headers.get("content-type", "")


RawBody = Annotated[tuple[bytes, str], Depends(_raw_body)]


def import_body(item_schema: str) -> dict[str, Any]:
    """OpenAPI request body of an import: JSON list of documents or CSV text."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": f"#/components/schemas/{item_schema}"},
                    }
                },
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "id,name,kind\nF01,Riverside Legal Aid Centre,legal_aid_centre\n",
                },
            },
        }
    }


AllOrNothing = Annotated[
    bool, Query(description="Write nothing when any row is rejected (answers 422 with the report).")
]


def import_records(
    kind: RecordKind,
    body: tuple[bytes, str],
    who: Principal,
    session: Session,
    services: Services,
    all_or_nothing: bool,
) -> ImportReport:
    rows = parse_body(body[0], body[1], kind, services.settings.import_max_rows)
    report = run_import(session, kind, rows, who, all_or_nothing=all_or_nothing)
    if not report.written:
        raise ApiProblem(
            422,
            "import-rejected",
            "Rows rejected",
            f"{len(report.rejected)} of {report.received} rows rejected; nothing was written",
            report=report.model_dump(mode="json", by_alias=True),
        )
    return report


IMPORT_REJECTED = problem_response(
    "all_or_nothing and some rows were rejected: the report is in `report`"
)
IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response(
        "The body is not valid JSON or CSV, or not a list of records; nothing was written",
        {
            "type": "/problems/malformed-body",
            "title": "Malformed body",
            "status": 400,
            "detail": "not valid JSON: Expecting ',' delimiter: line 1 column 23 (char 22)",
            "instance": "/v1/lawyers/import",
        },
    ),
    413: problem_response(
        "More rows than one import takes; nothing was written",
        {
            "type": "/problems/too-many-rows",
            "title": "Content too large",
            "status": 413,
            "detail": "60000 rows; at most 50000 per import",
            "instance": "/v1/cases/import",
        },
    ),
    415: problem_response("Neither application/json nor text/csv; nothing was written"),
    422: IMPORT_REJECTED,
}
STALE = problem_response(
    "Stale version, or the record is still referenced",
    {
        "type": "/problems/stale-version",
        "title": "Stale version",
        "status": 409,
        "detail": "case C2025-0107 is at version 4, not 3; read it again",
        "instance": "/v1/cases/C2025-0107",
        "reason": "stale_version",
        "current_version": 4,
        "expected_version": 3,
    },
)
NOT_FOUND = problem_response(
    "No such record",
    {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no case with id 'C9'",
        "instance": "/v1/cases/C9",
    },
)
