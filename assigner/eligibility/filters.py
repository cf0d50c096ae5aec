"""The per-edge hard rules, one function per rule, each vectorised over a block of pairs.

A :class:`Block` is a set of cases (rows) times a set of lawyers (columns).  Every filter returns
a boolean matrix of shape ``(len(block.cases), len(block.lawyers))`` that is True where the rule
*excludes* the pair.  ``build_candidates`` runs the filters over blocks of cases times all
lawyers; ``why_not`` runs the very same filters over a 1 x 1 block, so the two always agree.

Dense rules read per-case and per-lawyer columns prepared once in :class:`EligibilityTables`.
Sparse rules (explicit exclusions, complaints, adverse parties, relatives) look up, case by case,
the few lawyers they exclude and mark them in the block.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from assigner.domain.arrays import EARTH_RADIUS_KM, ProblemArrays, haversine_km
from assigner.domain.catalogue import ProviderKind, QualificationRule
from assigner.domain.problem import Case, Lawyer
from assigner.eligibility.conflicts import ConflictIndex
from assigner.eligibility.rules import Rule

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Sums of float hours may land a hair above an exactly-full capacity.
CAPACITY_TOLERANCE_HOURS = 1e-6
NO_LEAVE_DAY = np.iinfo(np.int64).max
# Pairs whose unit-vector dot product lies this close to the travel limit are decided by
# haversine_km itself; farther out the fast test cannot disagree with it (its rounding error
# is about 1e-15).
TRAVEL_EXACT_BAND = 1e-9

PROVIDER_KINDS: tuple[ProviderKind, ...] = tuple(ProviderKind)


def qualification_years_short(rule: QualificationRule, years: float) -> bool:
    """True when the rule asks for ``min_years`` of practice in an area and ``years`` is less."""
    return rule.practice_area is not None and rule.min_years > 0 and years < rule.min_years


def qualification_certification_missing(rule: QualificationRule, lawyer: Lawyer) -> bool:
    """True when the rule asks for a certification the lawyer does not hold."""
    return rule.certification is not None and rule.certification not in lawyer.certifications


def qualification_triggers(
    rule_name: str, rule: QualificationRule, case: Case, case_type_rules: Sequence[str], area: str
) -> list[str]:
    """Why a catalogue qualification rule applies to a case (empty when it does not).

    A rule named by the case type always applies.  A rule triggered by a case flag or a priority
    group applies only when the case's practice area is in ``only_practice_areas`` (when set).
    """
    reasons = []
    if rule_name in case_type_rules:
        reasons.append(f"case type {case.case_type!r}")
    if rule.only_practice_areas is None or area in rule.only_practice_areas:
        if rule.when_flag is not None and rule.when_flag in case.flags:
            reasons.append(f"flag {rule.when_flag!r}")
        if (
            rule.when_priority_group is not None
            and rule.when_priority_group in case.priority_groups
        ):
            reasons.append(f"priority group {rule.when_priority_group!r}")
    return reasons


@dataclass(frozen=True)
class EligibilityTables:
    """Columns the filters read, built once per problem by :func:`eligibility_tables`."""

    arrays: ProblemArrays
    conflicts: ConflictIndex
    case_type_names: list[str]
    case_type: IntArray  # per case, position in case_type_names
    lawyer_kind: IntArray  # per lawyer, position in PROVIDER_KINDS
    kind_allowed: BoolArray  # (case types, provider kinds)
    qualification_names: list[str]
    qualification_applies: BoolArray  # (cases, qualification rules)
    qualification_unmet: BoolArray  # (lawyers, qualification rules)
    accepting: BoolArray  # per lawyer
    as_of_day: int  # proleptic ordinal of the as_of date (UTC)
    leave_first_day: Int64Array  # per lawyer, first day of a leave not over by as_of
    case_last_day: Int64Array  # per case, ordinal of max(assign_by date, as_of date)
    jurisdiction_names: list[str]
    case_jurisdiction: IntArray  # per case, position in jurisdiction_names or -1
    lawyer_restricted: BoolArray  # per lawyer, True when Lawyer.jurisdictions is set
    serves: BoolArray  # (jurisdictions or 1, lawyers)
    lawyer_unit: FloatArray  # (lawyers, 3) office as a unit vector
    case_unit: FloatArray  # (cases, 3) case location as a unit vector
    cos_max_travel: FloatArray  # per lawyer, cosine of the max travel's central angle


def unit_vectors(lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    """Points on the sphere as (n, 3) unit vectors."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)


