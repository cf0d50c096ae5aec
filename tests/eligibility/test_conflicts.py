"""Tests that conflict checks match names word by word, order-insensitive, never by substring,
and report how a party matched (party id, name, alias)."""

from __future__ import annotations

import pytest

from assigner.domain import KnownClient, Party, PartyRole, Side
from assigner.eligibility import (
    ClientHolder,
    ConflictIndex,
    MatchKind,
    Rule,
    adverse_roles,
    name_keys,
    names_match,
)
from tests.eligibility.helpers import assert_eligible, assert_excluded_only_by
from tests.factory import make_case, make_firm, make_lawyer, make_problem


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Smith, John", "john SMITH"),
        ("John Smith", "  JOHN   smith. "),
        ("José Núñez", "jose nunez"),
        ("Sean O'Brien", "OBrien, Sean"),
        ("Sean O\u2019Brien", "sean o'brien"),
        ("Anne-Marie Dubois", "Dubois Anne Marie"),
        ("Søren Łukasz", "soren lukasz"),
        ("王磊", " 王磊 "),
        ("Ｗａｎｇ Ｌｅｉ", "wang lei"),
        ("张伟", "张 伟"),
        ("张伟", "张\u3000伟"),
        ("김민수", "김 민수"),
        ("阿卜杜·热合曼", "热合曼 阿卜杜"),
    ],
)
def test_same_person_written_differently_matches(a: str, b: str) -> None:
    """Tests that case, spacing, punctuation, accents, width and word order do not matter."""
    assert names_match(a, b)
    assert not set(name_keys(a)).isdisjoint(name_keys(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Jon Smith", "Ronjon Arrowsmith"),
        ("Jon Smith", "John Smith"),
        ("Smith", "Jon Smith"),
        ("John A. Smith", "John Smith"),
        ("John Smith", "John Smith Smith"),
        ("王磊", "王磊磊"),
        ("张伟", "伟张"),
        ("张·伟", "张伟"),
        ("", ""),
        ("...", "---"),
    ],
)
def test_different_names_do_not_match(a: str, b: str) -> None:
    """Tests that substrings, extra or missing words and empty names never match."""
    assert not names_match(a, b)


def test_substring_trap_does_not_exclude() -> None:
    """Tests that an adverse "Jon Smith" does not conflict a lawyer whose client is
    "Ronjon Arrowsmith" (DOMAIN.md: loose matching floods false positives)."""
    lawyer = make_lawyer(clients=[KnownClient(name="Ronjon Arrowsmith")])
    case = make_case(parties=[Party(name="Jon Smith", role="adverse")])
    assert_eligible(make_problem(lawyers=[lawyer], cases=[case]))


def test_order_insensitive_name_excludes() -> None:
    """Tests that "Smith, Jon" on the firm's list conflicts an adverse "jon SMITH"."""
    firm = make_firm(clients=[KnownClient(name="Smith, Jon")])
    case = make_case(parties=[Party(name="jon SMITH", role="adverse")])
    assert_excluded_only_by(make_problem(firms=[firm], cases=[case]), Rule.ADVERSE_PARTY)


def test_a_chinese_name_written_with_a_space_excludes() -> None:
    """Tests that the firm's client "张伟" conflicts an adverse "张 伟" (and one written with an
    ideographic space): Chinese names are written without spaces, so the space is not a word
    break (DOMAIN.md: names are matched after normalising spacing)."""
    for written in ("张 伟", "张\u3000伟"):
        firm = make_firm(clients=[KnownClient(name="张伟")])
        case = make_case(parties=[Party(name=written, role="adverse")])
        assert_excluded_only_by(make_problem(firms=[firm], cases=[case]), Rule.ADVERSE_PARTY)


def test_a_relative_written_with_a_space_excludes() -> None:
    """Tests that a lawyer's declared relative "李 娜" conflicts a party "李娜" in any role."""
    lawyer = make_lawyer(relatives=["李 娜"])
    case = make_case(parties=[Party(name="李娜", role="witness")])
    assert_excluded_only_by(make_problem(lawyers=[lawyer], cases=[case]), Rule.RELATIVE)


def _index_with_client(client: KnownClient) -> ConflictIndex:
    return ConflictIndex(make_problem(lawyers=[make_lawyer(clients=[client])]))


