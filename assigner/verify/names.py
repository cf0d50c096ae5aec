"""Name keys for the verifier's conflict checks (DOMAIN.md "Conflicts of interest").

Conflict systems match names after normalising case, spacing and punctuation, order-insensitive
and word by word; loose (substring) matching floods false positives ("Jon Smith" must not hit
"Ronjon Arrowsmith").  This module is the verifier's own implementation and shares no code with
the model's eligibility filters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

NameKey = tuple[str, ...]

# Apostrophes join the parts of one word ("O'Brien" = "OBrien"); other punctuation separates words.
_JOINING = frozenset("'\u2019\u02bc`\u00b4")


def name_key(name: str) -> NameKey:
    """The normalised key of a full name: its words, case-folded, without punctuation, sorted.

    Two names match when their keys are equal and not empty: same words in any order.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    chars: list[str] = []
    for ch in text:
        if ch in _JOINING:
            continue
        category = unicodedata.category(ch)
        if ch.isspace() or category[0] in "PSCZ":
            chars.append(" ")
        else:
            chars.append(ch)
    return tuple(sorted("".join(chars).split()))


def name_keys(names: Iterable[str]) -> set[NameKey]:
    """The non-empty keys of some names (a name of punctuation only matches nothing)."""
    return {key for key in (name_key(n) for n in names) if key}


def names_match(first: str, second: str) -> bool:
    """True when two full names are equal word by word after normalisation (never substring)."""
    key = name_key(first)
    return bool(key) and key == name_key(second)
