"""Capacity planning: the fewest extra providers, by practice area, provider kind and township,
so that every case of a scenario is covered within policy (DESIGN.md "What-if scenarios").

Method, per round:

1. Solve the problem with the engine; the cases it leaves unassigned are the uncovered demand.
2. Candidate hires: one *hire type* per (practice area, provider kind, township) that could take
   some uncovered case.  A hire works from the township centre, has the baseline's median
   capacity hours, open-case limit and travel limit for its kind, and the qualifications the
   uncovered demand of its area asks for (years of practice for the capital-case rule, the
   juvenile certification); it joins a new firm, so it carries no conflict history.
3. An integer program (OR-Tools CP-SAT) chooses how many hires of each type and which uncovered
   case goes to which hire type or to an existing lawyer's spare capacity (hours and open cases
   left by the plan), within every per-edge hard rule: practice area, provider kind,
   qualification, travel, and for existing lawyers the engine's own candidate edges (conflicts,
   leave, jurisdictions included).  Lexicographic: fewest cases left uncoverable, then fewest
   hires, then lowest yearly cost, then least travel.
4. The hires are added to the problem and the engine solves it again: the answer is verified by
   the same pipeline that plans real assignments.  Cases still unassigned (hours that do not pack
   into single hires, co-defendants who may not share a hire) start another round.

The program only moves uncovered demand: it does not reshuffle cases the plan already placed,
so its answer is an upper bound on the hires a full re-plan could need.

Cost assumption (``DEFAULT_COST_CNY_PER_HOUR``): a hire costs its yearly capacity hours times an
hourly rate derived from the subsidy schedules in DOMAIN.md: Yongding (Fujian, 2020) pays
1,400 CNY for a civil or administrative case and 1,200 for a criminal trial stage, about 25-30
catalogue hours of work, so a provider hour costs about 50 CNY; grassroots workers are paid 50%
(Hanjiang, Putian 2016): 25 CNY; salaried staff lawyers and defenders are costed at the same
50 CNY (project assumption); volunteers at a 10 CNY stipend (project assumption).  A scenario
may override the rates (``capacity_planning.cost_cny_per_hour``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from assigner.domain import Firm, Lawyer, Location, Plan, PracticeArea, Problem, ProviderKind
from assigner.domain.arrays import haversine_km
from assigner.domain.catalogue import Catalogue
from assigner.domain.loading import resolve_catalogue
from assigner.eligibility import GroupConstraints
from assigner.eligibility.filters import qualification_triggers
from assigner.eligibility.groups import firms_of
from assigner.engine import prepare
from assigner.search.cpsat import SearchParams, derived_seed
from assigner.search.from_problem import hours_to_units_down, hours_to_units_up
from assigner.search.search_budget import deterministic_safety_s
from scenarios.report_folder import write_report_files
from scenarios.whatif.baseline import FIRM_KIND_OF, BaselineFacts, baseline_facts
from scenarios.whatif.runner import solve_with_handover
from scenarios.whatif.spec import CapacityPlanning

log = logging.getLogger(__name__)

DEFAULT_COST_CNY_PER_HOUR: dict[ProviderKind, float] = {
    ProviderKind.PRACTISING_LAWYER: 50.0,
    ProviderKind.STAFF_LAWYER: 50.0,
    ProviderKind.PUBLIC_DEFENDER: 50.0,
    ProviderKind.ALTERNATE_DEFENDER: 50.0,
    ProviderKind.GRASSROOTS_WORKER: 25.0,
    ProviderKind.VOLUNTEER: 10.0,
}
IP_PHASE_TIME_S = 10.0
# Deterministic mode: each step's limit in CP-SAT's deterministic time (its wall-clock safety
# stop is ``deterministic_safety_s(IP_PHASE_TIME_S)``).  A county-S-sized variant without its
# criminal lawyers (373 cases uncovered): with 1 unit the cost step stopped feasible and the
# hires left 19 cases out after three rounds; with 5 every step proved optimal, 996,575 CNY a
# year, every case covered, 39.9 s for the whole plan.
IP_PHASE_DETERMINISTIC_UNITS = 5.0
DEFAULT_LEVEL = 3

# The hiring model counts hours in tenths (case hours rounded up, capacities down): its hires are
# then checked by the engine's own solve, in the engine's units.
PLANNING_UNITS_PER_HOUR = 10


@dataclass(frozen=True)
class HireType:
    """One kind of candidate hire: a provider of ``provider_kind`` practising ``practice_area``
    from the centre of ``township``."""

    practice_area: str
    provider_kind: ProviderKind
    township: str
    lat: float
    lon: float
    capacity_hours: float
    max_open_cases: int
    years: float
    level: int
    certifications: tuple[str, ...]
    max_travel_km: float
    subsidy_class: str
    cost_cny_per_year: float

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.practice_area, self.provider_kind.value, self.township)


@dataclass
class HireLine:
    """Hires of one type, over all rounds, with the demand they were hired for."""

    practice_area: str
    provider_kind: str
    township: str
    hires: int
    capacity_hours_each: float
    max_open_cases_each: int
    years: float
    certifications: list[str]
    cost_cny_each: float
    cost_cny_total: float
    planned_cases: int
    planned_hours: float
    assigned_cases: int = 0
    """Cases the hires of this type got in the verifying solve."""


@dataclass
class RoundReport:
    round: int
    uncovered: int
    to_existing: int
    to_hires: int
    not_coverable: int
    hires: int
    ip_status: str


@dataclass
class CapacityPlan:
    problem_name: str
    variant: str
    cases: int
    assigned_before: int
    assigned_after: int
    lines: list[HireLine]
    rounds: list[RoundReport]
    not_coverable: list[str]
    """Cases no candidate hire and no existing lawyer may take (e.g. more hours than a hire
    has, or a provider kind that may not be hired)."""
    still_unassigned: list[str]
    assumptions: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    problem: Problem | None = field(default=None, repr=False)
    """The problem with the hires added (what the verifying solve used)."""

    @property
    def total_hires(self) -> int:
        return sum(line.hires for line in self.lines)

    @property
    def total_cost_cny(self) -> float:
        return sum(line.cost_cny_total for line in self.lines)

    @property
    def share_before(self) -> float:
        return self.assigned_before / self.cases if self.cases else 1.0

    @property
    def share_after(self) -> float:
        return self.assigned_after / self.cases if self.cases else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem_name,
            "variant": self.variant,
            "cases": self.cases,
            "assigned_before": self.assigned_before,
            "assigned_after": self.assigned_after,
            "assigned_share_before": self.share_before,
            "assigned_share_after": self.share_after,
            "total_hires": self.total_hires,
            "total_cost_cny_per_year": self.total_cost_cny,
            "hires": [asdict(line) for line in self.lines],
            "rounds": [asdict(r) for r in self.rounds],
            "not_coverable": self.not_coverable,
            "still_unassigned": self.still_unassigned,
            "assumptions": self.assumptions,
            "notes": self.notes,
        }


# -- hire types ------------------------------------------------------------------------------


def hire_kinds(problem: Problem, options: CapacityPlanning) -> list[ProviderKind]:
    if options.provider_kinds is not None:
        return list(dict.fromkeys(options.provider_kinds))
    present = {lw.kind for lw in problem.lawyers}
    return [k for k in ProviderKind if k in present and k is not ProviderKind.VOLUNTEER]


def _cost_rates(options: CapacityPlanning) -> dict[ProviderKind, float]:
    return {**DEFAULT_COST_CNY_PER_HOUR, **options.cost_cny_per_hour}


@dataclass(frozen=True)
class _Demand:
    """The uncovered cases of one round, as columns."""

    positions: np.ndarray  # case positions in the problem
    area: list[str]
    case_type: list[str]
    units: np.ndarray  # workload, tenths of an hour (rounded up)
    lat: np.ndarray
    lon: np.ndarray
    rules: list[list[str]]  # qualification rules that apply to each case


def _demand(problem: Problem, positions: list[int], hours: np.ndarray) -> _Demand:
    cat = resolve_catalogue(problem)  # the variant's own (a change may edit case types)
    cases = [problem.cases[i] for i in positions]
    rules = []
    for case in cases:
        ct = cat.case_types[case.case_type]
        rules.append(
            [
                name
                for name, rule in cat.qualification_rules.items()
                if qualification_triggers(
                    name, rule, case, ct.qualification_rules, ct.practice_area
                )
            ]
        )
    return _Demand(
        positions=np.asarray(positions, dtype=np.int64),
        area=[cat.case_types[c.case_type].practice_area for c in cases],
        case_type=[c.case_type for c in cases],
        units=hours_to_units_up(hours[positions], PLANNING_UNITS_PER_HOUR)
        if positions
        else np.zeros(0, dtype=np.int64),
        lat=np.array([c.location.lat for c in cases]),
        lon=np.array([c.location.lon for c in cases]),
        rules=rules,
    )


def candidate_types(
    problem: Problem, facts: BaselineFacts, demand: _Demand, options: CapacityPlanning
) -> list[HireType]:
    """Hire types for the areas and kinds the uncovered demand needs, in every township, by
    the variant's own catalogue (which kinds may take a case type)."""
    cat = resolve_catalogue(problem)
    rates = _cost_rates(options)
    kinds = hire_kinds(problem, options)
    default_km = problem.policy.default_max_travel_km
    out: list[HireType] = []
    for area in sorted(set(demand.area)):
        idx = [i for i, a in enumerate(demand.area) if a == area]
        years_needed = 0.0
        certs: set[str] = set()
        allowed: set[ProviderKind] = set()
        for i in idx:
            allowed |= set(cat.case_types[demand.case_type[i]].allowed_provider_kinds)
            for name in demand.rules[i]:
                rule = cat.qualification_rules[name]
                if rule.practice_area == area and rule.min_years > 0:
                    years_needed = max(years_needed, rule.min_years)
                if rule.certification is not None:
                    certs.add(rule.certification)
        for kind in kinds:
            if kind not in allowed:
                continue
            typical = facts.typical[kind]
            years = max(typical.years_by_area.get(area, 5.0), years_needed)
            for town, (lat, lon) in facts.townships.items():
                out.append(
                    HireType(
                        practice_area=area,
                        provider_kind=kind,
                        township=town,
                        lat=lat,
                        lon=lon,
                        capacity_hours=typical.capacity_hours,
                        max_open_cases=typical.max_open_cases,
                        years=years,
                        level=typical.level_by_area.get(area, DEFAULT_LEVEL),
                        certifications=tuple(sorted(certs)),
                        max_travel_km=typical.max_travel_km or default_km,
                        subsidy_class=typical.subsidy_class,
                        cost_cny_per_year=round(typical.capacity_hours * rates[kind]),
                    )
                )
    return out


