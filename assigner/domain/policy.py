"""Policy: objective weights and rule switches, versioned data (DESIGN.md principle 4).

All weights are integer points per unit named in the field; the solver works in integer points.
Each weight has a ceiling (``MAX_POINTS_PER_UNIT``, ``MAX_UNASSIGNED_POINTS``,
``MAX_MULTIPLIER``) far above any sensible setting, so that a plan's objective, summed over the
largest caseloads in 64-bit integers, cannot overflow.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from assigner.domain.fields import MAX_DISTANCE_KM, MAX_HOURS, RECORD_CONFIG, TimeZoneName

MAX_POINTS_PER_UNIT = 100_000
"""Ceiling of each weight per unit (level, year, star, hour, case, move); the defaults are
10 to 2,000."""
MAX_POINTS_PER_KM = 10_000
"""Ceiling of the travel weight (default 10): 200 million points across the Earth."""
MAX_UNASSIGNED_POINTS = 10_000_000
"""Ceiling of the base penalty for a case left unassigned (default 100,000)."""
MAX_MULTIPLIER = 10.0
"""Ceiling of a priority group's or an urgency band's multiplier (defaults 1.5 to 3).  With
the base penalty's ceiling a case's penalty stays within a billion points: the LP solver
(HiGHS) fails on costs of 10^11 (the demo county with multipliers of 100: "excessive dual
values")."""
MAX_POINTS_PER_CNY = 100.0

Points = Annotated[int, Field(ge=0, le=MAX_POINTS_PER_UNIT)]
Multiplier = Annotated[float, Field(ge=1, le=MAX_MULTIPLIER)]
GroupMultiplier = Annotated[float, Field(ge=0, le=MAX_MULTIPLIER)]
"""A priority group's multiplier may also be below 1 (a group that weighs less than a case
with no group); never negative."""


class UrgencyBand(BaseModel):
    """Cases whose assign-by deadline is at most ``within_hours`` away get ``multiplier``."""

    model_config = RECORD_CONFIG

    within_hours: float = Field(ge=-MAX_HOURS, le=MAX_HOURS)
    multiplier: Multiplier


class UtilisationBand(BaseModel):
    """Each started workload hour above ``above_share`` of capacity costs ``points_per_hour``
    more (7.5 hours above the threshold count as 8).

    Bands add up, so with increasing thresholds and non-negative weights the penalty on
    utilisation is convex (a piecewise-linear load-balancing term).
    """

    model_config = RECORD_CONFIG

    above_share: float = Field(ge=0, le=1)
    points_per_hour: Points


class Weights(BaseModel):
    model_config = RECORD_CONFIG

    unassigned_points: int = Field(
        default=100_000,
        ge=0,
        le=MAX_UNASSIGNED_POINTS,
        description="Base penalty for leaving a case unassigned.",
    )
    priority_group_multiplier: dict[str, GroupMultiplier] = Field(
        default_factory=lambda: {
            "minor": 3.0,
            "detained": 3.0,
            "disabled": 2.0,
            "elderly": 2.0,
            "domestic_violence": 2.5,
            "migrant_wage_claim": 1.5,
            "military_family": 1.5,
        },
        description="Unassigned penalty multiplier per priority group (a group of the "
        "catalogue, from 0 to 10); the largest applies.",
    )
    urgency_bands: list[UrgencyBand] = Field(
        default_factory=lambda: [
            UrgencyBand(within_hours=24, multiplier=3.0),
            UrgencyBand(within_hours=72, multiplier=2.0),
        ],
        description="Deadline urgency multipliers; the first band that holds applies.",
    )
    travel_points_per_km: int = Field(default=10, ge=0, le=MAX_POINTS_PER_KM)
    practice_level_points: Points = Field(
        default=60, description="Per level below 5 in the case's practice area."
    )
    experience_points_per_year_short: Points = Field(
        default=40,
        description="Per year short of 2 x severity years of practice in the area.",
    )
    rating_points_per_star_short: Points = Field(
        default=50, description="Per rating star below 5, for cases of severity >= 4."
    )
    language_mismatch_points: Points = 400
    gender_preference_points: Points = 150
    continuity_points: Points = Field(
        default=300,
        description="When the client had a prior lawyer, or a linked case has a lawyer, and "
        "this lawyer is not that one.",
    )
    subsidy_points_per_cny: float = Field(default=0.1, ge=0, le=MAX_POINTS_PER_CNY)
    stability_points: Points = Field(
        default=2_000, description="Moving a case away from its current lawyer."
    )
    utilisation_bands: list[UtilisationBand] = Field(
        default_factory=lambda: [
            UtilisationBand(above_share=0.7, points_per_hour=5),
            UtilisationBand(above_share=0.85, points_per_hour=20),
        ]
    )
    quota_deficit_points: Points = Field(
        default=200,
        description="Per case a lawyer stays below the yearly obligation quota after the plan.",
    )

    @field_validator("utilisation_bands")
    @classmethod
    def _shares_increasing(cls, bands: list[UtilisationBand]) -> list[UtilisationBand]:
        shares = [b.above_share for b in bands]
        if shares != sorted(shares):
            raise ValueError("above_share must be increasing")
        return bands

    @field_validator("urgency_bands")
    @classmethod
    def _hours_increasing(cls, bands: list[UrgencyBand]) -> list[UrgencyBand]:
        hours = [b.within_hours for b in bands]
        if hours != sorted(hours):
            raise ValueError("within_hours must be increasing")
        return bands


class Policy(BaseModel):
    """Versioned policy: weights and rule switches."""

    model_config = RECORD_CONFIG

    version: int = Field(default=1, ge=1, le=2**31 - 1)
    weights: Weights = Field(default_factory=Weights)
    codefendants_same_firm_forbidden: bool = Field(
        default=False,
        description="Co-defendants and linked cases never share a firm (US public defender "
        "practice: the office counts as one firm).",
    )
    allow_moving_started: bool = False
    allow_moving_pinned: bool = False
    default_max_travel_km: float = Field(default=80.0, gt=0, le=MAX_DISTANCE_KM)
    timezone: TimeZoneName = Field(
        default="UTC",
        description="The IANA time zone of the office, whose calendar days the date rules "
        "use: leave against the plan's moment and the cases' deadlines, and a former client's "
        "year (a case due at 07:00 in Beijing is due that Beijing day, in UTC the day before).",
    )
