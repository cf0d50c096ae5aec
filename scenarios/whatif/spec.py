"""What-if scenario files: a baseline, variants made of changes, random demand samples.

DESIGN.md "What-if scenarios".  A scenario file is YAML (``.yaml``/``.yml``) or JSON (``.json``)::

    name: civil-scope-widened
    baseline: {tier: county-S, seed: 7}      # or {problem_file: x.json} / {database_url: ...}
    samples: 3
    variants:
      - name: civil +30%
        changes:
          - {kind: scale_demand, factor: 1.3, practice_areas: [labour, family]}

Everything here is checked on its own (types, ranges, unknown fields, change kinds); values that
need the baseline to be judged (a case type in a filter, a township, a lawyer id) are checked by
:func:`scenarios.whatif.changes.check_scenario` before anything is solved.  Errors name the path
in the file, and the line for YAML files.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from assigner.domain import Catalogue, FirmKind, Policy, ProviderKind, default_catalogue
from assigner.domain.fields import MAX_CASE_COUNT, MAX_DISTANCE_KM, MAX_HOURS, MAX_YEARS
from assigner.search.cpsat import MAX_SEED, MAX_TIME_LIMIT_S
from scenarios.tiers import UnknownTierError, get_tier
from scenarios.whatif.errors import ScenarioError, ScenarioIssue

BASELINE_NAME = "baseline"
"""The name the runner and reports give the unchanged baseline; no variant may take it."""

_FORBID = ConfigDict(extra="forbid", allow_inf_nan=False)
"""Unknown fields are refused, and so are NaN and infinite numbers (``.nan``, ``.inf`` in YAML):
no bound holds for them (an infinite time limit never ends a solve)."""

VARIANT_NAME_ERROR = "variant_name"
"""The error type of a variant name that is taken (twice, or the baseline's)."""


# -- baselines -------------------------------------------------------------------------------


class TierBaseline(BaseModel):
    """A generated county (``scenarios.generator.generate_county``)."""

    model_config = _FORBID

    tier: str
    seed: int = Field(default=7, ge=0, le=MAX_SEED, description="The generator's seed.")

    @field_validator("tier")
    @classmethod
    def _known_tier(cls, value: str) -> str:
        try:
            get_tier(value)
        except UnknownTierError as exc:
            raise ValueError(str(exc)) from None
        return value


class ProblemFileBaseline(BaseModel):
    """A Problem JSON file (``assigner solve`` input); a relative path is read from the
    scenario file's folder."""

    model_config = _FORBID

    problem_file: str = Field(min_length=1)


class DatabaseBaseline(BaseModel):
    """A snapshot of the service's database (roster, open cases, policy) as a Problem."""

    model_config = _FORBID

    database_url: str = Field(min_length=1)

    @field_validator("database_url")
    @classmethod
    def _has_scheme(cls, value: str) -> str:
        if "://" not in value and not value.startswith("file:"):
            raise ValueError("expected a URL such as sqlite:///data/assigner.db")
        return value


_BASELINE_KEYS = ("tier", "problem_file", "database_url")


def _baseline_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in _BASELINE_KEYS if key in value), None)
    for key, cls in zip(
        _BASELINE_KEYS, (TierBaseline, ProblemFileBaseline, DatabaseBaseline), strict=True
    ):
        if isinstance(value, cls):
            return key
    return None


Baseline = Annotated[
    Annotated[TierBaseline, Tag("tier")]
    | Annotated[ProblemFileBaseline, Tag("problem_file")]
    | Annotated[DatabaseBaseline, Tag("database_url")],
    Discriminator(
        _baseline_tag,
        custom_error_type="baseline_kind",
        custom_error_message="a baseline needs one of: tier, problem_file, database_url",
    ),
]


# -- filters ---------------------------------------------------------------------------------


class CaseFilter(BaseModel):
    """Which cases a change touches: every given list must match (values within one list are
    alternatives); no list at all means every case."""

    model_config = _FORBID

    case_types: list[str] | None = None
    practice_areas: list[str] | None = Field(
        default=None, description="Practice areas of the case types."
    )
    jurisdictions: list[str] | None = Field(
        default=None, description="Township codes of the cases (e.g. T03, SEAT)."
    )
    priority_groups: list[str] | None = None


