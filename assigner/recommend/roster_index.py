"""A warm roster index: the lawyer side of eligibility and scoring, built once, reused per case.

Building ``ProblemArrays`` and ``EligibilityTables`` for the whole roster costs tens of
milliseconds for 1,000 lawyers (Python loops over lawyers, the conflict index of every client
name); scoring one case against them costs well under one.  A :class:`RosterIndex` keeps the
lawyer-side columns, built by the eligibility package's own functions over the roster with no
cases; :meth:`RosterIndex.view` builds the case-side columns, again with the package's own
functions, over a Problem made of the few cases asked about and no lawyers, and splices the two
into the ``ProblemArrays`` / ``EligibilityTables`` of "the roster + these cases".

The splice names every field of both dataclasses, so a field added upstream stops it with an
error instead of being silently mixed up; ``tests/api/test_recommend_engine.py`` checks that a
view equals the arrays and tables built from scratch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from assigner.domain.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    ProblemArrays,
    build_arrays,
    units_per_hour,
)
from assigner.domain.catalogue import Catalogue
from assigner.domain.loading import resolve_catalogue
from assigner.domain.policy import Policy
from assigner.domain.problem import Case, Firm, Lawyer, Problem
from assigner.eligibility import EligibilityTables, eligibility_tables
from assigner.scoring.costs import CaseLawyerFeatures, case_lawyer_features

# Fields of the upstream dataclasses, split by side.  Any other field is an error (see above).
_ARRAYS_CASE_SIDE = frozenset(
    {
        "case_ids",
        "case_pos",
        "case_lat",
        "case_lon",
        "case_area",
        "workload_hours",
        "severity",
        "subsidy_cny",
        "hours_to_deadline",
        "current_lawyer",
    }
)
_ARRAYS_LAWYER_SIDE = frozenset(
    {
        "catalogue",
        "lawyer_ids",
        "firm_ids",
        "lawyer_pos",
        "firm_pos",
        "areas",
        "lawyer_lat",
        "lawyer_lon",
        "lawyer_firm",
        "capacity_hours",
        "max_open_cases",
        "current_load_hours",
        "current_open_cases",
        "max_travel_km",
        "rating",
        "area_level",
        "area_years",
        "subsidy_multiplier",
        "quota_short_cases",
    }
)
# Computed from both sides: the engine's grid for hours (``units_per_hour``).
_ARRAYS_BOTH_SIDES = frozenset({"units_per_hour"})
_TABLES_CASE_SIDE = frozenset(
    {"case_type", "qualification_applies", "case_last_day", "case_jurisdiction", "case_unit"}
)
_TABLES_LAWYER_SIDE = frozenset(
    {
        "conflicts",
        "case_type_names",
        "lawyer_kind",
        "kind_allowed",
        "qualification_names",
        "qualification_unmet",
        "accepting",
        "as_of_day",
        "leave_first_day",
        "lawyer_restricted",
        "lawyer_unit",
        "cos_max_travel",
    }
)
_TABLES_MERGED = frozenset({"arrays", "jurisdiction_names", "serves"})


def _check_fields(cls: type, *parts: frozenset[str]) -> None:
    known = frozenset().union(*parts)
    actual = {f.name for f in dataclasses.fields(cls)}
    if actual != known:
        raise RuntimeError(
            f"{cls.__name__} fields changed (new: {sorted(actual - known)}, gone: "
            f"{sorted(known - actual)}); update assigner/recommend/roster_index.py"
        )


def _problem(
    as_of: datetime,
    policy: Policy,
    catalogue: Catalogue | None,
    firms: list[Firm],
    lawyers: list[Lawyer],
    cases: list[Case],
) -> Problem:
    """A Problem of records that are each valid already (no re-validation per request)."""
    return Problem.model_construct(
        schema_version=1,
        name="recommend",
        as_of=as_of,
        policy=policy,
        catalogue=catalogue,
        firms=firms,
        lawyers=lawyers,
        cases=cases,
    )


@dataclass(frozen=True)
class CaseView:
    """Arrays and tables of the roster plus a few cases, with the loads given to ``view``."""

    arrays: ProblemArrays
    tables: EligibilityTables
    features: CaseLawyerFeatures


@dataclass(frozen=True)
class RosterIndex:
    """Lawyer-side columns of one roster under one policy and catalogue, for one as_of day."""

    firms: tuple[Firm, ...]
    lawyers: tuple[Lawyer, ...]
    policy: Policy
    catalogue: Catalogue | None
    as_of_day: int
    arrays: ProblemArrays
    tables: EligibilityTables
    speaks: dict[str, BoolArray]
    gender: npt.NDArray[np.object_]  # per lawyer, the gender or None
    id_rank: IntArray  # each lawyer's position in id order (ties in rankings go by id)

    @property
    def lawyer_ids(self) -> list[str]:
        return self.arrays.lawyer_ids

    @property
    def n_lawyers(self) -> int:
        return self.arrays.n_lawyers

    @property
    def base_load_hours(self) -> FloatArray:
        """Work outside the service, from the lawyers' documents."""
        return self.arrays.current_load_hours

    @property
    def base_open_cases(self) -> IntArray:
        return self.arrays.current_open_cases

    def view(
        self,
        cases: Sequence[Case],
        as_of: datetime,
        load_hours: FloatArray,
        open_cases: IntArray,
    ) -> CaseView:
        """The roster plus ``cases``, with ``load_hours`` / ``open_cases`` (per roster lawyer,
        in ``lawyer_ids`` order) as the lawyers' current loads.

        Every lawyer a case refers to must be in the roster and every linked case among
        ``cases``; ``as_of`` must fall on the index's day (leave is cut at that day).
        """
        if as_of.astimezone(ZoneInfo(self.policy.timezone)).date().toordinal() != self.as_of_day:
            raise ValueError("as_of is not on the day this roster index was built for")
        n_l = self.n_lawyers
        if load_hours.shape != (n_l,) or open_cases.shape != (n_l,):
            raise ValueError(f"loads must have shape ({n_l},)")
        case_list = list(cases)
        # Case-side columns from the package's own functions, over the cases and no lawyers;
        # current assignments are set below from the roster's positions.
        bare = [
            c.model_copy(update={"current_assignment": None}) if c.current_assignment else c
            for c in case_list
        ]
        catalogue = self.arrays.catalogue
        case_arrays = build_arrays(_problem(as_of, self.policy, catalogue, [], [], bare))
        case_tables = eligibility_tables(case_arrays)
        problem = _problem(
            as_of, self.policy, catalogue, list(self.firms), list(self.lawyers), case_list
        )
        current = np.array(
            [
                self.arrays.lawyer_pos[c.current_assignment.lawyer_id]
                if c.current_assignment
                else -1
                for c in case_list
            ],
            dtype=np.int32,
        )
        case_side = {name: getattr(case_arrays, name) for name in _ARRAYS_CASE_SIDE}
        case_side["current_lawyer"] = current
        loads = np.asarray(load_hours, dtype=np.float64)
        counts = np.asarray(open_cases, dtype=np.int32)
        # The cases given beyond the documents' (the service's assignments) count toward the
        # yearly quota, as a job's plan counts the cases it keeps with their lawyers.
        held = np.maximum(0, counts - self.arrays.current_open_cases)
        arrays = dataclasses.replace(
            self.arrays,
            problem=problem,
            current_load_hours=loads,
            current_open_cases=counts,
            quota_short_cases=np.maximum(0, self.arrays.quota_short_cases - held).astype(np.int32),
            units_per_hour=units_per_hour(
                np.concatenate([self.arrays.capacity_hours, loads, case_arrays.workload_hours])
            ),
            **case_side,
        )

        names = list(self.tables.jurisdiction_names)
        pos = {j: i for i, j in enumerate(names)}
        extra: list[str] = []
        remap = []
        for j in case_tables.jurisdiction_names:
            if j not in pos:
                pos[j] = len(names) + len(extra)
                extra.append(j)
            remap.append(pos[j])
        case_j = case_tables.case_jurisdiction
        mapped = np.array([remap[j] if j >= 0 else -1 for j in case_j.tolist()], dtype=np.int32)
        serves = self.tables.serves[: len(names)]
        if extra:
            serves = np.vstack([serves, np.zeros((len(extra), n_l), dtype=np.bool_)])
        if serves.shape[0] == 0:
            serves = np.zeros((1, n_l), dtype=np.bool_)
        copied = {
            name: getattr(case_tables, name)
            for name in _TABLES_CASE_SIDE
            if name != "case_jurisdiction"
        }
        tables = dataclasses.replace(
            self.tables,
            arrays=arrays,
            jurisdiction_names=names + extra,
            serves=serves,
            case_jurisdiction=mapped,
            **copied,
        )
        return CaseView(arrays=arrays, tables=tables, features=self._features(arrays, case_list))

    def _features(self, arrays: ProblemArrays, cases: list[Case]) -> CaseLawyerFeatures:
        """Language, gender and continuity encodings for ``cases`` against the roster.

        Continuity comes from the scoring module itself (it reads cases and positions only);
        the language and gender columns are filled from the roster index, coded by the cases'
        wishes (any consistent code is the same to ``score_edges``).
        """
        no_lawyers = dataclasses.replace(
            arrays, problem=arrays.problem.model_copy(update={"lawyers": []})
        )
        continuity = case_lawyer_features(no_lawyers)
        n_l = self.n_lawyers
        languages = list(
            dict.fromkeys(
                c.preferences.language for c in cases if c.preferences.language is not None
            )
        )
        speaks = np.zeros((n_l, max(1, len(languages))), dtype=np.bool_)
        for j, lang in enumerate(languages):
            known = self.speaks.get(lang)
            if known is not None:
                speaks[:, j] = known
        genders = list(
            dict.fromkeys(
                c.preferences.lawyer_gender
                for c in cases
                if c.preferences.lawyer_gender is not None
            )
        )
        gender_code = {g: i for i, g in enumerate(genders)}
        lawyer_gender = np.full(n_l, -1, dtype=np.int32)
        for g, code in gender_code.items():
            lawyer_gender[self.gender == g] = code
        return CaseLawyerFeatures(
            lawyer_speaks=speaks,
            lawyer_gender=lawyer_gender,
            case_language=np.array(
                [
                    languages.index(c.preferences.language)
                    if c.preferences.language is not None
                    else -1
                    for c in cases
                ],
                dtype=np.int32,
            ),
            case_gender=np.array(
                [
                    gender_code[c.preferences.lawyer_gender]
                    if c.preferences.lawyer_gender is not None
                    else -1
                    for c in cases
                ],
                dtype=np.int32,
            ),
            continuity_offsets=continuity.continuity_offsets,
            continuity_lawyers=continuity.continuity_lawyers,
        )