def pair_travel_km(arrays: ProblemArrays, cases: IntArray, lawyers: IntArray) -> FloatArray:
    """``haversine_km`` from lawyer office to case location, pair by pair (1-D)."""
    return haversine_km(
        arrays.lawyer_lat[lawyers],
        arrays.lawyer_lon[lawyers],
        arrays.case_lat[cases],
        arrays.case_lon[cases],
    )


def eligibility_tables(arrays: ProblemArrays) -> EligibilityTables:
    """Prepare the per-case and per-lawyer columns of every filter (linear in problem size)."""
    problem, cat = arrays.problem, arrays.catalogue
    lawyers, cases = problem.lawyers, problem.cases
    n_l, n_c = len(lawyers), len(cases)

    type_names = list(cat.case_types)
    type_pos = {name: i for i, name in enumerate(type_names)}
    kind_pos = {kind: i for i, kind in enumerate(PROVIDER_KINDS)}
    kind_allowed = np.zeros((len(type_names), len(PROVIDER_KINDS)), dtype=np.bool_)
    for t, name in enumerate(type_names):
        for kind in cat.case_types[name].allowed_provider_kinds:
            kind_allowed[t, kind_pos[kind]] = True

    q_names = list(cat.qualification_rules)
    q_rules = [cat.qualification_rules[name] for name in q_names]
    # Same logic as qualification_triggers, by columns: named by the case type, or triggered
    # by a flag or priority group within only_practice_areas.
    case_type = np.array([type_pos[case.case_type] for case in cases], dtype=np.int32)
    applies = np.zeros((n_c, len(q_names)), dtype=np.bool_)
    for r, (name, rule) in enumerate(zip(q_names, q_rules, strict=True)):
        named = np.array(
            [name in cat.case_types[t].qualification_rules for t in type_names], dtype=np.bool_
        )
        triggered = np.array(
            [
                (rule.when_flag is not None and rule.when_flag in case.flags)
                or (
                    rule.when_priority_group is not None
                    and rule.when_priority_group in case.priority_groups
                )
                for case in cases
            ],
            dtype=np.bool_,
        )
        area_ok = np.array(
            [
                rule.only_practice_areas is None or a in rule.only_practice_areas
                for a in arrays.areas
            ],
            dtype=np.bool_,
        )
        applies[:, r] = named[case_type] | (triggered & area_ok[arrays.case_area])
    area_pos = {a: i for i, a in enumerate(arrays.areas)}
    unmet = np.zeros((n_l, len(q_names)), dtype=np.bool_)
    for r, rule in enumerate(q_rules):
        if rule.practice_area is not None and rule.min_years > 0:
            unmet[:, r] |= arrays.area_years[:, area_pos[rule.practice_area]] < rule.min_years
        if rule.certification is not None:
            unmet[:, r] |= np.array(
                [rule.certification not in lw.certifications for lw in lawyers], dtype=np.bool_
            )

    as_of_day = problem.day_of(problem.as_of).toordinal()
    leave_first = np.full(n_l, NO_LEAVE_DAY, dtype=np.int64)
    for i, lw in enumerate(lawyers):
        starts = [lv.start.toordinal() for lv in lw.leave if lv.end.toordinal() >= as_of_day]
        if starts:
            leave_first[i] = min(starts)
    case_last = np.array(
        [max(problem.day_of(case.assign_by).toordinal(), as_of_day) for case in cases],
        dtype=np.int64,
    )

    j_names = sorted(
        {j for lw in lawyers for j in lw.jurisdictions or ()}
        | {case.jurisdiction for case in cases if case.jurisdiction is not None}
    )
    j_pos = {j: i for i, j in enumerate(j_names)}
    serves = np.zeros((max(len(j_names), 1), n_l), dtype=np.bool_)
    for i, lw in enumerate(lawyers):
        for j in lw.jurisdictions or ():
            serves[j_pos[j], i] = True

    return EligibilityTables(
        arrays=arrays,
        conflicts=ConflictIndex(problem),
        case_type_names=type_names,
        case_type=case_type,
        lawyer_kind=np.array([kind_pos[lw.kind] for lw in lawyers], dtype=np.int32),
        kind_allowed=kind_allowed,
        qualification_names=q_names,
        qualification_applies=applies,
        qualification_unmet=unmet,
        accepting=np.array([lw.accepting_new_cases for lw in lawyers], dtype=np.bool_),
        as_of_day=as_of_day,
        leave_first_day=leave_first,
        case_last_day=case_last,
        jurisdiction_names=j_names,
        case_jurisdiction=np.array(
            [j_pos[case.jurisdiction] if case.jurisdiction is not None else -1 for case in cases],
            dtype=np.int32,
        ),
        lawyer_restricted=np.array(
            [lw.jurisdictions is not None for lw in lawyers], dtype=np.bool_
        ),
        serves=serves,
        lawyer_unit=unit_vectors(arrays.lawyer_lat, arrays.lawyer_lon),
        case_unit=unit_vectors(arrays.case_lat, arrays.case_lon),
        cos_max_travel=np.cos(np.minimum(arrays.max_travel_km / EARTH_RADIUS_KM, np.pi)),
    )


