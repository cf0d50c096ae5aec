"""The RebalancePlan document: moves with reasons and score changes, backlog placements, the
budget used, the objective before and after, and the full verified Plan.

``RebalancePlan.model_json_schema()`` is its JSON Schema.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from assigner.domain.plan import ObjectiveBreakdown, Plan

REBALANCE_SCHEMA_VERSION = 1


class MoveKind(StrEnum):
    """The main reason for a move (the first that applies, in this order)."""

    LAWYER_INELIGIBLE = "lawyer_ineligible"
    OVERLOAD = "overload"
    GROUP_RULE = "group_rule"
    ROOM_FOR_BACKLOG = "room_for_backlog"
    ROOM_FOR_MOVE = "room_for_move"  # room for a case moved onto the lawyer (one forced, say)
    CONTINUITY = "continuity"
    BALANCE = "balance"
    COST = "cost"


class Move(BaseModel):
    """A case with a current lawyer that the plan gives to another lawyer or leaves open."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    from_lawyer_id: str
    to_lawyer_id: str | None = Field(description="None: the case is left unassigned.")
    kind: MoveKind
    reason: str = Field(description="Why, in words, e.g. 'lawyer on leave from 2026-03-05'.")
    details: list[str] = Field(default_factory=list, description="Further reasons that also apply.")
    started: bool
    pinned: bool
    cost_before_points: int = Field(
        description="Edge cost with the current lawyer; for a lawyer no longer eligible, the "
        "case's unassigned penalty (what keeping it open would cost)."
    )
    cost_after_points: int = Field(
        description="Edge cost with the new lawyer, or the unassigned penalty."
    )
    score_change_points: int = Field(
        description="cost_after - cost_before (negative = better).  Utilisation and quota "
        "effects are lawyer-level and shown in the plan's objective."
    )
    terms_before: dict[str, int] | None = Field(
        default=None, description="Edge terms with the current lawyer (None when not eligible)."
    )
    terms_after: dict[str, int] | None = Field(
        default=None, description="Edge terms with the new lawyer (None when unassigned)."
    )


class NewAssignment(BaseModel):
    """A backlog case (no current lawyer) that the plan assigns; not a move."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    lawyer_id: str
    reason: str = "backlog: assigned"
    cost_points: int
    terms: dict[str, int]


class BudgetReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_moves: int
    max_moves_per_lawyer: int | None
    moves_used: int
    moves_required: int = Field(
        description="Moves the hard rules force (lawyer no longer eligible, over capacity, "
        "a group rule), included in moves_used."
    )
    required_away_by_lawyer: dict[str, int] = Field(
        default_factory=dict,
        description="Per lawyer (only those with any), the moves away the hard rules force.",
    )
    max_away_from_one_lawyer: int = Field(description="Most moves away from any one lawyer.")
    max_onto_one_lawyer: int = Field(description="Most moves onto any one lawyer.")
    rule: str = Field(
        description="How the budget counts: total moves <= max_moves; per lawyer, moves away "
        "<= max(max_moves_per_lawyer, the moves the hard rules force away from that lawyer) "
        "and moves onto <= max_moves_per_lawyer.  Assigning a backlog case is not a move.  A "
        "case whose lawyer is still eligible is left unassigned only where the hard rules force "
        "cases off that lawyer and no one else can take it."
    )


class RebalanceCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: int
    currently_assigned: int
    backlog: int
    kept: int
    moved: int
    moved_to_another_lawyer: int
    moved_to_unassigned: int
    backlog_assigned: int
    backlog_unassigned: int
    pinned_or_started_kept: int


class Objective(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total_points: int
    parts: ObjectiveBreakdown


class CaseState(BaseModel):
    """What the plan assumed about one case."""

    model_config = ConfigDict(extra="forbid")

    lawyer_id: str | None
    started: bool = False
    pinned: bool = False
    version: int | None = None
    digest: str = Field(description="Hash of the case record apart from its assignment.")


class LawyerState(BaseModel):
    """What the plan assumed about one lawyer."""

    model_config = ConfigDict(extra="forbid")

    capacity_hours: float
    max_open_cases: int
    current_load_hours: float
    current_open_cases: int
    accepting_new_cases: bool
    leave: list[tuple[date, date]]
    firm_id: str | None = Field(
        default=None, description="The lawyer's firm (none in plans made before it was kept)."
    )
    client_records: int = Field(
        default=0,
        description="How many clients the lawyer records: the conflict rules impute them to the "
        "whole firm, so a lawyer who joins a firm with clients can conflict its planned cases.",
    )
    digest: str = Field(description="Hash of the whole lawyer record.")


class PlannedState(BaseModel):
    """The state a plan was made from; applying refuses when the state now differs."""

    model_config = ConfigDict(extra="forbid")

    policy_version: int
    policy_digest: str
    catalogue_digest: str
    firms_digest: str
    cases: dict[str, CaseState]
    lawyers: dict[str, LawyerState]


class RebalancePlan(BaseModel):
    """What `assigner rebalance` writes and the API's rebalance job returns for review."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = REBALANCE_SCHEMA_VERSION
    problem_name: str
    policy_version: int
    fingerprint: str = Field(description="sha256 of the planned state (see `state`).")
    state: PlannedState
    budget: BudgetReport
    counts: RebalanceCounts
    moves: list[Move]
    new_assignments: list[NewAssignment]
    before: Objective = Field(
        description="The current state: every case kept with its current lawyer, except those "
        "whose lawyer is no longer eligible (counted unassigned); the backlog unassigned."
    )
    before_feasible: bool = Field(
        description="Whether the current state keeps every hard rule (capacity, group rules)."
    )
    before_issues: list[str] = Field(default_factory=list)
    after: Objective
    bound_points: float = Field(
        description="A proven lower bound on the objective of any plan within the budget."
    )
    gap: float
    method: str
    wall_time_s: float
    plan: Plan = Field(description="The full plan after the moves, verified.")
