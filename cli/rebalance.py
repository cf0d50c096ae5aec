"""``assigner rebalance``: the nightly plan of moves, its review summary, applying it.

Mounted by ``cli/main.py`` as ``app.add_typer(rebalance_app, name="rebalance")``.

    assigner rebalance --problem STATE.json [--max-moves N] [--max-moves-per-lawyer K]
                       [--time-limit S] [--seed N] [--out PLAN.json] [--apply [--applied OUT.json]]
    assigner rebalance --db URL [--max-moves N] [--apply] ...   (the service's database: the
        plan is kept there as a rebalance job pending review, or applied at once with --apply)
    assigner rebalance apply PLAN.json --problem STATE.json [--applied OUT.json]
    assigner rebalance schema

Exit codes: 0 done; 2 bad input, a budget the hard rules already exceed, or pinned / started
cases that break a rule together; 3 the state changed since the plan was made (the API's 409).
"""

from __future__ import annotations

import getpass
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.auth import Principal, Role
from assigner.domain import InputError, Problem, load_problem
from assigner.domain.loading import unreadable
from assigner.rebalance import (
    BudgetTooSmall,
    RebalanceInfeasible,
    RebalancePlan,
    StateChanged,
    apply_to_problem,
    default_move_budget,
    rebalance,
)
from assigner.rebalance.budget import MAX_MOVES
from assigner.search.cpsat import MAX_SEED, MAX_WORKERS, Progress, SearchParams
from assigner.search.solve import relative_gap
from assigner.verify import PlanViolation
from cli.atomic_write import write_text_atomic
from cli.inputs import (
    exit_on_input_error,
    output_path_error,
    same_outputs_error,
    time_limit_option,
    validation_errors,
)
from cli.live_view import LiveView

log = logging.getLogger(__name__)

EXIT_INPUT = 2
EXIT_STATE_CHANGED = 3

rebalance_app = typer.Typer(
    help="Rebalance the open caseload: assign the backlog, relieve overload, within a move "
    "budget; review, then apply.",
    add_completion=False,
)
console = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code=code)


def _load(path: Path) -> Problem:
    try:
        return load_problem(path)
    except InputError as exc:
        exit_on_input_error(console, exc, EXIT_INPUT)


def _write(path: Path, text: str, what: str) -> None:
    """``text`` written whole to ``path`` or not at all (the file there stays as it was), or
    exit 2 naming the path."""
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        _fail(f"{what} could not be written to {path}: {exc.strerror or exc}")


def _cli_principal() -> Principal:
    user = getpass.getuser()
    return Principal(key_id="cli", name=f"assigner rebalance ({user})", role=Role.ADMIN)


def _plan_database(
    url: str,
    max_moves: int | None,
    max_moves_per_lawyer: int | None,
    params: SearchParams,
    apply: bool,
    output: Path | None,
    show: int,
) -> None:
    """Plan from the service's stored state; keep the plan there as a rebalance job pending
    review (``POST /v1/jobs/{id}/apply`` or ``/reject``), or apply it at once with --apply."""
    from api.db import DatabaseNotReady, open_existing
    from api.problems import ApiProblem
    from api.rebalancing import apply as apply_job
    from api.rebalancing import store
    from api.state_export import Scope, export_state

    try:
        db = open_existing(url)
    except DatabaseNotReady as exc:
        _fail(f"--db: {exc}")
    try:
        try:
            with db.transaction(write=False) as session:
                state = export_state(session, datetime.now(UTC), Scope.FULL, name="rebalance")
        except RuntimeError as exc:  # no policy: not a service database
            _fail(f"--db {url}: {exc}")
        if not state.problem.cases:
            out.print("no open cases: nothing to rebalance")
            return
        plan = _make_plan(state.problem, max_moves, max_moves_per_lawyer, params, state.versions)
        _summary(plan, show)
        if output is not None:
            _write(output, plan.model_dump_json(indent=1), "the plan")
            console.print(f"plan written to {output}")
        who = _cli_principal()
        job_params = {
            "max_moves": plan.budget.max_moves,
            "max_moves_per_lawyer": max_moves_per_lawyer,
            "time_limit_s": params.time_limit_s,
            "seed": params.seed,
            "workers": params.workers,
            "deterministic": params.deterministic,
            "apply": apply,
            "source": "assigner rebalance --db",
        }
        with db.transaction(write=True) as session:
            job_id = store(session, plan, job_params, who).id
        console.print(f"plan kept for review as rebalance job {job_id}")
        if not apply:
            return
        try:
            with db.transaction(write=True) as session:
                written = apply_job(session, job_id, who, "applied by assigner rebalance --apply")
                result = dict(written.result or {}).get("applied", {})
        except ApiProblem as exc:
            for change in exc.extensions.get("changes", [])[:50]:
                console.print(f"[red]changed:[/] {change}")
            _fail(f"not applied (the plan stays pending): {exc.detail}", EXIT_STATE_CHANGED)
        out.print(
            f"applied: {result.get('moved', 0)} moves, {result.get('assigned', 0)} backlog "
            f"cases assigned, {result.get('left_open', 0)} left open (job {job_id})"
        )
    finally:
        db.dispose()


