"""Example documents for the OpenAPI description (each is valid input)."""

from __future__ import annotations

from typing import Any

FIRM: dict[str, Any] = {
    "id": "F01",
    "name": "Riverside Legal Aid Centre",
    "kind": "legal_aid_centre",
    "location": {"lat": 30.59, "lon": 114.30},
    "clients": [{"party_id": "P-881", "name": "Wang Lei"}],
}

LAWYER: dict[str, Any] = {
    "id": "L0042",
    "name": "Chen Jing",
    "firm_id": "F01",
    "kind": "staff_lawyer",
    "gender": "female",
    "location": {"lat": 30.58, "lon": 114.27},
    "practice_areas": [
        {"area": "criminal_defence", "level": 4, "years": 9},
        {"area": "family", "level": 3, "years": 4},
    ],
    "certifications": ["juvenile"],
    "languages": ["zh", "en"],
    "capacity_hours": 700,
    "max_open_cases": 25,
    "current_load_hours": 120,
    "current_open_cases": 4,
    "max_travel_km": 60,
    "rating": 4.5,
    "yearly_quota_cases": 2,
    "subsidy_class": "staff",
}

CASE: dict[str, Any] = {
    "id": "C2025-0107",
    "case_type": "felony_mid",
    "stage": "prosecution",
    "location": {"lat": 30.60, "lon": 114.31},
    "received_at": "2025-03-03T09:00:00Z",
    "assign_by": "2025-03-06T09:00:00Z",
    "priority_groups": ["detained"],
    "matter_id": "M-5531",
    "side": "defendant",
    "parties": [
        {"id": "P-1", "name": "Liu Yang", "role": "client"},
        {"id": "P-881", "name": "Wang Lei", "role": "victim"},
    ],
    "preferences": {"language": "zh"},
}

PROBLEM: dict[str, Any] = {
    "name": "two-cases",
    "as_of": "2025-03-03T12:00:00Z",
    "firms": [FIRM],
    "lawyers": [
        LAWYER,
        {
            **LAWYER,
            "id": "L0043",
            "name": "Zhao Min",
            "gender": "male",
            "certifications": [],
            "location": {"lat": 30.52, "lon": 114.35},
        },
    ],
    "cases": [
        {**CASE, "parties": [{"id": "P-1", "name": "Liu Yang", "role": "client"}]},
        {
            **CASE,
            "id": "C2025-0108",
            "case_type": "maintenance",
            "stage": "litigation",
            "priority_groups": [],
            "matter_id": None,
            "side": "claimant",
            "parties": [],
        },
    ],
}
