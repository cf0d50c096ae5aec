"""Request and response shapes of the API (the domain documents are the engine's own models).

Roster and case records are the engine's ``Firm``, ``Lawyer`` and ``Case`` documents, exactly as
``assigner solve`` reads them inside a Problem; the public shapes add the record's version,
times and what the service knows on top (loads, the current assignment).  The write shapes
(``FirmWrite``, ``LawyerWrite``, ``CaseWrite``) take either, so that a document read with GET
can be changed and sent back: the read-only fields are accepted and ignored.

Integers and booleans in the API's own request bodies are strict: ``"3"`` or ``"yes"`` is a
client's mistake, answered 422 naming the field, not read as 3 or true.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.auth import Role
from api.problems import FieldError
from assigner.domain import Case, Firm, Lawyer, Policy
from assigner.domain.fields import Timestamp
from assigner.rebalance.budget import MAX_MOVES
from assigner.recommend import Reason
from assigner.search.cpsat import MAX_TIME_LIMIT_S


class PageMeta(BaseModel):
    total: int = Field(description="Records matching the filters.")
    limit: int
    offset: int


class RecordMeta(BaseModel):
    version: int = Field(description="Grows by one with every change; send it as If-Match.")
    created_at: datetime
    updated_at: datetime


class FirmPublic(RecordMeta, Firm):
    model_config = ConfigDict(extra="forbid")


class LawyerPublic(RecordMeta, Lawyer):
    model_config = ConfigDict(extra="forbid")

    assigned_hours: float = Field(description="Workload hours the service has assigned.")
    assigned_cases: int = Field(description="Open cases the service has assigned.")
    effective_load_hours: float = Field(description="current_load_hours + assigned_hours.")
    effective_open_cases: int = Field(description="current_open_cases + assigned_cases.")


class AssignmentPublic(BaseModel):
    id: int
    case_id: str
    lawyer_id: str
    workload_hours: float = Field(description="Hours charged to the lawyer's load.")
    cost_points: int
    terms: dict[str, int] = Field(description="The edge cost broken into named terms (points).")
    policy_version: int
    assigned_at: datetime
    assigned_by: str
    note: str | None = None
    started: bool = Field(
        default=False, description="Work has started with this lawyer (rebalancing keeps it)."
    )
    pinned: bool = Field(
        default=False, description="Kept with this lawyer by a decision (rebalancing keeps it)."
    )
    case_version: int = Field(description="The case's version after the assignment.")


class CasePublic(RecordMeta, Case):
    model_config = ConfigDict(extra="forbid")

    assignment: AssignmentPublic | None = None


READ_ONLY = "Read-only, as a GET returns it; ignored on write"

RecordT = TypeVar("RecordT", bound=BaseModel)


def _domain_record(written: BaseModel, model: type[RecordT]) -> RecordT:
    """The engine's record in ``written`` without the read-only fields (already validated)."""
    values = {name: getattr(written, name) for name in model.model_fields}
    return model.model_construct(_fields_set=written.model_fields_set & values.keys(), **values)


class RecordMetaIn(BaseModel):
    """The version and times a GET returns, accepted on a PUT or an import so that a fetched
    document can be changed and sent back; they are ignored (send the version as If-Match)."""

    version: int | None = Field(
        default=None, exclude=True, description=f"{READ_ONLY} (send it as If-Match)."
    )
    created_at: datetime | None = Field(default=None, exclude=True, description=f"{READ_ONLY}.")
    updated_at: datetime | None = Field(default=None, exclude=True, description=f"{READ_ONLY}.")


class FirmWrite(RecordMetaIn, Firm):
    """A firm as a PUT or an import takes it: a ``Firm``, or a ``FirmPublic`` read back."""

    def record(self) -> Firm:
        return _domain_record(self, Firm)


class LawyerWrite(RecordMetaIn, Lawyer):
    """A lawyer as a PUT or an import takes it: a ``Lawyer``, or a ``LawyerPublic`` read back
    (the service's loads in it are ignored: they follow from its assignments)."""

    assigned_hours: float | None = Field(default=None, exclude=True, description=f"{READ_ONLY}.")
    assigned_cases: int | None = Field(default=None, exclude=True, description=f"{READ_ONLY}.")
    effective_load_hours: float | None = Field(
        default=None, exclude=True, description=f"{READ_ONLY}."
    )
    effective_open_cases: int | None = Field(
        default=None, exclude=True, description=f"{READ_ONLY}."
    )

    def record(self) -> Lawyer:
        return _domain_record(self, Lawyer)


class CaseWrite(RecordMetaIn, Case):
    """A case as a PUT or an import takes it: a ``Case``, or a ``CasePublic`` read back."""

    assignment: AssignmentPublic | None = Field(
        default=None,
        exclude=True,
        description=f"{READ_ONLY}: assign with PUT /v1/cases/{{id}}/assignment.",
    )

    def record(self) -> Case:
        return _domain_record(self, Case)


class FirmPage(PageMeta):
    items: list[FirmPublic]


class LawyerPage(PageMeta):
    items: list[LawyerPublic]


