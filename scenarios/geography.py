"""Synthetic geography: county seats, townships and where courts and detention centres sit.

Coordinates are real-looking (around Xi'an, lat 34.3, lon 108.9) because travel is scored and
limited in km by great-circle distance.  Each township is one jurisdiction ("T01" ...), the
county seat is "SEAT"; in a province every code carries the county's prefix ("D07-T03") so that
jurisdictions stay unique.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios.names import NameMaker

KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_AT_EQUATOR = 111.320
SEAT_CODE = "SEAT"
SEAT_SPREAD_KM = 3.0
TOWNSHIP_SPREAD_KM = 4.0
"""Clients live up to this far from their town's centre (streets, villages)."""
SEAT_SHARE_OF_CLIENTS = 0.35
"""Share of a county's clients living in the seat town (project assumption: the seat is the
largest town; the rest live in townships, heavier in the larger ones)."""


def offset_km(lat: float, lon: float, east_km: float, north_km: float) -> tuple[float, float]:
    """The point ``east_km`` east and ``north_km`` north of (lat, lon), flat-earth locally."""
    new_lat = lat + north_km / KM_PER_DEGREE_LAT
    new_lon = lon + east_km / (KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat)))
    return new_lat, new_lon


@dataclass(frozen=True)
class Place:
    """A town: a jurisdiction with its centre and its share of the county's clients."""

    code: str
    name: str
    lat: float
    lon: float
    distance_from_seat_km: float
    client_weight: float


@dataclass(frozen=True)
class County:
    index: int
    code_prefix: str
    name: str
    seat: Place
    townships: tuple[Place, ...]
    court_lat: float
    court_lon: float
    detention_lat: float
    detention_lon: float

    @property
    def places(self) -> tuple[Place, ...]:
        """The seat first, then the townships."""
        return (self.seat, *self.townships)

    @property
    def jurisdictions(self) -> list[str]:
        return [p.code for p in self.places]


def county_centres(
    n_counties: int, spacing_km: float, lat: float, lon: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Seats of ``n_counties`` on a jittered grid centred on (lat, lon).

    The jitter (at most 5 km per axis) keeps neighbouring seats at least ``spacing_km - 10``
    apart, so a tier's spacing guarantees separate travel regions.
    """
    if n_counties == 1:
        return [(lat, lon)]
    cols = math.ceil(math.sqrt(n_counties * 1.4))
    rows = math.ceil(n_counties / cols)
    centres = []
    for k in range(n_counties):
        r, c = divmod(k, cols)
        east = (c - (cols - 1) / 2) * spacing_km + float(rng.uniform(-5, 5))
        north = ((rows - 1) / 2 - r) * spacing_km + float(rng.uniform(-5, 5))
        centres.append(offset_km(lat, lon, east, north))
    return centres


def build_county(
    index: int,
    code_prefix: str,
    seat_lat: float,
    seat_lon: float,
    townships_range: tuple[int, int],
    radius_km: tuple[float, float],
    rng: np.random.Generator,
    names: NameMaker,
) -> County:
    """A seat and its townships at 5-40 km (per tier), spread around the compass."""
    n_towns = int(rng.integers(townships_range[0], townships_range[1] + 1))
    place_names = names.place_names(n_towns + 1)
    county_name = place_names[0]
    angles = (np.arange(n_towns) + rng.uniform(-0.35, 0.35, n_towns)) * (2 * math.pi / n_towns)
    lo, hi = radius_km
    # sqrt: towns spread evenly over the area rather than bunching near the seat
    dist_km = lo + (hi - lo) * np.sqrt(rng.random(n_towns))
    weights = rng.lognormal(0.0, 0.6, n_towns) * (1.2 - 0.5 * (dist_km - lo) / max(hi - lo, 1e-9))
    towns = []
    for t in range(n_towns):
        east = float(dist_km[t] * math.cos(angles[t]))
        north = float(dist_km[t] * math.sin(angles[t]))
        t_lat, t_lon = offset_km(seat_lat, seat_lon, east, north)
        towns.append(
            Place(
                code=f"{code_prefix}T{t + 1:02d}",
                name=f"{place_names[t + 1]} Town",
                lat=round(t_lat, 6),
                lon=round(t_lon, 6),
                distance_from_seat_km=round(float(dist_km[t]), 2),
                client_weight=float(weights[t]),
            )
        )
    town_total = sum(p.client_weight for p in towns)
    seat = Place(
        code=f"{code_prefix}{SEAT_CODE}",
        name=f"{county_name} County seat",
        lat=round(seat_lat, 6),
        lon=round(seat_lon, 6),
        distance_from_seat_km=0.0,
        client_weight=town_total * SEAT_SHARE_OF_CLIENTS / (1 - SEAT_SHARE_OF_CLIENTS),
    )
    court_lat, court_lon = offset_km(seat_lat, seat_lon, 0.8, 0.3)
    angle = float(rng.uniform(0, 2 * math.pi))
    det_lat, det_lon = offset_km(seat_lat, seat_lon, 4 * math.cos(angle), 4 * math.sin(angle))
    return County(
        index=index,
        code_prefix=code_prefix,
        name=county_name,
        seat=seat,
        townships=tuple(towns),
        court_lat=round(court_lat, 6),
        court_lon=round(court_lon, 6),
        detention_lat=round(det_lat, 6),
        detention_lon=round(det_lon, 6),
    )


def jitter_points(
    lat: np.ndarray, lon: np.ndarray, max_km: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Scatter points up to ``max_km`` around given centres (villages, street addresses)."""
    n = lat.shape[0]
    r = max_km * np.sqrt(rng.random(n))
    a = rng.uniform(0, 2 * math.pi, n)
    new_lat = lat + r * np.sin(a) / KM_PER_DEGREE_LAT
    new_lon = lon + r * np.cos(a) / (KM_PER_DEGREE_LON_AT_EQUATOR * np.cos(np.radians(lat)))
    return np.round(new_lat, 6), np.round(new_lon, 6)
