"""Edge costs broken into named terms: the one scoring function of the engine.

The solver, recommendations and explanations all call :func:`score_edges`, so a cost shown to a
user is the cost the solver minimised.  Every term is an integer number of points (DESIGN.md:
"Costs are integers in the model"); weights come from ``Policy.weights``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assigner.domain.arrays import FloatArray, IntArray, ProblemArrays

TERMS: tuple[str, ...] = (
    "travel",
    "fit",
    "experience",
    "rating",
    "language",
    "preference",
    "continuity",
    "subsidy",
    "stability",
)

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EdgeCosts:
    """Per-edge cost terms (rows = edges, columns = TERMS) and totals, in points."""

    terms: Int64Array
    total: Int64Array
    subsidy_cny: FloatArray

    def breakdown(self, row: int) -> dict[str, int]:
        return {name: int(self.terms[row, j]) for j, name in enumerate(TERMS)}


@dataclass(frozen=True)
class CaseLawyerFeatures:
    """Encodings of languages, gender and continuity used by the preference terms."""

    lawyer_speaks: npt.NDArray[np.bool_]  # (lawyers, languages)
    lawyer_gender: IntArray  # code, -1 unknown
    case_language: IntArray  # code, -1 no preference
    case_gender: IntArray  # code, -1 no preference
    continuity_offsets: IntArray  # CSR over cases into continuity_lawyers
    continuity_lawyers: IntArray


def case_lawyer_features(arrays: ProblemArrays) -> CaseLawyerFeatures:
    problem = arrays.problem
    languages: dict[str, int] = {}
    genders: dict[str, int] = {}
    for lw in problem.lawyers:
        for lang in lw.languages:
            languages.setdefault(lang, len(languages))
        if lw.gender is not None:
            genders.setdefault(lw.gender, len(genders))
    for case in problem.cases:
        if case.preferences.language is not None:
            languages.setdefault(case.preferences.language, len(languages))
        if case.preferences.lawyer_gender is not None:
            genders.setdefault(case.preferences.lawyer_gender, len(genders))

    speaks = np.zeros((arrays.n_lawyers, max(1, len(languages))), dtype=np.bool_)
    for i, lw in enumerate(problem.lawyers):
        speaks[i, [languages[x] for x in lw.languages]] = True
    lawyer_gender = np.array(
        [genders[lw.gender] if lw.gender is not None else -1 for lw in problem.lawyers],
        dtype=np.int32,
    )
    case_language = np.array(
        [
            languages[c.preferences.language] if c.preferences.language is not None else -1
            for c in problem.cases
        ],
        dtype=np.int32,
    )
    case_gender = np.array(
        [
            genders[c.preferences.lawyer_gender] if c.preferences.lawyer_gender is not None else -1
            for c in problem.cases
        ],
        dtype=np.int32,
    )

    offsets = np.zeros(arrays.n_cases + 1, dtype=np.int32)
    targets: list[int] = []
    for ci, case in enumerate(problem.cases):
        wanted = set()
        if case.prior_lawyer_id is not None and case.prior_lawyer_id not in set(
            case.complaint_lawyer_ids
        ):
            wanted.add(arrays.lawyer_pos[case.prior_lawyer_id])
        for linked in case.linked_case_ids:
            other = problem.cases[arrays.case_pos[linked]]
            if other.current_assignment is not None:
                wanted.add(arrays.lawyer_pos[other.current_assignment.lawyer_id])
        targets.extend(sorted(wanted))
        offsets[ci + 1] = len(targets)
    return CaseLawyerFeatures(
        lawyer_speaks=speaks,
        lawyer_gender=lawyer_gender,
        case_language=case_language,
        case_gender=case_gender,
        continuity_offsets=offsets,
        continuity_lawyers=np.array(targets, dtype=np.int32),
    )


def score_edges(
    arrays: ProblemArrays,
    case_index: IntArray,
    lawyer_index: IntArray,
    travel_km: FloatArray,
    features: CaseLawyerFeatures | None = None,
) -> EdgeCosts:
    """Cost terms of the (case, lawyer) edges given as parallel arrays.

    travel: points per km of great-circle distance.  fit: practice level below 5 in the case's
    area (MoJ order 148 Art 25: pick by specialty).  experience: years short of 2 x severity
    (experience vs severity).  rating: stars below 5, for severity >= 4 cases.  language and
    preference: the client's language and lawyer-gender wishes.  continuity: not the client's
    prior lawyer nor the lawyer of a linked case.  subsidy: what the institution pays.
    stability: moving a case away from its current lawyer.
    """
    w = arrays.problem.policy.weights
    f = features if features is not None else case_lawyer_features(arrays)
    c, lw = case_index.astype(np.int64), lawyer_index.astype(np.int64)
    n = len(c)
    terms = np.zeros((n, len(TERMS)), dtype=np.int64)
    area = arrays.case_area[c]
    level = arrays.area_level[lw, area]
    years = arrays.area_years[lw, area]
    severity = arrays.severity[c]

    terms[:, 0] = np.rint(travel_km * w.travel_points_per_km)
    terms[:, 1] = (5 - level) * w.practice_level_points
    terms[:, 2] = np.rint(
        np.maximum(0.0, 2.0 * severity - years) * w.experience_points_per_year_short
    )
    terms[:, 3] = np.where(
        severity >= 4, np.rint((5.0 - arrays.rating[lw]) * w.rating_points_per_star_short), 0
    )
    lang = f.case_language[c]
    speaks = f.lawyer_speaks[lw, np.maximum(lang, 0)]
    terms[:, 4] = np.where((lang >= 0) & ~speaks, w.language_mismatch_points, 0)
    want_gender = f.case_gender[c]
    terms[:, 5] = np.where(
        (want_gender >= 0) & (f.lawyer_gender[lw] != want_gender), w.gender_preference_points, 0
    )
    terms[:, 6] = _continuity_points(f, c, lw, w.continuity_points)
    subsidy_cny = arrays.subsidy_cny[c] * arrays.subsidy_multiplier[lw]
    terms[:, 7] = np.rint(subsidy_cny * w.subsidy_points_per_cny)
    current = arrays.current_lawyer[c]
    terms[:, 8] = np.where((current >= 0) & (current != lw), w.stability_points, 0)
    return EdgeCosts(terms=terms, total=terms.sum(axis=1), subsidy_cny=subsidy_cny)


def _continuity_points(
    f: CaseLawyerFeatures, c: npt.NDArray[np.int64], lw: npt.NDArray[np.int64], points: int
) -> Int64Array:
    counts = np.diff(f.continuity_offsets)[c]
    has_target = counts > 0
    out = np.where(has_target, points, 0).astype(np.int64)
    rows = np.flatnonzero(has_target)
    if rows.size:
        # Only cases with a continuity target are checked; there are few of them.
        for r in rows:
            start, end = f.continuity_offsets[c[r]], f.continuity_offsets[c[r] + 1]
            if lw[r] in f.continuity_lawyers[start:end]:
                out[r] = 0
    return out


def unassigned_penalty_points(arrays: ProblemArrays) -> Int64Array:
    """Penalty for leaving each case unassigned: base x priority-group x deadline urgency."""
    w = arrays.problem.policy.weights
    group_mult = np.array(
        [
            max([w.priority_group_multiplier.get(g, 1.0) for g in case.priority_groups] or [1.0])
            for case in arrays.problem.cases
        ],
        dtype=np.float64,
    )
    urgency = np.ones(arrays.n_cases, dtype=np.float64)
    assigned_band = np.zeros(arrays.n_cases, dtype=np.bool_)
    for band in w.urgency_bands:
        hit = ~assigned_band & (arrays.hours_to_deadline <= band.within_hours)
        urgency[hit] = band.multiplier
        assigned_band |= hit
    return np.rint(w.unassigned_points * group_mult * urgency).astype(np.int64)
