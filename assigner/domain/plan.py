"""The Plan document: assignments with score breakdowns, unassigned cases with reasons, KPIs,
objective, bound and gap."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    lawyer_id: str
    cost_points: int = Field(description="Sum of the edge terms.")
    terms: dict[str, int] = Field(description="The edge cost broken into named terms (points).")
    travel_km: float
    workload_hours: float
    subsidy_cny: float
    moved_from: str | None = Field(
        default=None, description="The case's current lawyer when this assignment moves it."
    )


class UnassignedReason(StrEnum):
    """Why a case is left out: no lawyer passes the hard rules; none that does has the hours
    and an open-case place left in the plan; those that have are barred by a group rule with
    the cases placed (co-defendants, linked cases, the one-firm rule, opposing sides: counsel
    from another firm is needed); one may take it, but placing the case there costs at least
    as many points as its unassigned penalty (the policy's weights make leaving it open no
    dearer; the name stays for the clients that read it); in a rebalance, every lawyer with
    room for the case has taken the per-lawyer move budget's moves already (moving the case
    there would be one more); or placing it would have lowered the objective and the search
    ended before it did."""

    NO_ELIGIBLE_LAWYER = "no_eligible_lawyer"
    CAPACITY_EXHAUSTED = "capacity_exhausted"
    GROUP_RULES = "group_rules"
    COSTS_MORE_THAN_PENALTY = "costs_more_than_penalty"
    MOVE_BUDGET = "move_budget"
    NOT_PLACED_IN_TIME = "not_placed_in_time"


class Unassigned(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    reason: UnassignedReason
    penalty_points: int
    excluded_by: dict[str, int] = Field(
        default_factory=dict,
        description="How many lawyers each hard rule excludes (a lawyer may count under "
        "several rules).",
    )
    eligible_lawyers: int = 0


class GroupShare(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: int
    assigned: int
    share: float


class Kpis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: int
    assigned: int
    assigned_share: float
    assigned_share_of_eligible: float
    by_priority_group: dict[str, GroupShare]
    deadline_risk: int = Field(
        description="Unassigned cases whose assign-by deadline is within 24 h of as_of or past."
    )
    utilisation_mean: float
    utilisation_p95: float
    utilisation_max: float
    utilisation_gini: float
    travel_km_total: float
    travel_km_mean: float
    subsidy_cny_total: float
    quota_deficit_cases: int = Field(
        description="Sum over lawyers of cases still short of their yearly quota after the plan."
    )
    lawyers_below_quota: int
    moves: int


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


class SolverReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: SolveStatus = Field(
        description="optimal only when the bound proves it (gap 0); feasible otherwise."
    )
    objective_points: int
    best_bound_points: float
    gap: float = Field(
        description="(objective - bound) / max(1, |objective - constant|), where the constant "
        "is the penalties of the cases no lawyer may take (every plan pays them)."
    )
    wall_time_s: float
    time_limit_s: float
    seed: int
    workers: int
    deterministic: bool
    method: str
    edges: int
    phases: list[dict[str, float | int | str]] = Field(default_factory=list)


class ObjectiveBreakdown(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edge_points: int
    unassigned_points: int
    utilisation_points: int
    quota_points: int


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passed: bool
    checks: list[str]


class Plan(BaseModel):
    """What `assigner solve` writes and `POST /v1/solve` returns."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    problem_name: str
    policy_version: int
    assignments: list[Assignment]
    unassigned: list[Unassigned]
    kpis: Kpis
    objective: ObjectiveBreakdown
    solver: SolverReport
    verification: Verification | None = None
