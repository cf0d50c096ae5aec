"""Targets (met / missed, with the figure) and the CSV and Markdown result files."""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.suite import (
    ALL_METHODS,
    COLUMNS,
    HARD_GAP_FAMILIES,
    TIME_SLACK,
    WORKERS,
    Row,
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
    failed = [r for r in ours if not r.feasible]
    gaps = [r.gap_to_best_known for r in ours if r.gap_to_best_known is not None]
    note = _budget_note(ours, GAP_TARGET_S)
    if failed:
        names = ", ".join(f"{r.instance} ({r.status})" for r in failed)
        return TargetCheck(target, MISSED + note, f"no feasible answer on {names}")
    mean = statistics.fmean(gaps)
    worst = max(ours, key=lambda r: r.gap_to_best_known or 0.0)
    by_type = ", ".join(
        f"{fam.upper()} {_pct(statistics.fmean(g))}"
        for fam in HARD_GAP_FAMILIES
        if (g := [r.gap_to_best_known or 0.0 for r in ours if r.family == fam])
    )
    figure = (
        f"mean {_pct(mean)} over {len(gaps)} instances ({by_type}); "
        f"worst {worst.instance} {_pct(worst.gap_to_best_known)}"
    )
    return TargetCheck(target, (MET if mean <= 0.005 else MISSED) + note, figure)


def check_gap_optimal(rows: list[Row]) -> TargetCheck:
    """gap1-12 have proven optima, equal to their best known values."""
    target = "gap1-12: every instance solved to the optimum"
    ours = [r for r in _ours(rows) if r.suite == "gap" and r.family == "gap"]
    if not ours:
        return TargetCheck(target, NOT_MEASURED, "no gap1-12 instance run")
    misses = [
        r for r in ours if not r.feasible or r.objective is None or r.objective != r.best_known
    ]
    figure = f"{len(ours) - len(misses)}/{len(ours)} optimal"
    if misses:
        figure += "; off: " + ", ".join(
            f"{r.instance} {_pct(r.gap_to_best_known) if r.feasible else r.status}" for r in misses
        )
    proven = sum(1 for r in ours if r.proven_optimal)
    figure += f"; {proven} proven optimal by the search itself"
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
    r = ours[0]
    note = _budget_note(ours, t.max_wall_s)
    if not r.feasible:
        return TargetCheck(target, MISSED + note, f"{r.status}: {r.notes}")
    gap = r.gap_to_bound if r.gap_to_bound is not None else math.inf
    quality = gap <= t.max_gap + 1e-12 or (t.optimal_suffices and bool(r.proven_optimal))
    in_time = r.wall_s is not None and r.wall_s <= t.max_wall_s * TIME_SLACK
    peak = max(r.peak_mem_mb or 0.0, r.prepare_peak_mem_mb or 0.0)
    mem_ok = t.max_peak_mb is None or peak <= t.max_peak_mb
    figure = (
        f"gap to bound {_pct(gap)}{' (proven optimal)' if r.proven_optimal else ''}, "
        f"{r.wall_s:.1f} s, peak {peak:.0f} MB"
    )
    return TargetCheck(target, (MET if quality and in_time and mem_ok else MISSED) + note, figure)


def check_beats_peers(rows: list[Row]) -> list[TargetCheck]:
    """Per GAP type and per county tier: ours at most every feasible peer's objective."""
    checks: list[TargetCheck] = []
    groups: dict[tuple[str, str], dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[(r.suite, r.family)][r.instance].append(r)
    for (suite, family), by_instance in sorted(groups.items()):
        label = f"GAP type {family}" if suite == "gap" else f"county {family}"
        target = f"{label}: ours better than every peer on objective at the same budget"
        losses: list[str] = []
        compared = 0
        for instance, runs in by_instance.items():
            ours = [r for r in runs if r.method == "ours"]
            ran = [r for r in runs if r.method != "ours"]
            if not ours or not ran:
                continue
            compared += 1
            o = ours[0]
            peers = [r for r in ran if r.feasible and r.objective is not None]
            if not peers:
                if not o.feasible:
                    losses.append(f"{instance}: ours {o.status}, as every peer")
                continue
            best_peer = min(peers, key=lambda r: r.objective or 0)
            if not o.feasible or o.objective is None:
                losses.append(
                    f"{instance}: ours {o.status}, {best_peer.method} {best_peer.objective}"
                )
            elif best_peer.objective is not None and best_peer.objective < o.objective:
                losses.append(
                    f"{instance}: {best_peer.method} {best_peer.objective} < ours {o.objective}"
                )
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


def render_markdown(result: SuiteResult, checks: list[TargetCheck]) -> str:
    cfg = result.config
    started = result.started.strftime("%Y-%m-%d %H:%M UTC")
    finished = result.finished.strftime("%H:%M UTC") if result.finished else "-"
    lines = [
        f"# Benchmark results: {cfg.mode} mode, {result.started.date().isoformat()}",
        "",
        f"Run {started} to {finished}. Protocol: `benchmarks/README.md`. Solver seed {cfg.seed}, "
        f"county generator seed {cfg.county_seed}, {WORKERS} workers, one run at a time, each in "
        "a fresh process (peak memory = that process's `ru_maxrss` plus its largest child's, "
        "libraries included).",
        "",
        "## Machine",
        "",
    ]
    lines += _table(["", ""], [[k, v] for k, v in machine_description().items()])
    lines += ["", "## Targets", ""]
    lines += _table(
        ["target", "result", "figure"], [[c.target, c.result, c.figure] for c in checks]
    )

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
        by_inst: dict[str, dict[str, Row]] = defaultdict(dict)
        for r in gap:
            by_inst[r.instance][r.method] = r
        body = []
        for inst, runs in by_inst.items():
            first = next(iter(runs.values()))
            ours = runs.get("ours")
            body.append(
                [
                    inst,
                    f"{first.n_items or '-'} x {first.n_agents or '-'}",
                    str(first.best_known),
                    f"{first.time_limit_s:g}",
                    f"{ours.wall_s:.1f}" if ours and ours.wall_s is not None else "-",
                    *[_gap_cell(runs.get(m)) for m in methods],
                ]
            )
        lines += _table(
            ["instance", "items x agents", "best known", "budget s", "ours wall s", *methods], body
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
        lines += [f"- {r.suite} {r.instance} {r.method}: {r.notes}" for r in noted]
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
