"""The load bands as arrays for compiled code, and their cost at one agent's load.

Each started ``unit`` of load above an agent's threshold costs the band's ``points``
(``instance.LoadBand``).  The compiled passes, the shift pricing and the knapsack bound all
price it through ``band_cost``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from assigner.search.instance import I64, AssignmentInstance, LoadBand


def priced_bands(inst: AssignmentInstance) -> list[LoadBand]:
    """The bands that cost anything."""
    return [band for band in inst.bands if band.points]


def band_arrays(inst: AssignmentInstance) -> tuple[I64, I64, I64]:
    """Thresholds (agent x band), points and units of the bands that cost anything."""
    bands = priced_bands(inst)
    threshold = np.zeros((inst.n_agents, len(bands)), dtype=np.int64)
    for k, band in enumerate(bands):
        threshold[:, k] = band.threshold
    points = np.array([band.points for band in bands], dtype=np.int64)
    unit = np.array([band.unit for band in bands], dtype=np.int64)
    return threshold, points, unit


@njit(cache=True, nogil=True)
def band_cost(threshold: I64, points: I64, unit: I64, agent: int, load: int) -> int:
    """Load-band cost of ``agent`` at ``load``."""
    total = 0
    for k in range(points.shape[0]):
        excess = load - threshold[agent, k]
        if excess > 0:
            total += points[k] * ((excess + unit[k] - 1) // unit[k])
    return total


def bands_cost(bands: list[LoadBand], agents: I64, load: I64) -> I64:
    """``band_cost`` of many agents at once (numpy): the load-band cost of each of ``agents``
    at its ``load``."""
    total = np.zeros(agents.size, dtype=np.int64)
    for band in bands:
        excess = np.maximum(0, load - band.threshold[agents])
        total += band.points * (-(-excess // band.unit))
    return total
