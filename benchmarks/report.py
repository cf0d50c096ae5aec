"""Targets (met / missed, with the figure) and the CSV and Markdown result files.

With repeated runs (``--repeats``: one run per solver seed) a target is judged on the runs of a
method on an instance together: every run must be feasible, the mean objective and the mean gap
must meet the target, every run must finish in time and within the memory ceiling; the figure
gives the mean and the range.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.suite import (
    ALL_METHODS,
    COLUMNS,
    HARD_GAP_FAMILIES,
    TIME_SLACK,
    WORKERS,
    Row,
    SuiteConfig,
    SuiteResult,
    machine_description,
)

MET, MISSED, NOT_MEASURED = "met", "missed", "not measured"
GAP_TARGET_S = 60.0
PEAK_MEM_TARGET_MB = 4096.0


@dataclass(frozen=True)
class CountyTarget:
    tier: str
    max_gap: float
    max_wall_s: float
    optimal_suffices: bool = False
    max_peak_mb: float | None = None


COUNTY_TARGETS = (
    CountyTarget("county-S", 0.001, 5.0, optimal_suffices=True),
    CountyTarget("county-M", 0.003, 20.0),
    CountyTarget("county-L", 0.01, 60.0, max_peak_mb=PEAK_MEM_TARGET_MB),
)


@dataclass(frozen=True)
class TargetCheck:
    target: str
    result: str  # met, missed, not measured (with a qualifier where the protocol differed)
    figure: str


def _pct(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def _ours(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if r.method == "ours"]


def _spread(values: Sequence[float], fmt: Callable[[float], str]) -> str:
    """A figure: the value of a single run, or the mean and range of repeated runs."""
    if not values:
        return "-"
    if len(values) == 1:
        return fmt(values[0])
    return f"mean {fmt(statistics.fmean(values))} (range {fmt(min(values))} to {fmt(max(values))})"


def _seconds(x: float) -> str:
    return f"{x:.1f} s"


def _number(x: float) -> str:
    """An objective: whole as it is, a mean to one decimal."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


@dataclass(frozen=True)
class RunGroup:
    """The runs of one method on one instance, one per solver seed.  Objectives and gaps are
    over the feasible runs only: an infeasible run is never counted in a gap or a comparison,
    and ``failed`` names it."""

    runs: tuple[Row, ...]

    @property
    def first(self) -> Row:
        return self.runs[0]

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.runs if not r.feasible or r.objective is None]

    @property
    def objectives(self) -> list[int]:
        return [r.objective for r in self.runs if r.feasible and r.objective is not None]

    @property
    def gaps(self) -> list[float]:
        """Per feasible run, its gap to the best known value (GAP) or to the bound (county)."""
        gaps = (
            r.gap_to_best_known if r.suite == "gap" else r.gap_to_bound
            for r in self.runs
            if r.feasible
        )
        return [g for g in gaps if g is not None]

    @property
    def wall_times(self) -> list[float]:
        return [r.wall_s for r in self.runs if r.wall_s is not None]

    @property
    def peaks_mb(self) -> list[float]:
        """Per run, the larger of its own peak memory and that of the county's preparation."""
        return [max(r.peak_mem_mb or 0.0, r.prepare_peak_mem_mb or 0.0) for r in self.runs]

    @property
    def all_proven_optimal(self) -> bool:
        return all(r.proven_optimal for r in self.runs)

    @property
    def mean_objective(self) -> float | None:
        objectives = self.objectives
        return statistics.fmean(objectives) if objectives else None

    @property
    def mean_gap(self) -> float | None:
        gaps = self.gaps
        return statistics.fmean(gaps) if gaps else None

    def objective_text(self) -> str:
        return _spread(self.objectives, _number)

    def failure_text(self) -> str:
        """The first failed run's status (with its seed and how many failed, if repeated)."""
        r = self.failed[0]
        if len(self.runs) == 1:
            return r.status
        return f"{r.status} (seed {r.seed}; {len(self.failed)} of {len(self.runs)} runs failed)"


