"""Conflict-of-interest lookups: who acts or acted for whom, and declared relatives.

Names are compared after normalisation, word by word and order-insensitive, never by substring
(DOMAIN.md "Conflicts of interest": loose matching floods false positives such as "Jon Smith"
hitting "Ronjon Arrowsmith").  Two names match when they have the same multiset of normalised
words: "Smith, John" matches "john SMITH" and "JOHN  smith.", but not "John A. Smith".

Client history is imputed to the firm (Lawyer Practice Conduct Norms Art 51 works at firm level;
a public defender office counts as one firm): a party on ``Firm.clients`` conflicts every lawyer
of that firm, and a party on ``Lawyer.clients`` conflicts that lawyer and every colleague at the
lawyer's current firm.

Current and former clients differ (``KnownClient.ended_on``): a current client adverse to the
case's client always conflicts (``Rule.ADVERSE_PARTY``); a former one only if the representation
ended less than ``FORMER_CLIENT_DAYS`` before the plan date and was in the same matter (or its
matter is not recorded), and a lawyer the case's ``conflict_waivers`` name is cleared of it
(``Rule.FORMER_CLIENT``, Conduct Norms Art 52).  Older former clients do not conflict.

Declared relatives: a lawyer's own relative among the parties, in any role, conflicts that
lawyer (``Rule.RELATIVE``, Lawyers Law Art 39, not waivable); a colleague's relative who is a
party adverse to the case's client conflicts the other lawyers of the colleague's firm unless the
case's ``conflict_waivers`` name them (``Rule.COLLEAGUE_RELATIVE``, Conduct Norms Art 52).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from assigner.domain.problem import Case, KnownClient, Party, PartyRole, Problem, Side
from assigner.eligibility.rules import FORMER_CLIENT_DAYS

IndexArray = npt.NDArray[np.int32]

# Removed without a trace, so that "O'Brien" matches "OBrien".
_APOSTROPHES = frozenset("'\u2018\u2019\u02bc`\u00b4")
# Latin letters that Unicode does not decompose into a base letter and an accent.
_SIMPLE_FOLDS = {
    "\u00f8": "o",  # ø
    "\u0111": "d",  # đ
    "\u00f0": "d",  # ð
    "\u0142": "l",  # ł
    "\u00e6": "ae",  # æ
    "\u0153": "oe",  # œ
    "\u00fe": "th",  # þ
    "\u0131": "i",  # dotless i
}
_LATIN_END = 0x0250  # Basic Latin .. Latin Extended-B
_NONE: frozenset[int] = frozenset()


# A break between words that is spacing (not punctuation): ``name_keys`` also drops it between
# two CJK characters.
_SPACE = "\x00"


def _is_cjk(ch: str) -> bool:
    """Han ideographs, kana and Hangul: scripts whose names are written without spaces."""
    cp = ord(ch)
    return (
        0x3040 <= cp <= 0x30FF  # hiragana, katakana
        or 0x3400 <= cp <= 0x4DBF  # Han extension A
        or 0x4E00 <= cp <= 0x9FFF  # Han
        or 0xAC00 <= cp <= 0xD7AF  # Hangul syllables
        or 0xF900 <= cp <= 0xFAFF  # Han compatibility
        or 0x20000 <= cp <= 0x3134F  # Han extensions B..G
    )


@lru_cache(maxsize=65_536)
def _normalised(name: str) -> str:
    """The name case-folded, Latin accents stripped, apostrophes deleted, spacing as ``_SPACE``
    and other punctuation and symbols as a plain space."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    out: list[str] = []
    after_latin = False
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category == "Mn":
            if not after_latin:
                out.append(ch)
            continue
        if ch in _APOSTROPHES or category == "Cf":
            continue
        if ch.isspace() or category[0] in "PSZC":
            out.append(_SPACE if ch.isspace() or category == "Zs" else " ")
            after_latin = False
            continue
        ch = _SIMPLE_FOLDS.get(ch, ch)
        out.append(ch)
        after_latin = ord(ch[0]) < _LATIN_END
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=65_536)
def name_tokens(name: str) -> tuple[str, ...]:
    """The sorted, normalised words of a name.

    Case-folds, strips accents from Latin letters (other scripts keep their combining marks,
    which carry meaning there), deletes apostrophes, turns other punctuation, symbols and
    spacing into word breaks, and sorts the words so that order does not matter.
    """
    return tuple(sorted(_normalised(name).replace(_SPACE, " ").split()))


