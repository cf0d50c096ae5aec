"""The child process a job's solve runs in (spawned, so it can be stopped at once on cancel).

It imports only the engine; it talks to the runner through a pipe: ``("progress", {...})`` for
each improving solution, then ``("plan", plan_json)`` (a batch's: the plan and the cases it
held back, ``api.batch_hold_back``) or ``("error", message)``.
"""

from __future__ import annotations

import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assigner.search.cpsat import Progress, SearchParams

log = logging.getLogger(__name__)


def _send(conn: Connection, message: tuple[str, Any]) -> None:
    """Send to the runner; when the runner's process is gone (killed), there is no one to
    report to and nothing to clean up, so this process ends at once."""
    try:
        conn.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        os._exit(0)


def _failed(conn: Connection, exc: Exception) -> None:
    """Report an unexpected failure: its traceback to the log, under the process's name
    (``job-`` and the start of the job's id), since the job keeps only the message; the
    message to the runner, which marks the job failed."""
    log.exception("%s: the job's solve failed", multiprocessing.current_process().name)
    _send(conn, ("error", f"{type(exc).__name__}: {exc}"))


def _die_with_parent(parent_pid: int) -> None:
    """On Linux, ask the kernel to kill this process when the server process dies (a killed
    server must not leave a solver running); elsewhere the broken pipe ends it later."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the server died before the request took effect
        os._exit(0)


def _solver_progress(conn: Connection) -> Callable[[Progress], None]:
    """A search progress callback (``assigner.search.cpsat.Progress``) that reports each
    improving solution to the runner with the gap (as the plan computes it) and the time since
    the job's solve began."""
    from assigner.search.solve import relative_gap

    start = time.monotonic()

    def progress(p: Progress) -> None:
        gap = relative_gap(p.objective, p.bound, p.constant_points)
        _send(
            conn,
            (
                "progress",
                {
                    "phase": p.phase,
                    "objective": int(p.objective),
                    "bound": float(p.bound),
                    "gap": float(gap),
                    "elapsed_s": round(time.monotonic() - start, 3),
                },
            ),
        )

    return progress


def _search_params(params: dict[str, Any]) -> SearchParams:
    """The solver settings of a job (validated by ``api.schemas.SolveSettings`` on submit)."""
    from assigner.search.cpsat import SearchParams

    return SearchParams(
        time_limit_s=float(params["time_limit_s"]),
        workers=int(params["workers"]),
        seed=int(params["seed"]),
        deterministic=bool(params["deterministic"]),
    )


def run_batch_assignment(
    conn: Connection, problem_json: str, params: dict[str, Any], parent_pid: int
) -> None:
    _die_with_parent(parent_pid)
    from api.batch_hold_back import solve_holding_back
    from assigner.domain import InputError, Problem
    from assigner.engine import solve_problem

    progress = _solver_progress(conn)

    try:
        problem = Problem.model_validate_json(problem_json)
        search = _search_params(params)
        plan, held_back = solve_holding_back(problem, lambda p: solve_problem(p, search, progress))
        result = {
            # Through pydantic's JSON: a bound that is not finite is written as null there,
            # while model_dump keeps the float and json.dumps would write -Infinity, which is
            # not JSON (PostgreSQL refuses it).
            "plan": json.loads(plan.model_dump_json()),
            "held_back": [h.to_json() for h in held_back],
        }
        _send(conn, ("plan", json.dumps(result)))
    except InputError as exc:
        held = any(issue.case_ids for issue in exc.issues)  # about cases that must stay
        _send(
            conn,
            ("error", f"the caseload is not a valid problem: {exc}" + (BATCH_HELD if held else "")),
        )
    except Exception as exc:  # a defect: logged, and reported to the runner
        _failed(conn, exc)
    finally:
        conn.close()


BATCH_HELD = (
    ". The batch keeps each assigned case related to an open one (same matter or linked) with "
    "its lawyer, marked pinned, so that the group rules hold for the open ones; a lawyer named "
    "above can no longer hold such a case (the case need not be pinned by anyone). Move it "
    "(PUT /v1/cases/{id}/assignment) or withdraw it, or run a rebalance job, which may move "
    "it; then run the batch again"
)


def run_rebalance(
    conn: Connection,
    problem_json: str,
    versions: dict[str, int],
    params: dict[str, Any],
    parent_pid: int,
) -> None:
    """Plan a rebalance of the state in ``problem_json``; sends the RebalancePlan as JSON."""
    _die_with_parent(parent_pid)
    from assigner.domain import InputError, Problem
    from assigner.rebalance import (
        BudgetTooSmall,
        RebalanceInfeasible,
        default_move_budget,
        rebalance,
    )

    progress = _solver_progress(conn)

    try:
        problem = Problem.model_validate_json(problem_json)
        search = _search_params(params)
        budget = params.get("max_moves")
        max_moves = int(budget) if budget is not None else default_move_budget(len(problem.cases))
        plan = rebalance(
            problem, max_moves, params.get("max_moves_per_lawyer"), search, progress, versions
        )
        _send(conn, ("plan", plan.model_dump_json()))
    except InputError as exc:
        _send(conn, ("error", f"the stored state is not a valid problem: {exc}"))
    except (BudgetTooSmall, RebalanceInfeasible) as exc:
        _send(conn, ("error", str(exc)))
    except Exception as exc:  # a defect: logged, and reported to the runner
        _failed(conn, exc)
    finally:
        conn.close()


def run_scenario_job(
    conn: Connection,
    scenario: dict[str, Any],
    baseline_json: str | None,
    parent_pid: int,
) -> None:
    """Run a what-if scenario (solves one at a time: the server's cores serve requests too);
    sends progress per solve, then ``("plan", {"results": ..., "report_html": ...})``."""
    _die_with_parent(parent_pid)
    import json
    import tempfile
    from pathlib import Path

    from assigner.domain import Problem
    from scenarios.whatif.errors import ScenarioError
    from scenarios.whatif.report import JOB_SOURCE, write_report
    from scenarios.whatif.runner import RunProgress, run_scenario
    from scenarios.whatif.spec import scenario_from_data

    start = time.monotonic()

    def progress(p: RunProgress) -> None:
        sample = f"sample {p.sample + 1}"
        _send(
            conn,
            (
                "progress",
                {
                    "phase": f"{p.variant}, {sample}",
                    "done": p.done,
                    "total": p.total,
                    "elapsed_s": round(time.monotonic() - start, 3),
                },
            ),
        )

    try:
        spec = scenario_from_data(scenario, None).model_copy(update={"jobs": 1})
        baseline = Problem.model_validate_json(baseline_json) if baseline_json else None
        result = run_scenario(spec, progress, baseline=baseline)
        with tempfile.TemporaryDirectory(prefix="assigner-scenario-") as tmp:
            files = write_report(result, Path(tmp), JOB_SOURCE)
            payload = {
                "results": json.loads(files.results_json.read_text(encoding="utf-8")),
                "report_html": files.report_html.read_text(encoding="utf-8"),
            }
        _send(conn, ("plan", json.dumps(payload)))
    except ScenarioError as exc:
        _send(conn, ("error", f"the scenario is refused: {exc}"))
    except Exception as exc:  # a defect: logged, and reported to the runner
        _failed(conn, exc)
    finally:
        conn.close()