def test_party_hit_kinds() -> None:
    """Tests that hits report party_id, name or alias, one hit per record, strongest kind."""
    index = _index_with_client(KnownClient(party_id="P1", name="Wang Lei"))
    by_id = index.party_hits(Party(id="P1", name="Wang Lei", role="adverse"))
    assert [(h.kind, h.matched) for h in by_id] == [(MatchKind.PARTY_ID, "P1")]
    by_name = index.party_hits(Party(id="P2", name="LEI wang", role="adverse"))
    assert [(h.kind, h.matched) for h in by_name] == [(MatchKind.NAME, "LEI wang")]
    by_alias = index.party_hits(Party(name="W. L.", role="adverse", aliases=["Wang, Lei"]))
    assert [(h.kind, h.matched) for h in by_alias] == [(MatchKind.ALIAS, "Wang, Lei")]
    assert index.party_hits(Party(name="Wang Leilei", role="adverse")) == []


def test_party_id_match_without_name_match() -> None:
    """Tests that a recorded party id matches even when the names are written apart."""
    index = _index_with_client(KnownClient(party_id="P1", name="Old Name"))
    hits = index.party_hits(Party(id="P1", name="New Name", role="adverse"))
    assert [h.kind for h in hits] == [MatchKind.PARTY_ID]
    assert hits[0].record.holder is ClientHolder.LAWYER


def test_alias_match_reported_in_why_not() -> None:
    """Tests that an alias match excludes and is reported with the alias text."""
    lawyer = make_lawyer(clients=[KnownClient(name="Zhang Wei")])
    case = make_case(parties=[Party(name="Z. W.", role="adverse", aliases=["WEI Zhang"])])
    found = assert_excluded_only_by(
        make_problem(lawyers=[lawyer], cases=[case]), Rule.ADVERSE_PARTY
    )
    assert "by alias 'WEI Zhang'" in found.detail
    assert "a client of lawyer L1 (this lawyer)" in found.detail


def test_firm_client_conflicts_every_lawyer_of_the_firm() -> None:
    """Tests that a firm's client conflicts all its lawyers and no one elsewhere."""
    firms = [make_firm("F1", clients=[KnownClient(name="Li Na")]), make_firm("F2")]
    lawyers = [make_lawyer("L1"), make_lawyer("L2"), make_lawyer("L3", firm_id="F2")]
    problem = make_problem(firms=firms, lawyers=lawyers)
    case = make_case(parties=[Party(name="Li Na", role="adverse")])
    index = ConflictIndex(problem)
    assert index.adverse_lawyers(case).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("side", "adverse"),
    [
        (Side.DEFENDANT, {PartyRole.ADVERSE, PartyRole.VICTIM}),
        (Side.RESPONDENT, {PartyRole.ADVERSE, PartyRole.VICTIM}),
        (Side.VICTIM, {PartyRole.ADVERSE, PartyRole.CO_DEFENDANT}),
        (Side.CLAIMANT, {PartyRole.ADVERSE, PartyRole.CO_DEFENDANT}),
    ],
)
def test_adverse_roles_by_side(side: Side, adverse: set[PartyRole]) -> None:
    """Tests that each side has the right adverse roles; client and witness never are."""
    assert adverse_roles(side) == adverse


def test_victim_case_defendants_are_adverse() -> None:
    """Tests that for a victim's case a defendant who is the firm's client conflicts."""
    firm = make_firm(clients=[KnownClient(party_id="P5", name="Zhao Min")])
    case = make_case(side="victim", parties=[Party(id="P5", name="Zhao Min", role="co_defendant")])
    assert_excluded_only_by(make_problem(firms=[firm], cases=[case]), Rule.ADVERSE_PARTY)


def test_relative_hits_any_role_once_per_lawyer() -> None:
    """Tests that relatives match any party role by name or alias, once per party and lawyer."""
    problem = make_problem(lawyers=[make_lawyer(relatives=["Chen Jie", "Jie Chen"])])
    index = ConflictIndex(problem)
    case = make_case(
        parties=[Party(name="Chen Jie", role="client", aliases=["CHEN, Jie"])],
    )
    hits = index.relative_hits(case)
    assert [(h.kind, h.lawyer_index) for h in hits] == [(MatchKind.NAME, 0)]
    assert index.relative_lawyers(case).tolist() == [0]