def group_runs(rows: Iterable[Row]) -> list[RunGroup]:
    """Rows grouped by (suite, instance, method), in the order first run."""
    groups: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r.suite, r.instance, r.method)].append(r)
    return [RunGroup(tuple(runs)) for runs in groups.values()]


def _budget_note(rows: list[Row], wanted_s: float) -> str:
    limits = sorted({r.time_limit_s for r in rows})
    if limits == [wanted_s]:
        return ""
    return f" (indicative: run at {', '.join(f'{t:g}' for t in limits)} s, not {wanted_s:g} s)"


def check_gap_mean(rows: list[Row]) -> TargetCheck:
    target = "GAP types C, D, E (100-1,600 items): mean gap to best known <= 0.5% at 60 s"
    ours = [r for r in _ours(rows) if r.suite == "gap" and r.family in HARD_GAP_FAMILIES]
    if not ours:
        return TargetCheck(target, NOT_MEASURED, "no type C, D or E instance run")
    groups = group_runs(ours)
    note = _budget_note(ours, GAP_TARGET_S)
    failed = [g for g in groups if g.failed]
    if failed:
        names = ", ".join(f"{g.first.instance} ({g.failure_text()})" for g in failed)
        return TargetCheck(target, MISSED + note, f"no feasible answer on {names}")
    # Each instance counts once, with the mean over its runs.
    mean_of = {g.first.instance: g.mean_gap or 0.0 for g in groups}
    mean = statistics.fmean(mean_of.values())
    worst = max(groups, key=lambda g: mean_of[g.first.instance])
    by_type = ", ".join(
        f"{fam.upper()} {_pct(statistics.fmean(g))}"
        for fam in HARD_GAP_FAMILIES
        if (g := [mean_of[x.first.instance] for x in groups if x.first.family == fam])
    )
    figure = (
        f"mean {_pct(mean)} over {len(groups)} instances ({by_type}); "
        f"worst {worst.first.instance} {_spread(worst.gaps, _pct)}"
    )
    per_run = [x for g in groups for x in g.gaps]
    if len(ours) > len(groups) and per_run:
        figure += f"; {len(ours)} runs, per run {_pct(min(per_run))} to {_pct(max(per_run))}"
    return TargetCheck(target, (MET if mean <= 0.005 else MISSED) + note, figure)


def check_gap_optimal(rows: list[Row]) -> TargetCheck:
    """gap1-12 have proven optima, equal to their best known values."""
    target = "gap1-12: every instance solved to the optimum"
    ours = [r for r in _ours(rows) if r.suite == "gap" and r.family == "gap"]
    if not ours:
        return TargetCheck(target, NOT_MEASURED, "no gap1-12 instance run")
    groups = group_runs(ours)
    repeated = len(ours) > len(groups)
    # No feasible objective lies below the optimum: the mean is optimal only if every run is.
    misses = [
        g for g in groups if g.failed or any(obj != g.first.best_known for obj in g.objectives)
    ]
    figure = f"{len(groups) - len(misses)}/{len(groups)} optimal"
    if repeated:
        figure += " in every run"
    if misses:
        figure += "; off: " + ", ".join(
            f"{g.first.instance} {g.failure_text() if g.failed else _spread(g.gaps, _pct)}"
            for g in misses
        )
    proven = sum(1 for g in groups if g.all_proven_optimal)
    figure += f"; {proven} proven optimal by the search itself"
    if repeated:
        figure += " in every run"
    return TargetCheck(target, MET if not misses else MISSED, figure)


