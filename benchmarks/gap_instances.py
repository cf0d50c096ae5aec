"""OR-Library GAP instances as :class:`AssignmentInstance`, and their best known values.

Format (white-space separated integers): ``m n``, the m x n cost matrix (row per agent), the
m x n weight matrix, then the m capacities.  Every instance is a minimisation problem; every item
must be assigned; every (item, agent) pair is an edge with an agent-dependent weight.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assigner.search.instance import MUST_ASSIGN, AssignmentInstance

GAP_DIR_ENV = "ASSIGNER_GAP_DIR"


# The data README's one correction to best_known.csv: a published feasible solution better than
# the table's value.
BEST_VALUE_CORRECTIONS = {"chu1997/d20200": 12238}


class GapDataMissing(FileNotFoundError):
    """The GAP data directory (or a file in it) is not where it was looked for."""


@dataclass(frozen=True)
class BestKnown:
    """One row of ``best_known.csv`` (all values minimisation)."""

    path: str  # relative to the data dir, e.g. "chu1997/c05100"
    n_items: int
    n_agents: int
    lower_bound: int
    optimum: int | None  # None where optimality is not proven
    best_value: int

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def family(self) -> str:
        """``gap`` for the Cattrysse gap1-12 sets, else the type letter (a-e)."""
        return "gap" if self.name.startswith("gap") else self.name[0]


def default_gap_dir() -> Path:
    """``<repo>/../shared/data/gap``, where the shared workspace keeps the instances."""
    repo = Path(__file__).resolve().parent.parent
    return repo.parent / "shared" / "data" / "gap"


def resolve_gap_dir(override: str | Path | None = None) -> Path:
    """The data dir from the argument, else ``$ASSIGNER_GAP_DIR``, else the default; it must exist
    and hold ``best_known.csv``."""
    if override is not None:
        where, how = Path(override), "--gap-dir"
    elif os.environ.get(GAP_DIR_ENV):
        where, how = Path(os.environ[GAP_DIR_ENV]), f"${GAP_DIR_ENV}"
    else:
        where, how = default_gap_dir(), "the default location"
    if not (where / "best_known.csv").is_file():
        raise GapDataMissing(
            f"GAP data not found at {where} (from {how}): expected a directory with "
            f"best_known.csv and the OR-Library instance files; pass --gap-dir or set {GAP_DIR_ENV}"
        )
    return where


def read_gap(path: str | Path) -> AssignmentInstance:
    """Read one OR-Library GAP file into a must-assign instance with an edge per pair."""
    path = Path(path)
    if not path.is_file():
        raise GapDataMissing(f"GAP instance file not found: {path}")
    try:
        numbers = np.array(path.read_text().split(), dtype=np.int64)
    except ValueError as exc:
        raise ValueError(f"{path}: not a GAP file of integers ({exc})") from exc
    if numbers.size < 2:
        raise ValueError(f"{path}: missing the 'm n' header")
    m, n = int(numbers[0]), int(numbers[1])
    expected = 2 + 2 * m * n + m
    if m <= 0 or n <= 0 or numbers.size < expected:
        raise ValueError(
            f"{path}: header says {m} agents x {n} items, needing {expected} numbers; "
            f"found {numbers.size}"
        )
    cost = numbers[2 : 2 + m * n].reshape(m, n)
    weight = numbers[2 + m * n : 2 + 2 * m * n].reshape(m, n)
    capacity = numbers[2 + 2 * m * n : expected].copy()
    # Edges sorted by item: item-major order of the (agent, item) matrices.
    return AssignmentInstance(
        n_items=n,
        n_agents=m,
        edge_item=np.repeat(np.arange(n, dtype=np.int32), m),
        edge_agent=np.tile(np.arange(m, dtype=np.int32), n),
        edge_cost=np.ascontiguousarray(cost.T).reshape(-1),
        edge_weight=np.ascontiguousarray(weight.T).reshape(-1),
        capacity=capacity,
        max_count=np.full(m, n, dtype=np.int64),
        unassigned_penalty=np.full(n, MUST_ASSIGN, dtype=np.int64),
    )


def _optional_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def load_best_known(gap_dir: Path) -> list[BestKnown]:
    """Rows of ``best_known.csv`` in file order."""
    rows: list[BestKnown] = []
    with (gap_dir / "best_known.csv").open(newline="") as fh:
        for rec in csv.DictReader(fh):
            rows.append(
                BestKnown(
                    path=rec["Path"].strip(),
                    n_items=int(rec["Item number"]),
                    n_agents=int(rec["Agent number"]),
                    lower_bound=int(rec["Best known bound"]),
                    optimum=_optional_int(rec["Optimum"]),
                    best_value=BEST_VALUE_CORRECTIONS.get(
                        rec["Path"].strip(), int(rec["Best known solution value"])
                    ),
                )
            )
    return rows
