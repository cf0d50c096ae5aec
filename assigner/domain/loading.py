"""Reading a Problem document: record checks by pydantic, reference checks here.

Every failure becomes an :class:`InputIssue` naming the record (``lawyers[3] (id L004)``) and the
field; the problem is refused whole.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assigner.domain.catalogue import Catalogue, default_catalogue
from assigner.domain.errors import InputError, InputIssue
from assigner.domain.policy import Policy
from assigner.domain.problem import Problem, Side


def _record_name(data: Any, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """Split a pydantic location into a record name (with its id) and a field path."""
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        collection, index = loc[0], loc[1]
        record = f"{collection}[{index}]"
        try:
            rid = data[collection][index].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            rid = None
        if rid is not None:
            record += f" (id {rid})"
        field = ".".join(str(p) for p in loc[2:])
        return record, field
    if loc:
        return str(loc[0]), ".".join(str(p) for p in loc[1:])
    return "problem", ""


def issues_from_validation_error(data: Any, error: ValidationError) -> list[InputIssue]:
    """One issue per pydantic error, naming the record and field; a check of ours reads as its
    own message (pydantic puts "Value error, " before it)."""
    issues = []
    for err in error.errors():
        record, field = _record_name(data, tuple(err["loc"]))
        message = (
            err["msg"].removeprefix("Value error, ") if err["type"] == "value_error" else err["msg"]
        )
        issues.append(InputIssue(record, field, message))
    return issues


def _duplicates(kind: str, ids: list[str]) -> list[InputIssue]:
    """Each record whose id an earlier record already has, named with that earlier one."""
    first: dict[str, int] = {}
    issues = []
    for k, i in enumerate(ids):
        if i in first:
            issues.append(
                InputIssue(
                    f"{kind}[{k}] (id {i})", "id", f"duplicate id: {kind}[{first[i]}] has it too"
                )
            )
        else:
            first[i] = k
    return issues


CRIMINAL_DEFENCE_AREA = "criminal_defence"
CRIMINAL_VICTIM_AREA = "criminal_victim"


def sides_of_area(practice_area: str) -> frozenset[Side]:
    """The sides a case of this practice area can take in a matter: the accused in criminal
    defence, the victim in victim representation, claimant or respondent in civil,
    administrative and other matters.  ``side`` defaults to defendant, so a civil case in a
    matter must say its side (both sides defaulting to defendant would read as co-defendants,
    and the rule that opposing sides never share a firm would not see them)."""
    if practice_area == CRIMINAL_DEFENCE_AREA:
        return frozenset({Side.DEFENDANT})
    if practice_area == CRIMINAL_VICTIM_AREA:
        return frozenset({Side.VICTIM})
    return frozenset({Side.CLAIMANT, Side.RESPONDENT})


def check_references(problem: Problem, catalogue: Catalogue) -> list[InputIssue]:
    """Every id, case type, stage, area, group, flag and class must be known."""
    issues: list[InputIssue] = []
    issues += _duplicates("firms", [f.id for f in problem.firms])
    issues += _duplicates("lawyers", [lw.id for lw in problem.lawyers])
    issues += _duplicates("cases", [c.id for c in problem.cases])
    firm_ids = {f.id for f in problem.firms}
    lawyer_ids = {lw.id for lw in problem.lawyers}
    case_ids = {c.id for c in problem.cases}
    areas = set(catalogue.practice_areas)
    certs = set(catalogue.certifications)
    groups = set(catalogue.priority_groups)
    flags = set(catalogue.case_flags)

    issues += policy_issues(problem.policy, catalogue)
    for i, lw in enumerate(problem.lawyers):
        rec = f"lawyers[{i}] (id {lw.id})"
        if lw.firm_id not in firm_ids:
            issues.append(InputIssue(rec, "firm_id", f"unknown firm {lw.firm_id!r}"))
        for j, pa in enumerate(lw.practice_areas):
            if pa.area not in areas:
                issues.append(
                    InputIssue(
                        rec, f"practice_areas.{j}.area", f"unknown practice area {pa.area!r}"
                    )
                )
        seen_areas = [pa.area for pa in lw.practice_areas]
        if len(set(seen_areas)) != len(seen_areas):
            issues.append(InputIssue(rec, "practice_areas", "a practice area is listed twice"))
        for cert in lw.certifications:
            if cert not in certs:
                issues.append(InputIssue(rec, "certifications", f"unknown certification {cert!r}"))
        if lw.subsidy_class not in catalogue.subsidy_class_multiplier:
            issues.append(
                InputIssue(rec, "subsidy_class", f"unknown subsidy class {lw.subsidy_class!r}")
            )

    for i, case in enumerate(problem.cases):
        rec = f"cases[{i}] (id {case.id})"
        ct = catalogue.case_types.get(case.case_type)
        if ct is None:
            issues.append(InputIssue(rec, "case_type", f"unknown case type {case.case_type!r}"))
        elif case.stage not in ct.subsidy_cny_by_stage:
            known = ", ".join(sorted(ct.subsidy_cny_by_stage))
            issues.append(
                InputIssue(
                    rec,
                    "stage",
                    f"stage {case.stage!r} is not a stage of case type {case.case_type!r} "
                    f"({known})",
                )
            )
        if ct is not None and case.matter_id is not None:
            allowed = sides_of_area(ct.practice_area)
            if case.side not in allowed:
                shown = " or ".join(repr(str(x)) for x in sorted(allowed))
                issues.append(
                    InputIssue(
                        rec,
                        "side",
                        f"side {str(case.side)!r} does not fit a {ct.practice_area} case in "
                        f"matter {case.matter_id!r}: use {shown} (the conflict rules between "
                        "the sides of a matter depend on it)",
                    )
                )
        for g in case.priority_groups:
            if g not in groups:
                issues.append(InputIssue(rec, "priority_groups", f"unknown priority group {g!r}"))
        for f in case.flags:
            if f not in flags:
                issues.append(InputIssue(rec, "flags", f"unknown case flag {f!r}"))
        for linked, n in Counter(case.linked_case_ids).items():
            if n > 1:
                issues.append(
                    InputIssue(rec, "linked_case_ids", f"case {linked!r} is listed {n} times")
                )
        for linked in case.linked_case_ids:
            if linked not in case_ids:
                issues.append(InputIssue(rec, "linked_case_ids", f"unknown case {linked!r}"))
            elif linked == case.id:
                issues.append(InputIssue(rec, "linked_case_ids", "a case cannot link to itself"))
        refs: list[tuple[str, str | None]] = [("prior_lawyer_id", case.prior_lawyer_id)]
        refs += [("excluded_lawyer_ids", x) for x in case.excluded_lawyer_ids]
        refs += [("complaint_lawyer_ids", x) for x in case.complaint_lawyer_ids]
        refs += [
            (f"conflict_waivers[{k}].lawyer_id", w.lawyer_id)
            for k, w in enumerate(case.conflict_waivers)
        ]
        if case.current_assignment is not None:
            refs.append(("current_assignment.lawyer_id", case.current_assignment.lawyer_id))
        for field, ref in refs:
            if ref is not None and ref not in lawyer_ids:
                issues.append(InputIssue(rec, field, f"unknown lawyer {ref!r}"))
    return issues


def policy_issues(policy: Policy, catalogue: Catalogue) -> list[InputIssue]:
    """The policy's references to the catalogue: each priority group it weighs must be one the
    catalogue knows (a misspelt group would silently weigh nothing).  The default weights name
    the default catalogue's groups; they are checked only where the policy sets its own."""
    if "priority_group_multiplier" not in policy.weights.model_fields_set:
        return []
    groups = set(catalogue.priority_groups)
    return [
        InputIssue(
            "policy",
            f"weights.priority_group_multiplier.{group}",
            f"unknown priority group {group!r} (known: {', '.join(sorted(groups))})",
        )
        for group in policy.weights.priority_group_multiplier
        if group not in groups
    ]