def check_county(rows: list[Row], t: CountyTarget, skipped: Sequence[str] = ()) -> TargetCheck:
    parts = [f"within {_pct(t.max_gap)} of the bound in <= {t.max_wall_s:g} s"]
    if t.optimal_suffices:
        parts[0] = "optimal or " + parts[0]
    if t.max_peak_mb is not None:
        parts.append(f"peak memory <= {t.max_peak_mb / 1024:g} GB")
    target = f"{t.tier}: " + ", ".join(parts)
    ours = [r for r in _ours(rows) if r.suite == "county" and r.instance == t.tier]
    if not ours:
        why = [s for s in skipped if t.tier in s]
        return TargetCheck(target, NOT_MEASURED, why[0] if why else f"{t.tier} not run")
    (g,) = group_runs(ours)  # one instance, one method
    note = _budget_note(ours, t.max_wall_s)
    if g.failed:
        return TargetCheck(target, MISSED + note, f"{g.failure_text()}: {g.failed[0].notes}")
    gaps = g.gaps if len(g.gaps) == len(g.runs) else [math.inf]
    gap = statistics.fmean(gaps)
    proven = g.all_proven_optimal
    quality = gap <= t.max_gap + 1e-12 or (t.optimal_suffices and proven)
    # A time limit and a memory ceiling hold for every run, not on average.
    walls = g.wall_times
    in_time = len(walls) == len(g.runs) and max(walls) <= t.max_wall_s * TIME_SLACK
    mem_ok = t.max_peak_mb is None or max(g.peaks_mb) <= t.max_peak_mb
    proven_text = ""
    if proven:
        proven_text = " (proven optimal" + (" in every run)" if len(g.runs) > 1 else ")")
    figure = (
        f"gap to bound {_spread(gaps, _pct)}{proven_text}, {_spread(walls, _seconds)}, "
        f"peak {_spread(g.peaks_mb, lambda x: f'{x:.0f} MB')}"
    )
    return TargetCheck(target, (MET if quality and in_time and mem_ok else MISSED) + note, figure)


def check_beats_peers(rows: list[Row]) -> list[TargetCheck]:
    """Per GAP type and per county tier: ours at most every feasible peer's objective (with
    repeated runs: every run of ours feasible, its mean objective at most each peer's mean over
    the peer's feasible runs)."""
    checks: list[TargetCheck] = []
    groups: dict[tuple[str, str], dict[str, list[RunGroup]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for g in group_runs(rows):
        groups[(g.first.suite, g.first.family)][g.first.instance].append(g)
    for (suite, family), by_instance in sorted(groups.items()):
        label = f"GAP type {family}" if suite == "gap" else f"county {family}"
        target = f"{label}: ours better than every peer on objective at the same budget"
        losses: list[str] = []
        compared = 0
        for instance, methods in by_instance.items():
            ours = [g for g in methods if g.first.method == "ours"]
            ran = [g for g in methods if g.first.method != "ours"]
            if not ours or not ran:
                continue
            compared += 1
            o = ours[0]
            peers = [g for g in ran if g.objectives]
            if not peers:
                if o.failed:
                    losses.append(f"{instance}: ours {o.failure_text()}, as every peer")
                continue
            best_peer = min(peers, key=lambda g: g.mean_objective or 0.0)
            peer_text = f"{best_peer.first.method} {best_peer.objective_text()}"
            ours_mean, peer_mean = o.mean_objective, best_peer.mean_objective
            if o.failed or ours_mean is None:
                losses.append(f"{instance}: ours {o.failure_text()}, {peer_text}")
            elif peer_mean is not None and peer_mean < ours_mean:
                losses.append(f"{instance}: {peer_text} < ours {o.objective_text()}")
        if compared == 0:
            checks.append(TargetCheck(target, NOT_MEASURED, "no run of ours with a peer"))
            continue
        figure = f"ours best or tied on {compared - len(losses)}/{compared}"
        if losses:
            figure += "; lost: " + "; ".join(losses)
        checks.append(TargetCheck(target, MET if not losses else MISSED, figure))
    return checks


def check_targets(result: SuiteResult) -> list[TargetCheck]:
    rows = result.rows
    checks = [check_gap_mean(rows), check_gap_optimal(rows)]
    checks += [check_county(rows, t, result.skipped) for t in COUNTY_TARGETS]
    checks += check_beats_peers(rows)
    return checks


# --- files -------------------------------------------------------------------------------------


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(r).items()})


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in body]
    return lines


