"""``assigner scenario``: run what-if scenarios, plan capacity, check scenario files.

Mounted by ``cli/main.py`` as ``app.add_typer(scenario_app, name="scenario")``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from scenarios.capacity import CapacityPlan

from scenarios.whatif.errors import ScenarioError
from scenarios.whatif.runner import KPI_FIELDS, RunProgress, ScenarioResult

scenario_app = typer.Typer(
    help="What-if scenarios: compare variants with the baseline, plan capacity.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
out = Console()

_HEADLINE = (
    "assigned_share",
    "unassigned",
    "deadline_risk",
    "utilisation_mean",
    "utilisation_p95",
    "utilisation_gini",
    "travel_km_mean",
    "subsidy_cny_total",
)


def _print_table(table: Table) -> None:
    """Tables keep their columns when written to a file or a pipe (rich assumes 80 there)."""
    (out if out.is_terminal else Console(width=160)).print(table)


def _fail_scenario(exc: ScenarioError) -> None:
    if exc.source:
        console.print(f"[red]scenario error[/] in {escape(exc.source)}:", soft_wrap=True)
    for issue in exc.issues:
        # Messages quote the file's own text (``case_types[wage_claim]``): no markup in them.
        console.print(f"  [red]-[/] {escape(str(issue))}", soft_wrap=True)
    raise typer.Exit(code=2)


_OPTION_OF = {"samples": "--samples", "time_limit_s": "--time-limit", "jobs": "--jobs"}
"""The command-line option that overrides each scenario field, to name it in errors."""


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code=2)


def _check_out_folder(folder: Path, names: tuple[str, ...]) -> None:
    """Refuse a report folder that cannot take the report before any solve (exit 2), so that
    a long run is not lost at its end."""
    from scenarios.report_folder import report_folder_error

    problem = report_folder_error(folder, names)
    if problem:
        _fail(f"--out: {problem}")


def _fail_write(folder: Path, exc: OSError) -> NoReturn:
    """A report the file system refused at the end (the folder changed during the run, a full
    disk): no file of it was replaced."""
    from scenarios.report_folder import ReportFolderError

    reason = str(exc)
    if not isinstance(exc, ReportFolderError):
        reason = exc.strerror or reason
        reason += f": {exc.filename}" if exc.filename else ""
    _fail(f"--out {folder}: the report is not written ({reason}); its files are as they were")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "scenario"


def _headline_table(result: ScenarioResult) -> Table:
    from scenarios.whatif.report import fmt_delta, fmt_spread, fmt_value

    fields = [f for f in KPI_FIELDS if f.key in _HEADLINE]
    t = Table(title=f"Scenario {result.scenario.name}: mean ± std over samples (Δ vs baseline)")
    t.add_column("KPI")
    for s in result.summaries:
        t.add_column(s.name, justify="right")
    for f in fields:
        cells = []
        for k, s in enumerate(result.summaries):
            st = s.kpis[f.key]
            text = fmt_value(f, st.mean)
            if st.n > 1:
                text += f" ± {fmt_spread(f, st.std)}"
            if k > 0:
                text += f"\n({fmt_delta(f, s.delta[f.key].mean)})"
            cells.append(text)
        t.add_row(f.label, *cells)
    return t


@scenario_app.command("run")
def run(
    file: Annotated[Path, typer.Argument(help="Scenario file (.yaml, .yml or .json).")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default: out/scenarios/<scenario name>)."),
    ] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Override the number of demand samples.")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Override seconds per solve.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="Solves side by side (worker processes).")
    ] = None,
) -> None:
    """Solve the baseline and every variant in every sample; write report.html, results.json
    and kpis.csv."""
    from scenarios.whatif.report import REPORT_FILES, write_report
    from scenarios.whatif.runner import run_scenario
    from scenarios.whatif.spec import load_scenario, with_overrides

    try:
        spec = load_scenario(file)
        update: dict[str, object] = {}
        if samples is not None:
            update["samples"] = samples
        if time_limit is not None:
            update["time_limit_s"] = time_limit
        if jobs is not None:
            update["jobs"] = jobs
        if update:
            spec = with_overrides(spec, update, _OPTION_OF)
        target = out_dir or Path("out") / "scenarios" / _slug(spec.name)
        _check_out_folder(target, REPORT_FILES)
        n_solves = spec.samples * (1 + len(spec.variants))
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("solves"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"{spec.name}: loading baseline", total=n_solves)

            def on_progress(p: RunProgress) -> None:
                bar.update(
                    task,
                    completed=p.done,
                    description=f"{spec.name}: {p.variant} sample {p.sample + 1}",
                )

            result = run_scenario(spec, progress=on_progress)
            bar.update(task, description=f"{spec.name}: done")
    except ScenarioError as exc:
        _fail_scenario(exc)
        return
    try:
        files = write_report(result, target)
    except OSError as exc:  # the write only: an error of the solves is not the report's
        _fail_write(target, exc)
    _print_table(_headline_table(result))
    console.print(f"report: {files.report_html}")
    console.print(f"numbers: {files.results_json}, {files.kpis_csv}")


@scenario_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario file (.yaml, .yml or .json).")],
) -> None:
    """Check a scenario file and its changes against its baseline, without solving."""
    from scenarios.whatif.runner import prepare_run
    from scenarios.whatif.spec import load_scenario

    try:
        spec = load_scenario(file)
        problem, _facts = prepare_run(spec)
    except ScenarioError as exc:
        _fail_scenario(exc)
        return
    out.print(
        f"[green]ok[/] {file}: {len(spec.variants)} variant(s) x {spec.samples} sample(s) on "
        f"{problem.name} ({len(problem.lawyers)} lawyers, {len(problem.cases)} cases)"
    )


@scenario_app.command("capacity")
def capacity(
    file: Annotated[Path, typer.Argument(help="Scenario file (.yaml, .yml or .json).")],
    variant: Annotated[
        str | None,
        typer.Option(help="Plan for this variant's demand and roster (default: the baseline)."),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Override seconds per solve.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write capacity.json and capacity.csv.")
    ] = None,
) -> None:
    """The fewest extra providers, by practice area, kind and township, so that every case is
    covered within policy; verified by solving with the hires added."""
    from scenarios.capacity import CAPACITY_FILES, plan_capacity, write_capacity
    from scenarios.whatif.changes import build_problem
    from scenarios.whatif.runner import prepare_run, search_params
    from scenarios.whatif.spec import BASELINE_NAME, load_scenario, with_overrides

    try:
        spec = load_scenario(file)
        if time_limit is not None:
            spec = with_overrides(spec, {"time_limit_s": time_limit}, _OPTION_OF)
        if out_dir is not None:
            _check_out_folder(out_dir, CAPACITY_FILES)
        chosen = None
        if variant is not None:
            try:
                chosen = spec.variant(variant)
            except KeyError as exc:
                console.print(f"[red]error:[/] {escape(exc.args[0])}", soft_wrap=True)
                raise typer.Exit(code=2) from exc
        baseline, facts = prepare_run(spec)
        problem, _notes = build_problem(spec, baseline, facts, chosen, 0, noise=False)
        with console.status(f"planning capacity for {variant or BASELINE_NAME} ..."):
            result = plan_capacity(
                problem,
                spec.capacity_planning,
                search_params(spec, 0),
                variant or BASELINE_NAME,
                facts,
            )
    except ScenarioError as exc:
        _fail_scenario(exc)
        return

    out.print(
        f"[bold]{result.problem_name}[/]: {result.cases} cases; assigned before "
        f"{result.assigned_before} ({result.share_before:.1%}), after the hires "
        f"{result.assigned_after} ({result.share_after:.1%})"
    )
    if result.lines:
        _print_table(_hires_table(result))
    elif not result.still_unassigned:
        out.print("[green]No extra providers needed[/]: every case is covered.")
    else:
        out.print(
            "No hire helps the cases left unassigned"
            + (" (see the notes)." if result.notes else ".")
        )
    if result.not_coverable:
        shown = ", ".join(result.not_coverable[:10])
        out.print(
            f"[yellow]{len(result.not_coverable)} cases no hire may take[/] (no hire type has "
            f"their practice area, provider kind, hours, reach or qualification): {shown}"
        )
    if result.still_unassigned:
        out.print(f"[yellow]still unassigned after the hires[/]: {len(result.still_unassigned)}")
    for note in result.notes:
        out.print(f"note: {note}")
    if out_dir is not None:
        try:
            paths = write_capacity(result, out_dir)
        except OSError as exc:
            _fail_write(out_dir, exc)
        console.print(f"written: {', '.join(str(p) for p in paths)}")


def _hires_table(result: CapacityPlan) -> Table:
    total = f"{result.total_hires} hires, {result.total_cost_cny:,.0f} CNY a year"
    t = Table(title=f"Recommended hires: {total}", box=box.SIMPLE_HEAD)
    for col in ("practice area", "kind", "township"):
        t.add_column(col, no_wrap=True)
    t.add_column("hires", justify="right")
    t.add_column("h/yr each", justify="right")
    t.add_column("qualification")
    t.add_column("planned", justify="right")
    t.add_column("taken", justify="right")
    t.add_column("CNY/yr each", justify="right")
    t.add_column("CNY/yr", justify="right")
    for line in result.lines:
        qual = f"{line.years:g} yrs"
        if line.certifications:
            qual += ", " + ", ".join(line.certifications)
        t.add_row(
            line.practice_area,
            line.provider_kind,
            line.township,
            str(line.hires),
            f"{line.capacity_hours_each:,.0f}",
            qual,
            str(line.planned_cases),
            str(line.assigned_cases),
            f"{line.cost_cny_each:,.0f}",
            f"{line.cost_cny_total:,.0f}",
        )
    return t
