"""The baseline of a scenario: a generated county, a Problem file or a database snapshot, plus
the facts about it that changes need (townships and their centres, typical providers).

The database snapshot goes through a loader that the service registers (``set_snapshot_loader``
or the ``snapshot_loader`` argument of the runner): ``scenarios`` does not import ``api``
(DESIGN.md "Layout").  A ``file:`` URL (or a bare ``.json`` path) reads a Problem document that
the service dumped; a database URL without a registered loader is refused with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import numpy as np

from assigner.domain import (
    Catalogue,
    FirmKind,
    InputError,
    Lawyer,
    Problem,
    ProviderKind,
    load_problem,
    resolve_catalogue,
)
from assigner.domain.arrays import haversine_km
from scenarios.generator import generate_county
from scenarios.roster import ANNUAL_HOURS, HOURS_PER_OPEN_CASE, LEGAL_AID_SHARE, SUBSIDY_CLASS
from scenarios.whatif.errors import ScenarioError, ScenarioIssue, SnapshotUnavailableError
from scenarios.whatif.spec import (
    DatabaseBaseline,
    ProblemFileBaseline,
    Scenario,
    TierBaseline,
    scenario_lines,
)

SnapshotLoader = Callable[[str], Problem]

_snapshot_loader: SnapshotLoader | None = None

FIRM_KIND_OF: dict[ProviderKind, FirmKind] = {
    ProviderKind.PRACTISING_LAWYER: FirmKind.LAW_FIRM,
    ProviderKind.STAFF_LAWYER: FirmKind.LEGAL_AID_CENTRE,
    ProviderKind.PUBLIC_DEFENDER: FirmKind.PUBLIC_DEFENDER_OFFICE,
    ProviderKind.ALTERNATE_DEFENDER: FirmKind.ALTERNATE_DEFENDER_OFFICE,
    ProviderKind.GRASSROOTS_WORKER: FirmKind.GRASSROOTS_OFFICE,
    ProviderKind.VOLUNTEER: FirmKind.LEGAL_AID_CENTRE,
}
"""The firm kind a new provider of each kind joins when the scenario names no firm."""


def set_snapshot_loader(loader: SnapshotLoader | None) -> None:
    """Register how a ``database_url`` baseline is read (the service's exporter of its stored
    roster, open cases and policy as a Problem); ``None`` unregisters."""
    global _snapshot_loader
    _snapshot_loader = loader


_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def load_snapshot(url: str, loader: SnapshotLoader | None = None) -> Problem:
    """The service's stored state as a Problem.

    ``file:PATH`` (or ``file://PATH``), or a bare path (no scheme) ending in ``.json``, is read
    as a Problem document dumped by the service.  Any other URL (``sqlite:///x.db``,
    ``postgresql+psycopg://...``) goes to ``loader``, else the registered loader, whatever its
    path ends with: the scheme says what it is.
    """
    is_file = url.startswith("file:") or (_URL_SCHEME.match(url) is None and url.endswith(".json"))
    if is_file:
        path = Path(url.removeprefix("file://").removeprefix("file:"))
        if not path.exists():
            raise SnapshotUnavailableError(f"snapshot file {path} does not exist")
        return load_problem(path)  # an unreadable file is an InputError naming it
    chosen = loader or _snapshot_loader
    if chosen is not None:
        return chosen(url)
    raise SnapshotUnavailableError(
        f"cannot read the database snapshot {url!r}: no exporter is registered (the service "
        "registers one with scenarios.whatif.baseline.set_snapshot_loader). Export the stored "
        "state as a Problem JSON and use `baseline: {problem_file: PATH}` or "
        "`database_url: file:PATH` instead."
    )


def load_baseline(spec: Scenario, snapshot_loader: SnapshotLoader | None = None) -> Problem:
    """The baseline Problem of ``spec``; bad baselines raise :class:`ScenarioError` naming the
    field and, for YAML files, its line."""
    base = spec.baseline
    lines = scenario_lines(spec)

    def refuse(field: str, messages: list[str]) -> ScenarioError:
        line = lines.line(("baseline", field))
        path = f"baseline.{field}"
        return ScenarioError([ScenarioIssue(path, m, line) for m in messages], spec.source)

    field = "tier"
    try:
        if isinstance(base, TierBaseline):
            return generate_county(base.tier, base.seed)
        if isinstance(base, ProblemFileBaseline):
            field = "problem_file"
            path = Path(base.problem_file)
            if not path.exists():
                raise refuse(field, [f"file {path} does not exist"])
            return load_problem(path)
        if isinstance(base, DatabaseBaseline):
            field = "database_url"
            return load_snapshot(base.database_url, snapshot_loader)
    except InputError as exc:
        raise refuse(
            field, [f"the baseline problem is refused: {i}" for i in exc.issues[:20]]
        ) from exc
    except SnapshotUnavailableError as exc:
        raise refuse(field, [str(exc)]) from exc
    raise AssertionError(f"unhandled baseline {type(base).__name__}")


@dataclass(frozen=True)
class TypicalProvider:
    """The baseline's median provider of one kind (defaults for new providers and hires)."""

    capacity_hours: float
    max_open_cases: int
    max_travel_km: float | None
    subsidy_class: str
    years_by_area: dict[str, float]
    level_by_area: dict[str, int]


@dataclass(frozen=True)
class BaselineFacts:
    """What changes and checks need to know about the baseline."""

    catalogue: Catalogue
    townships: dict[str, tuple[float, float]]
    """Township (jurisdiction) code -> centre (median of its cases' locations)."""
    lawyer_ids: frozenset[str]
    firm_ids: frozenset[str]
    firm_kind: dict[str, FirmKind]
    firm_location: dict[str, tuple[float, float] | None]
    typical: dict[ProviderKind, TypicalProvider]
    planning_days: tuple[int, int]
    """First and last day (ordinals) of the planning window: as_of to the latest assign_by."""

    def home_townships(self, lawyers: list[Lawyer]) -> list[str | None]:
        """Per lawyer, the township whose centre is nearest to the office."""
        if not self.townships or not lawyers:
            return [None] * len(lawyers)
        codes = list(self.townships)
        lat = np.array([self.townships[c][0] for c in codes])
        lon = np.array([self.townships[c][1] for c in codes])
        la = np.array([lw.location.lat for lw in lawyers])[:, None]
        lo = np.array([lw.location.lon for lw in lawyers])[:, None]
        nearest = np.argmin(haversine_km(la, lo, lat[None, :], lon[None, :]), axis=1)
        return [codes[int(i)] for i in nearest]


def township_centres(problem: Problem) -> dict[str, tuple[float, float]]:
    """Centre of each jurisdiction of the cases: the median of its cases' coordinates."""
    points: dict[str, list[tuple[float, float]]] = {}
    for case in problem.cases:
        if case.jurisdiction is not None:
            points.setdefault(case.jurisdiction, []).append((case.location.lat, case.location.lon))
    for lw in problem.lawyers:  # jurisdictions served but without cases: centre of the offices
        for j in lw.jurisdictions or ():
            if j not in points:
                points.setdefault(f"?{j}", []).append((lw.location.lat, lw.location.lon))
    centres = {}
    for code, pts in sorted(points.items()):
        key = code.removeprefix("?")
        if key in centres:
            continue
        centres[key] = (
            round(float(median(p[0] for p in pts)), 6),
            round(float(median(p[1] for p in pts)), 6),
        )
    return centres


def _typical(problem: Problem, catalogue: Catalogue) -> dict[ProviderKind, TypicalProvider]:
    out: dict[ProviderKind, TypicalProvider] = {}
    for kind in ProviderKind:
        group = [lw for lw in problem.lawyers if lw.kind is kind]
        years: dict[str, list[float]] = {}
        levels: dict[str, list[int]] = {}
        for lw in group:
            for pa in lw.practice_areas:
                years.setdefault(pa.area, []).append(pa.years)
                levels.setdefault(pa.area, []).append(pa.level)
        if group:
            travel = [lw.max_travel_km for lw in group if lw.max_travel_km is not None]
            classes = [lw.subsidy_class for lw in group]
            out[kind] = TypicalProvider(
                capacity_hours=float(median(lw.capacity_hours for lw in group)),
                max_open_cases=round(median(lw.max_open_cases for lw in group)),
                max_travel_km=float(median(travel)) if len(travel) * 2 > len(group) else None,
                subsidy_class=max(set(classes), key=lambda c: (classes.count(c), c)),
                years_by_area={a: float(median(v)) for a, v in years.items()},
                level_by_area={a: round(median(v)) for a, v in levels.items()},
            )
        else:  # the generator's figures (scenarios.roster), for kinds the baseline lacks
            lo, hi = LEGAL_AID_SHARE[kind]
            capacity = round(ANNUAL_HOURS * (lo + hi) / 2)
            per_case = sum(HOURS_PER_OPEN_CASE) / 2
            subsidy_class = SUBSIDY_CLASS.get(kind, "standard")
            if subsidy_class not in catalogue.subsidy_class_multiplier:
                subsidy_class = next(iter(catalogue.subsidy_class_multiplier))
            out[kind] = TypicalProvider(
                capacity_hours=float(capacity),
                max_open_cases=max(6, round(capacity / per_case)),
                max_travel_km=None,
                subsidy_class=subsidy_class,
                years_by_area={},
                level_by_area={},
            )
    return out


def baseline_facts(problem: Problem) -> BaselineFacts:
    catalogue = resolve_catalogue(problem)
    as_of_day = problem.day_of(problem.as_of).toordinal()
    last = max([problem.day_of(c.assign_by).toordinal() for c in problem.cases] + [as_of_day])
    return BaselineFacts(
        catalogue=catalogue,
        townships=township_centres(problem),
        lawyer_ids=frozenset(lw.id for lw in problem.lawyers),
        firm_ids=frozenset(f.id for f in problem.firms),
        firm_kind={f.id: f.kind for f in problem.firms},
        firm_location={
            f.id: (f.location.lat, f.location.lon) if f.location is not None else None
            for f in problem.firms
        },
        typical=_typical(problem, catalogue),
        planning_days=(as_of_day, last),
    )