@lru_cache(maxsize=65_536)
def name_key(name: str) -> str:
    """A hashable key for a name: its normalised words in sorted order ("" when none)."""
    return " ".join(name_tokens(name))


def _cjk_joined(text: str) -> str:
    """``text`` without the spacing between two CJK characters ("张 伟" -> "张伟")."""
    kept: list[str] = []
    for k, ch in enumerate(text):
        if ch == _SPACE:
            before = next((c for c in reversed(text[:k]) if c != _SPACE), "")
            after = next((c for c in text[k + 1 :] if c != _SPACE), "")
            if before and after and _is_cjk(before) and _is_cjk(after):
                continue
        kept.append(ch)
    return "".join(kept)


@lru_cache(maxsize=65_536)
def name_keys(name: str) -> tuple[str, ...]:
    """Every key the name is looked up by: ``name_key``, and where spacing stands between two
    CJK characters, the key without it.  Chinese, Japanese and Korean names are written without
    spaces, so "张 伟" (or with an ideographic space) is "张伟"; the word key still matches a
    name whose parts are reordered across spacing or punctuation ("热合曼 阿卜杜",
    "阿卜杜·热合曼").  Empty keys are left out."""
    first = name_key(name)
    text = _normalised(name)
    joined = _cjk_joined(text)
    keys = [first] if first else []
    if joined != text:
        second = " ".join(sorted(joined.replace(_SPACE, " ").split()))
        if second and second != first:
            keys.append(second)
    return tuple(keys)


def names_match(a: str, b: str) -> bool:
    """True when the names share a key (``name_keys``: order-insensitive, never partial)."""
    return not set(name_keys(a)).isdisjoint(name_keys(b))


class MatchKind(StrEnum):
    """How a party matched a recorded client or relative."""

    PARTY_ID = "party_id"
    NAME = "name"
    ALIAS = "alias"


class ClientHolder(StrEnum):
    """Whose client list a record comes from."""

    LAWYER = "lawyer"
    FIRM = "firm"


_DEFENCE_SIDE_ADVERSE = frozenset({PartyRole.ADVERSE, PartyRole.VICTIM})
_INJURED_SIDE_ADVERSE = frozenset({PartyRole.ADVERSE, PartyRole.CO_DEFENDANT})


def adverse_roles(side: Side) -> frozenset[PartyRole]:
    """Party roles that are adverse to the client of a case on ``side``.

    ``ADVERSE`` always is.  ``VICTIM`` parties are the injured side and ``CO_DEFENDANT`` parties
    the accused or sued side: for a defendant or respondent the victims are adverse and the
    co-defendants are on the client's own side; for a victim or claimant it is the other way
    round.  ``CLIENT`` and ``WITNESS`` are never adverse.
    """
    if side in (Side.DEFENDANT, Side.RESPONDENT):
        return _DEFENCE_SIDE_ADVERSE
    return _INJURED_SIDE_ADVERSE


@dataclass(frozen=True)
class ClientRecord:
    """One entry of a lawyer's or a firm's client history."""

    holder: ClientHolder
    holder_index: int  # lawyer position for LAWYER, firm position for FIRM
    firm_index: int  # the firm whose lawyers the record conflicts
    client: KnownClient


@dataclass(frozen=True)
class AdverseHit:
    """A party of a case that matches a recorded client."""

    party: Party
    kind: MatchKind
    matched: str  # the party id, name or alias that matched
    record: ClientRecord


@dataclass(frozen=True)
class RelativeHit:
    """A party of a case that matches a lawyer's declared relative."""

    party: Party
    kind: MatchKind  # NAME or ALIAS
    matched: str  # the party name or alias that matched
    lawyer_index: int
    relative_name: str


