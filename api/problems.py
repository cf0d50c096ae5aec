"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the service answers has ``type`` (a relative URI naming the kind of problem),
``title``, ``status``, ``detail`` and ``instance`` (the request path).  A 422 lists ``errors``,
each naming the ``field`` (dotted path) and where it was (``in``: body, query, path, header);
a 409 says its ``reason`` (stale_version, capacity, conflict, ineligible, ...).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assigner.domain import InputError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field, e.g. practice_areas.0.level.")
    message: str
    location: str = Field(
        alias="in", description="body, query, path or header; record for document checks."
    )
    record: str | None = Field(default=None, description="The record, for document checks.")

    model_config = ConfigDict(populate_by_name=True)


class Problem(BaseModel):
    """RFC 9457 problem details; extension members vary by ``type``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", examples=["/problems/stale-version"])
    title: str = Field(examples=["Stale version"])
    status: int = Field(examples=[409])
    detail: str | None = Field(default=None, examples=["case C1 is at version 4, not 3"])
    instance: str | None = Field(default=None, examples=["/v1/cases/C1/assignment"])
    reason: str | None = Field(default=None, examples=["stale_version"])
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extensions = extensions


def not_found(entity: str, entity_id: str) -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", f"no {entity} with id {entity_id!r}")


def conflict(reason: str, title: str, detail: str, **extensions: Any) -> ApiProblem:
    return ApiProblem(409, reason.replace("_", "-"), title, detail, reason=reason, **extensions)


def invalid(errors: Sequence[FieldError], detail: str | None = None) -> ApiProblem:
    shown = "; ".join(f"{e.field or e.location}: {e.message}" for e in errors[:5])
    return ApiProblem(
        422,
        "validation",
        "Invalid request",
        detail or f"{len(errors)} invalid field(s): {shown}",
        errors=[e.model_dump(by_alias=True, exclude_none=True) for e in errors],
    )


def error_message(err: Mapping[str, Any]) -> str:
    """A pydantic error's message; one of the records' own checks in its own words, without
    pydantic's "Value error, " before them."""
    message = str(err.get("msg", ""))
    if err.get("type") == "value_error":
        message = message.removeprefix("Value error, ")
    return message


def field_errors_from_input(exc: InputError, location: str = "body") -> list[FieldError]:
    return [
        FieldError(field=i.field, message=i.message, location=location, record=i.record)
        for i in exc.issues
    ]


def _field_path(loc: Sequence[int | str], body: Any = None) -> tuple[str, str]:
    where = str(loc[0]) if loc else "body"
    rest = _body_path(list(loc[1:]), body) if where == "body" else list(loc[1:])
    return where, ".".join(str(p) for p in rest)


def _body_path(parts: list[int | str], body: Any) -> list[int | str]:
    """An error's location as a path in the body sent: pydantic puts the tag of a
    discriminated union in the location (``batch_assignment.params.time_limit_s``), which is
    no field of the body, so a part that is no key of its object but the value of one of its
    fields (the tag), with more parts after it, is left out."""
    out: list[int | str] = []
    node = body
    for i, part in enumerate(parts):
        if isinstance(node, dict):
            if part in node:
                out.append(part)
                node = node[part]
                continue
            is_tag = any(isinstance(v, str) and v == part for v in node.values())
            if is_tag and i < len(parts) - 1:
                continue
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
            continue
        out.append(part)
        node = None
    return out


