"""The Problem document: firms, lawyers, cases, parties, policy and catalogue.

Pydantic models check each record on its own; ``assigner.domain.loading.load_problem`` checks the
references between records and turns every failure into an error naming the record and field.

Load model: ``Lawyer.current_load_hours`` and ``current_open_cases`` count work *outside* this
problem.  Cases in the problem that carry a ``current_assignment`` are part of the open caseload
the plan (re)assigns; their hours count against their lawyer only through the plan.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from assigner.domain.catalogue import Catalogue, FirmKind, ProviderKind
from assigner.domain.fields import (
    MAX_DISTANCE_KM,
    MAX_HOURS,
    MAX_NAME_CHARS,
    MAX_YEARS,
    RECORD_CONFIG,
    CaseCount,
    Day,
    Hours,
    Identifier,
    Name,
    Timestamp,
)
from assigner.domain.policy import Policy

SCHEMA_VERSION: Literal[1] = 1


class Location(BaseModel):
    model_config = RECORD_CONFIG

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class KnownClient(BaseModel):
    """A party a lawyer or firm acts or acted for (conflict history)."""

    model_config = RECORD_CONFIG

    party_id: Identifier | None = None
    name: Name
    ended_on: Day | None = Field(
        default=None,
        description="When the representation ended; none: a current client.  A current client "
        "adverse to a case's client always conflicts (not waivable); a former client only "
        "within a year of this date and in the same matter, unless the case records the "
        "client's written consent (Lawyer Practice Conduct Norms Art 52).",
    )
    matter_id: Identifier | None = Field(
        default=None,
        description="The matter the representation was in; none: unknown (treated as the same "
        "matter as any case).",
    )


class Firm(BaseModel):
    model_config = RECORD_CONFIG

    id: Identifier
    name: Name
    kind: FirmKind
    location: Location | None = None
    clients: list[KnownClient] = Field(default_factory=list)


class PracticeArea(BaseModel):
    model_config = RECORD_CONFIG

    area: str
    level: int = Field(ge=1, le=5, description="1 = occasional, 5 = specialist.")
    years: float = Field(ge=0, le=MAX_YEARS)


class Leave(BaseModel):
    model_config = RECORD_CONFIG

    start: Day
    end: Day

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: Day, info: ValidationInfo) -> Day:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError("leave end is before its start")
        return end


class Lawyer(BaseModel):
    model_config = RECORD_CONFIG

    id: Identifier
    name: Name
    firm_id: Identifier
    kind: ProviderKind
    gender: str | None = None
    location: Location
    practice_areas: list[PracticeArea] = Field(min_length=1)
    certifications: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["zh"])
    capacity_hours: Hours = Field(description="Workload hours available in the period.")
    max_open_cases: CaseCount
    current_load_hours: Hours = 0
    current_open_cases: CaseCount = 0
    accepting_new_cases: bool = True
    leave: list[Leave] = Field(default_factory=list)
    max_travel_km: float | None = Field(default=None, gt=0, le=MAX_DISTANCE_KM)
    jurisdictions: list[str] | None = Field(
        default=None, description="Jurisdictions served; None means any."
    )
    rating: float = Field(default=4.0, ge=0, le=5)
    yearly_quota_cases: CaseCount = 0
    cases_this_year: CaseCount = 0
    subsidy_class: str = "standard"
    clients: list[KnownClient] = Field(default_factory=list)
    relatives: list[Name] = Field(
        default_factory=list, description="Declared close relatives (names)."
    )


class PartyRole(StrEnum):
    CLIENT = "client"
    ADVERSE = "adverse"
    CO_DEFENDANT = "co_defendant"
    VICTIM = "victim"
    WITNESS = "witness"


class Party(BaseModel):
    model_config = RECORD_CONFIG

    id: Identifier | None = None
    name: Name
    role: PartyRole
    aliases: list[Name] = Field(default_factory=list)


class Side(StrEnum):
    """The client's side in the matter; opposing sides of one matter never share a firm."""

    DEFENDANT = "defendant"
    VICTIM = "victim"
    CLAIMANT = "claimant"
    RESPONDENT = "respondent"