def build_roster_index(
    firms: Sequence[Firm],
    lawyers: Sequence[Lawyer],
    policy: Policy,
    as_of: datetime,
    catalogue: Catalogue | None = None,
) -> RosterIndex:
    """Index a roster whose records are valid and whose references resolve (every lawyer's
    firm is among ``firms``); ``as_of`` fixes the day leave is cut at."""
    _check_fields(
        ProblemArrays,
        _ARRAYS_CASE_SIDE,
        _ARRAYS_LAWYER_SIDE,
        _ARRAYS_BOTH_SIDES,
        frozenset({"problem"}),
    )
    _check_fields(EligibilityTables, _TABLES_CASE_SIDE, _TABLES_LAWYER_SIDE, _TABLES_MERGED)
    firm_list, lawyer_list = list(firms), list(lawyers)
    known_firms = {f.id for f in firm_list}
    for lw in lawyer_list:
        if lw.firm_id not in known_firms:
            raise ValueError(f"lawyer {lw.id}: unknown firm {lw.firm_id!r}")
    as_of = as_of.astimezone(UTC)
    problem = _problem(as_of, policy, catalogue, firm_list, lawyer_list, [])
    resolve_catalogue(problem)
    arrays = build_arrays(problem)
    tables = eligibility_tables(arrays)
    speaks: dict[str, BoolArray] = {}
    for i, lw in enumerate(lawyer_list):
        for lang in lw.languages:
            if lang not in speaks:
                speaks[lang] = np.zeros(len(lawyer_list), dtype=np.bool_)
            speaks[lang][i] = True
    return RosterIndex(
        firms=tuple(firm_list),
        lawyers=tuple(lawyer_list),
        policy=policy,
        catalogue=catalogue,
        as_of_day=problem.day_of(as_of).toordinal(),
        arrays=arrays,
        tables=tables,
        speaks=speaks,
        gender=np.array([lw.gender for lw in lawyer_list], dtype=object),
        id_rank=np.argsort(np.argsort(np.array([lw.id for lw in lawyer_list]))).astype(np.int32),
    )
