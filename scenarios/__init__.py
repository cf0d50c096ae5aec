"""Scenarios: the synthetic county generator and its named scale tiers.

``generate_county("county-S", seed=7)`` gives a validated ``assigner.domain.Problem``; the same
tier and seed always give the same problem, byte for byte once written with ``write_problem``.
"""

from scenarios.generator import AS_OF, generate_county, write_problem
from scenarios.tiers import (
    DEFAULT_TIER,
    TIERS,
    ProviderMix,
    TierSpec,
    UnknownTierError,
    get_tier,
    tier_names,
)

__all__ = [
    "AS_OF",
    "DEFAULT_TIER",
    "TIERS",
    "ProviderMix",
    "TierSpec",
    "UnknownTierError",
    "generate_county",
    "get_tier",
    "tier_names",
    "write_problem",
]
