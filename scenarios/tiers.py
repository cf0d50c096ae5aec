"""Named, reproducible scale tiers for the synthetic county generator (DESIGN.md "Scale tiers").

A tier fixes the size and the shape of a generated county (or province); the seed fixes the
draw.  ``get_tier`` refuses unknown names with the list of known ones: a typo must never fall
back silently to some default county.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from assigner.domain import Policy, ProviderKind
from scenarios.geography import TOWNSHIP_SPREAD_KM

CaseMixProfile = Literal["cn", "us"]
GRASSROOTS_MAX_TRAVEL_KM = 35.0
"""Grassroots workers serve their township and its neighbours (travel limit 20-35 km)."""


@dataclass(frozen=True)
class ProviderMix:
    """Shares of providers by kind (normalised when used, so they need not add up to 1).

    A Chinese county relies on practising lawyers of local firms plus the legal aid centre's
    staff; a large US county relies on salaried public and alternate defenders for criminal
    work and on a civil legal aid organisation (modelled as the legal aid centre) for civil work.
    """

    staff_lawyer: float = 0.0
    practising_lawyer: float = 0.0
    public_defender: float = 0.0
    alternate_defender: float = 0.0
    grassroots_worker: float = 0.0
    volunteer: float = 0.0

    def shares(self) -> dict[ProviderKind, float]:
        return {
            ProviderKind.STAFF_LAWYER: self.staff_lawyer,
            ProviderKind.PRACTISING_LAWYER: self.practising_lawyer,
            ProviderKind.PUBLIC_DEFENDER: self.public_defender,
            ProviderKind.ALTERNATE_DEFENDER: self.alternate_defender,
            ProviderKind.GRASSROOTS_WORKER: self.grassroots_worker,
            ProviderKind.VOLUNTEER: self.volunteer,
        }


@dataclass(frozen=True)
class TierSpec:
    """Size and shape of a generated problem.

    ``n_lawyers`` and ``n_cases`` are totals over all counties.  With ``n_counties > 1`` the
    counties get uneven sizes around the mean and sit ``county_spacing_km`` apart on a grid.
    Without ``cross_border_help`` the spacing must exceed ``township_radius_km`` max + the
    policy's default travel limit (80 km), so that travel limits split the problem into
    independent regions.  With it the spacing must be close enough that a lawyer at a county
    seat reaches the outer townships of the next county on its side: lawyers without a
    jurisdiction limit (practising lawyers) then take cases across the border, while the county
    offices (public and alternate defenders) stay within their own county's jurisdictions.
    """

    name: str
    stands_for: str
    n_lawyers: int
    n_cases: int
    providers: ProviderMix
    case_mix: CaseMixProfile = "cn"
    n_counties: int = 1
    townships_per_county: tuple[int, int] = (8, 15)
    township_radius_km: tuple[float, float] = (5.0, 40.0)
    county_spacing_km: float = 125.0
    cross_border_help: bool = False
    demand_share_of_free_capacity: float = 0.75
    """Target of total case hours / total free capacity hours, per county (60-90% in spirit:
    a good plan can assign every case, yet some areas come out tight)."""
    seat_lat: float = 34.30
    seat_lon: float = 108.90

    def __post_init__(self) -> None:
        if self.n_lawyers < 1 or self.n_cases < 1 or self.n_counties < 1:
            raise ValueError(f"tier {self.name!r}: sizes must be positive")
        if self.n_lawyers < 4 * self.n_counties:
            raise ValueError(f"tier {self.name!r}: at least 4 lawyers per county are needed")
        lo, hi = self.townships_per_county
        if not 1 <= lo <= hi:
            raise ValueError(f"tier {self.name!r}: townships_per_county must be 1 <= lo <= hi")
        rlo, rhi = self.township_radius_km
        if not 0 < rlo <= rhi:
            raise ValueError(f"tier {self.name!r}: township_radius_km must be 0 < lo <= hi")
        if not 0 < self.demand_share_of_free_capacity <= 1.5:
            raise ValueError(f"tier {self.name!r}: demand_share_of_free_capacity out of range")
        if sum(self.providers.shares().values()) <= 0:
            raise ValueError(f"tier {self.name!r}: the provider mix is empty")
        seat_reach_km = Policy().default_max_travel_km
        if self.n_counties > 1 and self.cross_border_help:
            # The next county's outer townships (up to ``rhi`` from its seat, which may sit
            # 10 km further than the spacing) must be within a seat-based lawyer's reach.
            if self.county_spacing_km + 10 - rhi >= seat_reach_km:
                raise ValueError(
                    f"tier {self.name!r}: county_spacing_km too large for help across borders"
                )
        elif self.n_counties > 1:
            # Seats may sit 10 km closer than the spacing (grid jitter) and clients live up to
            # TOWNSHIP_SPREAD_KM beyond their township.  A seat-based lawyer travels up to the
            # policy default; a grassroots worker in an outer township up to
            # GRASSROOTS_MAX_TRAVEL_KM.  Neither may reach a neighbouring county.
            gap_km = self.county_spacing_km - 10 - rhi - TOWNSHIP_SPREAD_KM
            if gap_km <= seat_reach_km or gap_km - rhi <= GRASSROOTS_MAX_TRAVEL_KM:
                raise ValueError(
                    f"tier {self.name!r}: county_spacing_km too small for separate regions"
                )


class UnknownTierError(KeyError):
    """Raised for a tier name that is not registered; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return str(self.args[0]) if self.args else "unknown tier"


