"""Run a scenario: the baseline and every variant, in every demand sample, through the engine.

One entry (:func:`run_scenario`) for the CLI and for a service job: progress goes to an optional
callback after each solve, ``should_stop`` is asked between solves, nothing is printed.  Solves
run one after another, or side by side in ``jobs`` worker processes; results do not depend on
``jobs`` (every solve is built from the seed alone).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from assigner.domain import InputError, Plan, Problem
from assigner.engine import solve_problem
from assigner.search.cpsat import SearchParams, derived_seed
from assigner.search.solve import InfeasibleInstance
from scenarios.whatif.baseline import (
    BaselineFacts,
    SnapshotLoader,
    baseline_facts,
    load_baseline,
)
from scenarios.whatif.changes import build_problem, check_scenario
from scenarios.whatif.errors import ScenarioCancelledError, ScenarioError, ScenarioIssue
from scenarios.whatif.spec import BASELINE_NAME, Scenario, Variant

log = logging.getLogger(__name__)

MAX_HANDOVER_RETRIES = 3


@dataclass(frozen=True)
class KpiField:
    key: str
    label: str
    unit: str  # "count", "share", "km", "cny", "ratio", "s"
    better: int  # +1 higher is better, -1 lower is better, 0 neither


KPI_FIELDS: tuple[KpiField, ...] = (
    KpiField("cases", "Cases", "count", 0),
    KpiField("providers", "Providers available", "count", 0),
    KpiField("assigned", "Assigned", "count", 1),
    KpiField("unassigned", "Unassigned", "count", -1),
    KpiField("assigned_share", "Assigned share", "share", 1),
    KpiField(
        "assigned_share_of_eligible", "Assigned share of cases with an eligible lawyer", "share", 1
    ),
    KpiField("no_eligible_lawyer", "Unassigned: no eligible lawyer", "count", -1),
    KpiField("capacity_exhausted", "Unassigned: capacity exhausted", "count", -1),
    KpiField("deadline_risk", "Deadline risk (unassigned, due within 24 h)", "count", -1),
    KpiField("utilisation_mean", "Utilisation, mean", "share", 0),
    KpiField("utilisation_p95", "Utilisation, 95th percentile", "share", -1),
    KpiField("utilisation_max", "Utilisation, max", "share", -1),
    KpiField("utilisation_gini", "Utilisation Gini (fairness)", "ratio", -1),
    KpiField("travel_km_mean", "Travel per assigned case", "km", -1),
    KpiField("travel_km_total", "Travel, total", "km", -1),
    KpiField("subsidy_cny_total", "Subsidy cost", "cny", -1),
    KpiField("quota_deficit_cases", "Quota deficit (cases)", "count", -1),
    KpiField("lawyers_below_quota", "Lawyers below yearly quota", "count", -1),
    KpiField("moves", "Moves of current assignments", "count", -1),
    KpiField("solver_gap", "Solver gap", "share", -1),
    KpiField("solve_time_s", "Solve time", "s", 0),
)


@dataclass(frozen=True)
class RunProgress:
    """After each solve: how many of how many are done, and which one finished."""

    done: int
    total: int
    variant: str
    sample: int
    wall_time_s: float


ProgressCallback = Callable[[RunProgress], None]


@dataclass
class SolveRecord:
    """What one solve of one (variant, sample) leaves for the report."""

    variant: str
    sample: int
    kpis: dict[str, float]
    groups: dict[str, tuple[int, int]]  # priority group -> (cases, assigned)
    utilisation: list[float]
    travel_km: list[float]
    status: str
    method: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        a = np.asarray(values, dtype=np.float64)
        a = a[~np.isnan(a)]  # undefined in some solves (no lawyer left): over the others
        if a.size == 0:
            return cls(math.nan, math.nan, math.nan, math.nan, 0)
        std = float(a.std(ddof=1)) if a.size > 1 else 0.0
        return cls(float(a.mean()), std, float(a.min()), float(a.max()), int(a.size))


@dataclass
class VariantSummary:
    """Mean and spread over samples of one variant, and its paired differences to the
    baseline (variant minus baseline, sample by sample)."""

    name: str
    description: str
    changes: list[dict[str, Any]]
    kpis: dict[str, Stat]
    delta: dict[str, Stat]
    group_share: dict[str, Stat]
    group_cases: dict[str, Stat]
    group_delta: dict[str, Stat]
    records: list[SolveRecord]
    notes: list[str]


@dataclass
class ScenarioResult:
    scenario: Scenario
    baseline_name: str
    summaries: list[VariantSummary]  # the baseline first
    started_at: str
    wall_time_s: float

    def summary(self, name: str) -> VariantSummary:
        for s in self.summaries:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "source": self.scenario.source,
            "baseline_problem": self.baseline_name,
            "started_at": self.started_at,
            "wall_time_s": round(self.wall_time_s, 3),
            "kpi_fields": [asdict(f) for f in KPI_FIELDS],
            "variants": [
                {
                    "name": s.name,
                    "description": s.description,
                    "changes": s.changes,
                    "kpis": {k: asdict(v) for k, v in s.kpis.items()},
                    "delta_vs_baseline": {k: asdict(v) for k, v in s.delta.items()},
                    "priority_groups": {
                        g: {
                            "share": asdict(s.group_share[g]),
                            "cases": asdict(s.group_cases[g]),
                            "share_delta_vs_baseline": asdict(s.group_delta[g]),
                        }
                        for g in s.group_share
                    },
                    "notes": s.notes,
                    "solves": [asdict(r) for r in s.records],
                }
                for s in self.summaries
            ],
        }


# -- one solve -------------------------------------------------------------------------------


def _released_cases(exc: InputError) -> set[str]:
    """Cases an InputError refuses because a pinned or started case's lawyer became
    ineligible (``cases[i] (id X)`` / ``current_assignment``)."""
    out = set()
    for issue in exc.issues:
        if issue.field == "current_assignment" and "(id " in issue.record:
            out.add(issue.record.split("(id ", 1)[1].rstrip(")"))
    return out


def solve_with_handover(problem: Problem, params: SearchParams) -> tuple[Plan, Problem, list[str]]:
    """Solve; when a change leaves a pinned or started case with a lawyer who may no longer
    take it (capacity cut, leave, wider rules), hand that case over and solve again."""
    notes: list[str] = []
    for _ in range(MAX_HANDOVER_RETRIES + 1):
        try:
            return solve_problem(problem, params), problem, notes
        except InputError as exc:
            ids = _released_cases(exc)
            if not ids or len(ids) != len(exc.issues):
                raise
            problem = problem.model_copy(
                update={
                    "cases": [
                        c.model_copy(update={"current_assignment": None}) if c.id in ids else c
                        for c in problem.cases
                    ]
                }
            )
            notes.append(
                f"{len(ids)} pinned or started cases handed over (lawyer no longer eligible)"
            )
    raise RuntimeError("hand-over did not converge")


def utilisation_vector(problem: Problem, plan: Plan) -> list[float]:
    """Per lawyer who counts in the KPIs (accepting new cases or given one, capacity > 0):
    (load outside the problem + assigned hours) / capacity."""
    hours: dict[str, float] = {}
    for a in plan.assignments:
        hours[a.lawyer_id] = hours.get(a.lawyer_id, 0.0) + a.workload_hours
    out = []
    for lw in problem.lawyers:
        if lw.capacity_hours > 0 and (lw.accepting_new_cases or lw.id in hours):
            out.append(
                round((lw.current_load_hours + hours.get(lw.id, 0.0)) / lw.capacity_hours, 4)
            )
    return out


def _available_providers(problem: Problem) -> int:
    first = problem.day_of(problem.as_of)
    return sum(
        1
        for lw in problem.lawyers
        if lw.accepting_new_cases and not any(lv.start <= first <= lv.end for lv in lw.leave)
    )


def record_of(
    variant: str, sample: int, problem: Problem, plan: Plan, notes: list[str]
) -> SolveRecord:
    k = plan.kpis
    reasons = [u.reason.value for u in plan.unassigned]
    kpis: dict[str, float] = {
        "cases": k.cases,
        "providers": _available_providers(problem),
        "assigned": k.assigned,
        "unassigned": k.cases - k.assigned,
        "assigned_share": k.assigned_share,
        "assigned_share_of_eligible": k.assigned_share_of_eligible,
        "no_eligible_lawyer": reasons.count("no_eligible_lawyer"),
        "capacity_exhausted": reasons.count("capacity_exhausted"),
        "deadline_risk": k.deadline_risk,
        "utilisation_mean": k.utilisation_mean,
        "utilisation_p95": k.utilisation_p95,
        "utilisation_max": k.utilisation_max,
        "utilisation_gini": k.utilisation_gini,
        "travel_km_mean": k.travel_km_mean,
        "travel_km_total": k.travel_km_total,
        "subsidy_cny_total": k.subsidy_cny_total,
        "quota_deficit_cases": k.quota_deficit_cases,
        "lawyers_below_quota": k.lawyers_below_quota,
        "moves": k.moves,
        "solver_gap": plan.solver.gap if math.isfinite(plan.solver.gap) else 1.0,
        "solve_time_s": plan.solver.wall_time_s,
    }
    # What a solve leaves undefined is NaN (null in results.json, "–" in the report), not the
    # plan's 0 or 100%: with every lawyer removed nobody is 0% busy; with nothing assigned
    # there is no travel per assigned case; with no case a lawyer may take, no share of them.
    if not problem.lawyers:
        for key in ("utilisation_mean", "utilisation_p95", "utilisation_max", "utilisation_gini"):
            kpis[key] = math.nan
    if k.assigned == 0:
        kpis["travel_km_mean"] = math.nan
    if k.cases == 0:
        kpis["assigned_share"] = math.nan
    if k.cases == kpis["no_eligible_lawyer"]:
        kpis["assigned_share_of_eligible"] = math.nan
    return SolveRecord(
        variant=variant,
        sample=sample,
        kpis={key: float(v) for key, v in kpis.items()},
        groups={g: (s.cases, s.assigned) for g, s in k.by_priority_group.items()},
        utilisation=utilisation_vector(problem, plan),
        travel_km=[round(a.travel_km, 2) for a in plan.assignments],
        status=plan.solver.status.value,
        method=plan.solver.method,
        notes=notes,
    )


def search_params(spec: Scenario, sample: int) -> SearchParams:
    return SearchParams(
        time_limit_s=spec.time_limit_s,
        workers=spec.workers,
        seed=derived_seed(spec.seed, sample),
        deterministic=spec.deterministic,
    )


def solve_one(
    spec: Scenario,
    baseline: Problem,
    variant: Variant | None,
    sample: int,
    facts: BaselineFacts | None = None,
) -> SolveRecord:
    """Build and solve one (variant, sample); ``variant`` None is the baseline."""
    facts = facts or baseline_facts(baseline)
    problem, notes = build_problem(spec, baseline, facts, variant, sample)
    name = BASELINE_NAME if variant is None else variant.name
    where = "baseline" if variant is None else f"variants[{spec.variants.index(variant)}]"
    try:
        plan, problem, more = solve_with_handover(problem, search_params(spec, sample))
    except InfeasibleInstance as exc:
        issue = ScenarioIssue(where, f"sample {sample + 1}: no plan meets the hard rules: {exc}")
        raise ScenarioError([issue], spec.source) from exc
    except InputError as exc:
        raise ScenarioError(
            [
                ScenarioIssue(where, f"sample {sample + 1}: the changed problem is refused: {i}")
                for i in exc.issues[:10]
            ],
            spec.source,
        ) from exc
    return record_of(name, sample, problem, plan, notes + more)


# -- worker processes ------------------------------------------------------------------------

_worker_state: dict[str, Any] = {}


def _worker_init(spec_json: str, problem_json: str) -> None:
    """Per worker process: the spec and the baseline, parsed once."""
    _worker_state["spec"] = Scenario.model_validate_json(spec_json)
    _worker_state["baseline"] = baseline = Problem.model_validate_json(problem_json)
    _worker_state["facts"] = baseline_facts(baseline)


def _worker_solve(variant_index: int, sample: int) -> SolveRecord:
    spec: Scenario = _worker_state["spec"]
    variant = None if variant_index < 0 else spec.variants[variant_index]
    return solve_one(spec, _worker_state["baseline"], variant, sample, _worker_state["facts"])


# -- the run ---------------------------------------------------------------------------------


def prepare_run(
    spec: Scenario,
    snapshot_loader: SnapshotLoader | None = None,
    baseline: Problem | None = None,
) -> tuple[Problem, BaselineFacts]:
    """Load the baseline and check every change against it; raises :class:`ScenarioError`
    before anything is solved."""
    problem = baseline if baseline is not None else load_baseline(spec, snapshot_loader)
    facts = baseline_facts(problem)
    check_scenario(spec, facts)
    return problem, facts


def run_scenario(
    spec: Scenario,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    snapshot_loader: SnapshotLoader | None = None,
    baseline: Problem | None = None,
) -> ScenarioResult:
    """Solve the baseline and each variant in each sample; aggregate over samples."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    problem, facts = prepare_run(spec, snapshot_loader, baseline)
    tasks = [(-1, s) for s in range(spec.samples)] + [
        (v, s) for v in range(len(spec.variants)) for s in range(spec.samples)
    ]
    records: dict[tuple[int, int], SolveRecord] = {}

    def finished(key: tuple[int, int], rec: SolveRecord) -> None:
        records[key] = rec
        if progress is not None:
            progress(
                RunProgress(
                    len(records), len(tasks), rec.variant, rec.sample, time.monotonic() - t0
                )
            )

    def stop_requested() -> bool:
        return should_stop is not None and should_stop()

    if spec.jobs <= 1 or len(tasks) <= 1:
        for v, s in tasks:
            if stop_requested():
                raise ScenarioCancelledError(f"stopped after {len(records)} of {len(tasks)} solves")
            variant = None if v < 0 else spec.variants[v]
            finished((v, s), solve_one(spec, problem, variant, s, facts))
    else:
        _run_parallel(spec, problem, tasks, finished, stop_requested)

    summaries = [
        _summarise(
            BASELINE_NAME,
            "The baseline, unchanged.",
            [],
            [records[(-1, s)] for s in range(spec.samples)],
            None,
        )
    ]
    for v, variant in enumerate(spec.variants):
        recs = [records[(v, s)] for s in range(spec.samples)]
        summaries.append(
            _summarise(
                variant.name,
                variant.description,
                [c.model_dump(mode="json", exclude_defaults=True) for c in variant.changes],
                recs,
                summaries[0].records,
            )
        )
    return ScenarioResult(spec, problem.name, summaries, started, time.monotonic() - t0)


