"""Policy: objective weights and rule switches, versioned data (DESIGN.md principle 4).

All weights are integer points per unit named in the field; the solver works in integer points.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class UrgencyBand(BaseModel):
    """Cases whose assign-by deadline is at most ``within_hours`` away get ``multiplier``."""

    model_config = ConfigDict(extra="forbid")

    within_hours: float
    multiplier: float = Field(ge=1)


class UtilisationBand(BaseModel):
    """Each workload hour above ``above_share`` of capacity costs ``points_per_hour`` more.

    Bands add up, so with increasing thresholds and non-negative weights the penalty on
    utilisation is convex (a piecewise-linear load-balancing term).
    """

    model_config = ConfigDict(extra="forbid")

    above_share: float = Field(ge=0, le=1)
    points_per_hour: int = Field(ge=0)


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unassigned_points: int = Field(
        default=100_000, ge=0, description="Base penalty for leaving a case unassigned."
    )
    priority_group_multiplier: dict[str, float] = Field(
        default_factory=lambda: {
            "minor": 3.0,
            "detained": 3.0,
            "disabled": 2.0,
            "elderly": 2.0,
            "domestic_violence": 2.5,
            "migrant_wage_claim": 1.5,
            "military_family": 1.5,
        },
        description="Unassigned penalty multiplier per priority group; the largest applies.",
    )
    urgency_bands: list[UrgencyBand] = Field(
        default_factory=lambda: [
            UrgencyBand(within_hours=24, multiplier=3.0),
            UrgencyBand(within_hours=72, multiplier=2.0),
        ],
        description="Deadline urgency multipliers; the first band that holds applies.",
    )
    travel_points_per_km: int = Field(default=10, ge=0)
    practice_level_points: int = Field(
        default=60, ge=0, description="Per level below 5 in the case's practice area."
    )
    experience_points_per_year_short: int = Field(
        default=40,
        ge=0,
        description="Per year short of 2 x severity years of practice in the area.",
    )
    rating_points_per_star_short: int = Field(
        default=50, ge=0, description="Per rating star below 5, for cases of severity >= 4."
    )
    language_mismatch_points: int = Field(default=400, ge=0)
    gender_preference_points: int = Field(default=150, ge=0)
    continuity_points: int = Field(
        default=300,
        ge=0,
        description="When the client had a prior lawyer, or a linked case has a lawyer, and "
        "this lawyer is not that one.",
    )
    subsidy_points_per_cny: float = Field(default=0.1, ge=0)
    stability_points: int = Field(
        default=2_000, ge=0, description="Moving a case away from its current lawyer."
    )
    utilisation_bands: list[UtilisationBand] = Field(
        default_factory=lambda: [
            UtilisationBand(above_share=0.7, points_per_hour=5),
            UtilisationBand(above_share=0.85, points_per_hour=20),
        ]
    )
    quota_deficit_points: int = Field(
        default=200,
        ge=0,
        description="Per case a lawyer stays below the yearly obligation quota after the plan.",
    )


class Policy(BaseModel):
    """Versioned policy: weights and rule switches."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=1, ge=1)
    weights: Weights = Field(default_factory=Weights)
    codefendants_same_firm_forbidden: bool = Field(
        default=False,
        description="Co-defendants and linked cases never share a firm (US public defender "
        "practice: the office counts as one firm).",
    )
    allow_moving_started: bool = False
    allow_moving_pinned: bool = False
    default_max_travel_km: float = Field(default=80.0, gt=0)

    @model_validator(mode="after")
    def _bands_sorted(self) -> Policy:
        shares = [b.above_share for b in self.weights.utilisation_bands]
        if shares != sorted(shares):
            raise ValueError("weights.utilisation_bands: above_share must be increasing")
        hours = [b.within_hours for b in self.weights.urgency_bands]
        if hours != sorted(hours):
            raise ValueError("weights.urgency_bands: within_hours must be increasing")
        return self
