"""The `assigner` command: solve, explain, verify, demo, schema, serve, keys, scenario,
rebalance."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.cli import db_app, keys_app, serve_app
from assigner.domain import InputError, Plan, Problem, load_problem, validate_problem
from assigner.domain.arrays import ProblemArrays, build_arrays
from assigner.domain.loading import unreadable
from assigner.engine import prepare_arrays, solve_problem
from assigner.explain.explain import explain_case
from assigner.explain.plan_match import plan_mismatches
from assigner.search.cpsat import MAX_SEED, MAX_WORKERS, Progress, SearchParams
from assigner.search.solve import relative_gap
from assigner.verify import PlanViolation, VerificationReport, verify_plan
from cli.atomic_write import write_text_atomic
from cli.inputs import (
    exit_on_input_error,
    output_path_error,
    time_limit_option,
    validation_errors,
)
from cli.live_view import LiveView
from cli.rebalance import rebalance_app
from scenarios.whatif.baseline import set_snapshot_loader
from scenarios.whatif.cli import scenario_app

app = typer.Typer(
    help="Legal aid assignment: qualified, conflict-free, nearby, not overloaded.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(scenario_app, name="scenario", help="What-if scenarios and capacity planning.")
app.add_typer(serve_app, name="serve")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(rebalance_app, name="rebalance")
console = Console(stderr=True)
out = Console()


def _database_snapshot(url: str) -> Problem:
    from api.state_export import snapshot_from_url

    return snapshot_from_url(url)


@app.callback()
def _register_snapshot_loader() -> None:
    """Legal aid assignment: qualified, conflict-free, nearby, not overloaded."""
    # Scenario baselines `database_url: sqlite:///...` read the service's database through
    # its exporter (``scenarios`` does not import the service).
    set_snapshot_loader(_database_snapshot)


LOGGED_PROGRESS_EVERY_S = 5.0
"""Where stderr is a file or a pipe: at most one progress line per this many seconds."""


def progress_line(p: Progress) -> str:
    """The best objective, the bound and the gap as the plan computes it (``relative_gap``,
    without the cost every plan pays)."""
    gap = relative_gap(p.objective, p.bound, p.constant_points)
    return (
        f"{p.phase:<18} objective {p.objective:>14,}  bound {p.bound:>16,.0f}  "
        f"gap {gap:7.3%}  {p.wall_time_s:6.2f} s"
    )


class _ProgressView(LiveView):
    """The search's progress while it runs: in a terminal one line redrawn in place; in a file,
    a pipe or a dumb terminal a whole line (ended by a newline) every
    ``LOGGED_PROGRESS_EVERY_S`` seconds and the last one at the end, so that the next message
    starts on its own line."""

    def __init__(self) -> None:
        super().__init__(console, refresh_per_second=8, transient=False)
        self.rows: list[Progress] = []
        self._logged: Progress | None = None
        self._logged_at = 0.0

    def finish(self) -> None:
        if self.rows and self.rows[-1] is not self._logged:
            self._log(self.rows[-1])

    def _log(self, p: Progress) -> None:
        console.print(progress_line(p), markup=False, highlight=False, soft_wrap=True)
        self._logged = p
        self._logged_at = time.monotonic()

    def __call__(self, p: Progress) -> None:
        self.rows.append(p)
        if self.live is not None:
            self.live.update(escape(progress_line(p)))
        elif self._logged is None or time.monotonic() - self._logged_at >= LOGGED_PROGRESS_EVERY_S:
            self._log(p)


def _solve(problem: Problem, params: SearchParams) -> Plan:
    with _ProgressView() as view:
        plan = solve_problem(problem, params, progress=view)
    return plan


def _summary(plan: Plan) -> None:
    s, k = plan.solver, plan.kpis
    t = Table(title=f"Plan for {plan.problem_name}", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("status", f"{s.status.value} ({s.method})")
    t.add_row("objective (points)", f"{s.objective_points:,}")
    t.add_row("lower bound (points)", f"{s.best_bound_points:,.0f}")
    t.add_row("gap", f"{s.gap:.4%}")
    t.add_row("time", f"{s.wall_time_s:.2f} s of {s.time_limit_s:g} s, {s.workers} workers")
    t.add_row("candidate edges", f"{s.edges:,}")
    t.add_row("cases assigned", f"{k.assigned:,} / {k.cases:,} ({k.assigned_share:.1%})")
    t.add_row("  of cases with an eligible lawyer", f"{k.assigned_share_of_eligible:.1%}")
    t.add_row("deadline risk (unassigned, <= 24 h)", f"{k.deadline_risk}")
    t.add_row(
        "utilisation mean / p95 / max",
        f"{k.utilisation_mean:.1%} / {k.utilisation_p95:.1%} / {k.utilisation_max:.1%}",
    )
    t.add_row("utilisation Gini", f"{k.utilisation_gini:.3f}")
    t.add_row("travel total / mean", f"{k.travel_km_total:,.1f} km / {k.travel_km_mean:.1f} km")
    t.add_row("subsidy cost", f"{k.subsidy_cny_total:,.0f} CNY")
    t.add_row("quota deficit", f"{k.quota_deficit_cases} cases, {k.lawyers_below_quota} lawyers")
    t.add_row("moves", f"{k.moves}")
    verified = plan.verification is not None and plan.verification.passed
    n_checks = len(plan.verification.checks) if plan.verification else 0
    t.add_row("verified", f"yes ({n_checks} checks)" if verified else "NO")
    out.print(t)

    g = Table(title="Assigned share by priority group")
    for col in ("group", "cases", "assigned", "share"):
        g.add_column(col, justify="right" if col != "group" else "left")
    for name, share in k.by_priority_group.items():
        g.add_row(name, str(share.cases), str(share.assigned), f"{share.share:.1%}")
    out.print(g)

    if plan.unassigned:
        u = Table(title=f"Unassigned cases ({len(plan.unassigned)}, first 10)")
        for col in ("case", "reason", "eligible", "excluded by (lawyers per rule)"):
            u.add_column(col)
        for item in plan.unassigned[:10]:
            rules = ", ".join(f"{r} {n}" for r, n in sorted(item.excluded_by.items()))
            u.add_row(item.case_id, item.reason.value, str(item.eligible_lawyers), rules)
        out.print(u)


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code=2)


SEED_HELP = f"Random seed, 0 to {MAX_SEED}."


@app.command()
def solve(
    problem_path: Annotated[
        Path, typer.Argument(help="Problem JSON file.", exists=True, dir_okay=False)
    ],
    time_limit: Annotated[float, time_limit_option("Wall-clock seconds.", 0.1)] = 10.0,
    seed: Annotated[int, typer.Option(help=SEED_HELP, min=0, max=MAX_SEED)] = 0,
    workers: Annotated[int, typer.Option(help="Solver threads.", min=1, max=MAX_WORKERS)] = 2,
    deterministic: Annotated[
        bool, typer.Option(help="Same input and seed give the same plan (deterministic budget).")
    ] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Plan JSON file.")] = None,
) -> None:
    """Solve a Problem file and print the verified plan's summary."""
    if output is not None and (why := output_path_error(output, "-o", [problem_path])) is not None:
        _fail(why)
    try:
        problem = load_problem(problem_path)
        params = SearchParams(time_limit, workers, seed, deterministic)
        plan = _solve(problem, params)
    except InputError as exc:
        exit_on_input_error(console, exc, 2)
    except PlanViolation as exc:
        _fail(f"the plan failed verification and was not written: {exc}")
    _summary(plan)
    if output is not None:
        _write_plan(plan, output)