def _run_parallel(
    spec: Scenario,
    problem: Problem,
    tasks: list[tuple[int, int]],
    finished: Callable[[tuple[int, int], SolveRecord], None],
    stop_requested: Callable[[], bool],
) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=spec.jobs,
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(spec.model_dump_json(), problem.model_dump_json()),
    ) as pool:
        pending: dict[Future[SolveRecord], tuple[int, int]] = {}
        queue = list(tasks)
        try:
            while queue or pending:
                while queue and len(pending) < spec.jobs:
                    key = queue.pop(0)
                    pending[pool.submit(_worker_solve, *key)] = key
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    key = pending.pop(fut)
                    finished(key, fut.result())
                if stop_requested():
                    raise ScenarioCancelledError("stopped on request")
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _summarise(
    name: str,
    description: str,
    changes: list[dict[str, Any]],
    recs: list[SolveRecord],
    base: list[SolveRecord] | None,
) -> VariantSummary:
    kpis = {f.key: Stat.of([r.kpis[f.key] for r in recs]) for f in KPI_FIELDS}
    delta = {
        f.key: Stat.of(
            [r.kpis[f.key] - b.kpis[f.key] for r, b in zip(recs, base or recs, strict=True)]
        )
        for f in KPI_FIELDS
    }
    groups = sorted({g for r in recs for g in r.groups} | {g for b in base or [] for g in b.groups})

    def share(r: SolveRecord, g: str) -> float:
        cases, assigned = r.groups.get(g, (0, 0))
        return assigned / cases if cases else math.nan

    group_share = {g: Stat.of([share(r, g) for r in recs]) for g in groups}
    group_cases = {g: Stat.of([float(r.groups.get(g, (0, 0))[0]) for r in recs]) for g in groups}
    group_delta = {}
    for g in groups:
        pairs = [(share(r, g), share(b, g)) for r, b in zip(recs, base or recs, strict=True)]
        group_delta[g] = Stat.of([a - b for a, b in pairs])
    notes = list(recs[0].notes) if recs else []
    return VariantSummary(
        name, description, changes, kpis, delta, group_share, group_cases, group_delta, recs, notes
    )
