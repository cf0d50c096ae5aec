"""The benchmark suite: GAP instances and county tiers, the engine against its peers.

Every run (one method on one instance) happens in a fresh process started with ``spawn``, so its
wall time, peak memory (``ru_maxrss`` of that process) and any crash are its own.  Runs go one
after another: each may use both cores.  See ``benchmarks/README.md`` for the protocol.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import math
import multiprocessing as mp
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import metadata
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

from assigner.search.instance import I64, AssignmentInstance, evaluate, feasibility_issues
from benchmarks.gap_instances import BestKnown, load_best_known, read_gap, resolve_gap_dir
from benchmarks.machine import cpu_model

log = logging.getLogger(__name__)

SEED = 0  # solver seed of every run
COUNTY_SEED = 1  # seed of the generated counties
WORKERS = 2
TIME_SLACK = 1.05  # a run "finishes within T s" when its wall time is at most 5% over T

PEER_METHODS = ("rotation", "greedy-best-fit", "plain-cpsat", "highs-mip", "min-cost-flow")
ALL_METHODS = ("ours", *PEER_METHODS)
PARTS = ("gap", "county", "peers")

QUICK_GAP = ("gap1-0", "gap12-4", "c05100", "d05100", "e05100", "c10400", "d10400")
QUICK_TIERS = ("demo", "county-S")
FULL_TIERS = ("county-S", "county-M", "county-L")
QUICK_TIME_S = 5.0
# The provinces (200,000 cases, 40 counties; apart, or side by side with help across borders)
# run only when named (``--instances province``): about as long per county as county-M's 20 s
# for its 5,000 cases.
PROVINCE_TIERS = ("province", "province-border")
FULL_COUNTY_TIME_S = {
    "county-S": 5.0,
    "county-M": 20.0,
    "county-L": 60.0,
    **dict.fromkeys(PROVINCE_TIERS, 600.0),
}
COUNTY_TIME_DEFAULT_S = 5.0
GAP_EASY_FAMILIES = ("gap", "a", "b")
GAP_EASY_TIME_S = 10.0
GAP_HARD_TIME_S = 60.0
HARD_GAP_FAMILIES = ("c", "d", "e")


# --- what one run is and what it gives ---------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One method on one instance; picklable so a fresh process can carry it out."""

    suite: str  # "gap" or "county"
    instance: str
    family: str  # GAP type (gap, a-e) or the county tier
    method: str
    time_limit_s: float
    seed: int
    source: str  # GAP file, or the pickled county payload
    best_known: int | None = None
    optimum: int | None = None


@dataclass
class Row:
    """One line of the results CSV."""

    suite: str
    instance: str
    family: str
    method: str
    time_limit_s: float
    seed: int
    n_items: int | None = None
    n_agents: int | None = None
    n_edges: int | None = None
    status: str = ""  # ok, infeasible, no-solution, error, timeout
    wall_s: float | None = None
    objective: int | None = None
    bound: float | None = None
    proven_optimal: bool | None = None
    best_known: int | None = None
    gap_to_best_known: float | None = None
    gap_to_bound: float | None = None
    constant_cost: int | None = None  # penalties of items no agent can take (in every plan)
    feasible: bool = False
    assigned_share: float | None = None
    utilisation_p95: float | None = None
    utilisation_max: float | None = None
    peak_mem_mb: float | None = None
    import_mem_mb: float | None = None
    prepare_s: float | None = None
    prepare_peak_mem_mb: float | None = None
    notes: str = ""


COLUMNS = [f.name for f in fields(Row)]


@dataclass(frozen=True)
class CountyPayload:
    """A prepared county, as the run processes load it."""

    instance: AssignmentInstance
    capacity_units: I64  # per lawyer, total capacity in the instance's weight units
    prepare_s: float


