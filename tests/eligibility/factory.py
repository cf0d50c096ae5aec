"""Seeded random Problems that exercise every eligibility rule at useful rates.

Names come from a small pool with spelling variants (order, case, punctuation, accents), so
conflict matches by party id, name and alias all happen; "Jon Smith" and "Ronjon Arrowsmith"
are both in the pool to keep the substring trap in play.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from assigner.domain import Problem, ProviderKind, default_catalogue, validate_problem
from assigner.domain.loading import sides_of_area
from tests.factory import AS_OF, HERE

NAME_POOL: tuple[str, ...] = (
    "Wang Lei",
    "Li Na",
    "Zhang Wei",
    "Jon Smith",
    "Ronjon Arrowsmith",
    "Maria Garcia",
    "José Núñez",
    "Liu Yang",
    "Chen Jie",
    "Sean O'Brien",
    "Zhao Min",
    "Anne-Marie Dubois",
)


def name_variant(rng: random.Random, name: str) -> str:
    """The same person written differently: word order, case, punctuation or accents."""
    words = name.split()
    choice = rng.randrange(5)
    if choice == 0:
        return ", ".join(reversed(words))
    if choice == 1:
        return name.upper()
    if choice == 2:
        return "  ".join(w.lower() for w in reversed(words))
    if choice == 3:
        return name.replace("é", "e").replace("ú", "u").replace("'", "")
    return name


def _known_client(rng: random.Random, pool: Sequence[str], n_matters: int) -> dict[str, Any]:
    """A client record: current, or former (ended within the last 500 days, so some are past
    the one-year window) in a recorded matter or not."""
    k = rng.randrange(len(pool))
    record: dict[str, Any] = {
        "party_id": f"P{k + 1}" if rng.random() < 0.5 else None,
        "name": name_variant(rng, pool[k]),
    }
    if rng.random() < 0.4:
        record["ended_on"] = (AS_OF - timedelta(days=rng.randint(0, 500))).date().isoformat()
        if rng.random() < 0.5:
            record["matter_id"] = f"M{rng.randrange(n_matters) + 1}"
    return record


def _location(rng: random.Random, spread_deg: float) -> dict[str, float]:
    return {
        "lat": HERE.lat + rng.uniform(-spread_deg, spread_deg),
        "lon": HERE.lon + rng.uniform(-spread_deg, spread_deg),
    }


def random_problem_data(
    seed: int,
    n_cases: int = 30,
    n_lawyers: int = 15,
    n_firms: int = 4,
    *,
    spread_deg: float = 0.4,
    n_matters: int | None = None,
    name_pool: Sequence[str] = NAME_POOL,
    name: str = "random",
) -> dict[str, Any]:
    """The JSON-like document of a random valid Problem (see ``random_problem``).

    Party ids follow the position in ``name_pool`` (P1, P2, ...); a small pool makes name
    conflicts frequent, a large one makes them rare as in real caseloads.
    """
    rng = random.Random(seed)
    pool = list(name_pool)
    cat = default_catalogue()
    areas = list(cat.practice_areas)
    types = list(cat.case_types)
    area_of = {name: ct.practice_area for name, ct in cat.case_types.items()}
    kinds = list(ProviderKind)
    jurisdictions = ["J1", "J2", "J3"]
    n_firms = max(1, n_firms)
    n_matters = n_matters if n_matters is not None else max(1, n_cases // 4)

    firms = [
        {
            "id": f"F{f + 1}",
            "name": f"Firm {f + 1}",
            "kind": rng.choice(["law_firm", "legal_aid_centre", "public_defender_office"]),
            "clients": [
                _known_client(rng, pool, n_matters) for _ in range(rng.choice([0, 0, 1, 2]))
            ],
        }
        for f in range(n_firms)
    ]

    lawyers = []
    for i in range(n_lawyers):
        open_cases = rng.randint(0, 15)
        leave = []
        if rng.random() < 0.2:
            start = AS_OF.date() + timedelta(days=rng.randint(-20, 15))
            leave.append({"start": start, "end": start + timedelta(days=rng.randint(0, 10))})
        lawyers.append(
            {
                "id": f"L{i + 1}",
                "name": f"Lawyer {i + 1}",
                "firm_id": f"F{rng.randrange(n_firms) + 1}",
                "kind": rng.choice(kinds[:4] * 4 + kinds[4:]),
                "location": _location(rng, spread_deg),
                "practice_areas": [
                    {"area": a, "level": rng.randint(1, 5), "years": round(rng.uniform(0, 8), 1)}
                    for a in rng.sample(areas, rng.randint(2, 6))
                ],
                "certifications": [c for c in cat.certifications if rng.random() < 0.6],
                "capacity_hours": float(rng.choice([0, 160, 200, 300, 300, 400, 400, 500])),
                "max_open_cases": open_cases + rng.randint(0, 15),
                "current_load_hours": float(rng.randint(0, 120)),
                "current_open_cases": open_cases,
                "accepting_new_cases": rng.random() < 0.9,
                "leave": leave,
                "max_travel_km": rng.choice([None, None, 30.0, 60.0, 150.0]),
                "jurisdictions": (
                    None if rng.random() < 0.6 else rng.sample(jurisdictions, rng.randint(0, 2))
                ),
                "clients": [
                    _known_client(rng, pool, n_matters) for _ in range(rng.choice([0, 0, 0, 1]))
                ],
                "relatives": [
                    name_variant(rng, rng.choice(pool)) for _ in range(rng.choice([0, 0, 1]))
                ],
            }
        )

    lawyer_ids = [lw["id"] for lw in lawyers]
    cases = []
    for c in range(n_cases):
        case_type = rng.choice(types)
        stage = rng.choice(sorted(cat.case_types[case_type].subsidy_cny_by_stage))
        received = AS_OF - timedelta(hours=rng.randint(1, 200))
        parties = []
        for role in rng.sample(["client", "adverse", "co_defendant", "victim", "witness"], 3):
            k = rng.randrange(len(pool))
            person = pool[k]
            parties.append(
                {
                    "id": f"P{k + 1}" if rng.random() < 0.5 else None,
                    "name": name_variant(rng, person) if rng.random() < 0.5 else person,
                    "role": role,
                    "aliases": [name_variant(rng, rng.choice(pool))] if rng.random() < 0.3 else [],
                }
            )
        other = (c + 1 + rng.randrange(n_cases - 1)) % n_cases if n_cases > 1 else c
        current = None
        if lawyer_ids and rng.random() < 0.2:
            current = {"lawyer_id": rng.choice(lawyer_ids)}
        cases.append(
            {
                "id": f"C{c + 1}",
                "case_type": case_type,
                "stage": stage,
                "location": _location(rng, spread_deg),
                "jurisdiction": rng.choice([None, *jurisdictions]),
                "received_at": received,
                "assign_by": received + timedelta(hours=rng.randint(0, 400)),
                "priority_groups": [g for g in ("minor", "detained") if rng.random() < 0.2],
                "flags": (["possible_life_or_death_sentence"] if rng.random() < 0.15 else []),
                "matter_id": f"M{rng.randrange(n_matters) + 1}" if rng.random() < 0.5 else None,
                "side": rng.choice(sorted(sides_of_area(area_of[case_type]))),
                "linked_case_ids": [f"C{other + 1}"] if other != c and rng.random() < 0.1 else [],
                "parties": parties,
                "excluded_lawyer_ids": (
                    rng.sample(lawyer_ids, 1) if lawyer_ids and rng.random() < 0.2 else []
                ),
                "complaint_lawyer_ids": (
                    rng.sample(lawyer_ids, 1) if lawyer_ids and rng.random() < 0.1 else []
                ),
                "conflict_waivers": (
                    [{"lawyer_id": x, "consent_ref": f"consent {c}"} for x in lawyer_ids]
                    if lawyer_ids and rng.random() < 0.1
                    else []
                ),
                "current_assignment": current,
            }
        )
    return {
        "name": name,
        "as_of": AS_OF,
        "policy": {"codefendants_same_firm_forbidden": rng.random() < 0.5},
        "firms": firms,
        "lawyers": lawyers,
        "cases": cases,
    }


def random_problem(
    seed: int,
    n_cases: int = 30,
    n_lawyers: int = 15,
    n_firms: int = 4,
    *,
    spread_deg: float = 0.4,
    n_matters: int | None = None,
    name_pool: Sequence[str] = NAME_POOL,
) -> Problem:
    """A random valid Problem; the same arguments always give the same Problem."""
    data = random_problem_data(
        seed,
        n_cases,
        n_lawyers,
        n_firms,
        spread_deg=spread_deg,
        n_matters=n_matters,
        name_pool=name_pool,
    )
    return validate_problem(Problem.model_validate(data))