def _gap_cell(r: Row | None) -> str:
    if r is None:
        return ""
    if r.status == "ok":
        text = _pct(r.gap_to_best_known)
        if r.method == "ours" and r.proven_optimal:
            text += " (proven)"
        return text
    if r.status == "infeasible":
        share = f", {100 * (1 - (r.assigned_share or 0)):.0f}% unassigned"
        return f"infeasible{share}"
    return r.status


def _methods_present(rows: list[Row]) -> list[str]:
    present = {r.method for r in rows}
    return [m for m in ALL_METHODS if m in present]


def _seed_text(cfg: SuiteConfig) -> str:
    if cfg.repeats == 1:
        return f"Solver seed {cfg.seed}"
    last = cfg.seed + cfg.repeats - 1
    return f"Solver seeds {cfg.seed} to {last} (each method {cfg.repeats} times on each instance)"


def _repeats_table(groups: list[RunGroup]) -> list[str]:
    """Per (instance, method): its runs' objectives, gaps and wall times summed up."""
    body = [
        [
            g.first.suite,
            g.first.instance,
            g.first.method,
            str(len(g.runs)),
            str(len(g.objectives)),
            _number(statistics.fmean(g.objectives)) if g.objectives else "-",
            str(min(g.objectives)) if g.objectives else "-",
            str(max(g.objectives)) if g.objectives else "-",
            _pct(g.mean_gap),
            f"{statistics.fmean(g.wall_times):.1f}" if g.wall_times else "-",
        ]
        for g in groups
    ]
    return _table(
        [
            "suite",
            "instance",
            "method",
            "runs",
            "feasible",
            "mean objective",
            "min objective",
            "max objective",
            "mean gap",
            "mean wall s",
        ],
        body,
    )


def _run_name(r: Row, repeated: bool) -> str:
    name = f"{r.suite} {r.instance} {r.method}"
    return f"{name} seed {r.seed}" if repeated else name