def _rss_mb() -> float:
    """Peak resident memory of this process plus that of its largest child (the search's
    background bound runs in a forked child on the largest instances): an upper bound on the
    run's peak, since the child shares the instance's pages with this process."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + child) / 1024.0  # KiB on Linux


def _load(spec: RunSpec) -> tuple[AssignmentInstance, I64]:
    if spec.suite == "gap":
        inst = read_gap(spec.source)
        return inst, inst.capacity
    with open(spec.source, "rb") as fh:
        payload: CountyPayload = pickle.load(fh)
    return payload.instance, payload.capacity_units


def _execute(spec: RunSpec) -> Row:
    """Run one method and measure it (in the calling process)."""
    from assigner.search.cpsat import SearchParams
    from assigner.search.solve import constant_cost, run_search
    from benchmarks.peers import NoSolution, get_peer

    row = Row(
        suite=spec.suite,
        instance=spec.instance,
        family=spec.family,
        method=spec.method,
        time_limit_s=spec.time_limit_s,
        seed=spec.seed,
        best_known=spec.best_known,
    )
    row.import_mem_mb = round(_rss_mb(), 1)
    inst, capacity_units = _load(spec)
    row.n_items, row.n_agents, row.n_edges = inst.n_items, inst.n_agents, inst.n_edges
    row.constant_cost = constant_cost(inst)
    notes: list[str] = []
    if spec.method == "ours":
        # A running service has its compiled passes loaded; a fresh process loads them from
        # numba's on-disk cache (or compiles them, once per installation) here, untimed.
        from assigner.search.warm_up import warm_up

        warm_up()
    start = time.monotonic()
    try:
        if spec.method == "ours":
            params = SearchParams(time_limit_s=spec.time_limit_s, workers=WORKERS, seed=spec.seed)
            outcome = run_search(inst, params)
            vector = outcome.agent_of_item
            row.bound = float(outcome.bound)
            row.proven_optimal = bool(outcome.proven_optimal)
            notes.append(f"method {outcome.method}")
        else:
            vector = get_peer(spec.method)(inst, spec.time_limit_s, spec.seed, notes=notes)
    except NoSolution as exc:
        row.wall_s = time.monotonic() - start
        row.status = "no-solution"
        row.notes = "; ".join([*notes, str(exc)])
        row.peak_mem_mb = round(_rss_mb(), 1)
        return row
    row.wall_s = round(time.monotonic() - start, 3)
    row.peak_mem_mb = round(_rss_mb(), 1)
    issues = feasibility_issues(inst, vector)
    row.objective = evaluate(inst, vector).total
    row.feasible = not issues
    row.status = "ok" if row.feasible else "infeasible"
    if issues:
        notes.append(f"{len(issues)} hard-rule breaches, e.g. {issues[0]}")
    assigned = vector >= 0
    row.assigned_share = round(float(assigned.mean()), 4) if inst.n_items else None
    util = _utilisation(inst, vector, capacity_units)
    if util.size:
        row.utilisation_p95 = round(float(np.percentile(util, 95)), 4)
        row.utilisation_max = round(float(util.max()), 4)
    row.notes = "; ".join(notes)
    return row


def _utilisation(inst: AssignmentInstance, vector: Any, capacity_units: I64) -> Any:
    """Per agent with capacity: (load before the plan + load it adds) / total capacity."""
    assigned = np.flatnonzero(vector >= 0)
    weight = np.zeros(inst.n_items, dtype=np.int64)
    for i in assigned:  # one lookup per assigned item; edges are sorted by item
        sl = inst.edges_of(int(i))
        hit = np.flatnonzero(inst.edge_agent[sl] == vector[i])
        weight[i] = inst.edge_weight[sl.start + int(hit[0])]
    load = inst.base() + np.bincount(
        vector[assigned], weights=weight[assigned], minlength=inst.n_agents
    ).astype(np.int64)
    has = capacity_units > 0
    return load[has] / capacity_units[has]


def _quiet_stdout() -> None:
    """Solver banners written straight to fd 1 (HiGHS) would break the progress display."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _child(spec: RunSpec, out: Connection) -> None:
    _quiet_stdout()
    try:
        out.send(("row", asdict(_execute(spec))))
    except BaseException as exc:
        out.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        out.close()


