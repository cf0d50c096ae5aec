"""The `assigner` command: solve, explain, demo, schema, serve, keys, scenario, rebalance."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.live import Live
from rich.table import Table

from api.cli import keys_app, serve_app
from assigner.domain import InputError, Plan, Problem, load_problem
from assigner.engine import prepare, solve_problem
from assigner.explain.explain import explain_case
from assigner.search.cpsat import Progress, SearchParams
from assigner.verify import PlanViolation
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


class _ProgressView:
    """Live line with the best objective, the bound and the gap while the solver works."""

    def __init__(self) -> None:
        self.live = Live(console=console, refresh_per_second=8, transient=False)
        self.rows: list[Progress] = []

    def __call__(self, p: Progress) -> None:
        self.rows.append(p)
        gap = (p.objective - p.bound) / max(1.0, abs(p.objective))
        self.live.update(
            f"[bold]{p.phase:<18}[/] objective {p.objective:>14,}  bound {p.bound:>16,.0f}  "
            f"gap {gap:7.3%}  {p.wall_time_s:6.2f} s"
        )


def _solve(problem: Problem, params: SearchParams) -> Plan:
    view = _ProgressView()
    with view.live:
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


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(code=2)


@app.command()
def solve(
    problem_path: Annotated[Path, typer.Argument(help="Problem JSON file.", exists=True)],
    time_limit: Annotated[float, typer.Option(help="Wall-clock seconds.", min=0.1)] = 10.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Solver threads.", min=1)] = 2,
    deterministic: Annotated[
        bool, typer.Option(help="Same input and seed give the same plan (deterministic budget).")
    ] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Plan JSON file.")] = None,
) -> None:
    """Solve a Problem file and print the verified plan's summary."""
    try:
        problem = load_problem(problem_path)
        params = SearchParams(time_limit, workers, seed, deterministic)
        plan = _solve(problem, params)
    except InputError as exc:
        for issue in exc.issues:
            console.print(f"[red]input error:[/] {issue}")
        raise typer.Exit(code=2) from exc
    except PlanViolation as exc:
        _fail(f"the plan failed verification and was not written: {exc}")
        return
    _summary(plan)
    if output is not None:
        output.write_text(plan.model_dump_json(indent=1), encoding="utf-8")
        console.print(f"plan written to {output}")


@app.command()
def explain(
    plan_path: Annotated[Path, typer.Argument(help="Plan JSON written by `solve`.", exists=True)],
    case_id: Annotated[str, typer.Argument(help="Case to explain.")],
    problem_path: Annotated[
        Path | None,
        typer.Option("--problem", help="Problem JSON (default: beside the plan, *.problem.json)."),
    ] = None,
    lawyer: Annotated[str | None, typer.Option("--lawyer", help="Why not this lawyer?")] = None,
    top: Annotated[int, typer.Option(help="Alternatives to list.")] = 5,
) -> None:
    """Why this lawyer for CASE_ID; with --lawyer, why not that one."""
    plan = Plan.model_validate_json(plan_path.read_text(encoding="utf-8"))
    src = problem_path or _problem_beside(plan_path)
    try:
        problem = load_problem(src)
        exp = explain_case(prepare(problem), plan, case_id, lawyer, top_k=top)
    except InputError as exc:
        _fail(str(exc))
        return
    except KeyError as exc:
        _fail(str(exc.args[0]))
        return
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


def _problem_beside(plan_path: Path) -> Path:
    name = plan_path.name.removesuffix(".json").removesuffix(".plan")
    candidate = plan_path.with_name(f"{name}.problem.json")
    if not candidate.exists():
        _fail(f"no --problem given and {candidate} does not exist")
    return candidate


@app.command()
def demo(
    tier: Annotated[str, typer.Option(help="Generated county tier.")] = "demo",
    seed: Annotated[int, typer.Option(help="Generator and solver seed.")] = 7,
    time_limit: Annotated[float, typer.Option(help="Wall-clock seconds.", min=0.1)] = 5.0,
    out_dir: Annotated[Path, typer.Option(help="Where to write problem and plan.")] = Path("out"),
) -> None:
    """Generate a demo county, solve it, verify the plan and print the summary."""
    from scenarios.generator import generate_county

    problem = generate_county(tier, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    problem_path = out_dir / f"{tier}.problem.json"
    problem_path.write_text(problem.model_dump_json(), encoding="utf-8")
    console.print(
        f"generated {tier}: {len(problem.lawyers)} lawyers, {len(problem.cases)} cases "
        f"-> {problem_path}"
    )
    plan = _solve(problem, SearchParams(time_limit, 2, seed, False))
    _summary(plan)
    plan_path = out_dir / f"{tier}.plan.json"
    plan_path.write_text(plan.model_dump_json(indent=1), encoding="utf-8")
    first = plan.assignments[0].case_id if plan.assignments else None
    console.print(f"plan written to {plan_path}")
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