class LawyerFilter(BaseModel):
    """Which lawyers a change touches: every given list must match; none means every lawyer."""

    model_config = _FORBID

    lawyer_ids: list[str] | None = None
    provider_kinds: list[ProviderKind] | None = None
    firm_ids: list[str] | None = None
    firm_kinds: list[FirmKind] | None = None
    lawyer_practice_areas: list[str] | None = Field(
        default=None, description="Lawyers practising in any of these areas."
    )
    townships: list[str] | None = Field(
        default=None,
        description="Lawyers whose office is nearest to one of these township centres.",
    )


class _Share(BaseModel):
    model_config = _FORBID

    share: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Random share of the matching lawyers (seeded); none means all of them.",
    )


# -- changes ---------------------------------------------------------------------------------


class ScaleDemand(CaseFilter):
    """More or fewer cases of a kind.  ``factor`` > 1 clones matching cases (new ids, client
    and received time jittered, no matter or links); < 1 drops a seeded random share."""

    kind: Literal["scale_demand"]
    factor: float = Field(ge=0, le=20)
    received_jitter_hours: float = Field(default=12.0, ge=0, le=72)


class NewPracticeArea(BaseModel):
    model_config = _FORBID

    area: str
    level: int = Field(default=3, ge=1, le=5)
    years: float = Field(default=5.0, ge=0, le=MAX_YEARS)


class AddLawyers(BaseModel):
    """New providers: ``count`` per township (offices at the township centre), in a given
    firm or in a new firm per township of ``new_firm_kind`` (by default the provider kind's
    usual firm kind).  Capacity and open-case limits default to the baseline's median for the
    provider kind."""

    model_config = _FORBID

    kind: Literal["add_lawyers"]
    count: int = Field(ge=1, le=10_000)
    provider_kind: ProviderKind
    townships: list[str] | None = Field(default=None, min_length=1)
    firm_id: str | None = None
    new_firm_kind: FirmKind | None = None
    jurisdictions: list[str] | None = Field(
        default=None, description="Jurisdictions served; none means any within travel."
    )
    practice_areas: list[NewPracticeArea] = Field(min_length=1)
    certifications: list[str] = Field(default_factory=list)
    capacity_hours: float | None = Field(default=None, gt=0, le=MAX_HOURS)
    max_open_cases: int | None = Field(default=None, ge=1, le=MAX_CASE_COUNT)
    max_travel_km: float | None = Field(default=None, gt=0, le=MAX_DISTANCE_KM)
    subsidy_class: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["zh"], min_length=1)
    rating: float = Field(default=4.0, ge=0, le=5)
    name_prefix: str = Field(default="New provider", min_length=1)

    @model_validator(mode="after")
    def _where(self) -> AddLawyers:
        if self.firm_id is not None and self.new_firm_kind is not None:
            raise ValueError("give firm_id or new_firm_kind, not both")
        if self.townships is None and self.firm_id is None:
            raise ValueError("give townships (offices at the township centres) or a firm_id")
        areas = [a.area for a in self.practice_areas]
        if len(set(areas)) != len(areas):
            raise ValueError("practice_areas: an area is listed twice")
        return self


class RemoveLawyers(LawyerFilter, _Share):
    """Lawyers leave the roster; their open cases in the problem are handed over (released)."""

    kind: Literal["remove_lawyers"]

    @model_validator(mode="after")
    def _not_everyone(self) -> RemoveLawyers:
        if self.share is None and all(getattr(self, f) is None for f in LawyerFilter.model_fields):
            raise ValueError("give a share or a lawyer filter (this would remove every lawyer)")
        return self


class LeaveChange(LawyerFilter, _Share):
    """Lawyers on leave from ``start`` (default: the plan's as_of date) for ``days`` or until
    ``end``.  A leave that overlaps a case's window [as_of, assign_by] keeps the lawyer off that
    case (the availability rule), so open cases they hold in the problem are handed over."""

    kind: Literal["leave"]
    start: date | None = None
    end: date | None = None
    days: int = Field(default=14, ge=1, le=366)

    @model_validator(mode="after")
    def _ordered(self) -> LeaveChange:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self


class CapacityChange(LawyerFilter):
    """Multiply capacity hours and/or max open cases of the matching lawyers."""

    kind: Literal["capacity"]
    hours_factor: float | None = Field(default=None, ge=0, le=20)
    open_cases_factor: float | None = Field(default=None, ge=0, le=20)

    @model_validator(mode="after")
    def _something(self) -> CapacityChange:
        if self.hours_factor is None and self.open_cases_factor is None:
            raise ValueError("give hours_factor and/or open_cases_factor")
        return self