def prepare_county(tier: str, seed: int) -> tuple[CountyPayload, float]:
    """The county tier as every method sees it: ``generate_county(tier, seed)``, then the
    engine's ``prepare`` (eligibility, scoring, instance); returns it and the seconds the
    generation took (the preparation's are in the payload)."""
    from assigner.engine import prepare
    from assigner.search.from_problem import hours_to_units_down
    from scenarios.generator import generate_county

    t0 = time.monotonic()
    problem = generate_county(tier, seed)
    t1 = time.monotonic()
    prepared = prepare(problem)
    prepare_s = time.monotonic() - t1
    payload = CountyPayload(
        instance=prepared.instance,
        capacity_units=hours_to_units_down(
            prepared.arrays.capacity_hours, prepared.arrays.units_per_hour
        ),
        prepare_s=prepare_s,
    )
    return payload, t1 - t0


def _prepare_child(tier: str, seed: int, path: str, out: Connection) -> None:
    _quiet_stdout()
    try:
        payload, generate_s = prepare_county(tier, seed)
        with open(path, "wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        out.send(
            (
                "prepared",
                {
                    "generate_s": generate_s,
                    "prepare_s": payload.prepare_s,
                    "peak_mem_mb": _rss_mb(),
                },
            )
        )
    except BaseException as exc:
        out.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        out.close()


def _in_fresh_process(
    target: Callable[..., None], args: tuple[Any, ...], timeout_s: float
) -> tuple[str, Any]:
    """Run ``target(*args, conn)`` in a spawned process; ("timeout" | "crash", text) on failure."""
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, sender))
    proc.start()
    sender.close()
    result: tuple[str, Any]
    ready = wait([receiver, proc.sentinel], timeout=timeout_s)
    if receiver in ready:
        try:
            result = receiver.recv()
        except EOFError:
            proc.join(timeout=30)
            result = ("crash", f"process ended with exit code {proc.exitcode}")
    elif ready:
        proc.join(timeout=30)
        result = ("crash", f"process ended with exit code {proc.exitcode}")
    else:
        proc.kill()
        result = ("timeout", f"killed after {timeout_s:.0f} s")
    receiver.close()
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return result


def _hard_timeout(time_limit_s: float) -> float:
    return 3 * time_limit_s + 120


def run_one(spec: RunSpec, isolate: bool = True) -> Row:
    """One run, in a fresh process unless ``isolate`` is off; failures become rows."""
    if isolate:
        kind, value = _in_fresh_process(_child, (spec,), _hard_timeout(spec.time_limit_s))
    else:
        try:
            kind, value = "row", asdict(_execute(spec))
        except Exception as exc:
            kind, value = "error", f"{type(exc).__name__}: {exc}"
    if kind == "row":
        return Row(**value)
    return Row(
        suite=spec.suite,
        instance=spec.instance,
        family=spec.family,
        method=spec.method,
        time_limit_s=spec.time_limit_s,
        seed=spec.seed,
        best_known=spec.best_known,
        status="timeout" if kind == "timeout" else "error",
        notes=str(value),
    )


# --- plan of runs ------------------------------------------------------------------------------


@dataclass
class SuiteConfig:
    quick: bool = True
    time_limit_s: float | None = None  # overrides every budget when set
    only: str | None = None  # one of PARTS
    out_dir: Path = Path("benchmarks/results")
    gap_dir: Path | None = None
    instances: Sequence[str] | None = None  # GAP names and county tiers to keep
    methods: Sequence[str] | None = None
    seed: int = SEED  # solver seed of the first run of each method on each instance
    repeats: int = 1  # runs of each method on each instance, with seeds seed, seed + 1, ...
    county_seed: int = COUNTY_SEED
    isolate: bool = True  # each run in a fresh process; off only for tests and debugging

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"