def _make_plan(
    problem: Problem,
    max_moves: int | None,
    max_moves_per_lawyer: int | None,
    params: SearchParams,
    versions: dict[str, int] | None = None,
) -> RebalancePlan:
    budget = max_moves if max_moves is not None else default_move_budget(len(problem.cases))
    try:
        with _ProgressLine() as view:
            return rebalance(problem, budget, max_moves_per_lawyer, params, view, versions)
    except InputError as exc:
        exit_on_input_error(console, exc, EXIT_INPUT)
    except (BudgetTooSmall, RebalanceInfeasible) as exc:
        _fail(str(exc))
    except PlanViolation as exc:
        _fail(f"the plan failed verification and was not written: {exc}")


def _summary(plan: RebalancePlan, show: int) -> None:
    c, b = plan.counts, plan.budget
    t = Table(title=f"Rebalance plan for {plan.problem_name}", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    per = f", per lawyer {b.max_moves_per_lawyer}" if b.max_moves_per_lawyer is not None else ""
    t.add_row("moves used / budget", f"{b.moves_used} / {b.max_moves}{per}")
    t.add_row("  forced by the hard rules", f"{b.moves_required}")
    t.add_row(
        "  to another lawyer / left open", f"{c.moved_to_another_lawyer} / {c.moved_to_unassigned}"
    )
    t.add_row("cases kept with their lawyer", f"{c.kept:,} of {c.currently_assigned:,}")
    t.add_row("backlog assigned", f"{c.backlog_assigned:,} of {c.backlog:,}")
    t.add_row("objective before (points)", f"{plan.before.total_points:,}")
    t.add_row("objective after (points)", f"{plan.after.total_points:,}")
    t.add_row("lower bound (points)", f"{plan.bound_points:,.0f}")
    t.add_row("gap", f"{plan.gap:.2%}")
    t.add_row("method", plan.method)
    t.add_row("time", f"{plan.wall_time_s:.1f} s")
    verified = plan.plan.verification is not None and plan.plan.verification.passed
    t.add_row("verified", "yes" if verified else "NO")
    t.add_row("fingerprint", plan.fingerprint[:16])
    out.print(t)
    for issue in plan.before_issues[:show]:
        out.print(f"[yellow]before:[/] {issue}")
    if plan.moves and show > 0:
        m = Table(title=f"Moves ({len(plan.moves)}, first {min(show, len(plan.moves))})")
        for col in ("case", "from", "to", "why", "score change"):
            m.add_column(col, justify="right" if col == "score change" else "left")
        for mv in plan.moves[:show]:
            m.add_row(
                mv.case_id,
                mv.from_lawyer_id,
                mv.to_lawyer_id or "(open)",
                mv.reason,
                f"{mv.score_change_points:+,}",
            )
        out.print(m)


class _ProgressLine(LiveView):
    """The planner's progress: in a terminal one line redrawn in place, gone when the plan is
    made; in a file, a pipe (the nightly batch's log) or a dumb terminal a plain line per phase,
    each ended by a newline, with none of the redraws' carriage returns and cursor moves."""

    def __init__(self) -> None:
        super().__init__(console, refresh_per_second=4, transient=True)

    def __call__(self, p: Progress) -> None:
        # The gap is the plan's (``relative_gap``): a phase named after its subproblem's status
        # ("budget mip, priced bands: optimal") proves nothing about the plan beyond this bound.
        gap = relative_gap(p.objective, p.bound, p.constant_points)
        figures = (
            f"objective {p.objective:>14,}  bound {p.bound:>14,.0f}  gap {gap:7.3%}  "
            f"{p.wall_time_s:6.1f} s"
        )
        if self.live is not None:
            self.live.update(f"[bold]{escape(f'{p.phase[:48]:<48}')}[/] {figures}")
        else:
            # The whole phase: a log line has no width to keep to.
            console.print(f"{p.phase:<48} {figures}", markup=False, highlight=False, soft_wrap=True)


def _default_applied(state_path: Path) -> Path:
    """Where the updated state goes without --applied: STATE.rebalanced.json beside STATE."""
    return state_path.with_name(f"{state_path.stem}.rebalanced.json")


def _write_applied(plan: RebalancePlan, path: Path, applied: Path | None) -> None:
    """Re-read the state file and apply the plan to it (refused when it changed)."""
    problem_now = _load(path)
    try:
        updated = apply_to_problem(plan, problem_now)
    except StateChanged as exc:
        for change in exc.changes[:50]:
            console.print(f"[red]changed:[/] {change}")
        _fail(f"not applied: {exc}", EXIT_STATE_CHANGED)
    target = applied or _default_applied(path)
    _write(target, updated.model_dump_json(), "the updated state")
    console.print(f"applied: the state with the plan's assignments written to {target}")


@rebalance_app.callback(invoke_without_command=True)
def plan_command(
    ctx: typer.Context,
    problem_path: Annotated[
        Path | None, typer.Option("--problem", help="The state as a Problem JSON file.")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL of the service (e.g. sqlite:///assigner.db)."),
    ] = None,
    max_moves: Annotated[
        int | None,
        typer.Option(
            help="Move budget (default: 2% of the open cases, at least 1).", min=0, max=MAX_MOVES
        ),
    ] = None,
    max_moves_per_lawyer: Annotated[
        int | None,
        typer.Option(help="Moves away from / onto any one lawyer.", min=0, max=MAX_MOVES),
    ] = None,
    time_limit: Annotated[float, time_limit_option("Search wall-clock seconds.", 0.001)] = 60.0,
    seed: Annotated[
        int, typer.Option(help=f"Random seed, 0 to {MAX_SEED}.", min=0, max=MAX_SEED)
    ] = 0,
    workers: Annotated[int, typer.Option(help="Solver threads.", min=1, max=MAX_WORKERS)] = 2,
    deterministic: Annotated[
        bool, typer.Option(help="Work limits instead of wall-clock limits where possible.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the plan (JSON) here.")
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Apply the plan at once (no review); with --db the plan is otherwise kept "
            "in the database pending review.",
        ),
    ] = False,
    applied: Annotated[
        Path | None,
        typer.Option(
            help="With --problem --apply: where the updated state goes "
            "(default: STATE.rebalanced.json)."
        ),
    ] = None,
    show: Annotated[int, typer.Option(help="Moves to list.", min=0)] = 20,
) -> None:
    """Plan the moves from the stored state, print the review summary, optionally apply."""
    if ctx.invoked_subcommand is not None:
        return
    if (problem_path is None) == (db is None):
        _fail("give exactly one of --problem FILE and --db URL")
    inputs = [problem_path] if problem_path is not None else []
    if apply and applied is None and problem_path is not None:
        applied = _default_applied(problem_path)
    for path, option in ((output, "--out"), (applied, "--applied")):
        if path is not None and (why := output_path_error(path, option, inputs)) is not None:
            _fail(why)
    if (why := same_outputs_error([(output, "--out"), (applied, "--applied")])) is not None:
        _fail(why)
    params = SearchParams(time_limit, workers, seed, deterministic)
    if db is not None:
        if applied is not None:
            _fail("--applied is for --problem files; with --db the database is updated")
        _plan_database(db, max_moves, max_moves_per_lawyer, params, apply, output, show)
        return
    assert problem_path is not None
    problem = _load(problem_path)
    plan = _make_plan(problem, max_moves, max_moves_per_lawyer, params)
    _summary(plan, show)
    if output is not None:
        _write(output, plan.model_dump_json(indent=1), "the plan")
        console.print(f"plan written to {output}")
    if apply:
        _write_applied(plan, problem_path, applied)


@rebalance_app.command("apply")
def apply_command(
    plan_path: Annotated[Path, typer.Argument(help="Plan JSON written by --out.", exists=True)],
    problem_path: Annotated[
        Path, typer.Option("--problem", help="The state now, as a Problem JSON file.", exists=True)
    ],
    applied: Annotated[
        Path | None,
        typer.Option(help="Where the updated state goes (default: STATE.rebalanced.json)."),
    ] = None,
) -> None:
    """Apply a reviewed plan to the state file; refused (exit 3) when the state changed."""
    target = applied or _default_applied(problem_path)
    why = output_path_error(target, "--applied", [problem_path, plan_path])
    if why is not None:
        _fail(why)
    _write_applied(_read_plan(plan_path), problem_path, target)


def _read_plan(path: Path) -> RebalancePlan:
    """The rebalance plan in ``path``, or exit 2 saying in a line what the file is instead (a
    solve plan, a state) or, for another document, its first errors with their fields."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{path} {unreadable(exc, 'rebalance plan')}")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{path} is not a rebalance plan: not valid JSON: {exc}")
    if isinstance(data, dict) and "fingerprint" not in data:
        if "solver" in data and "assignments" in data:
            _fail(
                f"{path} is a solve plan (from `assigner solve`), not a rebalance plan: give "
                "the plan written by `assigner rebalance --out`"
            )
        if "cases" in data and "lawyers" in data:
            _fail(
                f"{path} is a state (a Problem), not a rebalance plan: give the plan written "
                "by `assigner rebalance --out` (and the state with --problem)"
            )
    try:
        return RebalancePlan.model_validate(data)
    except ValidationError as exc:
        _fail(f"{path} is not a rebalance plan: {validation_errors(exc, 'plan')}")


@rebalance_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the rebalance plan document."""
    out.print_json(json.dumps(RebalancePlan.model_json_schema()))
