"""Case-type catalogue: workload, practice area, qualification rules, provider kinds, subsidy.

Defaults come from ../shared/DOMAIN.md; every figure here is data and may be overridden per
problem (``Problem.catalogue``).  Sources are cited per entry; where no public figure exists the
entry says "project assumption".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from assigner.domain.fields import MAX_HOURS, MAX_YEARS, RECORD_CONFIG

MAX_SUBSIDY_CNY = 100_000.0
"""Ceiling of a stage's subsidy (the catalogue's are hundreds to a few thousand yuan)."""
MAX_SUBSIDY_MULTIPLIER = 10.0


class ProviderKind(StrEnum):
    """Who may be assigned (PRC Legal Aid Law 2021, Arts 12-17; US appointed counsel)."""

    PRACTISING_LAWYER = "practising_lawyer"
    STAFF_LAWYER = "staff_lawyer"
    PUBLIC_DEFENDER = "public_defender"
    ALTERNATE_DEFENDER = "alternate_defender"
    GRASSROOTS_WORKER = "grassroots_worker"
    VOLUNTEER = "volunteer"


class FirmKind(StrEnum):
    LAW_FIRM = "law_firm"
    LEGAL_AID_CENTRE = "legal_aid_centre"
    GRASSROOTS_OFFICE = "grassroots_office"
    PUBLIC_DEFENDER_OFFICE = "public_defender_office"
    ALTERNATE_DEFENDER_OFFICE = "alternate_defender_office"


class QualificationRule(BaseModel):
    """A qualification a lawyer must hold when a case carries a trigger.

    The rule applies to a case whose case type names it, and to any case that carries
    ``when_flag`` among its flags or ``when_priority_group`` among its priority groups, provided
    the case's practice area is in ``only_practice_areas`` (when that is set).  The lawyer then
    needs ``min_years`` of practice in ``practice_area`` and/or ``certification``.
    """

    model_config = RECORD_CONFIG

    name: str = Field(min_length=1)
    citation: str = ""
    when_flag: str | None = None
    when_priority_group: str | None = None
    only_practice_areas: list[str] | None = None
    practice_area: str | None = None
    min_years: float = Field(default=0.0, ge=0, le=MAX_YEARS)
    certification: str | None = None

    @model_validator(mode="after")
    def _requires_something(self) -> QualificationRule:
        if self.certification is None and (self.practice_area is None or self.min_years <= 0):
            raise ValueError(
                "a qualification rule needs a certification or a practice_area with min_years > 0"
            )
        return self


class CaseType(BaseModel):
    model_config = RECORD_CONFIG

    label: str
    practice_area: str
    workload_hours: float = Field(
        gt=0, le=MAX_HOURS, description="Expected lawyer hours for the whole case."
    )
    severity: int = Field(ge=1, le=5, description="1 = simple, 5 = most serious or complex.")
    representation: bool = Field(
        default=True, description="True when the case needs representation, not only advice."
    )
    allowed_provider_kinds: list[ProviderKind]
    qualification_rules: list[str] = Field(
        default_factory=list,
        description="Catalogue qualification rules that apply to every case of this type.",
    )
    subsidy_cny_by_stage: dict[str, Annotated[float, Field(ge=0, le=MAX_SUBSIDY_CNY)]] = Field(
        description="Subsidy paid to the provider per stage of the case (yuan)."
    )
    source: str = ""

    @model_validator(mode="after")
    def _non_empty(self) -> CaseType:
        if not self.allowed_provider_kinds:
            raise ValueError("allowed_provider_kinds must not be empty")
        if not self.subsidy_cny_by_stage:
            raise ValueError("subsidy_cny_by_stage must name at least one stage")
        return self


class Catalogue(BaseModel):
    """Practice areas, case types, qualification rules, priority groups and subsidy classes."""

    model_config = RECORD_CONFIG

    practice_areas: list[str]
    priority_groups: list[str]
    case_flags: list[str]
    certifications: list[str]
    qualification_rules: dict[str, QualificationRule]
    case_types: dict[str, CaseType]
    subsidy_class_multiplier: dict[
        str, Annotated[float, Field(ge=0, le=MAX_SUBSIDY_MULTIPLIER)]
    ] = Field(description="Share of the catalogue subsidy paid to a provider of this class.")

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        areas = set(self.practice_areas)
        for key, ct in self.case_types.items():
            if ct.practice_area not in areas:
                raise ValueError(
                    f"case_types[{key}].practice_area: unknown practice area {ct.practice_area!r}"
                )
            for rule_name in ct.qualification_rules:
                if rule_name not in self.qualification_rules:
                    raise ValueError(
                        f"case_types[{key}].qualification_rules: unknown rule {rule_name!r}"
                    )
        for key, rule in self.qualification_rules.items():
            if rule.practice_area is not None and rule.practice_area not in areas:
                raise ValueError(
                    f"qualification_rules[{key}].practice_area: unknown practice area "
                    f"{rule.practice_area!r}"
                )
            if rule.certification is not None and rule.certification not in self.certifications:
                raise ValueError(
                    f"qualification_rules[{key}].certification: unknown certification "
                    f"{rule.certification!r}"
                )
            if rule.when_flag is not None and rule.when_flag not in self.case_flags:
                raise ValueError(
                    f"qualification_rules[{key}].when_flag: unknown case flag {rule.when_flag!r}"
                )
            for area in rule.only_practice_areas or []:
                if area not in areas:
                    raise ValueError(
                        f"qualification_rules[{key}].only_practice_areas: unknown practice area "
                        f"{area!r}"
                    )
            if (
                rule.when_priority_group is not None
                and rule.when_priority_group not in self.priority_groups
            ):
                raise ValueError(
                    f"qualification_rules[{key}].when_priority_group: unknown priority group "
                    f"{rule.when_priority_group!r}"
                )
        return self


_CRIMINAL_PROVIDERS = [
    ProviderKind.PRACTISING_LAWYER,
    ProviderKind.STAFF_LAWYER,
    ProviderKind.PUBLIC_DEFENDER,
    ProviderKind.ALTERNATE_DEFENDER,
]
_CIVIL_PROVIDERS = [
    ProviderKind.PRACTISING_LAWYER,
    ProviderKind.STAFF_LAWYER,
    ProviderKind.GRASSROOTS_WORKER,
]
# Yongding, Fujian (2020): criminal 600 / 600 / 1,200 by stage, civil or administrative 1,400,
# non-litigation 250 (DOMAIN.md "Money").
_CRIMINAL_SUBSIDY = {"investigation": 600.0, "prosecution": 600.0, "trial": 1200.0}
_CIVIL_SUBSIDY = {"litigation": 1400.0, "non_litigation": 250.0}
_RAND = "RAND National Public Defense Workload Study (2023)"
_ASSUMED = "project assumption (no public per-case hours figure for this type)"


def _criminal(label: str, hours: float, severity: int, rules: list[str] | None = None) -> CaseType:
    return CaseType(
        label=label,
        practice_area="criminal_defence",
        workload_hours=hours,
        severity=severity,
        allowed_provider_kinds=list(_CRIMINAL_PROVIDERS),
        qualification_rules=list(rules or []),
        subsidy_cny_by_stage=dict(_CRIMINAL_SUBSIDY),
        source=_RAND,
    )


def _civil(label: str, area: str, hours: float, severity: int) -> CaseType:
    return CaseType(
        label=label,
        practice_area=area,
        workload_hours=hours,
        severity=severity,
        allowed_provider_kinds=list(_CIVIL_PROVIDERS),
        subsidy_cny_by_stage=dict(_CIVIL_SUBSIDY),
        source=_ASSUMED,
    )


def default_catalogue() -> Catalogue:
    """The catalogue built from DOMAIN.md; a new object on every call."""
    capital = ["capital_experience"]
    case_types = {
        "felony_life": _criminal("Felony, possible life sentence", 286, 5, capital),
        "felony_murder": _criminal("Felony, murder", 248, 5, capital),
        "felony_sex": _criminal("Felony, sex offence", 167, 4),
        "felony_high": _criminal("Felony, high other", 99, 4),
        "felony_mid": _criminal("Felony, mid (3-15 years)", 57, 3),
        "felony_low": _criminal("Felony, low (up to 2 years)", 35, 2),
        "dui_high": _criminal("DUI, high", 33, 2),
        "dui_low": _criminal("DUI, low", 19, 1),
        "misdemeanour_high": _criminal("Misdemeanour, high", 22.3, 1),
        "misdemeanour_low": _criminal("Misdemeanour, low", 13.8, 1),
        "probation_violation": _criminal("Probation or parole violation", 13.5, 1),
        "death_sentence_review": _criminal("Death-sentence review", 286, 5, capital),
        "victim_representation": CaseType(
            label="Victim representation in a criminal case",
            practice_area="criminal_victim",
            workload_hours=30,
            severity=3,
            allowed_provider_kinds=[ProviderKind.PRACTISING_LAWYER, ProviderKind.STAFF_LAWYER],
            subsidy_cny_by_stage=dict(_CRIMINAL_SUBSIDY),
            source=_ASSUMED,
        ),
        "wage_claim": _civil("Unpaid wages or labour relations", "labour", 20, 2),
        "work_injury": _civil("Work-injury compensation", "labour", 35, 3),
        "maintenance": _civil("Maintenance and child support", "family", 25, 2),
        "domestic_violence": _civil("Domestic violence protection", "family", 20, 3),
        "social_insurance": _civil("Social insurance and assistance", "social_welfare", 15, 1),
        "injury_claim": _civil(
            "Injury claim (traffic, food, drug, medical)", "personal_injury", 40, 3
        ),
        "administrative": _civil("Administrative matter", "administrative", 30, 3),
        "advice_documents": CaseType(
            label="Legal advice and document drafting",
            practice_area="general_advice",
            workload_hours=4,
            severity=1,
            representation=False,
            allowed_provider_kinds=list(ProviderKind),
            subsidy_cny_by_stage={"non_litigation": 250.0},
            source="Legal Aid Law Art 12-17 (volunteers: advice and documents only); " + _ASSUMED,
        ),
    }
    return Catalogue(
        practice_areas=[
            "criminal_defence",
            "criminal_victim",
            "labour",
            "family",
            "personal_injury",
            "social_welfare",
            "administrative",
            "general_advice",
        ],
        priority_groups=[
            "minor",
            "detained",
            "elderly",
            "disabled",
            "migrant_wage_claim",
            "domestic_violence",
            "military_family",
        ],
        case_flags=[
            "possible_life_or_death_sentence",
            "blind_deaf_or_mute",
            "limited_capacity",
            "trial_in_absentia",
        ],
        certifications=["juvenile", "capital"],
        qualification_rules={
            "capital_experience": QualificationRule(
                name="capital_experience",
                citation="Legal Aid Law 2021 Art 26; MoJ order 148 (2023) Art 26",
                when_flag="possible_life_or_death_sentence",
                # Art 26 is about the defender: a flagged victim's case does not need it.
                only_practice_areas=["criminal_defence"],
                practice_area="criminal_defence",
                min_years=3,
            ),
            "juvenile_familiarity": QualificationRule(
                name="juvenile_familiarity",
                citation="Legal Aid Law 2021 Art 25-26 (juvenile defence by a lawyer familiar "
                "with minors)",
                when_priority_group="minor",
                only_practice_areas=["criminal_defence"],
                certification="juvenile",
            ),
        },
        case_types=case_types,
        subsidy_class_multiplier={
            "standard": 1.0,
            # Hanjiang, Putian (2016): grassroots workers paid 50%; staff lawyers 300 per case.
            "grassroots": 0.5,
            "staff": 0.25,
        },
    )
