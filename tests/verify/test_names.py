"""The verifier's own name normalisation for conflict matching."""

from __future__ import annotations

import pytest

from assigner.verify.names import name_key, name_keys, names_match


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("John Smith", "smith john"),
        ("SMITH, John", "John  Smith"),
        ("John-Paul Smith", "smith john paul"),
        ("O'Brien Sean", "Sean OBrien"),
        ("  Li\tMing ", "ming li"),
        ("Ｌｉ Ｍｉｎｇ", "li ming"),
        ("张三", "张三"),
        ("阿卜杜·热合曼", "热合曼 阿卜杜"),
        ("张伟", "张 伟"),
        ("张伟", "张\u3000伟"),
        ("김민수", "김 민수"),
    ],
)
def test_names_that_match(first: str, second: str) -> None:
    """Tests that case, spacing, punctuation, width and word order do not matter."""
    assert names_match(first, second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Jon Smith", "Ronjon Arrowsmith"),
        ("Jon Smith", "Jon Smithson"),
        ("Wang Fang", "Wang Fangfang"),
        ("Wang Fang", "Wang Fang Li"),
        ("Li Li", "Li"),
        ("张伟", "伟张"),
        ("张·伟", "张伟"),
        ("...", "..."),
        ("", ""),
    ],
)
def test_names_that_do_not_match(first: str, second: str) -> None:
    """Tests that matching is whole-word equality of the full name, never substring, and that
    empty names match nothing."""
    assert not names_match(first, second)


def test_name_key_is_sorted_words() -> None:
    """Tests that a name key is the sorted tuple of normalised words."""
    assert name_key("Smith, John Q.") == ("john", "q", "smith")


def test_name_keys_drop_empty() -> None:
    """Tests that name_keys drops names with no words."""
    assert name_keys(["-", "Ann Lee", "lee ann"]) == {("ann", "lee")}