def _type_eligibility(cat: Catalogue, demand: _Demand, types: list[HireType]) -> np.ndarray:
    """(uncovered cases, hire types): True where a hire of the type may take the case under
    the variant's catalogue ``cat``."""
    n, m = len(demand.area), len(types)
    ok = np.zeros((n, m), dtype=np.bool_)
    if n == 0 or m == 0:
        return ok
    t_area = np.array([t.practice_area for t in types])
    t_kind = np.array([t.provider_kind.value for t in types])
    t_units = hours_to_units_down(
        np.array([t.capacity_hours for t in types]), PLANNING_UNITS_PER_HOUR
    )
    t_open = np.array([t.max_open_cases for t in types])
    t_km = np.array([t.max_travel_km for t in types])
    dist = haversine_km(
        demand.lat[:, None],
        demand.lon[:, None],
        np.array([t.lat for t in types])[None, :],
        np.array([t.lon for t in types])[None, :],
    )
    for i in range(n):
        kinds = [k.value for k in cat.case_types[demand.case_type[i]].allowed_provider_kinds]
        row = (t_area == demand.area[i]) & np.isin(t_kind, kinds)
        row &= (t_units >= demand.units[i]) & (t_open >= 1) & (dist[i] <= t_km)
        for name in demand.rules[i]:
            rule = cat.qualification_rules[name]
            if rule.practice_area is not None and rule.min_years > 0:
                row &= np.array(
                    [
                        t.practice_area == rule.practice_area and t.years >= rule.min_years
                        for t in types
                    ]
                )
            if rule.certification is not None:
                row &= np.array([rule.certification in t.certifications for t in types])
        ok[i] = row
    return ok


