"""``python -m benchmarks run [--quick] ...``: the command line of the benchmark suite."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks.gap_instances import GapDataMissing
from benchmarks.report import MET, check_targets, write_results
from benchmarks.suite import PARTS, Row, SuiteConfig, planned_runs, run_suite

app = typer.Typer(add_completion=False, help="Benchmarks of the lawyer-assignment engine.")


@app.callback()
def _root() -> None:
    """Benchmarks: GAP instances and county tiers, the engine against its peers."""


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _describe(row: Row) -> str:
    if row.status != "ok":
        return f"[red]{row.status}[/red] {row.notes[:80]}"
    gap = row.gap_to_best_known if row.suite == "gap" else row.gap_to_bound
    gap_txt = f", gap {100 * gap:.2f}%" if gap is not None else ""
    return f"objective {row.objective}{gap_txt}, {row.wall_s:.1f} s, {row.peak_mem_mb:.0f} MB"


@app.command()
def run(
    quick: Annotated[bool, typer.Option("--quick", help="A few instances at 5 s.")] = False,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds per run, overriding the protocol.")
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help="gap = ours on GAP; county = ours on the county tiers; peers = the peers only.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Results folder.")] = Path(
        "benchmarks/results"
    ),
    gap_dir: Annotated[
        Path | None,
        typer.Option(
            "--gap-dir",
            help="GAP data folder (default $ASSIGNER_GAP_DIR or <repo>/../shared/data/gap).",
        ),
    ] = None,
    instances: Annotated[
        str | None,
        typer.Option("--instances", help="Comma-separated GAP names and county tiers to run."),
    ] = None,
    methods: Annotated[
        str | None, typer.Option("--methods", help="Comma-separated methods (default all).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Solver seed (of the first run).")] = 0,
    repeats: Annotated[
        int,
        typer.Option(
            "--repeats",
            min=1,
            help="Runs of each method on each instance, with solver seeds SEED, SEED + 1, ... "
            "(the county tiers are generated once).",
        ),
    ] = 1,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Run everything in this process (tests, debugging): peak memory is then the "
            "whole suite's, not the run's.",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the suite and write CSV and Markdown results."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    console = Console()
    if only is not None and only not in PARTS:
        raise typer.BadParameter(f"expected one of {', '.join(PARTS)}", param_hint="--only")
    config = SuiteConfig(
        quick=quick,
        time_limit_s=time_limit,
        only=only,
        out_dir=out,
        gap_dir=gap_dir,
        instances=_split(instances),
        methods=_split(methods),
        seed=seed,
        repeats=repeats,
        isolate=not in_process,
    )
    try:
        total = planned_runs(config)
    except (GapDataMissing, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("starting", total=total or None)

        def on_run(label: str, row: Row | None) -> None:
            if row is None:
                progress.update(task, description=label)
                return
            progress.console.print(f"{label}: {_describe(row)}")
            progress.advance(task)

        result = run_suite(config, on_run)

    checks = check_targets(result)
    csv_path, md_path = write_results(result, checks, out)
    table = Table(title="Targets")
    for col in ("target", "result", "figure"):
        table.add_column(col, overflow="fold")
    for c in checks:
        style = "green" if c.result.startswith(MET) else "yellow"
        table.add_row(c.target, f"[{style}]{c.result}[/{style}]", c.figure)
    console.print(table)
    for s in result.skipped:
        console.print(f"[yellow]not run:[/yellow] {s}")
    console.print(f"wrote {csv_path} and {md_path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
