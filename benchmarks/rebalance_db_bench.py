"""The nightly rebalance through the service's database: export, plan, keep, apply.

Protocol (``python -m benchmarks.rebalance_db_bench [--tier county-L]``):

- state: the rebalance benchmark's county (``benchmarks.rebalance_bench``: ``generate_county``
  seed 1, 3% of the case-holding lawyers on leave from today, 5% with capacity cut below their
  load), moved in time so that its plan date is now (the service judges deadlines and leave
  on the clock), written into a fresh SQLite database the way the service fills it: firms,
  lawyers and cases by their PUT paths, current assignments through the checked assignment
  path, the started / pinned marks as ``PATCH /v1/cases/{id}/assignment`` sets them, then the
  leave and capacity changes as lawyer updates (the service accepts them; the rebalance must
  move the cases they strand);
- run, timed by phase, in this process: read the full state (``api.state_export``), plan
  (``assigner.rebalance.rebalance``, budget 2% of the open cases, search time limit
  ``--time-limit``), keep the plan as a rebalance job pending review, apply it (one
  transaction: state read again under locks, compared, every move and assignment written and
  audited) — what ``assigner rebalance --db URL --apply`` does;
- measured: each phase and the total against the nightly target (120 s), moves, backlog
  assigned, peak memory; the database is checked afterwards (every lawyer's load equals the
  hours of the cases it holds).

The result goes to ``benchmarks/results/rebalance-db-<date>.md`` with the machine described.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import func, select, update

from api.app import prepare_database
from api.auth import Principal, Role
from api.db import Database
from api.models import AssignmentRow, CaseRow, LawyerLoadRow, LawyerRow
from api.rebalancing import apply, store
from api.recommending import RosterCache
from api.roster import put_lawyer
from api.seed import seed_problem
from api.settings import Settings
from api.state_export import Scope, export_state
from assigner.domain import Problem
from assigner.rebalance import default_move_budget, rebalance
from assigner.search.cpsat import SearchParams
from benchmarks.machine import machine_rows
from benchmarks.rebalance_bench import TARGET_S, perturbed_state
from scenarios.generator import generate_county
from scenarios.timeshift import shift_to

app = typer.Typer(add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True)
BENCH = Principal(key_id="bench", name="rebalance benchmark", role=Role.ADMIN)


def at_now(problem: Problem) -> Problem:
    """The problem moved in time so that its plan date is now."""
    return shift_to(problem, datetime.now(UTC))


def fill_database(db: Database, tier: str, seed: int) -> dict[str, Any]:
    """The benchmark state in the database (see the protocol); returns what was written."""
    base = at_now(generate_county(tier, seed))
    perturbed, touched = perturbed_state(tier, seed)
    perturbed = at_now(perturbed)
    t0 = time.monotonic()
    counts = seed_problem(db, RosterCache(), base)
    if counts is None:
        raise RuntimeError("the benchmark database was not empty")
    marks = [
        (c.id, c.current_assignment.started, c.current_assignment.pinned)
        for c in base.cases
        if c.current_assignment is not None
        and (c.current_assignment.started or c.current_assignment.pinned)
    ]
    before = {lw.id: lw for lw in base.lawyers}
    with db.transaction(write=True) as session:
        for case_id, started, pinned in marks:
            assignment_id = session.execute(
                select(CaseRow.assignment_id).where(CaseRow.id == case_id)
            ).scalar_one()
            if assignment_id is not None:
                session.execute(
                    update(AssignmentRow)
                    .where(AssignmentRow.id == assignment_id)
                    .values(started=started, pinned=pinned)
                )
        firm_ids = {f.id for f in base.firms}
        changed = [lw for lw in perturbed.lawyers if lw != before[lw.id]]
        for lw in changed:
            put_lawyer(session, lw, BENCH, firm_ids=firm_ids)
    return {
        **counts,
        "marked": len(marks),
        "lawyers_changed": len(changed),
        **touched,
        "fill_s": time.monotonic() - t0,
    }


def loads_consistent(db: Database) -> bool:
    with db.transaction(write=False) as session:
        held = dict(
            session.execute(
                select(CaseRow.assigned_lawyer_id, func.sum(CaseRow.assigned_hours))
                .where(CaseRow.assigned_lawyer_id.is_not(None))
                .group_by(CaseRow.assigned_lawyer_id)
            ).all()
        )
        loads = dict(
            session.execute(select(LawyerLoadRow.lawyer_id, LawyerLoadRow.assigned_hours)).all()
        )
        lawyers = session.execute(select(LawyerRow.id)).scalars().all()
    return all(abs(loads.get(i, 0.0) - float(held.get(i) or 0.0)) < 1e-6 for i in lawyers)


@app.command()
def main(
    tier: Annotated[str, typer.Option(help="Generated county tier.")] = "county-L",
    seed: Annotated[int, typer.Option(help="County seed.")] = 1,
    time_limit: Annotated[float, typer.Option(help="Search time limit, seconds.")] = 90.0,
    out_dir: Annotated[Path, typer.Option(help="Where the result goes.")] = Path(
        "benchmarks/results"
    ),
) -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="assigner-rebalance-db-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'assigner.db'}"
        settings = Settings(database_url=url, seed_demo=False, run_jobs=False)
        db = Database(settings)
        prepare_database(settings, db, RosterCache())
        console.print(f"filling {tier} seed {seed} into {url} ...")
        filled = fill_database(db, tier, seed)
        console.print(f"filled in {filled['fill_s']:.0f} s: {filled}")
        phases: dict[str, float] = {}
        t0 = time.monotonic()
        with db.transaction(write=False) as session:
            state = export_state(session, datetime.now(UTC), Scope.FULL, name="rebalance")
        phases["export"] = time.monotonic() - t0
        t = time.monotonic()
        budget = default_move_budget(len(state.problem.cases))
        plan = rebalance(
            state.problem, budget, None, SearchParams(time_limit, 2, 0, False), None, state.versions
        )
        phases["plan"] = time.monotonic() - t
        t = time.monotonic()
        with db.transaction(write=True) as session:
            job_id = store(session, plan, {"max_moves": budget}, BENCH).id
        phases["keep"] = time.monotonic() - t
        t = time.monotonic()
        with db.transaction(write=True) as session:
            written = dict((apply(session, job_id, BENCH, "benchmark").result or {})["applied"])
        phases["apply"] = time.monotonic() - t
        total = time.monotonic() - t0
        consistent = loads_consistent(db)
        db.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_after = os.getloadavg()
    met = "met" if total <= TARGET_S else "MISSED"
    c = plan.counts
    lines = [
        f"# Rebalance through the database, {date.today().isoformat()}",
        "",
        f"Nightly `assigner rebalance --db URL --apply` path on {tier} (seed {seed}), SQLite: "
        f"**{total:.1f} s** from reading the state to the applied plan (target "
        f"{TARGET_S:.0f} s: **{met}**).",
        "",
        *machine_rows(load_before, load_after),
        f"| database | {filled['firms']:,} firms, {filled['lawyers']:,} lawyers, "
        f"{filled['cases']:,} cases, {filled['assigned']:,} assigned "
        f"({filled['assignments_refused']} refused at seeding), {filled['marked']} marked "
        f"started or pinned; {filled['on_leave']} lawyers on leave, {filled['capacity_cut']} "
        f"capacity cuts |",
        f"| read the state (export) | {phases['export']:.1f} s |",
        f"| plan (eligibility, scoring, search {time_limit:g} s, verify, explain) | "
        f"{phases['plan']:.1f} s |",
        f"| keep the plan for review | {phases['keep']:.1f} s |",
        f"| apply (re-read under lock, compare, write, audit) | {phases['apply']:.1f} s |",
        f"| **total** | **{total:.1f} s** |",
        f"| budget / moves used / forced | {plan.budget.max_moves} / {plan.budget.moves_used} "
        f"/ {plan.budget.moves_required} |",
        f"| backlog assigned | {c.backlog_assigned:,} of {c.backlog:,} |",
        f"| cases written by apply | {written['cases_written']:,} ({written['moved']} moves, "
        f"{written['assigned']:,} backlog assignments, {written['left_open']} left open) |",
        f"| objective before / after | {plan.before.total_points:,} / "
        f"{plan.after.total_points:,} points |",
        f"| lower bound | {plan.bound_points:,.0f} points (gap {plan.gap:.2%}) |",
        f"| loads equal the hours of the cases held, after apply | "
        f"{'yes' if consistent else 'NO'} |",
        f"| peak memory (this process) | {peak_mb:,.0f} MB |",
        "",
        f"Filling the database (not timed against the target) took {filled['fill_s']:.0f} s.",
        "",
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"rebalance-db-{date.today().isoformat()}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    console.print("\n".join(lines))
    console.print(f"written to {path}")
    if not consistent:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
