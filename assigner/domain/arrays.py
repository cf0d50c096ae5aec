"""Column arrays of a Problem, indexed by position, for vectorised eligibility and scoring.

Built once per problem; lawyers and cases keep their order in the Problem document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from assigner.domain.catalogue import Catalogue
from assigner.domain.loading import resolve_catalogue
from assigner.domain.problem import Problem

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distance in km; arguments broadcast."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class ProblemArrays:
    problem: Problem
    catalogue: Catalogue
    lawyer_ids: list[str]
    case_ids: list[str]
    firm_ids: list[str]
    lawyer_pos: dict[str, int]
    case_pos: dict[str, int]
    firm_pos: dict[str, int]
    areas: list[str]
    # lawyers
    lawyer_lat: FloatArray
    lawyer_lon: FloatArray
    lawyer_firm: IntArray
    capacity_hours: FloatArray
    max_open_cases: IntArray
    current_load_hours: FloatArray
    current_open_cases: IntArray
    max_travel_km: FloatArray
    rating: FloatArray
    area_level: IntArray  # (lawyers, areas), 0 where the lawyer lacks the area
    area_years: FloatArray  # (lawyers, areas)
    subsidy_multiplier: FloatArray
    quota_short_cases: IntArray  # yearly quota minus cases this year, floored at 0
    # cases
    case_lat: FloatArray
    case_lon: FloatArray
    case_area: IntArray
    workload_hours: FloatArray
    severity: IntArray
    subsidy_cny: FloatArray  # catalogue subsidy for the case's stage, before the class multiplier
    hours_to_deadline: FloatArray
    current_lawyer: IntArray  # -1 when unassigned
    # The engine counts hours in units of 1 / units_per_hour hour (``units_per_hour``).
    units_per_hour: int

    @property
    def n_lawyers(self) -> int:
        return len(self.lawyer_ids)

    @property
    def n_cases(self) -> int:
        return len(self.case_ids)


# The grids the engine counts hours on, coarsest first: tenths, hundredths, thousandths.
HOUR_UNITS = (10, 100, 1000)
_ON_GRID = 1e-6


def units_per_hour(hours: FloatArray) -> int:
    """The coarsest grid of ``HOUR_UNITS`` on which every value of ``hours`` lies (cases'
    workload hours, lawyers' capacities and current loads), so that hours that exactly fit a
    capacity fit in the engine's units too (13.75 h + 13.75 h in 27.5 h: hundredths).  A finer
    grid makes the search's tables over loads larger, so it is taken only where the data needs
    it.  Values on no grid (a third of an hour) are counted in thousandths, rounded against the
    lawyer (a case's hours and a current load up, a capacity down)."""
    values = np.asarray(hours, dtype=np.float64)
    for per_hour in HOUR_UNITS:
        scaled = values * per_hour
        if np.all(np.abs(scaled - np.round(scaled)) <= _ON_GRID * np.maximum(1.0, np.abs(scaled))):
            return per_hour
    return HOUR_UNITS[-1]


def _hours_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600.0


def build_arrays(problem: Problem) -> ProblemArrays:
    """Columns of a validated problem (see ``assigner.domain.loading.validate_problem``)."""
    cat = resolve_catalogue(problem)
    policy = problem.policy
    areas = list(cat.practice_areas)
    area_pos = {a: i for i, a in enumerate(areas)}
    lawyers, cases = problem.lawyers, problem.cases
    n_l, n_a = len(lawyers), len(areas)
    firm_pos = {f.id: i for i, f in enumerate(problem.firms)}
    lawyer_pos = {lw.id: i for i, lw in enumerate(lawyers)}
    case_pos = {c.id: i for i, c in enumerate(cases)}

    area_level = np.zeros((n_l, n_a), dtype=np.int32)
    area_years = np.zeros((n_l, n_a), dtype=np.float64)
    for i, lw in enumerate(lawyers):
        for pa in lw.practice_areas:
            area_level[i, area_pos[pa.area]] = pa.level
            area_years[i, area_pos[pa.area]] = pa.years

    types = [cat.case_types[c.case_type] for c in cases]
    capacity_hours = np.array([lw.capacity_hours for lw in lawyers], dtype=np.float64)
    current_load_hours = np.array([lw.current_load_hours for lw in lawyers], dtype=np.float64)
    workload_hours = np.array([c.hours_in(cat) for c in cases], dtype=np.float64)
    return ProblemArrays(
        problem=problem,
        catalogue=cat,
        lawyer_ids=[lw.id for lw in lawyers],
        case_ids=[c.id for c in cases],
        firm_ids=[f.id for f in problem.firms],
        lawyer_pos=lawyer_pos,
        case_pos=case_pos,
        firm_pos=firm_pos,
        areas=areas,
        lawyer_lat=np.array([lw.location.lat for lw in lawyers], dtype=np.float64),
        lawyer_lon=np.array([lw.location.lon for lw in lawyers], dtype=np.float64),
        lawyer_firm=np.array([firm_pos[lw.firm_id] for lw in lawyers], dtype=np.int32),
        capacity_hours=capacity_hours,
        max_open_cases=np.array([lw.max_open_cases for lw in lawyers], dtype=np.int32),
        current_load_hours=current_load_hours,
        current_open_cases=np.array([lw.current_open_cases for lw in lawyers], dtype=np.int32),
        max_travel_km=np.array(
            [
                lw.max_travel_km if lw.max_travel_km is not None else policy.default_max_travel_km
                for lw in lawyers
            ],
            dtype=np.float64,
        ),
        rating=np.array([lw.rating for lw in lawyers], dtype=np.float64),
        area_level=area_level,
        area_years=area_years,
        subsidy_multiplier=np.array(
            [cat.subsidy_class_multiplier[lw.subsidy_class] for lw in lawyers], dtype=np.float64
        ),
        quota_short_cases=np.array(
            [max(0, lw.yearly_quota_cases - lw.cases_this_year) for lw in lawyers], dtype=np.int32
        ),
        case_lat=np.array([c.location.lat for c in cases], dtype=np.float64),
        case_lon=np.array([c.location.lon for c in cases], dtype=np.float64),
        case_area=np.array([area_pos[t.practice_area] for t in types], dtype=np.int32),
        workload_hours=workload_hours,
        severity=np.array([t.severity for t in types], dtype=np.int32),
        subsidy_cny=np.array(
            [t.subsidy_cny_by_stage[c.stage] for c, t in zip(cases, types, strict=True)],
            dtype=np.float64,
        ),
        hours_to_deadline=np.array(
            [_hours_between(c.assign_by, problem.as_of) for c in cases], dtype=np.float64
        ),
        current_lawyer=np.array(
            [
                lawyer_pos[c.current_assignment.lawyer_id] if c.current_assignment else -1
                for c in cases
            ],
            dtype=np.int32,
        ),
        units_per_hour=units_per_hour(
            np.concatenate([capacity_hours, current_load_hours, workload_hours])
        ),
    )