def solver_seeds(config: SuiteConfig) -> range:
    """The solver seeds each method runs with on each instance: ``repeats`` of them from
    ``seed`` on (the county tiers are generated once, with ``county_seed``, whatever these)."""
    if config.repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {config.repeats}")
    return range(config.seed, config.seed + config.repeats)


def methods_for(config: SuiteConfig) -> tuple[str, ...]:
    if config.methods:
        unknown = [m for m in config.methods if m not in ALL_METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; known: {', '.join(ALL_METHODS)}")
        return tuple(config.methods)
    if config.only in ("gap", "county"):
        return ("ours",)
    if config.only == "peers":
        return PEER_METHODS
    return ALL_METHODS


def suites_for(config: SuiteConfig) -> tuple[str, ...]:
    if config.only is not None and config.only not in PARTS:
        raise ValueError(f"unknown part {config.only!r}; known: {', '.join(PARTS)}")
    if config.only in ("gap", "county"):
        return (config.only,)
    return ("gap", "county")


def gap_time_limit(config: SuiteConfig, family: str) -> float:
    if config.time_limit_s is not None:
        return config.time_limit_s
    if config.quick:
        return QUICK_TIME_S
    return GAP_EASY_TIME_S if family in GAP_EASY_FAMILIES else GAP_HARD_TIME_S


def county_time_limit(config: SuiteConfig, tier: str) -> float:
    if config.time_limit_s is not None:
        return config.time_limit_s
    if config.quick:
        return QUICK_TIME_S
    return FULL_COUNTY_TIME_S.get(tier, COUNTY_TIME_DEFAULT_S)


def gap_rows(config: SuiteConfig) -> tuple[Path, list[BestKnown]]:
    gap_dir = resolve_gap_dir(config.gap_dir)
    rows = load_best_known(gap_dir)
    if config.instances is not None:
        keep = set(config.instances)
        rows = [r for r in rows if r.name in keep]
    elif config.quick:
        by_name = {r.name: r for r in rows}
        rows = [by_name[n] for n in QUICK_GAP if n in by_name]
    return gap_dir, rows


def county_tiers(config: SuiteConfig) -> list[str]:
    tiers = QUICK_TIERS if config.quick else FULL_TIERS
    if config.instances is not None:
        known = dict.fromkeys((*QUICK_TIERS, *FULL_TIERS, "tiny", *PROVINCE_TIERS))  # each once
        return [t for t in known if t in config.instances]
    return list(tiers)


def generator_available() -> bool:
    try:
        return importlib.util.find_spec("scenarios.generator") is not None
    except ModuleNotFoundError:
        return False


# --- running -----------------------------------------------------------------------------------


ProgressHook = Callable[[str, Row | None], None]


@dataclass
class SuiteResult:
    config: SuiteConfig
    rows: list[Row] = field(default_factory=list)
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished: dt.datetime | None = None
    skipped: list[str] = field(default_factory=list)


def planned_runs(config: SuiteConfig) -> int:
    """How many runs ``run_suite`` will do (for a progress bar); GAP data must be present."""
    per_instance = len(methods_for(config)) * len(solver_seeds(config))
    total = 0
    suites = suites_for(config)
    if "gap" in suites:
        total += len(gap_rows(config)[1]) * per_instance
    if "county" in suites and generator_available():
        total += len(county_tiers(config)) * per_instance
    return total


def run_suite(config: SuiteConfig, on_run: ProgressHook | None = None) -> SuiteResult:
    """All runs of the configuration, one at a time; ``on_run`` sees each start and end."""
    result = SuiteResult(config)
    methods = methods_for(config)
    suites = suites_for(config)
    seeds = solver_seeds(config)

    def run(spec: RunSpec) -> list[Row]:
        """The method of ``spec`` once per solver seed (``spec.seed`` is replaced)."""
        rows = []
        for seed in seeds:
            seeded = replace(spec, seed=seed)
            label = f"{spec.suite} {spec.instance} {spec.method}"
            if len(seeds) > 1:
                label += f" seed {seed}"
            if on_run is not None:
                on_run(label, None)
            row = run_one(seeded, config.isolate)
            result.rows.append(row)
            rows.append(row)
            if on_run is not None:
                on_run(label, row)
        return rows

    if "gap" in suites:
        gap_dir, best = gap_rows(config)
        for bk in best:
            for method in methods:
                run(
                    RunSpec(
                        suite="gap",
                        instance=bk.name,
                        family=bk.family,
                        method=method,
                        time_limit_s=gap_time_limit(config, bk.family),
                        seed=config.seed,
                        source=str(gap_dir / bk.path),
                        best_known=bk.best_value,
                        optimum=bk.optimum,
                    )
                )
    if "county" in suites:
        tiers = county_tiers(config)
        if tiers and not generator_available():
            result.skipped.append(
                f"county tiers {', '.join(tiers)}: scenarios.generator is not available"
            )
        elif tiers:
            with tempfile.TemporaryDirectory(prefix="assigner-bench-") as tmp:
                for tier in tiers:
                    _run_tier(config, tier, methods, Path(tmp), run, result)
    result.finished = dt.datetime.now(dt.UTC)
    add_reference_gaps(result.rows)
    return result


def _run_tier(
    config: SuiteConfig,
    tier: str,
    methods: Sequence[str],
    tmp: Path,
    run: Callable[[RunSpec], list[Row]],
    result: SuiteResult,
) -> None:
    path = tmp / f"{tier}.pickle"
    kind, value = _in_fresh_process(
        _prepare_child, (tier, config.county_seed, str(path)), timeout_s=3600
    )
    if kind != "prepared":
        text = str(value)
        text = text if len(text) <= 400 else text[:400] + " ..."
        result.skipped.append(f"county tier {tier}: generation or preparation failed ({text})")
        return
    for method in methods:
        rows = run(
            RunSpec(
                suite="county",
                instance=tier,
                family=tier,
                method=method,
                time_limit_s=county_time_limit(config, tier),
                seed=config.seed,
                source=str(path),
            )
        )
        for row in rows:
            row.prepare_s = round(float(value["prepare_s"]), 3)
            row.prepare_peak_mem_mb = round(float(value["peak_mem_mb"]), 1)
            row.notes = "; ".join(
                x for x in (row.notes, f"generated in {value['generate_s']:.1f} s") if x
            )


def relative_gap(objective: float, bound: float, constant: float = 0.0) -> float:
    """(objective - bound) / max(1, |objective - constant|): the engine's definition of its gap,
    ``constant`` being the penalties of items no agent can take (paid by every plan)."""
    return max(0.0, (objective - bound) / max(1.0, abs(objective - constant)))


def add_reference_gaps(rows: list[Row]) -> None:
    """Gap to best known (GAP) and gap to the instance's bound for every feasible row; the bound
    of an instance is the best one any run of ours proved (peers report none)."""
    bound_of: dict[tuple[str, str], float] = {}
    for r in rows:
        if r.bound is not None and math.isfinite(r.bound):
            key = (r.suite, r.instance)
            bound_of[key] = max(bound_of.get(key, -math.inf), r.bound)
    for r in rows:
        if not r.feasible or r.objective is None:
            continue
        if r.best_known is not None:
            r.gap_to_best_known = round((r.objective - r.best_known) / r.best_known, 6)
        ref = bound_of.get((r.suite, r.instance))
        if ref is not None:
            r.gap_to_bound = round(relative_gap(r.objective, ref, r.constant_cost or 0), 6)


# --- the machine -------------------------------------------------------------------------------


def machine_description() -> dict[str, str]:
    """CPU, cores, memory and versions, for the header of every result file."""
    cpu = cpu_model()
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} logical, {usable} usable; solvers use {WORKERS} workers",
        "memory": mem,
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "ortools": version("ortools"),
        "highspy": version("highspy"),
        "numpy": version("numpy"),
        "commit": f"{commit} (the working tree may hold uncommitted changes)",
    }
