"""Edge lookup of an assignment vector on county-M: the per-item loop ``chosen_edges`` used
before against the vectorised ``edge_rows`` (both in one run, same vector), and ``evaluate``.

Run: ``.venv/bin/python -m benchmarks.edge_lookup_bench``.
"""

from __future__ import annotations

import time

import numpy as np

from assigner.engine import prepare
from assigner.search.greedy import greedy
from assigner.search.instance import AssignmentInstance, edge_rows, evaluate
from scenarios.generator import generate_county


def old_rows(inst: AssignmentInstance, a: np.ndarray) -> np.ndarray:
    """The lookup as it was: one numpy call per assigned item."""
    rows = np.full(inst.n_items, -1, dtype=np.int64)
    for item in np.flatnonzero(a >= 0):
        sl = inst.edges_of(int(item))
        hit = np.flatnonzero(inst.edge_agent[sl] == a[item])
        rows[item] = sl.start + int(hit[0])
    return rows


def main() -> None:
    p = prepare(generate_county("county-M", 1))
    inst = p.instance
    vec = greedy(inst)
    for name, f in (("per-item loop (before)", old_rows), ("vectorised (after)", edge_rows)):
        t = time.perf_counter()
        for _ in range(20):
            f(inst, vec)
        print(name, f"{(time.perf_counter() - t) / 20 * 1000:.2f} ms per lookup")
    if not (old_rows(inst, vec) == edge_rows(inst, vec)).all():
        raise SystemExit("the two lookups disagree")
    t = time.perf_counter()
    for _ in range(20):
        evaluate(inst, vec)
    print(
        "evaluate (after)",
        f"{(time.perf_counter() - t) / 20 * 1000:.2f} ms",
        inst.n_items,
        "items",
        inst.n_edges,
        "edges",
    )


if __name__ == "__main__":
    main()
