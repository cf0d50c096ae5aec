"""Independent plan verifier: re-checks every hard rule, sum, KPI and objective of a plan."""

from assigner.verify.names import name_key, name_keys, names_match
from assigner.verify.verifier import (
    ALL_CHECKS,
    PlanViolation,
    VerificationReport,
    Violation,
    assert_valid,
    great_circle_km,
    verify_plan,
)

__all__ = [
    "ALL_CHECKS",
    "PlanViolation",
    "VerificationReport",
    "Violation",
    "assert_valid",
    "great_circle_km",
    "name_key",
    "name_keys",
    "names_match",
    "verify_plan",
]