def _write_plan(plan: Plan, path: Path) -> None:
    try:
        write_text_atomic(path, plan.model_dump_json(indent=1))
    except OSError as exc:
        _fail(f"the plan could not be written to {path}: {exc.strerror or exc}")
    console.print(f"plan written to {escape(str(path))}")


def _read_plan(path: Path) -> Plan:
    """The Plan in ``path``, or exit 2 naming the file and what is wrong with it."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{path}: {unreadable(exc, 'Plan')}")
    except json.JSONDecodeError as exc:
        _fail(f"{path}: not valid JSON: {exc}")
    if isinstance(data, dict) and "cases" in data and "lawyers" in data:
        _fail(
            f"{path} is a Problem, not a Plan: give the plan written by `assigner solve -o` "
            "(and the problem with --problem)"
        )
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        _fail(f"{path} is not a Plan document: {validation_errors(exc, 'plan')}")


# The plan and its problem, as explain and verify take them.
PlanArgument = Annotated[
    Path, typer.Argument(help="Plan JSON written by `solve`.", exists=True, dir_okay=False)
]
ProblemOption = Annotated[
    Path | None,
    typer.Option(
        "--problem",
        help="Problem JSON the plan was made from (default: beside the plan, *.problem.json).",
        exists=True,
        dir_okay=False,
    ),
]


@app.command()
def explain(
    plan_path: PlanArgument,
    case_id: Annotated[str, typer.Argument(help="Case to explain.")],
    problem_path: ProblemOption = None,
    lawyer: Annotated[str | None, typer.Option("--lawyer", help="Why not this lawyer?")] = None,
    top: Annotated[int, typer.Option(help="Alternatives to list.", min=1)] = 5,
) -> None:
    """Why this lawyer for CASE_ID; with --lawyer, why not that one.  A plan that breaks a
    rule (one edited by hand, say) is still explained, under a warning listing what it breaks."""
    plan, arrays = _plan_and_problem(plan_path, problem_path)
    report = verify_plan(arrays.problem, plan)
    if not report.passed:
        _warn_unverified(report, case_id)
    try:
        prepared = prepare_arrays(arrays)
    except InputError as exc:
        exit_on_input_error(console, exc, 2)
    try:
        exp = explain_case(prepared, plan, case_id, lawyer, top_k=top)
    except KeyError as exc:
        _fail(str(exc.args[0]))
    if exp.chosen is not None:
        out.print(
            f"[bold]{case_id}[/] -> [bold green]{exp.chosen.lawyer_id}[/] "
            f"({exp.chosen.cost_points:,} points, {exp.chosen.travel_km:.1f} km)"
        )
        t = Table(title="Score breakdown (points; lower is better)")
        t.add_column("term")
        t.add_column("points", justify="right")
        for term, pts in exp.chosen.terms.items():
            t.add_row(term, f"{pts:,}")
        out.print(t)
    else:
        out.print(f"[bold]{case_id}[/] is unassigned: {exp.unassigned_reason}")
    if exp.alternatives:
        t = Table(title="Other eligible lawyers (cheapest first)")
        for col in ("lawyer", "points", "travel km", "largest terms"):
            t.add_column(col)
        for o in exp.alternatives:
            top_terms = sorted(o.terms.items(), key=lambda kv: -kv[1])[:3]
            t.add_row(
                o.lawyer_id,
                f"{o.cost_points:,}",
                f"{o.travel_km:.1f}",
                ", ".join(f"{k} {v}" for k, v in top_terms),
            )
        out.print(t)
    if exp.why_not is not None:
        w = exp.why_not
        head = "eligible" if w.eligible else "not eligible"
        out.print(f"[bold]Why not {w.lawyer_id}[/] ({head}):")
        for r in w.reasons:
            out.print(f"  - {r}")


EXIT_FAILS_VERIFICATION = 3
"""`assigner verify`: the plan breaks at least one rule (2 stays "bad input")."""

VIOLATIONS_SHOWN_BY_EXPLAIN = 10


def _plan_and_problem(plan_path: Path, problem_path: Path | None) -> tuple[Plan, ProblemArrays]:
    """The plan and the problem it was made from (``problem_path``, or the one beside the
    plan), checked and in arrays (what the verifier reads; explain prepares the rest), or exit
    2 when either cannot be read or the plan was made from another problem."""
    plan = _read_plan(plan_path)
    src = problem_path or _problem_beside(plan_path)
    try:
        problem = load_problem(src)
        validate_problem(problem)
    except InputError as exc:
        exit_on_input_error(console, exc, 2)
    arrays = build_arrays(problem)
    mismatches = plan_mismatches(arrays, plan)
    if mismatches:
        _fail(f"{plan_path} was not made from {src}: " + "; ".join(mismatches))
    return plan, arrays


def _warn_unverified(report: VerificationReport, case_id: str) -> None:
    """The warning above an explanation of a plan that breaks rules: the violations, the
    explained case's first."""
    violations = sorted(report.violations, key=lambda v: v.case_id != case_id)
    n = len(violations)
    out.print(
        f"[bold red]WARNING: this plan FAILS verification ({n} violation{'s' * (n != 1)}); "
        "do not act on it as it is:[/]",
        soft_wrap=True,
    )
    for v in violations[:VIOLATIONS_SHOWN_BY_EXPLAIN]:
        out.print(f"  - {escape(str(v))}", soft_wrap=True)
    if n > VIOLATIONS_SHOWN_BY_EXPLAIN:
        out.print(
            f"  ... and {n - VIOLATIONS_SHOWN_BY_EXPLAIN} more (`assigner verify` lists them all)"
        )


