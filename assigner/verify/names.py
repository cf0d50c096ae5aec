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


def _folded(name: str) -> list[str]:
    """The name's characters after normalisation, each word break as "" (a space) or "\t"
    (punctuation, which also breaks Chinese, Japanese and Korean names)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    chars: list[str] = []
    for ch in text:
        if ch in _JOINING:
            continue
        category = unicodedata.category(ch)
        if ch.isspace() or category == "Zs":
            chars.append("")
        elif category[0] in "PSCZ":
            chars.append("\t")
        else:
            chars.append(ch)
    return chars


def _written_without_spaces(ch: str) -> bool:
    """Han, kana or Hangul: names in these scripts are written without spaces."""
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL"))


def _key(chars: list[str]) -> NameKey:
    return tuple(sorted("".join(" " if c in ("", "\t") else c for c in chars).split()))


def name_key(name: str) -> NameKey:
    """The normalised key of a full name: its words, case-folded, without punctuation, sorted.

    Two names match when their keys are equal and not empty: same words in any order.
    """
    return _key(_folded(name))


def name_variants(name: str) -> set[NameKey]:
    """The keys a name matches by: ``name_key``, and the key with the spaces between Han, kana
    or Hangul characters taken out ("张 伟" is "张伟"; "热合曼 阿卜杜" still matches
    "阿卜杜·热合曼" by its words).  Empty keys are left out."""
    chars = _folded(name)
    joined: list[str] = []
    for k, c in enumerate(chars):
        if c == "":
            before = next((x for x in reversed(chars[:k]) if x != ""), "\t")
            after = next((x for x in chars[k + 1 :] if x != ""), "\t")
            if _written_without_spaces(before) and _written_without_spaces(after):
                continue
        joined.append(c)
    return {key for key in (_key(chars), _key(joined)) if key}


def name_keys(names: Iterable[str]) -> set[NameKey]:
    """The non-empty keys of some names (a name of punctuation only matches nothing)."""
    return {key for n in names for key in name_variants(n)}


def names_match(first: str, second: str) -> bool:
    """True when two full names share a key (``name_variants``): equal word by word after
    normalisation, never by substring."""
    return not name_variants(first).isdisjoint(name_variants(second))