def _party_keys(party: Party) -> list[tuple[MatchKind, str, str]]:
    """(kind, normalised key, text as written) for each key of the party's name and aliases."""
    keys = [(MatchKind.NAME, key, party.name) for key in name_keys(party.name)]
    keys += [(MatchKind.ALIAS, key, alias) for alias in party.aliases for key in name_keys(alias)]
    return keys


def _name_lookup(index: dict[str, frozenset[int]], party: Party) -> frozenset[int]:
    """The positions ``index`` holds under any key of the party's name or aliases."""
    found: frozenset[int] = _NONE
    for _kind, key, _text in _party_keys(party):
        found = found | index.get(key, _NONE)
    return found


def _lookups(records: list[ClientRecord]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Record positions by party id and by normalised name."""
    by_party_id: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for r, record in enumerate(records):
        if record.client.party_id is not None:
            by_party_id.setdefault(record.client.party_id, []).append(r)
        for key in name_keys(record.client.name):
            by_name.setdefault(key, []).append(r)
    return by_party_id, by_name


def _hits(
    party: Party,
    records: list[ClientRecord],
    by_party_id: dict[str, list[int]],
    by_name: dict[str, list[int]],
) -> list[AdverseHit]:
    """Records ``party`` matches, one hit per record with the strongest kind (party id, then
    name, then alias)."""
    found: dict[int, tuple[MatchKind, str]] = {}
    if party.id is not None:
        for r in by_party_id.get(party.id, ()):
            found.setdefault(r, (MatchKind.PARTY_ID, party.id))
    for kind, key, text in _party_keys(party):
        for r in by_name.get(key, ()):
            found.setdefault(r, (kind, text))
    return [AdverseHit(party, kind, text, records[r]) for r, (kind, text) in found.items()]


def _current(client: KnownClient, today: date) -> bool:
    """Still represented on ``today``: no end recorded, or an end still to come."""
    return client.ended_on is None or client.ended_on > today


def same_matter(record_matter: str | None, case_matter: str | None) -> bool:
    """Whether a former representation counts as the case's matter: an unrecorded matter on
    either side is taken as the same (the rule must not miss a former client turning adverse
    in this very dispute because the case carries no matter id)."""
    return record_matter is None or case_matter is None or record_matter == case_matter


class ConflictIndex:
    """Lookups from party ids and normalised names to client records and relatives.

    Positions of lawyers and firms follow their order in the Problem (as in ``ProblemArrays``).
    """

    def __init__(self, problem: Problem) -> None:
        firm_pos = {f.id: i for i, f in enumerate(problem.firms)}
        self.lawyer_firm = np.array(
            [firm_pos[lw.firm_id] for lw in problem.lawyers], dtype=np.int32
        )
        order = np.argsort(self.lawyer_firm, kind="stable").astype(np.int32)
        bounds = np.searchsorted(self.lawyer_firm[order], np.arange(len(problem.firms) + 1))
        self.firm_lawyers: list[IndexArray] = [
            order[bounds[f] : bounds[f + 1]] for f in range(len(problem.firms))
        ]
        self.lawyer_pos = {lw.id: i for i, lw in enumerate(problem.lawyers)}
        everyone: list[ClientRecord] = []
        for f, firm in enumerate(problem.firms):
            everyone += [ClientRecord(ClientHolder.FIRM, f, f, c) for c in firm.clients]
        for i, lw in enumerate(problem.lawyers):
            f = firm_pos[lw.firm_id]
            everyone += [ClientRecord(ClientHolder.LAWYER, i, f, c) for c in lw.clients]
        # A representation that ends after the plan's day is still current; former clients
        # whose representation ended before the cutoff no longer conflict.
        today = problem.day_of(problem.as_of)
        self.former_cutoff = today - timedelta(days=FORMER_CLIENT_DAYS)
        self.records = [r for r in everyone if _current(r.client, today)]
        self.former_records = [
            r
            for r in everyone
            if not _current(r.client, today)
            and r.client.ended_on is not None
            and r.client.ended_on >= self.former_cutoff
        ]

        self._by_party_id, self._by_name = _lookups(self.records)
        self._former_by_party_id, self._former_by_name = _lookups(self.former_records)

        # Fast paths for the edge filter: the firms a party id or name conflicts.
        self._firms_by_party_id = {
            pid: frozenset(self.records[r].firm_index for r in rs)
            for pid, rs in self._by_party_id.items()
        }
        self._firms_by_name = {
            key: frozenset(self.records[r].firm_index for r in rs)
            for key, rs in self._by_name.items()
        }

        self._relatives: dict[str, list[tuple[int, str]]] = {}
        for i, lw in enumerate(problem.lawyers):
            for relative in lw.relatives:
                for key in name_keys(relative):
                    self._relatives.setdefault(key, []).append((i, relative))
        self._relative_lawyers = {
            key: frozenset(lawyer for lawyer, _ in pairs) for key, pairs in self._relatives.items()
        }

    def party_hits(self, party: Party) -> list[AdverseHit]:
        """Current-client records that ``party`` matches, one hit per record with the strongest
        kind (party id, then name, then alias)."""
        return _hits(party, self.records, self._by_party_id, self._by_name)

    def former_hits(self, case: Case) -> list[AdverseHit]:
        """Former-client records, still within the year, matched by the parties adverse to the
        case's client, whose matter is the case's (or unrecorded)."""
        roles = adverse_roles(case.side)
        hits: list[AdverseHit] = []
        for party in case.parties:
            if party.role in roles:
                hits += [
                    hit
                    for hit in _hits(
                        party, self.former_records, self._former_by_party_id, self._former_by_name
                    )
                    if same_matter(hit.record.client.matter_id, case.matter_id)
                ]
        return hits

    def former_client_firms(self, case: Case) -> set[int]:
        """Positions of the firms a former client in ``former_hits`` conflicts."""
        if not self.former_records:
            return set()
        return {hit.record.firm_index for hit in self.former_hits(case)}

    def waived_lawyers(self, case: Case) -> set[int]:
        """Positions of the lawyers the case's written consents clear of former clients and of
        colleagues' relatives (Conduct Norms Art 52)."""
        return {
            self.lawyer_pos[w.lawyer_id]
            for w in case.conflict_waivers
            if w.lawyer_id in self.lawyer_pos
        }

    def adverse_hits(self, case: Case) -> list[AdverseHit]:
        """Client records matched by the parties adverse to the case's client."""
        roles = adverse_roles(case.side)
        hits: list[AdverseHit] = []
        for party in case.parties:
            if party.role in roles:
                hits += self.party_hits(party)
        return hits

    def relative_hits(self, case: Case) -> list[RelativeHit]:
        """Declared relatives matched by any party of the case (any role), by name or alias."""
        hits: list[RelativeHit] = []
        for party in case.parties:
            seen: set[int] = set()
            for kind, key, text in _party_keys(party):
                for lawyer, relative in self._relatives.get(key, ()):
                    if lawyer not in seen:
                        seen.add(lawyer)
                        hits.append(RelativeHit(party, kind, text, lawyer, relative))
        return hits

    def colleague_relative_hits(self, case: Case) -> list[RelativeHit]:
        """``relative_hits`` of the parties adverse to the case's client: each conflicts the
        colleagues of the lawyer whose relative it is (``colleague_relative_binds``)."""
        roles = adverse_roles(case.side)
        return [hit for hit in self.relative_hits(case) if hit.party.role in roles]

    def colleague_relative_binds(self, hit: RelativeHit, lawyer: int) -> bool:
        """Whether ``hit`` (of ``colleague_relative_hits``) conflicts the lawyer at position
        ``lawyer``: another lawyer of the same firm (the relative's own lawyer is excluded by
        ``Rule.RELATIVE``)."""
        return hit.lawyer_index != lawyer and int(self.lawyer_firm[hit.lawyer_index]) == int(
            self.lawyer_firm[lawyer]
        )

    def colleague_relative_lawyers(self, case: Case) -> set[int]:
        """Positions of the lawyers a colleague's relative adverse to the case's client
        conflicts, less those the case's written consents name: the fast path of
        ``colleague_relative_hits`` and ``colleague_relative_binds``."""
        if not self._relative_lawyers:
            return set()
        holders = self._relative_holders(case, adverse_roles(case.side))
        if not holders:
            return set()
        lawyers: set[int] = set()
        for holder in holders:
            for colleague in self.firm_lawyers[int(self.lawyer_firm[holder])].tolist():
                if colleague != holder:
                    lawyers.add(colleague)
        # A holder is left out for its own relative (``Rule.RELATIVE`` excludes it) and is
        # added only as the colleague of another holder of the same relative.
        return lawyers - self.waived_lawyers(case)

    def adverse_firms(self, case: Case) -> set[int]:
        """Positions of the firms whose (or whose lawyers') clients include a party adverse to
        the case's client: the fast path of ``adverse_hits``."""
        roles = adverse_roles(case.side)
        firms: set[int] = set()
        for party in case.parties:
            if party.role not in roles:
                continue
            if party.id is not None:
                firms |= self._firms_by_party_id.get(party.id, _NONE)
            firms |= _name_lookup(self._firms_by_name, party)
        return firms

    def adverse_lawyers(self, case: Case) -> IndexArray:
        """Positions of the lawyers conflicted by an adverse party of the case (sorted, unique)."""
        firms = self.adverse_firms(case)
        if not firms:
            return np.zeros(0, dtype=np.int32)
        return np.sort(np.concatenate([self.firm_lawyers[f] for f in firms])).astype(np.int32)

    def codefendant_client_hits(self, case: Case) -> list[AdverseHit]:
        """For a defendant's case: current-client records matched by the case's co-defendants
        (one defender may not defend two co-defendants of one case)."""
        if case.side is not Side.DEFENDANT:
            return []
        hits: list[AdverseHit] = []
        for party in case.parties:
            if party.role is PartyRole.CO_DEFENDANT:
                hits += self.party_hits(party)
        return hits

    def codefendant_client_lawyers(self, case: Case, same_firm: bool) -> set[int]:
        """Positions of the lawyers who defend a co-defendant of the case now: the lawyer whose
        own client it is; with ``same_firm`` (the policy's one-firm rule for co-defendants)
        every lawyer of the firm that holds it, or of the lawyer who does."""
        lawyers: set[int] = set()
        for hit in self.codefendant_client_hits(case):
            record = hit.record
            if same_firm:
                lawyers.update(self.firm_lawyers[record.firm_index].tolist())
            elif record.holder is ClientHolder.LAWYER:
                lawyers.add(record.holder_index)
        return lawyers

    def codefendant_binds(self, hit: AdverseHit, lawyer: int, same_firm: bool) -> bool:
        """Whether ``hit`` (of ``codefendant_client_hits``) excludes the lawyer at position
        ``lawyer``, as ``codefendant_client_lawyers`` decides."""
        record = hit.record
        if same_firm:
            return record.firm_index == int(self.lawyer_firm[lawyer])
        return record.holder is ClientHolder.LAWYER and record.holder_index == lawyer

    def relative_lawyer_set(self, case: Case) -> set[int]:
        """Positions of the lawyers with a declared relative among the case's parties: the fast
        path of ``relative_hits``."""
        return self._relative_holders(case)

    def _relative_holders(self, case: Case, roles: frozenset[PartyRole] | None = None) -> set[int]:
        """Positions of the lawyers with a declared relative among the case's parties (of
        ``roles`` only, when given), by name or alias."""
        lawyers: set[int] = set()
        for party in case.parties:
            if roles is not None and party.role not in roles:
                continue
            lawyers |= _name_lookup(self._relative_lawyers, party)
        return lawyers

    def relative_lawyers(self, case: Case) -> IndexArray:
        """Sorted positions of the lawyers with a declared relative among the case's parties."""
        return np.array(sorted(self.relative_lawyer_set(case)), dtype=np.int32)
