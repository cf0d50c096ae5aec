"""The service side of recommendations: a warm roster index per process, current loads from
the database, and the case with its related cases as the engine sees them.

The roster index (``assigner.recommend.RosterIndex``) is rebuilt only when the roster revision,
the policy version or the day changes; each request reads the load counters (one small query)
and scores its one case against the index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Row, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from api import policies, state
from api.caseload import CaseLike, engine_case
from api.models import REF_LINKED, CaseRefRow, CaseRow, FirmRow, LawyerLoadRow, LawyerRow
from api.problems import FieldError, invalid, not_found
from api.schemas import (
    ConflictCheckResponse,
    ConflictOut,
    ReasonOut,
    RecommendationResponse,
    ScoredLawyer,
    WhyNotOut,
)
from api.state import State
from assigner.domain import Firm, Lawyer, Policy
from assigner.recommend import (
    CaseQuery,
    RosterIndex,
    Scored,
    build_roster_index,
)

log = logging.getLogger(__name__)

_KEEP_SNAPSHOTS = 4


@dataclass(frozen=True)
class RosterSnapshot:
    key: tuple[int, int, int]  # roster revision, policy version, as_of day
    index: RosterIndex
    lawyer_names: dict[str, str]
    lawyer_firms: dict[str, str]


@dataclass(frozen=True)
class _Loads:
    key: tuple[int, int]  # roster revision, loads revision
    hours: np.ndarray  # effective, in index order
    cases: np.ndarray


class RosterCache:
    """What recommendations keep in memory, each part checked against the service-state
    counters read once per request: roster indexes by (roster revision, policy version,
    day), the effective loads by (roster revision, loads revision), parsed policies by
    version.  One builder at a time; readers never wait for a hit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[tuple[int, int, int], RosterSnapshot] = OrderedDict()
        self._loads: _Loads | None = None
        self._policies: dict[int, Policy] = {}
        self.builds = 0

    def policy(self, session: Session, version: int) -> Policy:
        found = self._policies.get(version)
        if found is None:
            row = policies.get_version(session, version)
            if row is None:
                raise RuntimeError(f"policy version {version} vanished")
            found = self._policies[version] = policies.as_policy(row)
        return found

    def snapshot(self, session: Session, st: State, as_of: datetime) -> RosterSnapshot:
        policy = self.policy(session, st.policy_version)
        day = as_of.astimezone(ZoneInfo(policy.timezone)).date().toordinal()
        key = (st.roster_revision, st.policy_version, day)
        snap = self._snapshots.get(key)
        if snap is not None:
            return snap
        with self._lock:
            snap = self._snapshots.get(key)
            if snap is None:
                snap = self._build(session, key, policy, as_of)
                self._snapshots[key] = snap
                while len(self._snapshots) > _KEEP_SNAPSHOTS:
                    self._snapshots.popitem(last=False)
            return snap

    def _build(
        self, session: Session, key: tuple[int, int, int], policy: Policy, as_of: datetime
    ) -> RosterSnapshot:
        t0 = time.perf_counter()
        firms = [
            Firm.model_validate(doc)
            for doc in session.execute(select(FirmRow.document).order_by(FirmRow.id)).scalars()
        ]
        lawyers = sorted(
            (
                Lawyer.model_validate(doc)
                for doc in session.execute(select(LawyerRow.document)).scalars()
            ),
            key=lambda lw: lw.id,
        )
        index = build_roster_index(firms, lawyers, policy, as_of)
        self.builds += 1
        log.info(
            "roster index built: revision %d, policy v%d, %d lawyers in %.0f ms",
            key[0],
            key[1],
            len(lawyers),
            (time.perf_counter() - t0) * 1000,
        )
        return RosterSnapshot(
            key=key,
            index=index,
            lawyer_names={lw.id: lw.name for lw in lawyers},
            lawyer_firms={lw.id: lw.firm_id for lw in lawyers},
        )

    def loads(
        self, session: Session, st: State, index: RosterIndex, *, any_revision: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Effective loads in index order: the documents' outside work plus what the service
        has assigned (read-only arrays; copy before changing).  ``any_revision`` accepts the
        loads of an older loads revision of the same roster: for a caller that reads the few
        loads it depends on itself (an assignment, under its locks)."""
        key = (st.roster_revision, st.loads_revision)
        cached = self._loads
        if (
            cached is not None
            and (cached.key == key or (any_revision and cached.key[0] == key[0]))
            and cached.hours.size == index.n_lawyers
        ):
            return cached.hours, cached.cases
        hours = index.base_load_hours.astype(np.float64).copy()
        cases = index.base_open_cases.astype(np.int32).copy()
        pos = index.arrays.lawyer_pos
        for lawyer_id, assigned_hours, assigned_cases in session.execute(
            select(
                LawyerLoadRow.lawyer_id, LawyerLoadRow.assigned_hours, LawyerLoadRow.assigned_cases
            )
        ):
            p = pos.get(lawyer_id)
            if p is not None:  # a lawyer created after this snapshot's roster revision
                hours[p] += assigned_hours
                cases[p] += assigned_cases
        hours.flags.writeable = False
        cases.flags.writeable = False
        self._loads = _Loads(key, hours, cases)
        return hours, cases


_CASE_COLUMNS = (
    CaseRow.id,
    CaseRow.matter_id,
    CaseRow.version,
    CaseRow.assigned_lawyer_id,
    CaseRow.assigned_hours,
    CaseRow.complaint_exclusions,
    CaseRow.document,
)


_OTHER = aliased(CaseRow)
# The case and the cases a group rule joins with it, in one round trip: linking to it, linked
# from it (both from case_refs, which holds every linked_case_ids entry of every stored case
# document, written with the document), same matter.
_GROUP_QUERY = (
    select(*_CASE_COLUMNS)
    .where(
        or_(
            CaseRow.id == bindparam("case_id"),
            CaseRow.id.in_(
                select(CaseRefRow.case_id).where(
                    CaseRefRow.kind == REF_LINKED, CaseRefRow.ref_id == bindparam("case_id")
                )
            ),
            CaseRow.id.in_(
                select(CaseRefRow.ref_id).where(
                    CaseRefRow.kind == REF_LINKED, CaseRefRow.case_id == bindparam("case_id")
                )
            ),
            CaseRow.matter_id
            == select(_OTHER.matter_id).where(_OTHER.id == bindparam("case_id")).scalar_subquery(),
        )
    )
    .order_by(CaseRow.id)
)


def case_rows(session: Session, case_id: str) -> tuple[Row[Any], list[Row[Any]]]:
    """The case and its related cases (one prepared query on the request's connection)."""
    rows = session.connection().execute(_GROUP_QUERY, {"case_id": case_id}).all()
    target = next((r for r in rows if r.id == case_id), None)
    if target is None:
        raise not_found("case", case_id)
    return target, [r for r in rows if r.id != case_id]


class StoredCase(CaseLike, Protocol):
    """A stored case as a recommendation reads it: a Core row of the case columns or the
    ORM row itself."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def assigned_hours(self) -> float | None: ...


@dataclass(frozen=True)
class CaseContext:
    case_id: str
    case_version: int
    query: CaseQuery
    snapshot: RosterSnapshot
    policy_version: int
    as_of: datetime


def case_context(
    session: Session,
    cache: RosterCache,
    case_id: str,
    as_of: datetime | None = None,
    *,
    exact_loads: dict[str, tuple[float, int]] | None = None,
    rows: tuple[StoredCase, Sequence[StoredCase]] | None = None,
) -> CaseContext:
    """The case, its related cases and the current loads, ready to query.

    ``exact_loads`` (lawyer id -> assigned hours and cases, read under a lock) replaces the
    cached loads of those lawyers; the other lawyers' loads may then be of an older revision,
    so only questions about those lawyers may be asked (``CaseQuery.assess``).  ``rows`` are
    the case and its related cases when the caller has read them in this transaction already
    (under its locks); otherwise they are read here."""
    when = (as_of or datetime.now(UTC)).astimezone(UTC)
    st = state.read(session)
    target, related = rows if rows is not None else case_rows(session, case_id)
    snap = cache.snapshot(session, st, when)
    hours, cases = cache.loads(session, st, snap.index, any_revision=exact_loads is not None)
    if exact_loads:
        hours, cases = hours.copy(), cases.copy()
        index = snap.index
        for lawyer_id, (assigned_hours, assigned_cases) in exact_loads.items():
            p = index.arrays.lawyer_pos.get(lawyer_id)
            if p is not None:
                hours[p] = index.base_load_hours[p] + assigned_hours
                cases[p] = index.base_open_cases[p] + assigned_cases
    if target.assigned_lawyer_id is not None:
        # The loads count the case itself; the engine wants them without it.
        p = snap.index.arrays.lawyer_pos.get(target.assigned_lawyer_id)
        if p is not None:
            hours, cases = hours.copy(), cases.copy()
            hours[p] -= target.assigned_hours or 0.0
            cases[p] -= 1
    query = CaseQuery(
        snap.index,
        engine_case(target),
        [engine_case(r) for r in related],
        as_of=when,
        load_hours=hours,
        open_cases=cases,
    )
    return CaseContext(case_id, int(target.version), query, snap, st.policy_version, when)


def scored_out(s: Scored, snap: RosterSnapshot) -> ScoredLawyer:
    return ScoredLawyer(
        rank=s.rank,
        lawyer_id=s.lawyer_id,
        lawyer_name=snap.lawyer_names[s.lawyer_id],
        firm_id=snap.lawyer_firms[s.lawyer_id],
        cost_points=s.cost_points,
        terms=s.terms,
        load_points=s.load_points,
        quota_points=s.quota_points,
        score_points=s.cost_points + s.load_points + s.quota_points,
        travel_km=s.travel_km,
        subsidy_cny=s.subsidy_cny,
        load_hours_after=s.load_hours_after,
        open_cases_after=s.open_cases_after,
        capacity_hours=s.capacity_hours,
        max_open_cases=s.max_open_cases,
    )


def _check_known(snap: RosterSnapshot, lawyer_ids: list[str], field: str) -> None:
    """422 naming every unknown lawyer by its place in the list (``why_not.1``), not only
    the first the engine would meet."""
    errors: list[FieldError] = []
    reported: set[str] = set()
    for i, lawyer_id in enumerate(lawyer_ids):
        if lawyer_id not in snap.lawyer_names and lawyer_id not in reported:
            reported.add(lawyer_id)
            errors.append(
                FieldError(
                    field=f"{field}.{i}", message=f"unknown lawyer {lawyer_id!r}", location="body"
                )
            )
    if errors:
        raise invalid(errors)


def recommend(
    session: Session,
    cache: RosterCache,
    case_id: str,
    *,
    top_k: int,
    why_not: list[str],
    as_of: datetime | None,
) -> RecommendationResponse:
    ctx = case_context(session, cache, case_id, as_of)
    q, snap = ctx.query, ctx.snapshot
    _check_known(snap, why_not, "why_not")
    verdicts = [q.verdict(x) for x in dict.fromkeys(why_not)]
    return RecommendationResponse(
        case_id=case_id,
        case_version=ctx.case_version,
        as_of=ctx.as_of,
        policy_version=ctx.policy_version,
        workload_hours=q.workload_hours,
        eligible_count=q.eligible_count,
        excluded_by=q.excluded_by,
        recommendations=[scored_out(s, snap) for s in q.top(top_k)],
        why_not=[
            WhyNotOut(
                lawyer_id=v.lawyer_id,
                eligible=v.eligible,
                reasons=[ReasonOut.of(r) for r in v.reasons],
                score=scored_out(v.scored, snap) if v.scored else None,
            )
            for v in verdicts
        ],
    )


def conflict_check(
    session: Session,
    cache: RosterCache,
    case_id: str,
    *,
    lawyer_ids: list[str] | None,
    as_of: datetime | None,
) -> ConflictCheckResponse:
    ctx = case_context(session, cache, case_id, as_of)
    if lawyer_ids is not None:
        _check_known(ctx.snapshot, lawyer_ids, "lawyer_ids")
    found = ctx.query.conflicts(lawyer_ids)
    checked = len(set(lawyer_ids)) if lawyer_ids is not None else ctx.snapshot.index.n_lawyers
    return ConflictCheckResponse(
        case_id=case_id,
        checked=checked,
        conflicts=[
            ConflictOut(
                lawyer_id=lawyer_id,
                firm_id=ctx.snapshot.lawyer_firms[lawyer_id],
                reasons=[ReasonOut.of(r) for r in reasons],
            )
            for lawyer_id, reasons in found.items()
        ],
    )
