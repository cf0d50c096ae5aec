"""Minimal valid Problems for tests: every builder takes keyword overrides.

The defaults make one pair that passes every hard rule: ``make_lawyer()`` (a practising criminal
defence lawyer with 5 years, juvenile certified, in Beijing, free capacity) is eligible for
``make_case()`` (a mid felony at trial, 1 km away, due in 3 days).  A test then flips one thing.

Overrides replace whole fields and may be models or plain dicts (pydantic validates them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from assigner.domain import Case, Firm, Lawyer, Location, Problem, validate_problem

AS_OF = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
HERE = Location(lat=39.9042, lon=116.4074)  # Beijing
NEAR = Location(lat=39.9132, lon=116.4074)  # about 1 km north of HERE


def make_firm(id: str = "F1", **overrides: Any) -> Firm:
    """A law firm in Beijing with no client history."""
    data: dict[str, Any] = {"id": id, "name": f"Firm {id}", "kind": "law_firm", "location": HERE}
    data.update(overrides)
    return Firm.model_validate(data)


def make_lawyer(id: str = "L1", **overrides: Any) -> Lawyer:
    """A practising lawyer of firm F1 who can take the default case."""
    data: dict[str, Any] = {
        "id": id,
        "name": f"Lawyer {id}",
        "firm_id": "F1",
        "kind": "practising_lawyer",
        "location": HERE,
        "practice_areas": [
            {"area": "criminal_defence", "level": 4, "years": 5.0},
            {"area": "labour", "level": 3, "years": 2.0},
        ],
        "certifications": ["juvenile"],
        "capacity_hours": 160.0,
        "max_open_cases": 20,
        "current_load_hours": 40.0,
        "current_open_cases": 3,
    }
    data.update(overrides)
    return Lawyer.model_validate(data)


def make_case(id: str = "C1", **overrides: Any) -> Case:
    """A mid felony (57 h, criminal defence) at trial, due 3 days after ``AS_OF``."""
    data: dict[str, Any] = {
        "id": id,
        "case_type": "felony_mid",
        "stage": "trial",
        "location": NEAR,
        "received_at": AS_OF - timedelta(hours=6),
        "assign_by": AS_OF + timedelta(days=3),
    }
    data.update(overrides)
    return Case.model_validate(data)


def make_problem(
    *,
    firms: Iterable[Firm] | None = None,
    lawyers: Iterable[Lawyer] | None = None,
    cases: Iterable[Case] | None = None,
    validate: bool = True,
    **overrides: Any,
) -> Problem:
    """A Problem of the given records (default: one lawyer, one case).

    Without ``firms``, one default firm is made for every firm id the lawyers use.  The result
    is reference-checked (``validate_problem``) unless ``validate=False``.
    """
    lawyer_list = list(lawyers) if lawyers is not None else [make_lawyer()]
    case_list = list(cases) if cases is not None else [make_case()]
    if firms is None:
        firm_ids = dict.fromkeys(lw.firm_id for lw in lawyer_list)
        firm_list = [make_firm(f) for f in firm_ids] or [make_firm()]
    else:
        firm_list = list(firms)
    data: dict[str, Any] = {
        "name": "test",
        "as_of": AS_OF,
        "firms": firm_list,
        "lawyers": lawyer_list,
        "cases": case_list,
    }
    data.update(overrides)
    problem = Problem.model_validate(data)
    return validate_problem(problem) if validate else problem