def _quoted(values: Sequence[str]) -> str:
    shown = [f"'{v}'" for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _body_tags(request: Request, discriminator: str) -> list[str]:
    """The tags a body that is one of several kinds may carry (the values of the
    discriminator field of each kind), read off the route's body annotation."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    annotation = getattr(getattr(body_field, "field_info", None), "annotation", None)
    tags: list[str] = []
    for member in get_args(annotation):
        fields = getattr(member, "model_fields", {})
        field = fields.get(discriminator)
        if field is not None and get_origin(field.annotation) is Literal:
            tags.extend(str(v) for v in get_args(field.annotation))
    return tags


def _tag_message(request: Request, err: Mapping[str, Any], tag: str) -> str:
    """A readable message for a missing or unknown kind: the plain values it may take."""
    ctx = err.get("ctx", {})
    if err.get("type") == "union_tag_invalid":
        # pydantic lists the tags as reprs (of enum members, say); their values are quoted
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        given = ctx.get("tag")
        return f"Input should be {_quoted(expected)}, not {given!r}" if expected else err["msg"]
    expected = _body_tags(request, tag) if err.get("loc") == ("body",) else []
    return f"Field required: one of {_quoted(expected)}" if expected else "Field required"


def _malformed_body(exc: RequestValidationError, err: Mapping[str, Any]) -> ApiProblem:
    """A body that is not JSON at all: answered like an import's (400, with the position)."""
    loc = tuple(err.get("loc", ()))
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = str(err.get("ctx", {}).get("error", "JSON decode error"))
    if isinstance(exc.body, str) and pos is not None:
        reason = str(json.JSONDecodeError(reason, exc.body, pos))
    elif pos is not None:
        reason = f"{reason} (char {pos})"
    return ApiProblem(400, "malformed-body", "Malformed body", f"not valid JSON: {reason}")


def _response(
    request: Request, problem: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    problem.setdefault("instance", request.url.path)
    return JSONResponse(
        problem, status_code=problem["status"], media_type=PROBLEM_JSON, headers=headers
    )


def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    body: dict[str, Any] = {
        "type": f"/problems/{exc.kind}",
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        **exc.extensions,
    }
    return _response(request, body, exc.headers)


# Every route under it takes an API key (health and metrics are outside).
AUTHENTICATED_PREFIX = "/v1/"


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            # FastAPI reads the body before the routes' dependencies (authentication) run:
            # authenticate here, so that only a known caller learns about the body.
            from api.deps import authenticate  # deps imports this module

            if request.url.path.startswith(AUTHENTICATED_PREFIX):
                try:
                    await authenticate(request)
                except ApiProblem as denied:
                    return _on_problem(request, denied)
            return _on_problem(request, _malformed_body(exc, err))
        where, field = _field_path(tuple(err.get("loc", ())), exc.body)
        message = error_message(err)
        if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            # a body that is one of several kinds: the field at fault is the discriminator
            tag = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
            field = ".".join(p for p in (field, tag) if p)
            message = _tag_message(request, err, tag)
        errors.append(FieldError(field=field, message=message, location=where))
    return _on_problem(request, invalid(errors))


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    428: "Precondition required",
}


def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    body = {
        "type": "about:blank",
        "title": title,
        "status": exc.status_code,
        "detail": exc.detail if isinstance(exc.detail, str) else title,
    }
    return _response(request, body, dict(exc.headers) if exc.headers else None)


def _on_operational(request: Request, exc: Exception) -> JSONResponse:
    """Lock waits that ran out (SQLite busy, PostgreSQL deadlock): nothing was written."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text:
        log.warning("transaction abandoned under contention: %s", text)
        body = {
            "type": "/problems/contention",
            "title": "Busy",
            "status": 503,
            "detail": "the database was busy with concurrent changes; nothing was written, retry",
        }
        return _response(request, body, {"Retry-After": "1"})
    return _on_unexpected(request, exc)


def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    """Two requests created the same record at once (PostgreSQL lets both try; the second
    fails its unique key at commit): nothing of the second was written."""
    log.warning("integrity error, answered 409: %s", getattr(exc, "orig", exc))
    body = {
        "type": "/problems/concurrent-change",
        "title": "Concurrent change",
        "status": 409,
        "detail": "another request changed the same record at the same time; nothing was "
        "written, read it again and retry",
        "reason": "concurrent_change",
    }
    return _response(request, body)


def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {
        "type": "/problems/internal",
        "title": "Internal error",
        "status": 500,
        "detail": "the request failed inside the service; nothing was written",
    }
    # The server closes the connection after an unhandled error; the header tells a client
    # that keeps connections alive not to send its next request on this one.
    return _response(request, body, headers={"Connection": "close"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(OperationalError, _on_operational)
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid API key", "content": {PROBLEM_JSON: {}}},
    403: {
        "model": Problem,
        "description": "The key's role may not do this",
        "content": {PROBLEM_JSON: {}},
    },
    422: {
        "model": Problem,
        "description": "Invalid request; `errors` names each field",
        "content": {
            PROBLEM_JSON: {
                "example": {
                    "type": "/problems/validation",
                    "title": "Invalid request",
                    "status": 422,
                    "detail": "1 invalid field(s): capacity_hours: Input should be greater "
                    "than or equal to 0",
                    "instance": "/v1/lawyers/L1",
                    "errors": [
                        {
                            "field": "capacity_hours",
                            "message": "Input should be greater than or equal to 0",
                            "in": "body",
                        }
                    ],
                }
            }
        },
    },
}


def problem_response(description: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {PROBLEM_JSON: {"example": example} if example else {}}
    return {"model": Problem, "description": description, "content": content}