@app.command()
def verify(
    plan_path: PlanArgument,
    problem_path: ProblemOption = None,
) -> None:
    """Re-check a plan against its problem with the independent verifier: every hard rule,
    per-lawyer sum, KPI and objective figure.  Exit 0 when it passes, 3 when it breaks any
    (each violation listed with its rule, case and lawyer), 2 on bad input."""
    plan, arrays = _plan_and_problem(plan_path, problem_path)
    report = verify_plan(arrays.problem, plan)
    n_checks = len(report.checks)
    if report.passed:
        out.print(f"{plan_path}: passes verification ({n_checks} checks)", soft_wrap=True)
        return
    n = len(report.violations)
    out.print(
        f"[bold red]{escape(str(plan_path))}: FAILS verification[/]: {n} "
        f"violation{'s' * (n != 1)}, {len(report.rules_broken)} of {n_checks} checks failed:",
        soft_wrap=True,
    )
    for v in report.violations:
        out.print(f"  - {escape(str(v))}", soft_wrap=True)
    raise typer.Exit(code=EXIT_FAILS_VERIFICATION)


def _problem_beside(plan_path: Path) -> Path:
    name = plan_path.name.removesuffix(".json").removesuffix(".plan")
    candidate = plan_path.with_name(f"{name}.problem.json")
    if not candidate.exists():
        _fail(f"no --problem given and {candidate} does not exist")
    return candidate


