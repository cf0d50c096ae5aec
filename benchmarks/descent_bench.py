"""Descent to convergence on a generated county tier, from the start the engine builds there.

Protocol (``python -m benchmarks.descent_bench --tier county-L [--seed 1] [--repeats 1]
[--out FILE.md]``):

- instance: ``generate_county(tier, seed)`` prepared by the engine, as the suite's county runs
  get it (``benchmarks.suite.prepare_county``; ``--seed`` is the generator's seed, 1 in the
  suite);
- start: what ``run_search`` starts from on large instances, the flow relaxation
  (``flow_relaxation``) rounded as the engine rounds it (``rounding.lp_rounding``), whatever the
  instance's size.  Where the flow does not apply (case weights depend on the lawyer), has no
  solution, or its rounding breaks a hard rule, greedy, as the engine falls back; the output
  says which start was used and why;
- untimed: numba's compiled code loaded (``warm_up``, as a running service has it), the start,
  and the compiled passes' arrays (``CompiledMoves(inst)``, reported apart);
- timed: ``descend(inst, start, deadline=inf, passes=...)``, shift rounds and compiled passes in
  turn until neither changes anything.  ``--repeats N`` descends N times from the same start,
  each with passes built afresh (they carry state between calls), in this process, one after
  another.

Descent has no random choices: repeats give the same end objective and measure the time's
spread on the machine.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assigner.search.compiled_moves import CompiledMoves
from assigner.search.flow_relaxation import flow_relaxation, item_weights
from assigner.search.greedy import greedy
from assigner.search.instance import I32, AssignmentInstance, evaluate, feasibility_issues
from assigner.search.local_search import descend
from assigner.search.rounding import lp_rounding
from assigner.search.warm_up import warm_up
from benchmarks.machine import load_averages
from benchmarks.suite import COUNTY_SEED, machine_description, prepare_county
from scenarios.tiers import tier_names

log = logging.getLogger(__name__)

TO_CONVERGENCE = math.inf  # descent's deadline (``time.monotonic()`` seconds): none

app = typer.Typer(add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)


@dataclass(frozen=True)
class Start:
    """The plan descent starts from and how it was built."""

    agent_of: I32
    how: str
    seconds: float


@dataclass(frozen=True)
class DescentRun:
    """One descent from the start to convergence."""

    descent_s: float
    passes_build_s: float  # ``CompiledMoves(inst)``, before the timed call
    end_objective: int
    moves: int
    end_breaches: int  # hard-rule breaches of the end plan (0 expected)


@dataclass(frozen=True)
class DescentResult:
    tier: str
    seed: int
    n_items: int
    n_agents: int
    n_edges: int
    generate_s: float
    prepare_s: float
    start: Start
    start_objective: int
    start_breaches: int
    runs: tuple[DescentRun, ...]
    machine: dict[str, str]
    load_before: tuple[float, ...]
    load_after: tuple[float, ...]


def engine_start(inst: AssignmentInstance) -> Start:
    """The flow relaxation's rounding, as ``run_search`` starts on large instances; greedy
    where the flow does not apply, has no solution or its rounding breaks a hard rule."""
    began = time.monotonic()
    weights = item_weights(inst)
    if weights is None:
        why = "the flow relaxation does not apply: case weights depend on the lawyer"
    else:
        flow = flow_relaxation(inst, weights)
        if flow is None:
            why = "the flow relaxation has no solution"
        else:
            rounded = lp_rounding(inst, flow.x)
            issues = feasibility_issues(inst, rounded)
            if not issues:
                return Start(rounded, "flow rounding", time.monotonic() - began)
            why = f"the flow's rounding breaks {len(issues)} hard rule(s), e.g. {issues[0]}"
    return Start(greedy(inst), f"greedy ({why})", time.monotonic() - began)


def time_descent(inst: AssignmentInstance, start: Start) -> DescentRun:
    """One descent from ``start`` to convergence, timed (the passes' arrays built first)."""
    t0 = time.monotonic()
    passes = CompiledMoves(inst)
    t1 = time.monotonic()
    end, moves = descend(inst, start.agent_of, TO_CONVERGENCE, passes=passes)
    t2 = time.monotonic()
    return DescentRun(
        descent_s=t2 - t1,
        passes_build_s=t1 - t0,
        end_objective=evaluate(inst, end).total,
        moves=moves,
        end_breaches=len(feasibility_issues(inst, end)),
    )


def measure(tier: str, seed: int = COUNTY_SEED, repeats: int = 1) -> DescentResult:
    """The protocol of this module's docstring on ``tier``."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    load_before = os.getloadavg()
    payload, generate_s = prepare_county(tier, seed)
    inst = payload.instance
    log.info("%s seed %d: %d items, %d edges", tier, seed, inst.n_items, inst.n_edges)
    warm_up()
    start = engine_start(inst)
    runs = tuple(time_descent(inst, start) for _ in range(repeats))
    return DescentResult(
        tier=tier,
        seed=seed,
        n_items=inst.n_items,
        n_agents=inst.n_agents,
        n_edges=inst.n_edges,
        generate_s=generate_s,
        prepare_s=payload.prepare_s,
        start=start,
        start_objective=evaluate(inst, start.agent_of).total,
        start_breaches=len(feasibility_issues(inst, start.agent_of)),
        runs=runs,
        machine=machine_description(),
        load_before=load_before,
        load_after=os.getloadavg(),
    )


def _spread_s(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    mean = statistics.fmean(values)
    return f"{mean:.3f} (mean of {len(values)}; range {min(values):.3f} to {max(values):.3f})"


def render(result: DescentResult) -> str:
    """The result as Markdown: the figures, each run when repeated, the machine."""
    runs = result.runs
    ends = sorted({r.end_objective for r in runs})
    lines = [
        f"# Descent to convergence: {result.tier}, seed {result.seed}, "
        f"{datetime.now(UTC).date().isoformat()}",
        "",
        "`python -m benchmarks.descent_bench` (protocol: its docstring and "
        "`benchmarks/README.md`): `descend` with the compiled passes from the engine's start on "
        "large instances to convergence, in one process, numba's code loaded first.",
        "",
        "| what | value |",
        "| --- | --- |",
        f"| tier | {result.tier} (generator seed {result.seed}) |",
        f"| instance | {result.n_items} cases x {result.n_agents} lawyers, "
        f"{result.n_edges} edges |",
        f"| generate / prepare s | {result.generate_s:.2f} / {result.prepare_s:.2f} |",
        f"| start | {result.start.how}, built in {result.start.seconds:.2f} s |",
        f"| start objective | {result.start_objective} |",
        f"| end objective | {' / '.join(str(e) for e in ends)} |",
        f"| moves | {' / '.join(str(m) for m in sorted({r.moves for r in runs}))} |",
        f"| descent s | {_spread_s([r.descent_s for r in runs])} |",
        f"| compiled passes built s (not in descent s) | "
        f"{_spread_s([r.passes_build_s for r in runs])} |",
        f"| hard-rule breaches, start / end | {result.start_breaches} / "
        f"{max(r.end_breaches for r in runs)} |",
        f"| load average before / after (1, 5, 15 min) | {load_averages(result.load_before)} / "
        f"{load_averages(result.load_after)} |",
    ]
    if len(runs) > 1:
        lines += ["", "## Runs", "", "| run | descent s | end objective | moves |"]
        lines += ["| --- | --- | --- | --- |"]
        lines += [
            f"| {k} | {r.descent_s:.3f} | {r.end_objective} | {r.moves} |"
            for k, r in enumerate(runs, 1)
        ]
    lines += ["", "## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in result.machine.items()]
    return "\n".join(lines) + "\n"


@app.command()
def main(
    tier: Annotated[str, typer.Option("--tier", help="Generated county tier.")] = "county-L",
    seed: Annotated[int, typer.Option("--seed", help="County generator seed.")] = COUNTY_SEED,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Descents from the same start.")
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the Markdown to this file.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Time descent to convergence on a generated county tier."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    if tier not in tier_names():
        raise typer.BadParameter(f"expected one of {', '.join(tier_names())}", param_hint="--tier")
    console = Console(stderr=True)
    with console.status(f"{tier} seed {seed}: generating, preparing, descending ..."):
        result = measure(tier, seed, repeats)
    text = render(result)
    typer.echo(text, nl=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        console.print(f"written to {out}")


if __name__ == "__main__":
    app()
