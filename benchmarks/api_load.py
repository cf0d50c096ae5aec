"""API load benchmark: recommendations against 1,000 lawyers, and assignment commits, on SQLite.

Protocol (written here so that a run can be repeated and its figures compared):

1. Data: the generated ``county-L`` county (seed 1: 1,000 lawyers, 55 firms); its first
   ``--cases`` cases (default 2,000) without current assignments, links outside that subset
   dropped.  Written into a new SQLite file through the service's own record functions.
2. Server: ``python -m api serve --workers N`` (default 2: one process per core) on 127.0.0.1
   and a free port, no demo seed, no job runner, log level warning.  Loopback only; nothing
   else is contacted.
3. Warm-up: 50 recommendation requests (builds the warm roster index), not measured.
4. Recommendations: open loop at each of ``--rates`` requests/s (default 200) for
   ``--duration`` s each (default 20), each ``POST /v1/cases/{id}/recommendations`` with
   top_k 5 and one why-not lawyer, for cases drawn at random (seeded).  Time in the
   server: the ``Server-Timing`` header (request reaching the app to response start).  End
   to end: client send to full response, on keep-alive connections (a small raw HTTP/1.1
   client, so that the load generator costs little CPU).  Requests sent more than 5 ms after
   their slot are counted (the client fell behind).  CPU per request: the server process
   tree's user + system time over the phase, divided by the requests (the server's own CPU
   accounting: unlike latency it hardly moves when other work shares the machine).
5. Assignment commits: ``--assignments`` (default 400) unassigned cases, each to its best
   recommended lawyer (looked up before timing), ``PUT /v1/cases/{id}/assignment`` with
   If-Match, paced at ``--assign-rate`` (default 50/s), one at a time.  The commit happens
   before the response starts, so the server time includes it.  409s (a lawyer filled up by
   an earlier case) are counted and left out of the latency figures.  CPU per request as in
   4, over this phase (every answer, 409s included).
6. Figures: p50 / p95 / p99 / max of each, the request counts, the machine's core count and
   load average before and after (the machine may be shared), written to
   ``benchmarks/results/api-<date>.md``.

Targets (issue): recommendations p99 <= 10 ms in the server and <= 25 ms end to end at
200 requests/s; assignment commit p99 <= 20 ms on SQLite; 2 cores.

Run: ``.venv/bin/python -m benchmarks.api_load --rates 50,100,200`` (about 2-3 minutes, stops
by itself; ``--help`` lists the knobs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATE = 200.0
TARGETS = {"recommend_server_p99_ms": 10.0, "recommend_e2e_p99_ms": 25.0, "assign_p99_ms": 20.0}


@dataclass
class Samples:
    server_ms: list[float] = field(default_factory=list)
    e2e_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    late: int = 0

    def add(self, status: int, server_timing: str | None, e2e_ms: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status >= 300:
            return
        self.e2e_ms.append(e2e_ms)
        if server_timing and server_timing.startswith("app;dur="):
            self.server_ms.append(float(server_timing.split("=", 1)[1]))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class RawClient:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams: a load generator must cost
    little CPU next to the server it measures on the same 2 cores (httpx costs about 1 ms of
    CPU per request, this a small fraction of that)."""

    def __init__(self, port: int, key: str, connections: int) -> None:
        self.port = port
        self.key = key
        self.size = connections
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def close(self) -> None:
        while not self.pool.empty():
            _, writer = self.pool.get_nowait()
            writer.close()

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        reader, writer = await self.pool.get()
        try:
            head = [
                f"{method} {path} HTTP/1.1",
                f"Host: 127.0.0.1:{self.port}",
                f"X-API-Key: {self.key}",
                "Content-Type: application/json",
                f"Content-Length: {len(body)}",
            ]
            head += [f"{k}: {v}" for k, v in (headers or {}).items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            fields = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    fields[name.strip().lower()] = value.strip()
            data = await reader.readexactly(int(fields.get("content-length", "0")))
            return Reply(status, fields, data)
        finally:
            self.pool.put_nowait((reader, writer))


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    a = np.asarray(values)
    return {
        "n": len(values),
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
        "mean": float(a.mean()),
    }


def build_problem(n_cases: int, seed: int) -> Any:
    from scenarios.generator import generate_county

    problem = generate_county("county-L", seed)
    cases = problem.cases[:n_cases]
    ids = {c.id for c in cases}
    kept = [
        c.model_copy(
            update={
                "current_assignment": None,
                "linked_case_ids": [x for x in c.linked_case_ids if x in ids],
            }
        )
        for c in cases
    ]
    return problem.model_copy(update={"cases": kept})


def prepare_database(url: str, problem: Any) -> str:
    from api import policies
    from api.auth import Role, create_key
    from api.db import Database, run_migrations
    from api.recommending import RosterCache
    from api.seed import seed_problem
    from api.settings import Settings
    from api.state import ensure

    db = Database(Settings(database_url=url, seed_demo=False, run_jobs=False))
    try:
        run_migrations(db.engine)
        with db.transaction(write=True) as session:
            policies.ensure_initial(session)
            ensure(session)
            key = create_key(session, role=Role.ADMIN, name="benchmark").secret
        seed_problem(db, RosterCache(), problem)
        return key
    finally:
        db.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ASSIGNER_DATABASE_URL": url,
        "ASSIGNER_SEED_DEMO": "false",
        "ASSIGNER_RUN_JOBS": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready in 120 s")


async def _timed(
    client: RawClient,
    method: str,
    path: str,
    samples: Samples,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    payload = json.dumps(body).encode() if body is not None else b""
    t0 = time.perf_counter()
    reply = await client.request(method, path, payload, headers)
    samples.add(reply.status, reply.headers.get("server-timing"), (time.perf_counter() - t0) * 1000)
    return reply


async def recommend_load(
    client: RawClient,
    case_ids: list[str],
    lawyer_ids: list[str],
    rate: float,
    duration_s: float,
    rng: random.Random,
) -> Samples:
    samples = Samples()
    n = int(rate * duration_s)
    tasks = []
    start = time.perf_counter() + 0.05
    for i in range(n):
        slot = start + i / rate
        delay = slot - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            samples.late += 1
        body = {"top_k": 5, "why_not": [rng.choice(lawyer_ids)]}
        tasks.append(
            asyncio.create_task(
                _timed(
                    client,
                    "POST",
                    f"/v1/cases/{rng.choice(case_ids)}/recommendations",
                    samples,
                    body,
                )
            )
        )
    await asyncio.gather(*tasks)
    return samples


async def assignment_load(
    client: RawClient, targets: list[tuple[str, str, int]], rate: float
) -> Samples:
    samples = Samples()
    start = time.perf_counter()
    for i, (case_id, lawyer_id, version) in enumerate(targets):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await _timed(
            client,
            "PUT",
            f"/v1/cases/{case_id}/assignment",
            samples,
            {"lawyer_id": lawyer_id},
            {"If-Match": f'"{version}"'},
        )
    return samples


def process_tree_cpu_s(pid: int) -> float:
    """utime + stime of a process and its children (the uvicorn workers), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if entry.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class RatePhase:
    rate: float
    recs: Samples
    server_cpu_ms_per_rec: float
    client_cpu_ms_per_rec: float
    achieved_rate: float


@dataclass
class LoadResult:
    phases: list[RatePhase]
    assigns: Samples
    server_cpu_ms_per_assign: float


async def run_load(
    port: int,
    server_pid: int,
    key: str,
    args: argparse.Namespace,
    case_ids: list[str],
    lawyer_ids: list[str],
) -> LoadResult:
    rng = random.Random(args.seed)
    client = RawClient(port, key, connections=64)
    await client.open()
    try:
        warm = Samples()
        for _ in range(50):
            await _timed(
                client,
                "POST",
                f"/v1/cases/{rng.choice(case_ids)}/recommendations",
                warm,
                {"top_k": 5},
            )
        phases = []
        for rate in args.rates:
            server0, client0, wall0 = (
                process_tree_cpu_s(server_pid),
                time.process_time(),
                time.perf_counter(),
            )
            recs = await recommend_load(client, case_ids, lawyer_ids, rate, args.duration, rng)
            n = max(1, sum(recs.statuses.values()))
            phases.append(
                RatePhase(
                    rate=rate,
                    recs=recs,
                    server_cpu_ms_per_rec=(process_tree_cpu_s(server_pid) - server0) * 1000 / n,
                    client_cpu_ms_per_rec=(time.process_time() - client0) * 1000 / n,
                    achieved_rate=n / (time.perf_counter() - wall0),
                )
            )
        chosen = rng.sample(case_ids, min(args.assignments, len(case_ids)))
        targets = []
        for case_id in chosen:
            reply = await client.request(
                "POST", f"/v1/cases/{case_id}/recommendations", json.dumps({"top_k": 1}).encode()
            )
            body = json.loads(reply.body)
            if body["recommendations"]:
                targets.append(
                    (case_id, body["recommendations"][0]["lawyer_id"], int(body["case_version"]))
                )
        server0 = process_tree_cpu_s(server_pid)
        assigns = await assignment_load(client, targets, args.assign_rate)
        per_assign = (process_tree_cpu_s(server_pid) - server0) * 1000 / max(1, len(targets))
    finally:
        await client.close()
    return LoadResult(phases, assigns, per_assign)


def machine() -> dict[str, str]:
    return {"cores": str(os.cpu_count()), "cpu": cpu_model(), "python": platform.python_version()}


def _row(name: str, stats: dict[str, float], target: float | None) -> str:
    if not stats.get("n"):
        return f"| {name} | 0 | - | - | - | - | - |"
    verdict = "" if target is None else (" (met)" if stats["p99"] <= target else " (MISSED)")
    return (
        f"| {name} | {stats['n']} | {stats['p50']:.2f} | {stats['p95']:.2f} | "
        f"{stats['p99']:.2f}{verdict} | {stats['max']:.2f} | {target if target else '-'} |"
    )


def write_report(
    path: Path,
    args: argparse.Namespace,
    result: LoadResult,
    load_before: tuple[float, ...],
    load_after: tuple[float, ...],
    n_lawyers: int,
    n_cases: int,
) -> str:
    m = machine()
    assigns = result.assigns
    lines = [
        f"# API load benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}; load average before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} (1/5/15 min; other work on a shared "
        "machine inflates the tails).",
        f"Data: county-L seed {args.seed}: {n_lawyers} lawyers, {n_cases} cases in SQLite (WAL). "
        f"Server: uvicorn, {args.workers} worker process(es), on 127.0.0.1. Protocol: "
        "`benchmarks/api_load.py` docstring.",
        "",
        "| measure (ms) | n | p50 | p95 | p99 | max | target p99 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in result.phases:
        at_target = phase.rate == TARGET_RATE
        lines.append(
            _row(
                f"recommendations, in the server, {phase.rate:g} req/s",
                percentiles(phase.recs.server_ms),
                TARGETS["recommend_server_p99_ms"] if at_target else None,
            )
        )
        lines.append(
            _row(
                f"recommendations, end to end, {phase.rate:g} req/s",
                percentiles(phase.recs.e2e_ms),
                TARGETS["recommend_e2e_p99_ms"] if at_target else None,
            )
        )
    lines += [
        _row(
            f"assignment commit, in the server, {args.assign_rate:g}/s",
            percentiles(assigns.server_ms),
            TARGETS["assign_p99_ms"],
        ),
        _row("assignment commit, end to end", percentiles(assigns.e2e_ms), None),
        "",
        "| recommendations at | answers by status | achieved req/s | sent > 5 ms late | "
        "server CPU ms/request (all workers) | load generator CPU ms/request |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for phase in result.phases:
        lines.append(
            f"| {phase.rate:g} req/s | {dict(sorted(phase.recs.statuses.items()))} | "
            f"{phase.achieved_rate:.0f} | {phase.recs.late} | "
            f"{phase.server_cpu_ms_per_rec:.2f} | {phase.client_cpu_ms_per_rec:.2f} |"
        )
    lines += [
        "",
        f"Assignment answers by status: {dict(sorted(assigns.statuses.items()))} (409: the "
        "lawyer filled up or a group rule applies; not in the latency rows); server CPU "
        f"{result.server_cpu_ms_per_assign:.2f} ms per assignment request (all answers).",
        "",
    ]
    text = "\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rates",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[TARGET_RATE],
        help="recommendations per second, one phase per rate (e.g. 50,100,200)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of recommendations")
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--assignments", type=int, default=400)
    parser.add_argument("--assign-rate", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if args.duration > 120 or sum(args.rates) * args.duration > 50_000 or args.assignments > 5_000:
        parser.error("bounded run: at most 120 s, 50,000 recommendations, 5,000 assignments")

    print("generating county-L ...", file=sys.stderr)
    problem = build_problem(args.cases, args.seed)
    with tempfile.TemporaryDirectory(prefix="assigner-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        print("writing the roster and cases ...", file=sys.stderr)
        key = prepare_database(url, problem)
        port = free_port()
        server = start_server(url, port, Path(tmp) / "server.log", args.workers)
        try:
            load_before = os.getloadavg()
            print(f"load: {args.rates} req/s, {args.duration:g} s each ...", file=sys.stderr)
            result = asyncio.run(
                run_load(
                    port,
                    server.pid,
                    key,
                    args,
                    [c.id for c in problem.cases],
                    [lw.id for lw in problem.lawyers],
                )
            )
            load_after = os.getloadavg()
        finally:
            server.terminate()
            server.wait(20)
    out = args.out / f"api-{datetime.now(UTC):%Y-%m-%d}.md"
    text = write_report(
        out, args, result, load_before, load_after, len(problem.lawyers), len(problem.cases)
    )
    print(text)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
