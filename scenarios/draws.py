"""Fast scalar random draws from a numpy Generator, for record-by-record generation.

Calling ``Generator.random()`` once per field costs microseconds of overhead each time; the
generator builds hundreds of thousands of records, so scalars come from a buffer refilled in
blocks.  The sequence is still fixed by the seed, so results stay reproducible.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from itertools import accumulate

import numpy as np

_BLOCK = 8192


class Draws:
    """Uniform scalars from ``rng`` in blocks, with the few shapes the generator needs."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._buffer: list[float] = []

    def random(self) -> float:
        """A uniform draw in [0, 1)."""
        if not self._buffer:
            self._buffer = self.rng.random(_BLOCK).tolist()
            self._buffer.reverse()
        return self._buffer.pop()

    def below(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.random() < p

    def integer(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        return min(int(self.random() * n), n - 1)

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def index(self, cumulative: Sequence[float]) -> int:
        """An index drawn by weights given as their running total (see :func:`cumulative`)."""
        i = bisect.bisect_right(cumulative, self.random() * cumulative[-1])
        return min(i, len(cumulative) - 1)


class WeightedKeys:
    """Keys with weights, drawn by :class:`Draws` (cumulative sums computed once)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.keys = list(weights)
        self.cumulative = list(accumulate(weights[k] for k in self.keys))

    def draw(self, draws: Draws) -> str:
        return self.keys[draws.index(self.cumulative)]