def render_markdown(result: SuiteResult, checks: list[TargetCheck]) -> str:
    cfg = result.config
    repeated = cfg.repeats > 1
    started = result.started.strftime("%Y-%m-%d %H:%M UTC")
    finished = result.finished.strftime("%H:%M UTC") if result.finished else "-"
    lines = [
        f"# Benchmark results: {cfg.mode} mode, {result.started.date().isoformat()}",
        "",
        f"Run {started} to {finished}. Protocol: `benchmarks/README.md`. {_seed_text(cfg)}, "
        f"county generator seed {cfg.county_seed}, {WORKERS} workers, one run at a time, each in "
        "a fresh process (peak memory = that process's `ru_maxrss` plus its largest child's, "
        "libraries included).",
        "",
        "## Machine",
        "",
    ]
    lines += _table(["", ""], [[k, v] for k, v in machine_description().items()])
    lines += ["", "## Targets", ""]
    if repeated:
        lines += [
            "Over the runs of each method on each instance: every run feasible, the mean "
            "objective and mean gap meeting the target, every run within the time and memory "
            "limits; figures give the mean and the range.",
            "",
        ]
    lines += _table(
        ["target", "result", "figure"], [[c.target, c.result, c.figure] for c in checks]
    )
    if repeated:
        lines += [
            "",
            "## Repeated runs",
            "",
            "Each method on each instance, once per solver seed. Objectives over the feasible "
            "runs; mean gap to the best known value (GAP) or to the bound (county tiers), over "
            "the feasible runs; mean wall time over the runs that finished. Every run is in the "
            "tables below.",
            "",
        ]
        lines += _repeats_table(group_runs(result.rows))
    seed_column = ["seed"] if repeated else []

    gap = [r for r in result.rows if r.suite == "gap"]
    if gap:
        methods = _methods_present(gap)
        lines += [
            "",
            "## GAP instances",
            "",
            "Gap to the best known value, (objective - best known) / best known; `infeasible` = "
            "the method broke a hard rule (here: left an item unassigned), `no-solution` = it "
            "found nothing in time. Wall time is ours.",
            "",
        ]
        by_run: dict[tuple[str, int], dict[str, Row]] = defaultdict(dict)
        for r in gap:
            by_run[(r.instance, r.seed)][r.method] = r
        body = []
        for (inst, seed), runs in by_run.items():
            first = next(iter(runs.values()))
            ours = runs.get("ours")
            body.append(
                [
                    inst,
                    *([str(seed)] if repeated else []),
                    f"{first.n_items or '-'} x {first.n_agents or '-'}",
                    str(first.best_known),
                    f"{first.time_limit_s:g}",
                    f"{ours.wall_s:.1f}" if ours and ours.wall_s is not None else "-",
                    *[_gap_cell(runs.get(m)) for m in methods],
                ]
            )
        lines += _table(
            [
                "instance",
                *seed_column,
                "items x agents",
                "best known",
                "budget s",
                "ours wall s",
                *methods,
            ],
            body,
        )

    county = [r for r in result.rows if r.suite == "county"]
    if county:
        lines += [
            "",
            "## County tiers",
            "",
            f"Generated by `scenarios.generator.generate_county(tier, {cfg.county_seed})`, "
            "prepared once (eligibility, scoring), then every method on the same instance. Gap "
            "to bound = (objective - bound) / (objective - constant), the bound being the one "
            "ours proved and the constant the penalties of cases no lawyer can take (paid by "
            "every plan; column constant_cost of the CSV). "
            "Utilisation = (current load + added hours) / capacity, over lawyers.",
            "",
        ]
        body = [
            [
                r.instance,
                r.method,
                *([str(r.seed)] if repeated else []),
                f"{r.n_items} x {r.n_agents}, {r.n_edges} edges" if r.n_items else "-",
                f"{r.time_limit_s:g}",
                f"{r.wall_s:.1f}" if r.wall_s is not None else "-",
                r.status,
                str(r.objective) if r.objective is not None else "-",
                f"{r.bound:.0f}" if r.bound is not None else "",
                _pct(r.gap_to_bound),
                _pct(r.assigned_share),
                f"{r.utilisation_p95:.2f}" if r.utilisation_p95 is not None else "-",
                f"{r.utilisation_max:.2f}" if r.utilisation_max is not None else "-",
                f"{r.peak_mem_mb:.0f}" if r.peak_mem_mb is not None else "-",
                f"{r.prepare_s:.1f}" if r.prepare_s is not None else "-",
            ]
            for r in county
        ]
        lines += _table(
            [
                "tier",
                "method",
                *seed_column,
                "size",
                "budget s",
                "wall s",
                "status",
                "objective",
                "bound",
                "gap to bound",
                "assigned",
                "util p95",
                "util max",
                "peak MB",
                "prepare s",
            ],
            body,
        )
    noted = [r for r in result.rows if r.notes]
    if noted:
        lines += ["", "## Run notes", ""]
        lines += [f"- {_run_name(r, repeated)}: {r.notes}" for r in noted]
    if result.skipped:
        lines += ["", "## Not run", ""]
        lines += [f"- {s}" for s in result.skipped]
    return "\n".join(lines) + "\n"


def write_results(
    result: SuiteResult, checks: list[TargetCheck], out_dir: Path
) -> tuple[Path, Path]:
    """``<mode>-<date>.csv`` and ``.md``, and ``latest-<mode>.md``; returns the CSV and MD."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result.config.mode}-{result.started.date().isoformat()}"
    csv_path, md_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.md"
    write_csv(result.rows, csv_path)
    text = render_markdown(result, checks)
    md_path.write_text(text)
    (out_dir / f"latest-{result.config.mode}.md").write_text(text)
    return csv_path, md_path
