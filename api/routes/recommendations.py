"""Per case: recommendations (top-k, explained, with why-not) and the conflict check.

Both read only; they are POST because they take a body.  Any role may call them.

These are the service's hot routes, so they resolve as few dependencies as they can (the
caller's role and the body) and open their one read transaction themselves, inline on SQLite
(``api.deps.run_read``); the answer is built and checked as a model once and sent as its JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from api import recommending
from api.deps import Reader, run_read
from api.routes.common import NOT_FOUND
from api.schemas import (
    ConflictCheckRequest,
    ConflictCheckResponse,
    RecommendationRequest,
    RecommendationResponse,
)
from api.services import Services

router = APIRouter(prefix="/v1/cases/{case_id}", tags=["recommendations"])


def _json(body: bytes) -> Response:
    # Built and checked as a model already: send its JSON without a second validation pass.
    return Response(body, media_type="application/json")


@router.post("/recommendations", response_model=RecommendationResponse, responses={404: NOT_FOUND})
async def recommend(
    case_id: str,
    _: Reader,
    http: Request,
    request: Annotated[RecommendationRequest, Body()] = RecommendationRequest(),  # noqa: B008
) -> Response:
    """The top-k eligible lawyers for the case against current loads, cheapest first, each
    with the solver's score breakdown; why-not for the lawyers named in ``why_not``.

    A lawyer whose remaining hours or open-case count cannot take the case is not
    recommended; ask why-not and the capacity rule says so.
    """
    services: Services = http.app.state.services

    def answer() -> bytes:
        with services.db.transaction(write=False) as session:
            found = recommending.recommend(
                session,
                services.roster,
                case_id,
                top_k=request.top_k,
                why_not=request.why_not,
                as_of=request.as_of,
            )
        return found.model_dump_json().encode()

    return _json(await run_read(services, answer))


@router.post("/conflict-check", response_model=ConflictCheckResponse, responses={404: NOT_FOUND})
async def conflict_check(
    case_id: str,
    _: Reader,
    http: Request,
    request: Annotated[ConflictCheckRequest, Body()] = ConflictCheckRequest(),  # noqa: B008
) -> Response:
    """Conflicts of interest between the case and the named lawyers (all when none named):
    adverse parties of the lawyer or the firm, declared relatives, explicit exclusions,
    complaints, and co-defendant / linked-case / opposing-side rules against the related
    cases' current lawyers."""
    services: Services = http.app.state.services

    def answer() -> bytes:
        with services.db.transaction(write=False) as session:
            found = recommending.conflict_check(
                session,
                services.roster,
                case_id,
                lawyer_ids=request.lawyer_ids,
                as_of=request.as_of,
            )
        return found.model_dump_json().encode()

    return _json(await run_read(services, answer))
