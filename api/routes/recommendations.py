"""Per case: recommendations (top-k, explained, with why-not) and the conflict check.

Both read only; they are POST because they take a body.  Any role may call them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from api import recommending
from api.deps import Reader, ServicesDep, SessionDep
from api.routes.common import NOT_FOUND
from api.schemas import (
    ConflictCheckRequest,
    ConflictCheckResponse,
    RecommendationRequest,
    RecommendationResponse,
)

router = APIRouter(prefix="/v1/cases/{case_id}", tags=["recommendations"])


@router.post("/recommendations", response_model=RecommendationResponse, responses={404: NOT_FOUND})
def recommend(
    case_id: str,
    _: Reader,
    session: SessionDep,
    services: ServicesDep,
    request: Annotated[RecommendationRequest, Body()] = RecommendationRequest(),  # noqa: B008
) -> Response:
    """The top-k eligible lawyers for the case against current loads, cheapest first, each
    with the solver's score breakdown; why-not for the lawyers named in ``why_not``.

    A lawyer whose remaining hours or open-case count cannot take the case is not
    recommended; ask why-not and the capacity rule says so.
    """
    answer = recommending.recommend(
        session,
        services.roster,
        case_id,
        top_k=request.top_k,
        why_not=request.why_not,
        as_of=request.as_of,
    )
    # Built and checked as a model already: send its JSON without a second validation pass.
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post("/conflict-check", response_model=ConflictCheckResponse, responses={404: NOT_FOUND})
def conflict_check(
    case_id: str,
    _: Reader,
    session: SessionDep,
    services: ServicesDep,
    request: Annotated[ConflictCheckRequest, Body()] = ConflictCheckRequest(),  # noqa: B008
) -> ConflictCheckResponse:
    """Conflicts of interest between the case and the named lawyers (all when none named):
    adverse parties of the lawyer or the firm, declared relatives, explicit exclusions,
    complaints, and co-defendant / linked-case / opposing-side rules against the related
    cases' current lawyers."""
    return recommending.conflict_check(
        session, services.roster, case_id, lawyer_ids=request.lawyer_ids, as_of=request.as_of
    )