def validate_problem(problem: Problem) -> Problem:
    """Check references of an already-parsed Problem; raise InputError listing every issue."""
    issues = check_references(problem, resolve_catalogue(problem))
    if issues:
        raise InputError(issues)
    return problem


def unreadable(exc: OSError | UnicodeDecodeError, document: str = "Problem") -> str:
    """Why a ``document`` JSON file cannot be read, in words, to follow its path."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start}): a {document} is a JSON file in UTF-8"
    if isinstance(exc, IsADirectoryError):
        return f"cannot be read: a directory, not a {document} JSON file"
    return f"cannot be read: {exc.strerror or exc}"


def load_problem(source: dict[str, Any] | str | Path) -> Problem:
    """Parse and check a Problem from a dict, a JSON string or a JSON file path."""
    if isinstance(source, Path):
        try:
            data: Any = json.loads(source.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError([InputIssue(str(source), "", f"not valid JSON: {exc}")]) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError([InputIssue(str(source), "", unreadable(exc))]) from exc
    elif isinstance(source, str):
        try:
            data = json.loads(source)
        except json.JSONDecodeError as exc:
            raise InputError([InputIssue("problem", "", f"not valid JSON: {exc}")]) from exc
    else:
        data = source
    try:
        problem = Problem.model_validate(data)
    except ValidationError as exc:
        raise InputError(issues_from_validation_error(data, exc)) from exc
    return validate_problem(problem)


def resolve_catalogue(problem: Problem) -> Catalogue:
    return problem.catalogue if problem.catalogue is not None else default_catalogue()
