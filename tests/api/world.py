"""A tiny roster and caseload for the API tests, as JSON documents.

Dates are relative to the real clock: the service judges availability and deadlines at the
moment of the request.  Every lawyer sits within a few km of every case.

- F1 (law firm) acted for "Wang Wei" (party P-ADV): L1 and L4 are conflicted on C1, where
  Wang Wei is the victim.
- L1: criminal defence, 100 h, at most 5 open cases.
- L2: criminal defence and family (staff lawyer, F2).
- L3: family only (F3).
- L4: criminal defence, F1 colleague of L1.
- L5: criminal defence, 40 h capacity: room for exactly one 35 h felony_low.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

HERE = {"lat": 30.60, "lon": 114.30}


def _near(k: int) -> dict[str, float]:
    return {"lat": HERE["lat"] + 0.005 * k, "lon": HERE["lon"]}


def firms() -> list[dict[str, Any]]:
    return [
        {
            "id": "F1",
            "name": "Harbour Law",
            "kind": "law_firm",
            "clients": [{"party_id": "P-ADV", "name": "Wang Wei"}],
        },
        {"id": "F2", "name": "City Legal Aid Centre", "kind": "legal_aid_centre"},
        {"id": "F3", "name": "Hill Partners", "kind": "law_firm"},
    ]


def lawyer(lawyer_id: str, firm_id: str, **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": lawyer_id,
        "name": f"Lawyer {lawyer_id}",
        "firm_id": firm_id,
        "kind": "practising_lawyer",
        "location": _near(int(lawyer_id[1:]) if lawyer_id[1:].isdigit() else 0),
        "practice_areas": [{"area": "criminal_defence", "level": 4, "years": 10}],
        "capacity_hours": 200,
        "max_open_cases": 10,
    }
    doc.update(kw)
    return doc


def lawyers() -> list[dict[str, Any]]:
    return [
        lawyer("L1", "F1", capacity_hours=100, max_open_cases=5),
        lawyer(
            "L2",
            "F2",
            kind="staff_lawyer",
            subsidy_class="staff",
            practice_areas=[
                {"area": "criminal_defence", "level": 3, "years": 5},
                {"area": "family", "level": 4, "years": 6},
            ],
        ),
        lawyer("L3", "F3", practice_areas=[{"area": "family", "level": 5, "years": 8}]),
        lawyer("L4", "F1", practice_areas=[{"area": "criminal_defence", "level": 2, "years": 1}]),
        lawyer(
            "L5",
            "F3",
            capacity_hours=40,
            practice_areas=[{"area": "criminal_defence", "level": 5, "years": 15}],
        ),
    ]


def case(case_id: str, case_type: str = "felony_low", **kw: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    stage = {"maintenance": "litigation", "wage_claim": "litigation"}.get(case_type, "trial")
    doc: dict[str, Any] = {
        "id": case_id,
        "case_type": case_type,
        "stage": stage,
        "location": HERE,
        "received_at": (now - timedelta(days=1)).isoformat(),
        "assign_by": (now + timedelta(days=3)).isoformat(),
        "parties": [{"name": f"Client of {case_id}", "role": "client"}],
    }
    doc.update(kw)
    return doc


def cases() -> list[dict[str, Any]]:
    return [
        case(
            "C1",
            parties=[
                {"name": "Li Na", "role": "client"},
                {"id": "P-ADV", "name": "Wang Wei", "role": "victim"},
            ],
        ),
        case("C2", "maintenance"),
        case("C3", matter_id="M1"),
        case("C4", matter_id="M1"),
    ]