@app.command()
def demo(
    tier: Annotated[str, typer.Option(help="Generated county tier.")] = "demo",
    seed: Annotated[
        int, typer.Option(help=f"Generator and solver seed, 0 to {MAX_SEED}.", min=0, max=MAX_SEED)
    ] = 7,
    time_limit: Annotated[float, time_limit_option("Wall-clock seconds.", 0.1)] = 5.0,
    out_dir: Annotated[Path, typer.Option(help="Where to write problem and plan.")] = Path("out"),
) -> None:
    """Generate a demo county, solve it, verify the plan and print the summary."""
    from scenarios.generator import generate_county
    from scenarios.tiers import UnknownTierError

    if out_dir.exists() and not out_dir.is_dir():
        _fail(f"--out-dir {out_dir} is a file, not a folder")
    try:
        problem = generate_county(tier, seed)
    except UnknownTierError as exc:
        _fail(f"--tier: {exc}")
    problem_path = out_dir / f"{tier}.problem.json"
    plan_path = out_dir / f"{tier}.plan.json"
    for path in (problem_path, plan_path):
        if out_dir.is_dir() and (why := output_path_error(path, "--out-dir")) is not None:
            _fail(why)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(problem_path, problem.model_dump_json())
    except OSError as exc:
        _fail(f"--out-dir {out_dir}: cannot write there: {exc.strerror or exc}")
    console.print(
        f"generated {tier}: {len(problem.lawyers)} lawyers, {len(problem.cases)} cases "
        f"-> {problem_path}"
    )
    plan = _solve(problem, SearchParams(time_limit, 2, seed, False))
    _summary(plan)
    _write_plan(plan, plan_path)
    first = plan.assignments[0].case_id if plan.assignments else None
    if first:
        console.print(f"try: assigner explain {plan_path} {first}")


@app.command()
def schema(
    document: Annotated[str, typer.Argument(help="problem or plan")],
) -> None:
    """Print the JSON Schema of the Problem or the Plan document."""
    models: dict[str, type[BaseModel]] = {"problem": Problem, "plan": Plan}
    if document not in models:
        _fail(f"unknown document {document!r}; choose from {', '.join(models)}")
    out.print_json(json.dumps(models[document].model_json_schema()))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
