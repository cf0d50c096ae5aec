"""/v1/policy: the versioned policy (weights and rule switches)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Response
from sqlalchemy import func, select

from api import audit, policies, policy_check
from api.deps import INT_PARAM_MAX, Admin, PagingDep, Reader, SessionDep, WriteSessionDep
from api.models import PolicyRow
from api.problems import not_found
from api.routes.common import NOT_FOUND
from api.schemas import PolicyCreate, PolicyPage, PolicyVersionPublic
from assigner.domain import Policy

router = APIRouter(prefix="/v1/policy", tags=["policy"])


def _public(row: PolicyRow) -> PolicyVersionPublic:
    return PolicyVersionPublic(
        version=row.version,
        policy=policies.as_policy(row),
        note=row.note,
        created_at=row.created_at,
        created_by=row.created_by,
    )


@router.get("", response_model=PolicyVersionPublic)
def current_policy(_: Reader, session: SessionDep) -> PolicyVersionPublic:
    """The policy in force: the newest version."""
    row, _policy = policies.current(session)
    return _public(row)


@router.post("/versions", response_model=PolicyVersionPublic, status_code=201)
def new_policy_version(
    body: Annotated[
        PolicyCreate,
        Body(
            openapi_examples={
                "firm rule on": {
                    "value": {
                        "policy": Policy(codefendants_same_firm_forbidden=True).model_dump(
                            mode="json"
                        ),
                        "note": "public defender office counts as one firm for co-defendants",
                    }
                }
            }
        ),
    ],
    who: Admin,
    session: WriteSessionDep,
    response: Response,
) -> PolicyVersionPublic:
    """A new policy version (administrator); it is in force from its commit on.  A version
    under which the stored caseload breaks a rule it does not break now (a started or pinned
    case its lawyer can no longer hold, say) is a 409 ``caseload`` naming each case
    (``api.policy_check``)."""
    policies.check_policy(body.policy)
    issues = policy_check.new_policy_issues(session, body.policy, datetime.now(UTC))
    if issues:
        raise policy_check.policy_refusal(issues)
    row = policies.add_version(session, body.policy, body.note, who.actor)
    audit.record(
        session,
        who,
        "policy.create",
        "policy",
        str(row.version),
        f"policy version {row.version}: {body.note}",
        {"version": row.version},
        policy_version=row.version,
    )
    response.headers["Location"] = f"/v1/policy/versions/{row.version}"
    return _public(row)


@router.get("/versions", response_model=PolicyPage)
def list_policy_versions(_: Reader, session: SessionDep, paging: PagingDep) -> PolicyPage:
    total = session.execute(select(func.count()).select_from(PolicyRow)).scalar_one()
    rows = session.execute(
        select(PolicyRow)
        .order_by(PolicyRow.version.desc())
        .limit(paging.limit)
        .offset(paging.offset)
    ).scalars()
    return PolicyPage(
        items=[_public(r) for r in rows], total=int(total), limit=paging.limit, offset=paging.offset
    )


@router.get("/versions/{version}", response_model=PolicyVersionPublic, responses={404: NOT_FOUND})
def get_policy_version(
    version: Annotated[int, Path(ge=1, le=INT_PARAM_MAX)], _: Reader, session: SessionDep
) -> PolicyVersionPublic:
    row = policies.get_version(session, version)
    if row is None:
        raise not_found("policy version", str(version))
    return _public(row)