@dataclass(frozen=True)
class Block:
    """Cases (rows) times lawyers (columns) that the filters evaluate together."""

    tables: EligibilityTables
    cases: IntArray
    lawyers: IntArray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.cases), len(self.lawyers)

    @cached_property
    def lawyer_column(self) -> IntArray:
        """Column of each lawyer position in the block, -1 for lawyers outside it."""
        column = np.full(self.tables.arrays.n_lawyers, -1, dtype=np.int32)
        column[self.lawyers] = np.arange(len(self.lawyers), dtype=np.int32)
        return column

    @cached_property
    def travel_km(self) -> FloatArray:
        """``haversine_km`` from each lawyer's office to each case (rows x columns).

        Not used by the travel filter (which needs no trigonometry per pair); here for callers
        that want the distances of a small block.
        """
        a = self.tables.arrays
        return haversine_km(
            a.lawyer_lat[self.lawyers][None, :],
            a.lawyer_lon[self.lawyers][None, :],
            a.case_lat[self.cases][:, None],
            a.case_lon[self.cases][:, None],
        )


def practice_area(block: Block) -> BoolArray:
    """The lawyer lacks the case type's practice area (MoJ order 148 (2023) Art 25: the
    provider is picked by specialty)."""
    a = block.tables.arrays
    level = a.area_level[block.lawyers][:, a.case_area[block.cases]]  # (lawyers, cases)
    return np.ascontiguousarray((level == 0).T)


def qualification(block: Block) -> BoolArray:
    """A catalogue qualification rule applies to the case and the lawyer does not meet it
    (Legal Aid Law 2021 Art 26: possible life or death sentence needs 3+ years of criminal
    defence; Art 25-26: juvenile defence by a lawyer familiar with minors)."""
    t = block.tables
    applies = t.qualification_applies[block.cases]
    unmet = t.qualification_unmet[block.lawyers]
    mask = np.zeros(block.shape, dtype=np.bool_)
    for r in range(applies.shape[1]):
        rows = applies[:, r]
        if rows.any():
            mask[rows] |= unmet[:, r]
    return mask


def provider_kind(block: Block) -> BoolArray:
    """The lawyer's provider kind is not allowed for the case type (Legal Aid Law 2021
    Arts 12-17: volunteers give advice and documents only)."""
    t = block.tables
    allowed = t.kind_allowed[t.case_type[block.cases]][:, t.lawyer_kind[block.lawyers]]
    return ~allowed