def merge_dicts(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in: nested dicts merge key by key, anything else
    (numbers, lists) replaces the old value."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_dicts(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validation_summary(exc: ValidationError) -> str:
    """Each error as ``field.path: message``; an error of the whole document (a rule between
    fields, whose message names its fields) as the message alone."""
    parts = []
    for err in exc.errors():
        message = _clean_message(err["msg"])
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class PolicyChange(BaseModel):
    """A partial Policy merged into the problem's policy: weights, rule switches."""

    model_config = _FORBID

    kind: Literal["policy"]
    update: dict[str, Any] = Field(min_length=1)

    @field_validator("update")
    @classmethod
    def _valid_policy(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            Policy.model_validate(merge_dicts(Policy().model_dump(mode="json"), value))
        except ValidationError as exc:
            raise ValueError(_validation_summary(exc)) from None
        return value


class CatalogueChange(BaseModel):
    """A partial Catalogue merged into the problem's catalogue (e.g. a case type's
    ``allowed_provider_kinds`` or ``workload_hours``)."""

    model_config = _FORBID

    kind: Literal["catalogue"]
    update: dict[str, Any] = Field(min_length=1)

    @field_validator("update")
    @classmethod
    def _valid_catalogue(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            Catalogue.model_validate(
                merge_dicts(default_catalogue().model_dump(mode="json"), value)
            )
        except ValidationError as exc:
            raise ValueError(_validation_summary(exc)) from None
        return value


class EligibilityChange(LawyerFilter):
    """Wider eligibility: the matching lawyers travel at least ``max_travel_km`` and also serve
    ``add_jurisdictions`` (cross-region help, Legal Aid Law Art 18); ``allow_provider_kinds``
    become allowed for ``case_types`` (e.g. grassroots workers for a civil type)."""

    kind: Literal["eligibility"]
    max_travel_km: float | None = Field(default=None, gt=0, le=MAX_DISTANCE_KM)
    add_jurisdictions: list[str] | None = Field(default=None, min_length=1)
    case_types: list[str] | None = Field(default=None, min_length=1)
    allow_provider_kinds: list[ProviderKind] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _something(self) -> EligibilityChange:
        if (self.case_types is None) != (self.allow_provider_kinds is None):
            raise ValueError("case_types and allow_provider_kinds go together")
        if (
            self.max_travel_km is None
            and self.add_jurisdictions is None
            and self.allow_provider_kinds is None
        ):
            raise ValueError(
                "give max_travel_km, add_jurisdictions or case_types with allow_provider_kinds"
            )
        return self


CHANGE_KINDS = (
    "scale_demand",
    "add_lawyers",
    "remove_lawyers",
    "leave",
    "capacity",
    "policy",
    "catalogue",
    "eligibility",
)

Change = Annotated[
    ScaleDemand
    | AddLawyers
    | RemoveLawyers
    | LeaveChange
    | CapacityChange
    | PolicyChange
    | CatalogueChange
    | EligibilityChange,
    Field(discriminator="kind"),
]


class Variant(BaseModel):
    model_config = _FORBID

    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    changes: list[Change] = Field(min_length=1)


class CapacityPlanning(BaseModel):
    """Options of ``assigner scenario capacity`` (see ``scenarios.capacity``)."""

    model_config = _FORBID

    provider_kinds: list[ProviderKind] | None = Field(
        default=None,
        description="Kinds that may be hired; none means the kinds present in the baseline "
        "except volunteers.",
    )
    cost_cny_per_hour: dict[ProviderKind, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="Overrides of the yearly cost per capacity hour."
    )
    max_hires_per_type: int = Field(default=50, ge=1, le=10_000)
    rounds: int = Field(default=3, ge=1, le=10)


class Scenario(BaseModel):
    """A what-if scenario: a baseline, variants, demand samples and solver settings."""

    model_config = _FORBID

    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    baseline: Baseline
    samples: int = Field(default=3, ge=1, le=1000, description="Random demand samples.")
    demand_noise: Literal["poisson", "none"] = Field(
        default="poisson",
        description="poisson: each sample redraws the count of new cases per (case type, "
        "township) from a Poisson law around the baseline count; none: every sample keeps "
        "the baseline demand (only the solver seed changes).",
    )
    seed: int = Field(
        default=0,
        ge=0,
        le=MAX_SEED,
        description="Demand samples and solves; sample k solves with seed + k (wrapped past "
        f"{MAX_SEED}).",
    )
    time_limit_s: float = Field(default=5.0, gt=0, le=MAX_TIME_LIMIT_S, description="Per solve.")
    workers: int = Field(default=1, ge=1, le=64, description="Solver threads per solve.")
    deterministic: bool = Field(
        default=True,
        description="Deterministic solver budget (reproducible plans; CP-SAT deterministic "
        "time can take longer than time_limit_s of wall time).",
    )
    jobs: int = Field(default=1, ge=1, le=64, description="Solves run side by side.")
    variants: list[Variant] = Field(default_factory=list)
    capacity_planning: CapacityPlanning = Field(default_factory=CapacityPlanning)

    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_names(self) -> Scenario:
        # The error carries the variant's index, so that it is reported at
        # ``variants[i].name`` and its line (``scenario_from_data``).
        seen: dict[str, int] = {}
        for i, v in enumerate(self.variants):
            if v.name == BASELINE_NAME:
                raise PydanticCustomError(
                    VARIANT_NAME_ERROR,
                    "a variant may not be named {name} (the unchanged baseline has that name)",
                    {"index": i, "name": repr(v.name)},
                )
            if v.name in seen:
                raise PydanticCustomError(
                    VARIANT_NAME_ERROR,
                    "variants[{first}] has the name {name} too; variant names must differ",
                    {"index": i, "first": seen[v.name], "name": repr(v.name)},
                )
            seen[v.name] = i
        return self

    @property
    def source(self) -> str | None:
        """The file the scenario was read from, when it was read from one."""
        return self._source

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.variants) or "none"
        raise KeyError(f"no variant named {name!r}; variants: {known}")


def with_overrides(
    spec: Scenario, overrides: dict[str, Any], names: dict[str, str] | None = None
) -> Scenario:
    """``spec`` with some fields replaced (the command line's ``--time-limit`` and the like),
    each checked as the file's own value is: the same type, bounds and finiteness.  Raises
    :class:`ScenarioError` naming a refused value as ``names[field]`` (the option)."""
    out = spec.model_copy()  # keeps the source file for messages
    issues: list[ScenarioIssue] = []
    for key, value in overrides.items():
        try:
            Scenario.__pydantic_validator__.validate_assignment(out, key, value)
        except ValidationError as exc:
            where = (names or {}).get(key, key)
            issues.extend(ScenarioIssue(where, _clean_message(e["msg"])) for e in exc.errors())
    if issues:
        raise ScenarioError(issues)
    return out


# -- loading ---------------------------------------------------------------------------------


def file_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A pydantic location as keys in the file: the union tags that pydantic inserts (the
    change kind after a change's index, the baseline kind after ``baseline``) dropped."""
    kept: list[int | str] = []
    for i, item in enumerate(loc):
        prev = loc[i - 1] if i else None
        change_kind = (
            isinstance(prev, int) and i >= 3 and loc[i - 2] == "changes" and item in CHANGE_KINDS
        )
        baseline_kind = prev == "baseline" and item in _BASELINE_KEYS and i + 1 < len(loc)
        if not (change_kind or baseline_kind):
            kept.append(item)
    return tuple(kept)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a path in the file: ``variants[1].changes[0].factor``."""
    parts: list[str] = []
    for item in file_loc(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ")


class LineIndex:
    """Line numbers of the nodes of a YAML document, looked up by a field path."""

    def __init__(self, node: yaml.Node | None) -> None:
        self._root = node

    def line(self, loc: tuple[int | str, ...]) -> int | None:
        node = self._root
        if node is None:
            return None
        best = node.start_mark.line + 1
        for item in loc:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(item, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == item:
                        child = value
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(item, int)
                and 0 <= item < len(node.value)
            ):
                child = node.value[item]
            if child is None:
                continue  # a union tag or a missing field: stay on the parent's line
            node = child
            best = node.start_mark.line + 1
        return best


class _NodeError(Exception):
    """A value the YAML loader cannot take, at the node that holds it."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


class _ScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is refused (the safe
    loader keeps the last one silently) and an impossible date (``2026-13-45``, which matches
    YAML's date pattern) is refused at its node rather than escaping as a ValueError."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # ``<<: *defaults``: keys given beside it win, as YAML says
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: the safe loader refuses it itself
                if first is not key_node:
                    line = first.start_mark.line + 1
                    before = (
                        "" if line == key_node.start_mark.line + 1 else f" (also on line {line})"
                    )
                    raise _NodeError(
                        key_node, f"the key {key!r} is given twice in one mapping{before}"
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise _NodeError(node, f"{node.value!r} is not a valid date: {exc}") from exc


_ScenarioLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _ScenarioLoader.construct_yaml_timestamp
)


def _node_path(root: yaml.Node, target: yaml.Node) -> tuple[int | str, ...] | None:
    """The keys leading from ``root`` to ``target`` (a value, or a key of a mapping: then the
    path ends with that key), or None when it is not in the tree."""
    stack: list[tuple[yaml.Node, tuple[int | str, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:  # an alias: the same node again
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name: int | str = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if key is target:
                    return (*path, name)
                stack.append((value, (*path, name)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
    return None


def _loc_text(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        parts.append(f"[{item}]" if isinstance(item, int) else (f".{item}" if parts else item))
    return "".join(parts)


def _parse_yaml(text: str, source: str) -> tuple[Any, LineIndex]:
    def refuse(message: str, line: int | None, path: str = "") -> ScenarioError:
        return ScenarioError([ScenarioIssue(path, message, line)], source)

    loader = _ScenarioLoader(text)
    node: yaml.Node | None = None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise refuse(f"not valid YAML: {exc}", line) from exc
    except _NodeError as exc:
        where = _node_path(node, exc.node) if node is not None else None
        line = exc.node.start_mark.line + 1
        raise refuse(exc.message, line, _loc_text(where or ())) from exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # A value no constructor above guards; the loader's position is the best place known.
        line = loader.line + 1 if isinstance(loader.line, int) else None
        raise refuse(f"not valid YAML: {type(exc).__name__}: {exc}", line) from exc
    finally:
        loader.dispose()
    return data, LineIndex(node)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} is given twice in one object; give it once")
        out[key] = value
    return out


def _parse_text(text: str, suffix: str, source: str) -> tuple[Any, LineIndex]:
    if suffix == ".json":
        try:
            return json.loads(text, object_pairs_hook=_json_object), LineIndex(None)
        except json.JSONDecodeError as exc:
            issue = ScenarioIssue("", f"not valid JSON: {exc.msg}", exc.lineno)
            raise ScenarioError([issue], source) from exc
        except (ValueError, RecursionError) as exc:
            raise ScenarioError([ScenarioIssue("", f"not valid JSON: {exc}")], source) from exc
    if suffix in (".yaml", ".yml"):
        return _parse_yaml(text, source)
    raise ScenarioError(
        [ScenarioIssue("", f"unknown file type {suffix or '(none)'!r}; use .yaml, .yml or .json")],
        source,
    )


def scenario_from_data(
    data: Any,
    base_dir: Path | None = None,
    source: str | None = None,
    lines: LineIndex | None = None,
) -> Scenario:
    """Validate a parsed scenario document; a relative ``problem_file`` is resolved against
    ``base_dir``.  Raises :class:`ScenarioError` naming every bad field."""
    if not isinstance(data, dict):
        raise ScenarioError(
            [ScenarioIssue("", "a scenario must be a mapping (name, baseline, ...)")], source
        )
    index = lines or LineIndex(None)
    try:
        spec = Scenario.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            path = format_loc(loc)
            if err["type"] in ("union_tag_invalid", "union_tag_not_found") and loc[-2:-1] == (
                "changes",
            ):
                path += ".kind"  # the change kind is what is wrong
            if err["type"] == VARIANT_NAME_ERROR and not loc:
                loc = ("variants", err["ctx"]["index"], "name")
                path = format_loc(loc)
            message = _clean_message(err["msg"])
            issues.append(ScenarioIssue(path, message, index.line(file_loc(loc))))
        raise ScenarioError(issues, source) from exc
    if isinstance(spec.baseline, ProblemFileBaseline) and base_dir is not None:
        file = Path(spec.baseline.problem_file)
        if not file.is_absolute():
            spec.baseline = ProblemFileBaseline(problem_file=str((base_dir / file).resolve()))
    spec._source = source
    return spec


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (YAML or JSON, by extension) and validate it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            [ScenarioIssue("", f"cannot read the file: {exc.strerror or exc}")], str(p)
        ) from exc
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}): a scenario file is YAML or JSON in UTF-8"
        raise ScenarioError([ScenarioIssue("", message)], str(p)) from exc
    data, lines = _parse_text(text, p.suffix.lower(), str(p))
    return scenario_from_data(data, p.resolve().parent, str(p), lines)


def scenario_lines(spec: Scenario) -> LineIndex:
    """The YAML line index of the file a scenario came from (empty for JSON or data)."""
    if spec.source is None or Path(spec.source).suffix.lower() not in (".yaml", ".yml"):
        return LineIndex(None)
    try:
        text = Path(spec.source).read_text(encoding="utf-8")
        return LineIndex(yaml.compose(text, Loader=yaml.SafeLoader))
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: UnicodeDecodeError
        return LineIndex(None)
