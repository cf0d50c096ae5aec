"""The warm roster index answers exactly what the engine answers from scratch.

``assigner.recommend`` splices lawyer-side columns built once with case-side columns built per
request; these tests build the same "roster + these cases" problem from scratch with the
engine's own functions and compare every column, the eligible set, the group-rule exclusions
and the scores, case by case, on the generated demo county."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from assigner.domain import Case, Problem
from assigner.domain.arrays import build_arrays
from assigner.eligibility import build_candidates, eligibility_tables, group_constraints
from assigner.recommend import CaseQuery, RosterIndex, build_roster_index, recommend
from assigner.scoring.costs import score_edges
from scenarios.generator import generate_county


@cache
def demo() -> Problem:
    return generate_county("demo", 7)


@cache
def demo_index() -> RosterIndex:
    problem = demo()
    return build_roster_index(problem.firms, problem.lawyers, problem.policy, problem.as_of)


def related_of(problem: Problem, case: Case) -> list[Case]:
    linking = {c.id for c in problem.cases if case.id in c.linked_case_ids}
    keep = set(case.linked_case_ids) | linking
    if case.matter_id is not None:
        keep |= {c.id for c in problem.cases if c.matter_id == case.matter_id}
    keep.discard(case.id)
    ids = {case.id} | keep
    out = []
    for c in problem.cases:
        if c.id in keep:
            out.append(
                c.model_copy(update={"linked_case_ids": [x for x in c.linked_case_ids if x in ids]})
            )
    return out


def sample_cases() -> list[Case]:
    problem = demo()
    grouped = [c for c in problem.cases if c.matter_id or c.linked_case_ids or c.current_assignment]
    plain = [c for c in problem.cases if c not in grouped]
    return grouped[:25] + plain[:15]


@pytest.mark.parametrize("case_index", range(40))
def test_index_matches_the_engine_from_scratch(case_index: int) -> None:
    """Tests that for one case (with its related cases) the spliced arrays and tables equal
    those built from scratch, and that the recommended set and every score equal the engine's
    candidates, group rules and score_edges."""
    problem = demo()
    case = sample_cases()[case_index]
    related = related_of(problem, case)
    index = demo_index()
    query = CaseQuery(
        index,
        case,
        related,
        as_of=problem.as_of,
        load_hours=index.base_load_hours,
        open_cases=index.base_open_cases,
    )

    scratch = Problem(
        as_of=problem.as_of,
        policy=problem.policy,
        firms=problem.firms,
        lawyers=problem.lawyers,
        cases=[case, *related],
    )
    arrays = build_arrays(scratch)
    tables = eligibility_tables(arrays)
    for f in dataclasses.fields(arrays):
        if f.name not in ("problem", "catalogue"):
            assert np.array_equal(
                np.asarray(getattr(arrays, f.name), dtype=object),
                np.asarray(getattr(query.view.arrays, f.name), dtype=object),
            ), f.name
    for f in dataclasses.fields(tables):
        if f.name not in (
            "arrays",
            "conflicts",
            "jurisdiction_names",
            "serves",
            "case_jurisdiction",
        ):
            assert np.array_equal(getattr(tables, f.name), getattr(query.view.tables, f.name)), (
                f.name
            )

    cands = build_candidates(arrays, tables=tables)
    rows = cands.edges_of_case(0)
    costs = score_edges(
        arrays, cands.case_index[rows], cands.lawyer_index[rows], cands.travel_km[rows]
    )
    groups = group_constraints(arrays)
    expected: dict[str, int] = {}
    for k, lp in enumerate(cands.lawyer_index[rows].tolist()):
        trial = arrays.current_lawyer.copy()
        trial[0] = lp
        if not any(0 in v.case_indices for v in groups.violations(trial)):
            expected[arrays.lawyer_ids[lp]] = int(costs.total[k])

    got = recommend(
        index,
        case,
        related,
        as_of=problem.as_of,
        load_hours=index.base_load_hours,
        open_cases=index.base_open_cases,
        top_k=len(index.lawyer_ids),
    )
    assert {s.lawyer_id: s.cost_points for s in got.recommendations} == expected
    ranking = [
        (s.cost_points + s.load_points + s.quota_points, s.lawyer_id) for s in got.recommendations
    ]
    assert ranking == sorted(ranking)
    for lawyer_id in index.lawyer_ids[:12]:
        verdict = query.verdict(lawyer_id)
        assert verdict.eligible == (lawyer_id in expected), lawyer_id
        assert (verdict.scored is not None) == verdict.eligible


def test_loads_given_to_the_view_drive_capacity() -> None:
    """Tests that the loads passed to a query, not the documents', decide the capacity rule:
    a lawyer loaded to the brim is excluded with the capacity reason."""
    problem = demo()
    case = next(c for c in problem.cases if not c.matter_id and not c.linked_case_ids)
    index = demo_index()
    free = recommend(
        index,
        case,
        as_of=problem.as_of,
        load_hours=index.base_load_hours,
        open_cases=index.base_open_cases,
        top_k=1,
    )
    assert free.recommendations
    best = free.recommendations[0].lawyer_id
    loads = index.base_load_hours.copy()
    loads[index.arrays.lawyer_pos[best]] = index.arrays.capacity_hours[
        index.arrays.lawyer_pos[best]
    ]
    full = recommend(
        index,
        case,
        as_of=problem.as_of,
        load_hours=loads,
        open_cases=index.base_open_cases,
        top_k=100,
        why_not_ids=[best],
    )
    assert best not in [s.lawyer_id for s in full.recommendations]
    assert [r.rule for r in full.why_not[0].reasons] == ["capacity"]