def availability(block: Block) -> BoolArray:
    """The lawyer does not accept new cases (a case already held by the lawyer is not new), or
    a leave overlaps [as_of date, assign_by date] (Legal Aid Law 2021 Arts 36, 43: assign
    within days, so the provider must be there).  Leave excludes even the current lawyer; an
    overdue case is checked over [as_of, as_of]."""
    t, a = block.tables, block.tables.arrays
    closed = ~t.accepting[block.lawyers]
    held = a.current_lawyer[block.cases][:, None] == block.lawyers[None, :]
    on_leave = t.leave_first_day[block.lawyers][None, :] <= t.case_last_day[block.cases][:, None]
    return (closed[None, :] & ~held) | on_leave


def capacity(block: Block) -> BoolArray:
    """The case alone does not fit the lawyer: load + case hours > capacity hours, or open
    cases + 1 > max open cases (MoJ order 148 (2023) Art 25: assignment by workload; RAND 2023
    hours per case).  The solver handles the sum over several cases."""
    a = block.tables.arrays
    lw = block.lawyers
    hours = (
        a.current_load_hours[lw][None, :] + a.workload_hours[block.cases][:, None]
        > a.capacity_hours[lw][None, :] + CAPACITY_TOLERANCE_HOURS
    )
    count = a.current_open_cases[lw].astype(np.int64) + 1 > a.max_open_cases[lw]
    return hours | count[None, :]


def travel(block: Block) -> BoolArray:
    """Office-to-case great-circle distance (``haversine_km``) exceeds the lawyer's max travel
    (policy: Lawyer.max_travel_km, else policy.default_max_travel_km).

    Distance > max is the same as cos(central angle) < cos(max / R), and that cosine is the dot
    product of unit vectors: one small matrix product per block instead of trigonometry on every
    pair.  Pairs within ``TRAVEL_EXACT_BAND`` of the limit are decided by ``haversine_km``.
    """
    t = block.tables
    margin = t.case_unit[block.cases] @ t.lawyer_unit[block.lawyers].T
    margin -= t.cos_max_travel[block.lawyers][None, :]
    excluded = margin < 0
    np.abs(margin, out=margin)
    rows, cols = np.divmod(np.flatnonzero(margin <= TRAVEL_EXACT_BAND), max(margin.shape[1], 1))
    if len(rows):
        lawyers = block.lawyers[cols]
        km = pair_travel_km(t.arrays, block.cases[rows], lawyers)
        excluded[rows, cols] = km > t.arrays.max_travel_km[lawyers]
    return excluded


def jurisdiction(block: Block) -> BoolArray:
    """The lawyer serves listed jurisdictions and the case's is not among them (policy).  A case
    without a jurisdiction passes; a lawyer with an empty list serves none."""
    t = block.tables
    case_j = t.case_jurisdiction[block.cases]
    serves = t.serves[np.maximum(case_j, 0)][:, block.lawyers]
    return (case_j >= 0)[:, None] & t.lawyer_restricted[block.lawyers][None, :] & ~serves


def _sparse(block: Block, lawyers_of: Callable[[Case], Collection[int]]) -> BoolArray:
    """Mark the few lawyers a sparse rule excludes, looked up case by case."""
    cases = block.tables.arrays.problem.cases
    rows: list[int] = []
    lawyers: list[int] = []
    for row, c in enumerate(block.cases.tolist()):
        excluded = lawyers_of(cases[c])
        if excluded:
            rows += [row] * len(excluded)
            lawyers += excluded
    mask = np.zeros(block.shape, dtype=np.bool_)
    if rows:
        cols = block.lawyer_column[np.array(lawyers, dtype=np.int64)]
        keep = cols >= 0
        mask[np.array(rows, dtype=np.int64)[keep], cols[keep]] = True
    return mask


def explicit_exclusion(block: Block) -> BoolArray:
    """Staff recorded the lawyer in Case.excluded_lawyer_ids."""
    pos = block.tables.arrays.lawyer_pos
    return _sparse(block, lambda case: [pos[x] for x in case.excluded_lawyer_ids])