# A Chinese county: local law firms carry most aided cases, the legal aid centre's staff the
# rest, grassroots legal service workers the simple civil matters near their townships.
_CN_COUNTY = ProviderMix(
    staff_lawyer=0.13, practising_lawyer=0.73, grassroots_worker=0.10, volunteer=0.04
)
# A US-style county: public and alternate defenders for criminal work, a civil legal aid
# organisation, appointed private counsel for overflow and conflicts.
_US_MID = ProviderMix(
    staff_lawyer=0.18,
    practising_lawyer=0.40,
    public_defender=0.28,
    alternate_defender=0.06,
    grassroots_worker=0.06,
    volunteer=0.02,
)
_US_LARGE = ProviderMix(
    staff_lawyer=0.22,
    practising_lawyer=0.28,
    public_defender=0.38,
    alternate_defender=0.08,
    grassroots_worker=0.03,
    volunteer=0.01,
)

_PROVINCE = TierSpec(
    name="province",
    stands_for=(
        "a province or state: many counties side by side, 125 km apart, so that each is "
        "its own travel region (no help across county borders: see province-border)"
    ),
    n_lawyers=10_000,
    n_cases=200_000,
    providers=_US_MID,
    case_mix="us",
    n_counties=40,
    townships_per_county=(10, 20),
    township_radius_km=(5.0, 30.0),
    county_spacing_km=125.0,
)

_TIERS: tuple[TierSpec, ...] = (
    TierSpec(
        name="tiny",
        stands_for="a handful of providers, for unit tests",
        n_lawyers=8,
        n_cases=40,
        providers=ProviderMix(staff_lawyer=2, practising_lawyer=4, grassroots_worker=2),
        townships_per_county=(3, 4),
        township_radius_km=(5.0, 25.0),
    ),
    TierSpec(
        name="demo",
        stands_for="the default demo county (a Chinese county legal aid centre)",
        n_lawyers=60,
        n_cases=600,
        providers=_CN_COUNTY,
    ),
    TierSpec(
        name="county-S",
        stands_for="a Chinese county legal aid centre",
        n_lawyers=60,
        n_cases=600,
        providers=_CN_COUNTY,
    ),
    TierSpec(
        name="county-M",
        stands_for="a mid-size US county or a Chinese prefecture",
        n_lawyers=250,
        n_cases=5_000,
        providers=_US_MID,
        case_mix="us",
        townships_per_county=(15, 25),
    ),
    TierSpec(
        name="county-L",
        stands_for="the largest county offices (Los Angeles, Cook)",
        n_lawyers=1_000,
        n_cases=20_000,
        providers=_US_LARGE,
        case_mix="us",
        townships_per_county=(30, 45),
    ),
    _PROVINCE,
    dataclasses.replace(
        _PROVINCE,
        name="province-border",
        stands_for=(
            "the province's counties side by side, 95 km apart: lawyers of one county "
            "take cases near the border of the next"
        ),
        county_spacing_km=95.0,
        cross_border_help=True,
    ),
)

TIERS: Mapping[str, TierSpec] = MappingProxyType({t.name: t for t in _TIERS})
"""Registered tiers by name (read-only)."""

DEFAULT_TIER = "demo"


def tier_names() -> list[str]:
    """Registered tier names, smallest first."""
    return list(TIERS)


def get_tier(name: str) -> TierSpec:
    """The registered tier ``name``; unknown names raise :class:`UnknownTierError`."""
    try:
        return TIERS[name]
    except KeyError:
        known = ", ".join(TIERS)
        raise UnknownTierError(f"unknown tier {name!r}; known tiers: {known}") from None
