"""Generated rebalance states: a tiny county with current assignments, then perturbed.

``make_state`` starts from ``generate_county("tiny", seed)``, gives a share of the cases a
current lawyer from a feasible assignment (so the state was valid before the perturbation),
flags some of them started or pinned, then perturbs: lawyers on leave, capacity cuts (hours and
open cases), a lawyer who stops accepting cases, extra backlog.  Lawyers holding cases that
must stay (pinned or started under the policy) keep enough capacity for them and never go on
leave: that input is refused with an ``InputError`` by design, tested elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from assigner.domain import CurrentAssignment, Leave, Policy, Problem
from assigner.domain.loading import resolve_catalogue
from assigner.engine import prepare
from assigner.search.greedy import greedy
from scenarios.generator import generate_county


@dataclass(frozen=True)
class StateSpec:
    seed: int
    assigned_share: float = 0.6
    started_share: float = 0.3
    pinned_share: float = 0.2
    allow_moving_started: bool = False
    allow_moving_pinned: bool = False
    on_leave: int = 1
    capacity_cuts: int = 2
    extra_backlog: int = 4


def _hours(problem: Problem) -> dict[str, float]:
    cat = resolve_catalogue(problem)
    return {
        c.id: c.workload_hours or cat.case_types[c.case_type].workload_hours for c in problem.cases
    }


def make_state(spec: StateSpec) -> Problem:
    rng = np.random.default_rng(spec.seed)
    base = generate_county("tiny", spec.seed)
    policy = Policy(
        allow_moving_started=spec.allow_moving_started,
        allow_moving_pinned=spec.allow_moving_pinned,
    )
    plain = [c.model_copy(update={"current_assignment": None}) for c in base.cases]
    problem = base.model_copy(update={"cases": plain, "policy": policy})
    prepared = prepare(problem)
    vec = greedy(prepared.instance)
    ids = prepared.arrays.lawyer_ids
    cases = []
    for ci, case in enumerate(problem.cases):
        if vec[ci] >= 0 and rng.random() < spec.assigned_share:
            current = CurrentAssignment(
                lawyer_id=ids[int(vec[ci])],
                started=bool(rng.random() < spec.started_share),
                pinned=bool(rng.random() < spec.pinned_share),
            )
            case = case.model_copy(update={"current_assignment": current})
        cases.append(case)

    hours = _hours(problem)
    held: dict[str, float] = {}
    held_n: dict[str, int] = {}
    fixed: dict[str, float] = {}
    fixed_n: dict[str, int] = {}
    for case in cases:
        cur = case.current_assignment
        if cur is None:
            continue
        held[cur.lawyer_id] = held.get(cur.lawyer_id, 0.0) + hours[case.id]
        held_n[cur.lawyer_id] = held_n.get(cur.lawyer_id, 0) + 1
        keep = (cur.pinned and not policy.allow_moving_pinned) or (
            cur.started and not policy.allow_moving_started
        )
        if keep:
            fixed[cur.lawyer_id] = fixed.get(cur.lawyer_id, 0.0) + hours[case.id]
            fixed_n[cur.lawyer_id] = fixed_n.get(cur.lawyer_id, 0) + 1

    free_holders = [i for i in ids if i in held and i not in fixed]
    leave = set(rng.permutation(free_holders)[: spec.on_leave].tolist())
    holders = [i for i in ids if i in held and i not in leave]
    cut = set(rng.permutation(holders)[: spec.capacity_cuts].tolist())
    closed = set(rng.permutation(ids)[:1].tolist())
    day = problem.as_of.date()
    lawyers = []
    for lw in problem.lawyers:
        update: dict[str, object] = {}
        if lw.id in leave:
            update["leave"] = [Leave(start=day, end=day + timedelta(days=10))]
        if lw.id in cut:
            share = float(rng.uniform(0.5, 1.0))
            floor_h = lw.current_load_hours + fixed.get(lw.id, 0.0)
            update["capacity_hours"] = max(floor_h, share * (lw.current_load_hours + held[lw.id]))
            if rng.random() < 0.5:
                floor_n = lw.current_open_cases + fixed_n.get(lw.id, 0)
                update["max_open_cases"] = max(floor_n, lw.current_open_cases + held_n[lw.id] - 1)
        if lw.id in closed:
            update["accepting_new_cases"] = False
        lawyers.append(lw.model_copy(update=update) if update else lw)

    for k in range(spec.extra_backlog):
        src = problem.cases[int(rng.integers(len(problem.cases)))]
        cases.append(
            src.model_copy(
                update={
                    "id": f"B{k:03d}",
                    "current_assignment": None,
                    "linked_case_ids": [],
                    "matter_id": None,
                }
            )
        )
    return problem.model_copy(update={"lawyers": lawyers, "cases": cases})