# -- the integer program ---------------------------------------------------------------------


@dataclass
class _IpAnswer:
    hires: dict[int, int]  # type index -> hires
    planned: dict[int, tuple[int, int]]  # type index -> (cases, units)
    to_existing: int
    uncoverable: list[int]  # positions in the demand
    status: str


def _solve_phases(
    model: cp_model.CpModel,
    objectives: list[cp_model.LinearExprT],
    variables: list[cp_model.IntVar],
    seed: int,
    deterministic: bool,
) -> tuple[dict[int, int] | None, str]:
    """Lexicographic: minimise each objective in turn, then hold it at its optimum (the next
    phase starts from the previous answer as a hint).  Returns the values of the last phase
    that found a solution (by variable index), or None, and the status of every phase.
    ``deterministic``: each phase's limit is CP-SAT's deterministic time, its workers
    interleaved, so that the same run gives the same hires (with a wall-clock limit, phases
    stopped at it gave different hires run to run)."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = seed
    if deterministic:
        solver.parameters.interleave_search = True
        solver.parameters.max_deterministic_time = IP_PHASE_DETERMINISTIC_UNITS
        solver.parameters.max_time_in_seconds = deterministic_safety_s(IP_PHASE_TIME_S)
    else:
        solver.parameters.max_time_in_seconds = IP_PHASE_TIME_S
    statuses: list[str] = []
    values: dict[int, int] | None = None
    for expr in objectives:
        model.minimize(expr)
        status = solver.solve(model)
        statuses.append(solver.status_name(status))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        values = {v.index: int(solver.value(v)) for v in variables}
        model.clear_hints()
        for var in variables:
            model.add_hint(var, values[var.index])
        model.add(expr <= round(solver.objective_value))
    return values, "/".join(statuses)


def _group_blocks(
    groups: GroupConstraints, lawyer_of: np.ndarray, lawyer_firm: np.ndarray
) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """Per unassigned case, the lawyers and firms the plan's placed cases close to it:
    co-defendants and linked cases never share a lawyer (nor a firm, by policy); opposing
    sides of a matter never share a firm (SPC 2021 Art 43; Conduct Norms Art 51)."""
    no_lawyer: dict[int, set[int]] = {}
    no_firm: dict[int, set[int]] = {}

    def close(members: np.ndarray, holders: np.ndarray, out: dict[int, set[int]]) -> None:
        taken = {int(h) for h in holders if h >= 0}
        if taken:
            for c in members[lawyer_of[members] < 0].tolist():
                out.setdefault(int(c), set()).update(taken)

    for clique in groups.same_lawyer_cliques:
        close(clique, lawyer_of[clique], no_lawyer)
    firm_of = firms_of(lawyer_of, lawyer_firm)
    for clique in groups.same_firm_cliques:
        close(clique, firm_of[clique], no_firm)
    for side_a, side_b in groups.opposing_sides:
        close(side_b, firm_of[side_a], no_firm)
        close(side_a, firm_of[side_b], no_firm)
    return no_lawyer, no_firm


def _add_group_rules(
    model: cp_model.CpModel,
    groups: GroupConstraints,
    uncovered: list[int],
    existing: list[tuple[int, int, cp_model.IntVar]],
    lawyer_firm: np.ndarray,
) -> None:
    """Unassigned members of one clique may not go to one existing lawyer (or firm)."""
    demand_of = {ci: d for d, ci in enumerate(uncovered)}
    by_pair: dict[tuple[int, int], cp_model.IntVar] = {(d, li): v for d, li, v in existing}
    for cliques, by_firm in ((groups.same_lawyer_cliques, False), (groups.same_firm_cliques, True)):
        for clique in cliques:
            members = [demand_of[int(c)] for c in clique if int(c) in demand_of]
            if len(members) < 2:
                continue
            holders: dict[int, list[cp_model.IntVar]] = {}
            for (d, li), v in by_pair.items():
                if d in members:
                    key = int(lawyer_firm[li]) if by_firm else li
                    holders.setdefault(key, []).append(v)
            for vs in holders.values():
                if len(vs) > 1:
                    model.add_at_most_one(vs)


def _plan_round(
    problem: Problem,
    plan: Plan,
    facts: BaselineFacts,
    options: CapacityPlanning,
    seed: int,
    deterministic: bool,
) -> tuple[list[HireType], _IpAnswer, _Demand]:
    prepared = prepare(problem)
    arrays, cand = prepared.arrays, prepared.candidates
    pos = arrays.case_pos
    uncovered = sorted(pos[u.case_id] for u in plan.unassigned)
    demand = _demand(problem, uncovered, arrays.workload_hours)
    types = candidate_types(problem, facts, demand, options)
    eligible = _type_eligibility(arrays.catalogue, demand, types)

    # Spare capacity of existing lawyers after the plan.
    used_units = np.zeros(arrays.n_lawyers, dtype=np.int64)
    used_count = np.zeros(arrays.n_lawyers, dtype=np.int64)
    units = hours_to_units_up(arrays.workload_hours, PLANNING_UNITS_PER_HOUR)
    for a in plan.assignments:
        li, ci = arrays.lawyer_pos[a.lawyer_id], pos[a.case_id]
        used_units[li] += units[ci]
        used_count[li] += 1
    spare_units = (
        hours_to_units_down(arrays.capacity_hours, PLANNING_UNITS_PER_HOUR)
        - hours_to_units_up(arrays.current_load_hours, PLANNING_UNITS_PER_HOUR)
        - used_units
    )
    spare_count = arrays.max_open_cases.astype(np.int64) - arrays.current_open_cases - used_count

    model = cp_model.CpModel()
    lawyer_of = np.full(arrays.n_cases, -1, dtype=np.int64)
    for a in plan.assignments:
        lawyer_of[pos[a.case_id]] = arrays.lawyer_pos[a.lawyer_id]
    blocked_lawyers, blocked_firms = _group_blocks(prepared.groups, lawyer_of, arrays.lawyer_firm)
    existing: list[tuple[int, int, cp_model.IntVar]] = []  # (demand index, lawyer, var)
    for d, ci in enumerate(uncovered):
        sl = cand.edges_of_case(ci)
        no_lawyer = blocked_lawyers.get(ci, set())
        no_firm = blocked_firms.get(ci, set())
        for li in cand.lawyer_index[sl].tolist():
            if li in no_lawyer or int(arrays.lawyer_firm[li]) in no_firm:
                continue
            if spare_units[li] >= demand.units[d] and spare_count[li] >= 1:
                existing.append((d, li, model.new_bool_var(f"x{d}_{li}")))
    _add_group_rules(model, prepared.groups, uncovered, existing, arrays.lawyer_firm)

    # Cases with the same type options and hours form a group (integer counts per type).
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for d in range(len(uncovered)):
        opts = tuple(np.flatnonzero(eligible[d]).tolist())
        groups.setdefault((int(demand.units[d]), opts), []).append(d)
    used_types = sorted({t for (_, opts) in groups for t in opts})
    n_hire = {t: model.new_int_var(0, options.max_hires_per_type, f"n{t}") for t in used_types}
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    slack: list[cp_model.IntVar] = []
    by_case: dict[int, list[cp_model.IntVar]] = {}
    for d, _li, var in existing:
        by_case.setdefault(d, []).append(var)
    uncoverable: list[int] = []
    slack_of: dict[int, cp_model.IntVar] = {}
    group_list = sorted(groups.items())
    for g, ((_u, opts), members) in enumerate(group_list):
        for t in opts:
            y[(g, t)] = model.new_int_var(0, len(members), f"y{g}_{t}")
        to_existing = [v for d in members for v in by_case.get(d, [])]
        for d in members:
            if len(by_case.get(d, [])) > 1:
                model.add_at_most_one(by_case[d])
        if not opts and not to_existing:
            uncoverable += members
            continue
        s = model.new_int_var(0, len(members), f"s{g}")
        slack.append(s)
        slack_of[g] = s
        model.add(sum(y[(g, t)] for t in opts) + sum(to_existing) + s == len(members))
    for t in used_types:
        load = [(y[(g, t)], u) for g, ((u, opts), _m) in enumerate(group_list) if t in opts]
        cap = int(
            hours_to_units_down(np.array([types[t].capacity_hours]), PLANNING_UNITS_PER_HOUR)[0]
        )
        model.add(sum(v * u for v, u in load) <= cap * n_hire[t])
        model.add(sum(v for v, _ in load) <= types[t].max_open_cases * n_hire[t])
    by_lawyer: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
    for d, li, var in existing:
        by_lawyer.setdefault(li, []).append((d, var))
    for li, items in by_lawyer.items():
        model.add(sum(int(demand.units[d]) * v for d, v in items) <= int(spare_units[li]))
        model.add(sum(v for _, v in items) <= int(spare_count[li]))

    # Travel tie-break: km from the type's township centre to the group's cases.
    travel_terms = []
    for g, ((_u, opts), members) in enumerate(group_list):
        if not opts:
            continue
        km = haversine_km(
            demand.lat[members][:, None],
            demand.lon[members][:, None],
            np.array([types[t].lat for t in opts])[None, :],
            np.array([types[t].lon for t in opts])[None, :],
        ).mean(axis=0)
        travel_terms += [(y[(g, t)], round(k)) for t, k in zip(opts, km, strict=True)]
    if not slack:
        return types, _IpAnswer({}, {}, 0, uncoverable, "nothing to place"), demand
    objectives: list[cp_model.LinearExprT] = [
        cp_model.LinearExpr.sum(slack),
        cp_model.LinearExpr.sum(list(n_hire.values())),
        cp_model.LinearExpr.weighted_sum(
            [n_hire[t] for t in used_types], [int(types[t].cost_cny_per_year) for t in used_types]
        ),
        cp_model.LinearExpr.weighted_sum(
            [v for v, _ in travel_terms], [k for _, k in travel_terms]
        ),
    ]
    variables = [*n_hire.values(), *y.values(), *slack, *(v for _, _, v in existing)]
    values, status = _solve_phases(model, objectives, variables, seed, deterministic)
    if values is None:
        return types, _IpAnswer({}, {}, 0, uncoverable, status), demand
    hires = {t: values[n_hire[t].index] for t in used_types if values[n_hire[t].index] > 0}
    planned: dict[int, tuple[int, int]] = {}
    for (g, t), var in y.items():
        k = values[var.index]
        if k:
            u = group_list[g][0][0]
            c0, u0 = planned.get(t, (0, 0))
            planned[t] = (c0 + k, u0 + k * u)
    to_existing_n = sum(values[v.index] for _, _, v in existing)
    for g, s_var in slack_of.items():
        uncoverable += group_list[g][1][: values[s_var.index]]
    return types, _IpAnswer(hires, planned, to_existing_n, sorted(set(uncoverable)), status), demand


# -- adding hires ----------------------------------------------------------------------------


def add_hires(
    problem: Problem, types: list[HireType], hires: dict[int, int], round_no: int
) -> tuple[Problem, dict[str, tuple[str, str, str]]]:
    """The problem with the hires added (new firms per kind and township); returns the new
    lawyer ids with their type keys."""
    firms = list(problem.firms)
    firm_ids = {f.id for f in firms}
    lawyers = list(problem.lawyers)
    lawyer_ids = {lw.id for lw in lawyers}
    hired: dict[str, tuple[str, str, str]] = {}
    for t, count in sorted(hires.items()):
        ht = types[t]
        firm_id = f"HIRE-{ht.provider_kind.value}-{ht.township}"
        if firm_id not in firm_ids:
            firm_ids.add(firm_id)
            firms.append(
                Firm(
                    id=firm_id,
                    name=f"New {ht.provider_kind.value.replace('_', ' ')} office {ht.township}",
                    kind=FIRM_KIND_OF[ht.provider_kind],
                    location=Location(lat=ht.lat, lon=ht.lon),
                )
            )
        for k in range(count):
            lid = f"HIRE-R{round_no}-{t}-{k + 1}"
            while lid in lawyer_ids:
                lid += "x"
            lawyer_ids.add(lid)
            lawyers.append(
                Lawyer(
                    id=lid,
                    name=f"Hire {ht.practice_area} {ht.provider_kind.value} {ht.township} #{k + 1}",
                    firm_id=firm_id,
                    kind=ht.provider_kind,
                    location=Location(lat=ht.lat, lon=ht.lon),
                    practice_areas=[
                        PracticeArea(area=ht.practice_area, level=ht.level, years=ht.years)
                    ],
                    certifications=list(ht.certifications),
                    capacity_hours=ht.capacity_hours,
                    max_open_cases=ht.max_open_cases,
                    max_travel_km=ht.max_travel_km,
                    subsidy_class=ht.subsidy_class,
                )
            )
            hired[lid] = ht.key
    return problem.model_copy(update={"firms": firms, "lawyers": lawyers}), hired


# -- the whole plan --------------------------------------------------------------------------


def plan_capacity(
    problem: Problem,
    options: CapacityPlanning | None = None,
    params: SearchParams | None = None,
    variant: str = "baseline",
    facts: BaselineFacts | None = None,
) -> CapacityPlan:
    """The fewest extra providers that cover every case of ``problem``, verified by solving."""
    options = options or CapacityPlanning()
    params = params or SearchParams(time_limit_s=5.0, workers=1, deterministic=True)
    facts = facts or baseline_facts(problem)
    plan, current, notes = solve_with_handover(problem, params)
    before = plan.kpis.assigned
    lines: dict[tuple[str, str, str], HireLine] = {}
    hired_type: dict[str, tuple[str, str, str]] = {}
    rounds: list[RoundReport] = []
    not_coverable: set[str] = set()
    if plan.unassigned and not hire_kinds(current, options):
        notes.append(
            "no provider kind to hire: the problem has no lawyer (other than volunteers) whose "
            "kind could be hired; name the kinds in capacity_planning.provider_kinds"
        )
    for r in range(1, options.rounds + 1):
        if not plan.unassigned:
            break
        types, answer, demand = _plan_round(
            current, plan, facts, options, derived_seed(params.seed, r), params.deterministic
        )
        if "FEASIBLE" in answer.status.split("/"):
            notes.append(
                f"round {r}: a step of the hiring plan stopped at its time limit "
                f"({answer.status}: fewest hires / cost / travel), so a cheaper set of hires "
                "may exist"
            )
        ids = [current.cases[int(p)].id for p in demand.positions]
        not_coverable = {ids[d] for d in answer.uncoverable}
        n_hires = sum(answer.hires.values())
        rounds.append(
            RoundReport(
                round=r,
                uncovered=len(ids),
                to_existing=answer.to_existing,
                to_hires=sum(c for c, _ in answer.planned.values()),
                not_coverable=len(answer.uncoverable),
                hires=n_hires,
                ip_status=answer.status,
            )
        )
        if n_hires == 0:
            if answer.to_existing:
                notes.append(
                    f"round {r}: {answer.to_existing} unassigned cases fit existing spare capacity "
                    "by the hard rules; the solver left them out (group rules or the time "
                    "limit), so no hire is recommended for them"
                )
            break
        for t, count in answer.hires.items():
            ht = types[t]
            cases, units = answer.planned.get(t, (0, 0))
            line = lines.get(ht.key)
            if line is None:
                line = lines[ht.key] = HireLine(
                    practice_area=ht.practice_area,
                    provider_kind=ht.provider_kind.value,
                    township=ht.township,
                    hires=0,
                    capacity_hours_each=ht.capacity_hours,
                    max_open_cases_each=ht.max_open_cases,
                    years=ht.years,
                    certifications=list(ht.certifications),
                    cost_cny_each=ht.cost_cny_per_year,
                    cost_cny_total=0.0,
                    planned_cases=0,
                    planned_hours=0.0,
                )
            line.hires += count
            line.cost_cny_total += count * ht.cost_cny_per_year
            line.planned_cases += cases
            line.planned_hours += units / PLANNING_UNITS_PER_HOUR
        current, new = add_hires(current, types, answer.hires, r)
        hired_type.update(new)
        plan, current, more = solve_with_handover(current, params)
        notes += more
    for a in plan.assignments:
        key = hired_type.get(a.lawyer_id)
        if key is not None:
            lines[key].assigned_cases += 1
    ordered = sorted(lines.values(), key=lambda x: (x.practice_area, x.provider_kind, x.township))
    return CapacityPlan(
        problem_name=problem.name,
        variant=variant,
        cases=plan.kpis.cases,
        assigned_before=before,
        assigned_after=plan.kpis.assigned,
        lines=ordered,
        rounds=rounds,
        not_coverable=sorted(not_coverable),
        still_unassigned=[u.case_id for u in plan.unassigned],
        assumptions={
            "cost_cny_per_hour": {k.value: v for k, v in _cost_rates(options).items()},
            "hire_kinds": [k.value for k in hire_kinds(problem, options)],
            "hire_profile": "baseline median capacity, open cases and travel of the kind; "
            "qualifications the uncovered demand of the area needs; office at the township "
            "centre (median of its cases' locations); a new firm per kind and township",
            "time_limit_s_per_solve": params.time_limit_s,
        },
        notes=notes,
        problem=current,
    )


CSV_COLUMNS = (
    "practice_area",
    "provider_kind",
    "township",
    "hires",
    "capacity_hours_each",
    "max_open_cases_each",
    "years",
    "certifications",
    "planned_cases",
    "planned_hours",
    "assigned_cases",
    "cost_cny_each",
    "cost_cny_total",
)


CAPACITY_FILES = ("capacity.json", "capacity.csv")
"""The files ``write_capacity`` writes, in its folder."""


def write_capacity(result: CapacityPlan, out_dir: str | Path) -> tuple[Path, Path]:
    """``capacity.json`` (everything) and ``capacity.csv`` (one row per hire type), replacing
    the old ones together or not at all (``scenarios.report_folder``); a folder that cannot
    take them raises ``OSError`` naming the path."""
    fh = io.StringIO(newline="")
    w = csv.writer(fh)
    w.writerow(CSV_COLUMNS)
    for line in result.lines:
        row = asdict(line)
        row["certifications"] = " ".join(line.certifications)
        w.writerow([row[c] for c in CSV_COLUMNS])
    texts = {
        "capacity.json": json.dumps(result.to_json(), indent=1),
        "capacity.csv": fh.getvalue(),
    }
    paths = write_report_files(Path(out_dir), texts)
    return paths["capacity.json"], paths["capacity.csv"]
