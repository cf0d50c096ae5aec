"""The child process a job's solve runs in (spawned, so it can be stopped at once on cancel).

It imports only the engine; it talks to the runner through a pipe: ``("progress", {...})`` for
each improving solution, then ``("plan", plan_json)`` or ``("error", message)``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from multiprocessing.connection import Connection
from typing import Any


def _send(conn: Connection, message: tuple[str, Any]) -> None:
    """Send to the runner; when the runner's process is gone (killed), there is no one to
    report to and nothing to clean up, so this process ends at once."""
    try:
        conn.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        os._exit(0)


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


def run_batch_assignment(
    conn: Connection, problem_json: str, params: dict[str, Any], parent_pid: int
) -> None:
    _die_with_parent(parent_pid)
    from assigner.domain import InputError, Problem
    from assigner.engine import solve_problem
    from assigner.search.cpsat import Progress, SearchParams

    start = time.monotonic()

    def progress(p: Progress) -> None:
        gap = (p.objective - p.bound) / max(1.0, abs(p.objective))
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

    try:
        problem = Problem.model_validate_json(problem_json)
        search = SearchParams(
            time_limit_s=float(params["time_limit_s"]),
            workers=int(params["workers"]),
            seed=int(params["seed"]),
            deterministic=bool(params["deterministic"]),
        )
        plan = solve_problem(problem, search, progress)
        _send(conn, ("plan", plan.model_dump_json()))
    except InputError as exc:
        _send(conn, ("error", f"the caseload is not a valid problem: {exc}"))
    except Exception as exc:  # reported to the runner, which marks the job failed
        _send(conn, ("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
