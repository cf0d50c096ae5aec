"""Changed Problems: demand samples and the changes of a variant, applied to the baseline.

Records are never mutated: a change replaces the records it touches by copies
(``model_copy(update=...)``), so the baseline and every other variant stay as they were and
large problems are not deep-copied per solve.

Randomness: sample ``k`` redraws new demand with ``default_rng([seed, k])``; change ``j`` of a
variant draws from ``default_rng([seed, k, crc32(the change as JSON), j])``.  The baseline and
every variant of one sample share the same demand draw, and variants that start with the same
change make the same draw for it (the same lawyers removed, the same cases cloned): differences
between variants come from what differs, not from the dice.  The same scenario and seed always
give the same problems.

Hand-over: a lawyer removed or put on leave cannot keep cases (the availability rule excludes
even the current lawyer), so the open cases such a lawyer holds in the problem lose their
current assignment and are planned again; a removed lawyer also disappears from prior-lawyer,
exclusion and complaint references.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from pydantic import ValidationError

from assigner.domain import (
    Case,
    Catalogue,
    Firm,
    Lawyer,
    Leave,
    Location,
    PartyRole,
    Policy,
    PracticeArea,
    Problem,
)
from scenarios.whatif.baseline import FIRM_KIND_OF, BaselineFacts
from scenarios.whatif.errors import ScenarioError, ScenarioIssue
from scenarios.whatif.spec import (
    AddLawyers,
    CapacityChange,
    CaseFilter,
    CatalogueChange,
    Change,
    EligibilityChange,
    LawyerFilter,
    LeaveChange,
    LineIndex,
    PolicyChange,
    RemoveLawyers,
    ScaleDemand,
    Scenario,
    Variant,
    merge_dicts,
    scenario_lines,
)

# -- checks against the baseline -------------------------------------------------------------


def _plural(what: str) -> str:
    """``subsidy class`` -> ``subsidy classes``, ``case type`` -> ``case types``."""
    return f"{what}es" if what.endswith(("s", "x", "ch", "sh")) else f"{what}s"


def _known(kind: str, values: Iterable[str], show: int = 30) -> str:
    names = sorted(values)
    tail = ", ..." if len(names) > show else ""
    return f"known {kind}: {', '.join(names[:show])}{tail}"


class _Checker:
    """Values a change names must exist: in the catalogue as modified by earlier changes of
    the same variant, in the baseline, or among firms added earlier in the variant."""

    def __init__(self, facts: BaselineFacts, lines: LineIndex) -> None:
        self.facts = facts
        self.lines = lines
        self.issues: list[ScenarioIssue] = []

    def _issue(self, loc: tuple[int | str, ...], field: str, message: str, variant: str) -> None:
        full = (*loc, field)
        path = f"variants[{loc[1]}].changes[{loc[3]}].{field}"
        self.issues.append(
            ScenarioIssue(path, f"{message} (variant {variant!r})", self.lines.line(full))
        )

    def check_values(
        self,
        loc: tuple[int | str, ...],
        variant: str,
        fieldname: str,
        values: Sequence[str] | None,
        known: Iterable[str],
        what: str,
    ) -> None:
        if values is None:
            return
        known_set = set(known)
        for v in values:
            if v not in known_set:
                self._issue(
                    loc,
                    fieldname,
                    f"unknown {what} {v!r}; {_known(_plural(what), known_set)}",
                    variant,
                )

    def check_variant(self, index: int, variant: Variant) -> None:
        catalogue = self.facts.catalogue
        townships = set(self.facts.townships)
        firms = set(self.facts.firm_ids)
        for j, change in enumerate(variant.changes):
            loc: tuple[int | str, ...] = ("variants", index, "changes", j)
            name = variant.name
            areas = catalogue.practice_areas
            if isinstance(change, CaseFilter):
                self.check_values(
                    loc, name, "case_types", change.case_types, catalogue.case_types, "case type"
                )
                self.check_values(
                    loc, name, "practice_areas", change.practice_areas, areas, "practice area"
                )
                self.check_values(
                    loc, name, "jurisdictions", change.jurisdictions, townships, "township"
                )
                self.check_values(
                    loc,
                    name,
                    "priority_groups",
                    change.priority_groups,
                    catalogue.priority_groups,
                    "priority group",
                )
            if isinstance(change, LawyerFilter):
                self.check_values(
                    loc, name, "lawyer_ids", change.lawyer_ids, self.facts.lawyer_ids, "lawyer"
                )
                self.check_values(loc, name, "firm_ids", change.firm_ids, firms, "firm")
                self.check_values(
                    loc,
                    name,
                    "lawyer_practice_areas",
                    change.lawyer_practice_areas,
                    areas,
                    "practice area",
                )
                self.check_values(loc, name, "townships", change.townships, townships, "township")
            if isinstance(change, AddLawyers):
                self.check_values(loc, name, "townships", change.townships, townships, "township")
                self.check_values(
                    loc, name, "jurisdictions", change.jurisdictions, townships, "township"
                )
                self.check_values(
                    loc,
                    name,
                    "certifications",
                    change.certifications,
                    catalogue.certifications,
                    "certification",
                )
                self.check_values(
                    loc,
                    name,
                    "practice_areas",
                    [a.area for a in change.practice_areas],
                    areas,
                    "practice area",
                )
                if change.firm_id is not None:
                    self.check_values(loc, name, "firm_id", [change.firm_id], firms, "firm")
                    if (
                        change.firm_id in self.facts.firm_location
                        and change.townships is None
                        and self.facts.firm_location[change.firm_id] is None
                    ):
                        self._issue(
                            loc,
                            "townships",
                            f"firm {change.firm_id!r} has no location; name the townships",
                            name,
                        )
                if change.subsidy_class is not None:
                    self.check_values(
                        loc,
                        name,
                        "subsidy_class",
                        [change.subsidy_class],
                        catalogue.subsidy_class_multiplier,
                        "subsidy class",
                    )
            if isinstance(change, LeaveChange):
                self._check_leave(loc, name, change)
            if isinstance(change, EligibilityChange):
                self.check_values(
                    loc, name, "add_jurisdictions", change.add_jurisdictions, townships, "township"
                )
                self.check_values(
                    loc, name, "case_types", change.case_types, catalogue.case_types, "case type"
                )
            if isinstance(change, CatalogueChange):
                try:
                    catalogue = updated_catalogue(catalogue, change.update)
                except ValueError as exc:
                    self._issue(loc, "update", str(exc), name)
            if isinstance(change, PolicyChange):
                pass  # checked on load against the default policy; merged again when applied

    def _check_leave(self, loc: tuple[int | str, ...], variant: str, change: LeaveChange) -> None:
        first, last = self.facts.planning_days
        start, end = leave_dates(change, date.fromordinal(first))
        if end.toordinal() < first or start.toordinal() > last:
            window = f"{date.fromordinal(first)} .. {date.fromordinal(last)}"
            self._issue(
                loc,
                "start",
                f"the leave {start} .. {end} misses the planning window {window}, so it would "
                "change nothing",
                variant,
            )


def check_scenario(spec: Scenario, facts: BaselineFacts) -> None:
    """Refuse a scenario whose changes name values the baseline does not have."""
    checker = _Checker(facts, scenario_lines(spec))
    for i, variant in enumerate(spec.variants):
        checker.check_variant(i, variant)
    if checker.issues:
        raise ScenarioError(checker.issues, spec.source)


# -- building changed problems ---------------------------------------------------------------


def updated_catalogue(catalogue: Catalogue, update: dict[str, Any]) -> Catalogue:
    try:
        return Catalogue.model_validate(merge_dicts(catalogue.model_dump(mode="json"), update))
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        ) from None


def updated_policy(policy: Policy, update: dict[str, Any]) -> Policy:
    return Policy.model_validate(merge_dicts(policy.model_dump(mode="json"), update))


def leave_dates(change: LeaveChange, as_of: date) -> tuple[date, date]:
    start = change.start or as_of
    end = change.end or start + timedelta(days=change.days - 1)
    return start, end


def change_key(change: Change) -> int:
    """A stable number per change content, so draws depend neither on the variant's name nor
    on the order of the variants."""
    return zlib.crc32(change.model_dump_json().encode("utf-8"))


@dataclass
class Draft:
    """A problem under construction: lists of (shared or replaced) records."""

    base: Problem
    facts: BaselineFacts
    firms: list[Firm]
    lawyers: list[Lawyer]
    cases: list[Case]
    policy: Policy
    catalogue: Catalogue
    catalogue_changed: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, problem: Problem, facts: BaselineFacts) -> Draft:
        return cls(
            base=problem,
            facts=facts,
            firms=list(problem.firms),
            lawyers=list(problem.lawyers),
            cases=list(problem.cases),
            policy=problem.policy,
            catalogue=facts.catalogue,
        )

    def problem(self, name: str) -> Problem:
        return self.base.model_copy(
            update={
                "name": name,
                "firms": self.firms,
                "lawyers": self.lawyers,
                "cases": self.cases,
                "policy": self.policy,
                "catalogue": self.catalogue if self.catalogue_changed else self.base.catalogue,
            }
        )

    # -- shared steps ------------------------------------------------------------------------
    def case_ids(self) -> set[str]:
        return {c.id for c in self.cases}

    def drop_cases(self, positions: Iterable[int]) -> int:
        gone = set(positions)
        if not gone:
            return 0
        gone_ids = {self.cases[i].id for i in gone}
        kept = [c for i, c in enumerate(self.cases) if i not in gone]
        self.cases = [
            c.model_copy(
                update={"linked_case_ids": [x for x in c.linked_case_ids if x not in gone_ids]}
            )
            if any(x in gone_ids for x in c.linked_case_ids)
            else c
            for c in kept
        ]
        return len(gone)

    def add_clones(
        self, positions: Sequence[int], tag: str, rng: np.random.Generator, jitter_hours: float
    ) -> int:
        used = self.case_ids()
        clones = []
        shifts = (
            rng.uniform(-jitter_hours, jitter_hours, len(positions))
            if jitter_hours
            else np.zeros(len(positions))
        )
        for n, (pos, shift) in enumerate(zip(positions, shifts, strict=True)):
            new_id = f"{self.cases[pos].id}-{tag}{n + 1}"
            while new_id in used:
                new_id += "x"
            used.add(new_id)
            clones.append(clone_case(self.cases[pos], new_id, float(shift), self.base))
        self.cases = self.cases + clones
        return len(clones)

    def hand_over(self, lawyer_ids: set[str], removed: bool) -> int:
        """Release cases held by these lawyers; when removed, drop every reference too."""
        released = 0
        out = []
        for c in self.cases:
            update: dict[str, Any] = {}
            if c.current_assignment is not None and c.current_assignment.lawyer_id in lawyer_ids:
                update["current_assignment"] = None
                released += 1
            if removed:
                if c.prior_lawyer_id in lawyer_ids:
                    update["prior_lawyer_id"] = None
                if any(x in lawyer_ids for x in c.excluded_lawyer_ids):
                    update["excluded_lawyer_ids"] = [
                        x for x in c.excluded_lawyer_ids if x not in lawyer_ids
                    ]
                if any(x in lawyer_ids for x in c.complaint_lawyer_ids):
                    update["complaint_lawyer_ids"] = [
                        x for x in c.complaint_lawyer_ids if x not in lawyer_ids
                    ]
            out.append(c.model_copy(update=update) if update else c)
        self.cases = out
        return released

    def matching_cases(self, f: CaseFilter) -> list[int]:
        types = self.catalogue.case_types
        out = []
        for i, c in enumerate(self.cases):
            if f.case_types is not None and c.case_type not in f.case_types:
                continue
            if (
                f.practice_areas is not None
                and types[c.case_type].practice_area not in f.practice_areas
            ):
                continue
            if f.jurisdictions is not None and c.jurisdiction not in f.jurisdictions:
                continue
            if f.priority_groups is not None and not set(c.priority_groups) & set(
                f.priority_groups
            ):
                continue
            out.append(i)
        return out

    def matching_lawyers(self, f: LawyerFilter) -> list[int]:
        firm_kind = {firm.id: firm.kind for firm in self.firms}
        homes = self.facts.home_townships(self.lawyers) if f.townships is not None else None
        out = []
        for i, lw in enumerate(self.lawyers):
            if f.lawyer_ids is not None and lw.id not in f.lawyer_ids:
                continue
            if f.provider_kinds is not None and lw.kind not in f.provider_kinds:
                continue
            if f.firm_ids is not None and lw.firm_id not in f.firm_ids:
                continue
            if f.firm_kinds is not None and firm_kind.get(lw.firm_id) not in f.firm_kinds:
                continue
            if f.lawyer_practice_areas is not None and not {
                pa.area for pa in lw.practice_areas
            } & set(f.lawyer_practice_areas):
                continue
            if homes is not None and f.townships is not None and homes[i] not in f.townships:
                continue
            out.append(i)
        return out


def clone_case(case: Case, new_id: str, shift_hours: float, problem: Problem) -> Case:
    """A new case like ``case``: a new client (same name, new party id), received
    ``shift_hours`` later (never after as_of) with the same time to its deadline, standing on
    its own (no matter, links, history or current lawyer)."""
    window = case.assign_by - case.received_at
    received = min(case.received_at + timedelta(hours=shift_hours), problem.as_of)
    parties = [
        p.model_copy(update={"id": f"{p.id}-{new_id}" if p.id else None})
        if p.role is PartyRole.CLIENT
        else p
        for p in case.parties
    ]
    started = case.current_assignment is not None and case.current_assignment.started
    return case.model_copy(
        update={
            "id": new_id,
            "received_at": received,
            "assign_by": received + window,
            "matter_id": None,
            "linked_case_ids": [],
            "parties": parties,
            "prior_lawyer_id": None,
            "excluded_lawyer_ids": [],
            "complaint_lawyer_ids": [],
            "current_assignment": None,
            # a started case's hours are what remains; a new case needs the full hours
            "workload_hours": None if started else case.workload_hours,
        }
    )


def _pick(rng: np.random.Generator, positions: list[int], share: float | None) -> list[int]:
    if share is None:
        return positions
    n = round(share * len(positions))
    if n <= 0:
        return []
    chosen = rng.choice(len(positions), size=n, replace=False)
    return [positions[int(i)] for i in np.sort(chosen)]


def resample_demand(draft: Draft, rng: np.random.Generator, tag: str) -> None:
    """Redraw new demand: per (case type, township), the count of cases without a current
    assignment becomes Poisson(baseline count); extra cases are clones of random ones."""
    cells: dict[tuple[str, str | None], list[int]] = {}
    for i, c in enumerate(draft.cases):
        if c.current_assignment is None:
            cells.setdefault((c.case_type, c.jurisdiction), []).append(i)
    drop: list[int] = []
    clone: list[int] = []
    for key in sorted(cells, key=lambda k: (k[0], k[1] or "")):
        members = cells[key]
        n = len(members)
        target = int(rng.poisson(n))
        if target < n:
            drop += [members[int(i)] for i in rng.choice(n, size=n - target, replace=False)]
        elif target > n:
            clone += [members[int(i)] for i in rng.integers(0, n, size=target - n)]
    if clone:
        draft.add_clones(clone, tag, rng, 12.0)
    draft.drop_cases(drop)  # drops index the list before the clones were appended


def _scale_demand(draft: Draft, change: ScaleDemand, rng: np.random.Generator, tag: str) -> None:
    matching = draft.matching_cases(change)
    n = len(matching)
    if change.factor >= 1:
        extra = round((change.factor - 1) * n)
        if extra == 0 or n == 0:
            return
        whole, rest = divmod(extra, n)
        positions = matching * whole
        if rest:
            positions += [
                matching[int(i)] for i in np.sort(rng.choice(n, size=rest, replace=False))
            ]
        added = draft.add_clones(positions, tag, rng, change.received_jitter_hours)
        draft.notes.append(f"scale_demand x{change.factor:g}: {n} matching cases, {added} added")
    else:
        k = n - round(change.factor * n)
        chosen = [matching[int(i)] for i in rng.choice(n, size=k, replace=False)] if k else []
        draft.drop_cases(chosen)
        draft.notes.append(f"scale_demand x{change.factor:g}: {n} matching cases, {k} dropped")


def _add_lawyers(draft: Draft, change: AddLawyers, j: int) -> None:
    facts = draft.facts
    typical = facts.typical[change.provider_kind]
    firm_kind = change.new_firm_kind or FIRM_KIND_OF[change.provider_kind]
    places: list[tuple[str | None, tuple[float, float]]] = []
    if change.townships is not None:
        places = [(t, facts.townships[t]) for t in change.townships]
    else:
        loc = facts.firm_location.get(change.firm_id or "")
        if loc is None:
            raise ValueError(f"firm {change.firm_id!r} has no location")
        places = [(None, loc)]
    used_lawyers = {lw.id for lw in draft.lawyers}
    used_firms = {f.id for f in draft.firms}
    added = 0
    for p, (town, (lat, lon)) in enumerate(places):
        firm_id = change.firm_id
        if firm_id is None:
            firm_id = f"WI{j + 1:02d}-F{p + 1:02d}"
            while firm_id in used_firms:
                firm_id += "x"
            used_firms.add(firm_id)
            draft.firms.append(
                Firm(
                    id=firm_id,
                    name=f"{change.name_prefix} office {town or ''}".strip(),
                    kind=firm_kind,
                    location=Location(lat=lat, lon=lon),
                )
            )
        for k in range(change.count):
            lawyer_id = f"WI{j + 1:02d}-{p + 1:02d}-L{k + 1:03d}"
            while lawyer_id in used_lawyers:
                lawyer_id += "x"
            used_lawyers.add(lawyer_id)
            draft.lawyers.append(
                Lawyer(
                    id=lawyer_id,
                    name=f"{change.name_prefix} {town or firm_id} {k + 1}",
                    firm_id=firm_id,
                    kind=change.provider_kind,
                    location=Location(lat=lat, lon=lon),
                    practice_areas=[
                        PracticeArea(area=a.area, level=a.level, years=a.years)
                        for a in change.practice_areas
                    ],
                    certifications=list(change.certifications),
                    languages=list(change.languages),
                    capacity_hours=change.capacity_hours or typical.capacity_hours,
                    max_open_cases=change.max_open_cases or typical.max_open_cases,
                    max_travel_km=change.max_travel_km or typical.max_travel_km,
                    jurisdictions=list(change.jurisdictions) if change.jurisdictions else None,
                    rating=change.rating,
                    subsidy_class=change.subsidy_class or typical.subsidy_class,
                )
            )
            added += 1
    draft.notes.append(f"add_lawyers: {added} {change.provider_kind.value} added")


def _remove_lawyers(draft: Draft, change: RemoveLawyers, rng: np.random.Generator) -> None:
    chosen = _pick(rng, draft.matching_lawyers(change), change.share)
    ids = {draft.lawyers[i].id for i in chosen}
    draft.lawyers = [lw for lw in draft.lawyers if lw.id not in ids]
    released = draft.hand_over(ids, removed=True)
    draft.notes.append(f"remove_lawyers: {len(ids)} removed, {released} open cases handed over")


def _leave(draft: Draft, change: LeaveChange, rng: np.random.Generator) -> None:
    chosen = _pick(rng, draft.matching_lawyers(change), change.share)
    start, end = leave_dates(change, draft.base.day_of(draft.base.as_of))
    ids = set()
    for i in chosen:
        lw = draft.lawyers[i]
        draft.lawyers[i] = lw.model_copy(update={"leave": [*lw.leave, Leave(start=start, end=end)]})
        ids.add(lw.id)
    released = draft.hand_over(ids, removed=False)
    draft.notes.append(
        f"leave {start} .. {end}: {len(ids)} lawyers, {released} open cases handed over"
    )


def _capacity(draft: Draft, change: CapacityChange) -> None:
    chosen = draft.matching_lawyers(change)
    for i in chosen:
        lw = draft.lawyers[i]
        update: dict[str, Any] = {}
        if change.hours_factor is not None:
            update["capacity_hours"] = round(lw.capacity_hours * change.hours_factor * 2) / 2
        if change.open_cases_factor is not None:
            update["max_open_cases"] = max(0, round(lw.max_open_cases * change.open_cases_factor))
        draft.lawyers[i] = lw.model_copy(update=update)
    draft.notes.append(f"capacity: {len(chosen)} lawyers changed")


def _eligibility(draft: Draft, change: EligibilityChange) -> None:
    if change.max_travel_km is not None or change.add_jurisdictions is not None:
        chosen = draft.matching_lawyers(change)
        default_km = draft.policy.default_max_travel_km
        for i in chosen:
            lw = draft.lawyers[i]
            update: dict[str, Any] = {}
            if change.max_travel_km is not None:
                current = lw.max_travel_km if lw.max_travel_km is not None else default_km
                if change.max_travel_km > current:
                    update["max_travel_km"] = change.max_travel_km
            if change.add_jurisdictions is not None and lw.jurisdictions is not None:
                extra = [j for j in change.add_jurisdictions if j not in lw.jurisdictions]
                if extra:
                    update["jurisdictions"] = [*lw.jurisdictions, *extra]
            if update:
                draft.lawyers[i] = lw.model_copy(update=update)
        draft.notes.append(f"eligibility: {len(chosen)} lawyers widened")
    if change.case_types is not None and change.allow_provider_kinds is not None:
        update_types: dict[str, Any] = {}
        for name in change.case_types:
            kinds = list(draft.catalogue.case_types[name].allowed_provider_kinds)
            kinds += [k for k in change.allow_provider_kinds if k not in kinds]
            update_types[name] = {"allowed_provider_kinds": [k.value for k in kinds]}
        draft.catalogue = updated_catalogue(draft.catalogue, {"case_types": update_types})
        draft.catalogue_changed = True


def apply_change(draft: Draft, change: Change, j: int, rng: np.random.Generator) -> None:
    if isinstance(change, ScaleDemand):
        _scale_demand(draft, change, rng, f"v{j + 1}n")
    elif isinstance(change, AddLawyers):
        _add_lawyers(draft, change, j)
    elif isinstance(change, RemoveLawyers):
        _remove_lawyers(draft, change, rng)
    elif isinstance(change, LeaveChange):
        _leave(draft, change, rng)
    elif isinstance(change, CapacityChange):
        _capacity(draft, change)
    elif isinstance(change, PolicyChange):
        draft.policy = updated_policy(draft.policy, change.update)
    elif isinstance(change, CatalogueChange):
        draft.catalogue = updated_catalogue(draft.catalogue, change.update)
        draft.catalogue_changed = True
    elif isinstance(change, EligibilityChange):
        _eligibility(draft, change)
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown change {type(change).__name__}")


def build_problem(
    spec: Scenario,
    baseline: Problem,
    facts: BaselineFacts,
    variant: Variant | None,
    sample: int,
    noise: bool = True,
) -> tuple[Problem, list[str]]:
    """The Problem of ``variant`` (``None``: the baseline) in demand sample ``sample``, with
    notes on what the changes did; without ``noise`` (or with ``demand_noise: none``) the
    expected demand itself, named so."""
    draft = Draft.of(baseline, facts)
    if noise and spec.demand_noise == "poisson":
        resample_demand(draft, np.random.default_rng([spec.seed, sample]), f"s{sample + 1}n")
    label = "baseline" if variant is None else variant.name
    if variant is not None:
        for j, change in enumerate(variant.changes):
            rng = np.random.default_rng([spec.seed, sample, change_key(change), j])
            try:
                apply_change(draft, change, j, rng)
            except ValueError as exc:
                issue = ScenarioIssue(
                    f"variants[{spec.variants.index(variant)}].changes[{j}]",
                    f"{exc} (variant {variant.name!r})",
                )
                raise ScenarioError([issue], spec.source) from exc
    resampled = noise and spec.demand_noise == "poisson"
    demand = f"sample {sample + 1}" if resampled else "expected demand"
    return draft.problem(f"{baseline.name} / {label} / {demand}"), draft.notes