def adverse_party(block: Block) -> BoolArray:
    """The lawyer, a colleague, or the lawyer's firm acts for a party adverse to the client: a
    current client (Lawyers Law Art 39; Lawyer Practice Conduct Norms Art 51, firm level, not
    waivable)."""
    conflicts = block.tables.conflicts
    cases = block.tables.arrays.problem.cases
    firm_hit = np.zeros((len(block.cases), len(conflicts.firm_lawyers)), dtype=np.bool_)
    for row, c in enumerate(block.cases.tolist()):
        firms = conflicts.adverse_firms(cases[c])
        if firms:
            firm_hit[row, list(firms)] = True
    return firm_hit[:, conflicts.lawyer_firm[block.lawyers]]


def former_client(block: Block) -> BoolArray:
    """A former client of the lawyer or the firm is adverse in the same matter, and the
    representation ended less than a year ago; a lawyer named in the case's written consents
    (``conflict_waivers``) is cleared (Lawyer Practice Conduct Norms Art 52)."""
    conflicts = block.tables.conflicts
    cases = block.tables.arrays.problem.cases
    out = np.zeros((len(block.cases), len(block.lawyers)), dtype=np.bool_)
    if not conflicts.former_records:
        return out
    firm_of = conflicts.lawyer_firm[block.lawyers]
    for row, c in enumerate(block.cases.tolist()):
        firms = conflicts.former_client_firms(cases[c])
        if not firms:
            continue
        out[row] = np.isin(firm_of, list(firms))
        waived = conflicts.waived_lawyers(cases[c])
        if waived:
            out[row] &= ~np.isin(block.lawyers, list(waived))
    return out


def relative(block: Block) -> BoolArray:
    """A declared close relative of the lawyer is a party of the case, any role (Lawyers Law
    Art 39; Lawyer Practice Conduct Norms Art 51)."""
    return _sparse(block, block.tables.conflicts.relative_lawyer_set)


def colleague_relative(block: Block) -> BoolArray:
    """A declared close relative of a colleague at the lawyer's firm is a party adverse to the
    client; a lawyer named in the case's written consents (``conflict_waivers``) is cleared
    (Lawyer Practice Conduct Norms Art 52)."""
    return _sparse(block, block.tables.conflicts.colleague_relative_lawyers)


def codefendant_client(block: Block) -> BoolArray:
    """A co-defendant of the case is the lawyer's current client (or, with the policy's
    one-firm rule for co-defendants, a client of the lawyer's firm): one defender may not defend
    two co-defendants of the same case (SPC 2021 interpretation Art 43)."""
    same_firm = block.tables.arrays.problem.policy.codefendants_same_firm_forbidden
    conflicts = block.tables.conflicts
    return _sparse(block, lambda case: conflicts.codefendant_client_lawyers(case, same_firm))


def complaint(block: Block) -> BoolArray:
    """The client complained about the lawyer (Legal Aid Law 2021 Art 55)."""
    pos = block.tables.arrays.lawyer_pos
    return _sparse(block, lambda case: [pos[x] for x in case.complaint_lawyer_ids])


RULE_FILTERS: dict[Rule, Callable[[Block], BoolArray]] = {
    Rule.PRACTICE_AREA: practice_area,
    Rule.QUALIFICATION: qualification,
    Rule.PROVIDER_KIND: provider_kind,
    Rule.AVAILABILITY: availability,
    Rule.CAPACITY: capacity,
    Rule.TRAVEL: travel,
    Rule.JURISDICTION: jurisdiction,
    Rule.EXPLICIT_EXCLUSION: explicit_exclusion,
    Rule.ADVERSE_PARTY: adverse_party,
    Rule.FORMER_CLIENT: former_client,
    Rule.RELATIVE: relative,
    Rule.COLLEAGUE_RELATIVE: colleague_relative,
    Rule.CODEFENDANT_CLIENT: codefendant_client,
    Rule.COMPLAINT: complaint,
}