class CasePage(PageMeta):
    items: list[CasePublic]


class RejectedRow(BaseModel):
    row: int = Field(
        description="1-based position of the record (CSV: data row, after the header)."
    )
    id: str | None = None
    errors: list[FieldError]


class ImportReport(BaseModel):
    received: int
    created: int
    replaced: int
    rejected: list[RejectedRow]
    written: bool = Field(
        description="False when all_or_nothing was asked and a row was rejected: nothing written."
    )


class RecommendationRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"top_k": 5, "why_not": ["L0042", "L0107"]}]},
    )

    top_k: int = Field(default=5, ge=1, le=100, strict=True)
    why_not: list[str] = Field(
        default_factory=list, max_length=100, description="Lawyers to explain, eligible or not."
    )
    as_of: Timestamp | None = Field(
        default=None,
        description="The moment to judge availability and deadlines at; now by default.",
    )


class ScoredLawyer(BaseModel):
    rank: int = Field(
        description="1 = the lowest score_points among the eligible lawyers (0 in an "
        "assignment check)."
    )
    lawyer_id: str
    lawyer_name: str
    firm_id: str
    cost_points: int = Field(description="The edge cost: the sum of terms.")
    terms: dict[str, int] = Field(
        description="The solver's edge cost terms (score_edges): travel, fit, experience, "
        "rating, language, preference, continuity, subsidy, stability."
    )
    load_points: int = Field(
        description="Utilisation-band points the case's hours add at this lawyer (each "
        "started hour above the policy's bands)."
    )
    quota_points: int = Field(
        description="Quota-deficit points the case removes while the lawyer is short of the "
        "yearly quota (0 or negative)."
    )
    score_points: int = Field(
        description="cost_points + load_points + quota_points: what the case adds to the "
        "solver's objective at this lawyer; the ranking's order, lower is better."
    )
    travel_km: float
    subsidy_cny: float
    load_hours_after: float
    open_cases_after: int
    capacity_hours: float
    max_open_cases: int


class ReasonOut(BaseModel):
    rule: str = Field(examples=["adverse_party"])
    citation: str
    detail: str
    conflict: bool = Field(description="True for conflict-of-interest rules.")

    @classmethod
    def of(cls, reason: Reason) -> ReasonOut:
        return cls(
            rule=reason.rule,
            citation=reason.citation,
            detail=reason.detail,
            conflict=reason.is_conflict,
        )


class WhyNotOut(BaseModel):
    lawyer_id: str
    eligible: bool
    reasons: list[ReasonOut]
    score: ScoredLawyer | None = Field(default=None, description="When eligible.")


class RecommendationResponse(BaseModel):
    case_id: str
    case_version: int
    as_of: datetime
    policy_version: int
    workload_hours: float
    eligible_count: int
    excluded_by: dict[str, int] = Field(
        description="Rule -> lawyers it excludes (a lawyer may count under several rules)."
    )
    recommendations: list[ScoredLawyer]
    why_not: list[WhyNotOut]


class ConflictCheckRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"lawyer_ids": ["L0042"]}, {}]}
    )

    lawyer_ids: list[str] | None = Field(
        default=None, max_length=1000, description="Lawyers to check; every lawyer when absent."
    )
    as_of: Timestamp | None = Field(
        default=None, description="The moment to judge the conflicts at; now by default."
    )


class ConflictOut(BaseModel):
    lawyer_id: str
    firm_id: str
    reasons: list[ReasonOut]


class ConflictCheckResponse(BaseModel):
    case_id: str
    checked: int
    conflicts: list[ConflictOut] = Field(description="Only lawyers with a conflict of interest.")


class AssignmentRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"lawyer_id": "L0042", "expected_version": 3, "note": "duty roster"}]
        },
    )

    lawyer_id: str = Field(min_length=1)
    expected_version: int | None = Field(
        default=None,
        ge=1,
        strict=True,
        description="The case version the caller saw (or send If-Match).",
    )
    note: str | None = Field(default=None, max_length=2000)


