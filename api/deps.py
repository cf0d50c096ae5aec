"""Dependencies as ``Annotated`` aliases: the request's transaction and the caller's role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth import ADMINS, CASE_WRITERS, READERS, Principal, Role, verify_key
from api.problems import ApiProblem, FieldError, invalid
from api.services import Services

_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key made by `assigner keys create`."
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="assigner"'}


# Cheap dependencies are ``async def`` so that they run on the event loop: a sync dependency
# costs a hop to the thread pool per request.  Database work runs in the thread pool.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def _session(services: Services, write: bool) -> AsyncIterator[Session]:
    session = services.db.session(write=write)  # connects on its first statement
    # Ending a SQLite read transaction takes microseconds and no I/O worth a thread hop;
    # anything else (a write, a network round trip) is ended in the thread pool.
    inline = not write and services.db.is_sqlite
    try:
        yield session
    except BaseException:
        if inline:
            _finish(session, False)
        else:
            await run_in_threadpool(_finish, session, False)
        raise
    if inline:
        _finish(session, True)
    else:
        await run_in_threadpool(_finish, session, True)


T = TypeVar("T")


async def run_read(services: Services, work: Callable[[], T]) -> T:
    """Read-only database work for an ``async def`` handler that opens its own transaction.

    On SQLite it runs right here, on the event loop: in WAL mode a reader never waits for
    the writer and every page it reads is local, and the hop to the thread pool and back
    costs more CPU than the work saves (with the GIL the pool runs no Python in parallel
    anyway).  Any other database is a network round trip away, so there the work runs in
    the thread pool and the event loop stays free.
    """
    if services.db.is_sqlite:
        return work()
    return await run_in_threadpool(work)


async def _read_session(services: ServicesDep) -> AsyncIterator[Session]:
    async for session in _session(services, write=False):
        yield session


async def _write_session(services: ServicesDep) -> AsyncIterator[Session]:
    async for session in _session(services, write=True):
        yield session


# One transaction per request, committed before the response is sent (scope="function"):
# an error anywhere in the handler rolls back everything it wrote.
SessionDep = Annotated[Session, Depends(_read_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(_write_session, scope="function")]


def _verify(services: Services, presented: str) -> Principal | None:
    with services.db.engine.connect() as conn:
        return verify_key(conn, presented)


async def _principal(
    request: Request,
    api_key: str | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Principal:
    presented = api_key or (bearer.credentials if bearer is not None else None)
    if not presented:
        raise ApiProblem(
            401,
            "unauthorized",
            "Unauthorized",
            "send an API key as X-API-Key or Bearer token",
            headers=_CHALLENGE,
        )
    services: Services = request.app.state.services
    principal = services.keys.get(presented)
    if principal is None:
        principal = await run_in_threadpool(_verify, services, presented)
        if principal is not None:
            services.keys.put(presented, principal)
    if principal is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "Unauthorized",
            "the API key is unknown or revoked",
            headers=_CHALLENGE,
        )
    return principal


async def authenticate(request: Request) -> Principal:
    """The caller's key checked outside FastAPI's dependencies: a body that is not JSON is
    answered before they run, and an unauthenticated caller gets the 401 for it instead."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    bearer = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
        if scheme.lower() == "bearer" and token.strip()
        else None
    )
    return await _principal(request, request.headers.get("X-API-Key"), bearer)


def _require(roles: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
    """One dependency per role set that authenticates and authorises: each dependency in the
    graph costs FastAPI a resolution step on every request, so the key lookup is not a
    dependency of its own (the two security schemes still are, for the OpenAPI document)."""
    allowed = ", ".join(sorted(str(r) for r in roles))

    async def check(
        request: Request,
        api_key: Annotated[str | None, Security(_api_key)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Principal:
        principal = await _principal(request, api_key, bearer)
        if principal.role not in roles:
            raise ApiProblem(
                403,
                "forbidden",
                "Forbidden",
                f"role {principal.role} may not do this; allowed: {allowed}",
            )
        return principal

    return check


Reader = Annotated[Principal, Depends(_require(READERS))]
CaseWriter = Annotated[Principal, Depends(_require(CASE_WRITERS))]
Admin = Annotated[Principal, Depends(_require(ADMINS))]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The version you saw, as returned in ETag (e.g. "3").',
    ),
]


# The largest integer a query or path parameter takes (offsets, versions, seeds): the
# databases store 64-bit integers and the solvers take 32-bit seeds, so anything above is a
# mistake, answered 422 naming the parameter rather than failing inside.
INT_PARAM_MAX = 2**31 - 1


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


async def _paging(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=INT_PARAM_MAX)] = 0,
) -> Paging:
    """limit / offset query parameters, capped by the settings."""
    cap = services.settings.page_size_max
    if limit > cap:
        raise invalid([FieldError(field="limit", message=f"at most {cap}", location="query")])
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(_paging)]