class CurrentAssignment(BaseModel):
    model_config = RECORD_CONFIG

    lawyer_id: Identifier
    started: bool = False
    pinned: bool = False


class ConflictWaiver(BaseModel):
    """Written consent that lets a lawyer act although a former client of the lawyer or the
    firm is adverse in the same matter within a year, or a colleague at the lawyer's firm is a
    close relative of the opposing party (Lawyer Practice Conduct Norms Art 52).  It waives
    only those conflicts: never a current client, the lawyer's own relative or a group rule."""

    model_config = RECORD_CONFIG

    lawyer_id: Identifier
    consent_ref: str = Field(
        min_length=1, max_length=MAX_NAME_CHARS, description="Where the written consent is filed."
    )


class ClientPreferences(BaseModel):
    model_config = RECORD_CONFIG

    language: str | None = None
    lawyer_gender: str | None = None


class Case(BaseModel):
    model_config = RECORD_CONFIG

    id: Identifier
    case_type: str
    stage: str
    location: Location
    jurisdiction: str | None = None
    received_at: Timestamp
    assign_by: Timestamp
    priority_groups: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    workload_hours: float | None = Field(
        default=None,
        gt=0,
        le=MAX_HOURS,
        description="Overrides the catalogue's hours for this case type.",
    )
    matter_id: Identifier | None = Field(
        default=None,
        description="Cases of one matter (co-defendants, the victim and the defendants, both "
        "sides of a civil dispute) share a matter id.",
    )
    side: Side = Field(
        default=Side.DEFENDANT,
        description="The client's side in the matter: defendant (criminal defence), victim "
        "(victim representation), claimant or respondent (every other matter); checked "
        "against the case type when matter_id is set.",
    )
    linked_case_ids: list[str] = Field(default_factory=list)
    parties: list[Party] = Field(default_factory=list)
    prior_lawyer_id: str | None = None
    excluded_lawyer_ids: list[str] = Field(
        default_factory=list, description="Explicit exclusions recorded by staff."
    )
    complaint_lawyer_ids: list[str] = Field(
        default_factory=list,
        description="Former lawyers the client complained about (Legal Aid Law Art 55).",
    )
    conflict_waivers: list[ConflictWaiver] = Field(
        default_factory=list,
        description=(
            "Consents that waive, for a lawyer, the former-client and the colleague's-relative "
            "conflicts (Art 52)."
        ),
    )
    preferences: ClientPreferences = Field(default_factory=ClientPreferences)
    current_assignment: CurrentAssignment | None = None

    @field_validator("assign_by")
    @classmethod
    def _deadline_after_receipt(cls, assign_by: Timestamp, info: ValidationInfo) -> Timestamp:
        received_at = info.data.get("received_at")
        if received_at is not None and assign_by < received_at:
            raise ValueError("assign_by is before received_at")
        return assign_by

    def hours_in(self, catalogue: Catalogue) -> float:
        """The workload the engine counts: the case's own figure, else its type's."""
        if self.workload_hours is not None:
            return self.workload_hours
        return catalogue.case_types[self.case_type].workload_hours


class Problem(BaseModel):
    """A whole assignment problem: the document `assigner solve` and `POST /v1/solve` take."""

    model_config = RECORD_CONFIG

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="The version of this document's layout."
    )
    name: str = "problem"
    as_of: Timestamp = Field(description="The moment the plan is made for.")
    policy: Policy = Field(default_factory=Policy)
    catalogue: Catalogue | None = Field(
        default=None, description="Overrides the default catalogue when given."
    )
    firms: list[Firm]
    lawyers: list[Lawyer]
    cases: list[Case]

    def day_of(self, moment: datetime) -> date:
        """The calendar day of ``moment`` in the office's time zone (``Policy.timezone``)."""
        return moment.astimezone(ZoneInfo(self.policy.timezone)).date()
