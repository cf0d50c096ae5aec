"""/v1/solve: a whole Problem in, a verified Plan out (stateless; the CLI's documents)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from api import examples
from api.deps import INT_PARAM_MAX, CaseWriter, ServicesDep
from api.problems import ApiProblem, FieldError, field_errors_from_input, invalid, problem_response
from assigner.domain import InputError, Plan, Problem
from assigner.engine import solve_problem
from assigner.search.cpsat import SearchParams
from assigner.verify import PlanViolation

router = APIRouter(prefix="/v1", tags=["solve"])


@router.post(
    "/solve",
    response_model=Plan,
    responses={500: problem_response("The plan failed independent verification")},
)
def solve(
    problem: Annotated[Problem, Body(openapi_examples={"two cases": {"value": examples.PROBLEM}})],
    _: CaseWriter,
    services: ServicesDep,
    time_limit_s: Annotated[float, Query(gt=0, description="Wall-clock budget.")] = 10.0,
    seed: Annotated[int, Query(ge=0, le=INT_PARAM_MAX)] = 0,
    workers: Annotated[int, Query(ge=1, le=16)] = 2,
    deterministic: Annotated[
        bool, Query(description="Deterministic work budget: same input and seed, same plan.")
    ] = False,
) -> Plan:
    """Solve a Problem document and return the Plan, as ``assigner solve`` does; the plan
    passed the independent verifier.  The database is not read or written."""
    cap = services.settings.solve_time_limit_max_s
    if time_limit_s > cap:
        raise invalid(
            [FieldError(field="time_limit_s", message=f"at most {cap:g}", location="query")]
        )
    try:
        return solve_problem(problem, SearchParams(time_limit_s, workers, seed, deterministic))
    except InputError as exc:
        raise invalid(field_errors_from_input(exc)) from exc
    except PlanViolation as exc:
        raise ApiProblem(
            500,
            "plan-failed-verification",
            "Plan failed verification",
            f"the solver's plan broke a hard rule and was not returned: {exc}",
        ) from exc