class AssignmentFlags(BaseModel):
    """Mark the current assignment started or pinned (or clear the marks).  Rebalancing never
    moves a started or pinned case unless the policy allows it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"started": True, "expected_version": 4}]},
    )

    started: bool | None = Field(default=None, strict=True, description="Unchanged when omitted.")
    pinned: bool | None = Field(default=None, strict=True, description="Unchanged when omitted.")
    expected_version: int | None = Field(
        default=None,
        ge=1,
        strict=True,
        description="The case version the caller saw (or send If-Match).",
    )
    note: str | None = Field(default=None, max_length=2000)


class WithdrawReason(StrEnum):
    COMPLAINT = "complaint"
    CONFLICT_DISCOVERED = "conflict_discovered"
    LAWYER_UNAVAILABLE = "lawyer_unavailable"
    CLIENT_REQUEST = "client_request"
    CASE_CLOSED = "case_closed"
    OTHER = "other"


class WithdrawalPublic(BaseModel):
    case_id: str
    lawyer_id: str
    reason: WithdrawReason
    note: str | None
    excluded_from_now_on: bool = Field(
        description="True for a complaint: the lawyer is excluded from this case from now on."
    )
    case_version: int


class JobKind(StrEnum):
    BATCH_ASSIGNMENT = "batch_assignment"
    REBALANCE = "rebalance"
    SCENARIO = "scenario"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"


class SolveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    time_limit_s: float = Field(default=10.0, gt=0, le=MAX_TIME_LIMIT_S)
    seed: int = Field(default=0, ge=0, le=2**31 - 1, strict=True, description="The solvers' seed.")
    workers: int = Field(default=2, ge=1, le=16, strict=True)
    deterministic: bool = Field(default=False, strict=True)


class BatchAssignmentParams(SolveSettings):
    apply: bool = Field(
        default=False,
        strict=True,
        description="Commit the plan's assignments when the job ends (each re-checked under "
        "locks); otherwise the plan is kept in the job's result to read, and is not applied "
        "later (run the batch again with apply, or plan moves with a rebalance job, which is "
        "reviewed and applied).",
    )


class RebalanceParams(SolveSettings):
    time_limit_s: float = Field(default=60.0, gt=0, le=MAX_TIME_LIMIT_S)
    max_moves: int | None = Field(
        default=None,
        ge=0,
        le=MAX_MOVES,
        strict=True,
        description="Move budget (default: 2% of the open cases, at least 1).  Assigning a "
        "backlog case is not a move.",
    )
    max_moves_per_lawyer: int | None = Field(
        default=None,
        ge=0,
        le=MAX_MOVES,
        strict=True,
        description="Moves away from / onto any one lawyer.",
    )
    apply: bool = Field(
        default=False,
        strict=True,
        description="Apply the plan when the job ends, without review (refused like a review "
        "apply when the state changed meanwhile); otherwise it waits for review.",
    )


class ScenarioParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: dict[str, Any] = Field(
        description="The scenario document (the YAML/JSON file format of `assigner scenario "
        "run`, as JSON).  Its baseline is a generated tier, or `database_url: service://` for "
        "this service's stored state (roster, open cases, policy) when the job starts."
    )


class BatchJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal[JobKind.BATCH_ASSIGNMENT]
    params: BatchAssignmentParams = Field(default_factory=BatchAssignmentParams)


class RebalanceJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal[JobKind.REBALANCE]
    params: RebalanceParams = Field(default_factory=RebalanceParams)


class ScenarioJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal[JobKind.SCENARIO]
    params: ScenarioParams


JobCreate = Annotated[
    BatchJobCreate | RebalanceJobCreate | ScenarioJobCreate,
    Field(
        discriminator="kind",
        json_schema_extra={
            "examples": [
                {"kind": "batch_assignment", "params": {"time_limit_s": 20, "seed": 7}},
                {"kind": "rebalance", "params": {"time_limit_s": 60, "max_moves": 40}},
                {
                    "kind": "scenario",
                    "params": {
                        "scenario": {
                            "name": "summer leave",
                            "baseline": {"database_url": "service://"},
                            "samples": 3,
                            "time_limit_s": 2,
                            "variants": [
                                {
                                    "name": "10% on leave",
                                    "changes": [{"kind": "leave", "share": 0.1, "days": 14}],
                                }
                            ],
                        }
                    },
                },
            ]
        },
    ),
]


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="Why; kept in the audit.")


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, description="Why the plan is rejected.")


class JobProgress(BaseModel):
    phase: str | None = None
    objective: int | None = None
    bound: float | None = None
    gap: float | None = None
    done: int | None = Field(default=None, description="Scenario jobs: solves done.")
    total: int | None = Field(default=None, description="Scenario jobs: solves in all.")
    elapsed_s: float = 0.0


class JobPublic(BaseModel):
    id: str
    kind: JobKind
    status: JobStatus
    params: dict[str, Any]
    progress: JobProgress | None = None
    result: dict[str, Any] | None = Field(
        default=None,
        description="When succeeded: batch_assignment, the Plan and, with apply, what was "
        "applied; rebalance, the RebalancePlan (`assigner rebalance schema`) and, once applied, "
        "what was written; scenario, the KPIs per variant (the HTML report is at "
        "/v1/jobs/{id}/report).",
    )
    error: str | None = None
    attempts: int
    cancel_requested: bool
    created_at: datetime
    created_by: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    review_status: ReviewStatus | None = Field(
        default=None, description="Rebalance jobs: the plan's review (pending, applied, rejected)."
    )
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    review_note: str | None = None


class JobPage(PageMeta):
    items: list[JobPublic]


class PolicyVersionPublic(BaseModel):
    version: int
    policy: Policy
    note: str
    created_at: datetime
    created_by: str


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Policy = Field(description="The new policy; its version field is set by the service.")
    note: str = Field(min_length=1, max_length=2000, description="Why the policy changes.")


class PolicyPage(PageMeta):
    items: list[PolicyVersionPublic]


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    role: Role
    action: str
    entity_type: str
    entity_id: str
    policy_version: int
    explanation: str
    details: dict[str, Any]


class AuditPage(PageMeta):
    items: list[AuditEntry]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
