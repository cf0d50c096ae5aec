"""Bulk import of firms, lawyers and cases from JSON or CSV, with a report of rejected rows.

JSON: a list of documents (or ``{"items": [...]}``).  CSV: one document per row; a header names a
field, dotted for nested fields (``location.lat``), each field in one column only.  In a column
whose field holds a list or an object (by the record's model), a cell starting with ``[`` or
``{`` is JSON (``practice_areas``: ``[{"area": "family", "level": 4, "years": 6}]``) and a plain
cell in a list of strings is split on ``;`` (``languages``: ``zh;en``); any other cell is its
text, brackets and all (``name``: ``[Closed] Riverside branch``).  An empty cell leaves the
field out.

Every row is checked like a single PUT; valid rows are written (created or replaced), rejected
rows are reported with the field of each error.  With ``all_or_nothing`` one rejected row means
nothing is written.  Either way the import is one transaction.  What the checks and writes of
the rows read is read for all rows at once, in chunks (``api.reads``): the number of statements
that read does not grow with the rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import caseload, roster
from api.auth import Principal
from api.models import CaseRow, FirmRow, LawyerRow
from api.problems import ApiProblem, FieldError, error_message
from api.reads import Reads, chunks
from api.schemas import CaseWrite, FirmWrite, ImportReport, LawyerWrite, RejectedRow
from assigner.domain import Case, Firm, Lawyer


class RecordKind(StrEnum):
    FIRM = "firm"
    LAWYER = "lawyer"
    CASE = "case"


# The shapes rows are read in: the engine's records, or documents read back with GET (their
# read-only fields ignored; ``record()`` gives the engine's record).
_MODELS: dict[RecordKind, type[FirmWrite | LawyerWrite | CaseWrite]] = {
    RecordKind.FIRM: FirmWrite,
    RecordKind.LAWYER: LawyerWrite,
    RecordKind.CASE: CaseWrite,
}


@dataclass(frozen=True)
class RawRow:
    """One record as read; with errors it is rejected, and ``data`` keeps what could be read
    (its id names the row in the report)."""

    row: int
    data: dict[str, Any] | None
    errors: list[FieldError]


def _unsupported(content_type: str) -> ApiProblem:
    return ApiProblem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"send application/json or text/csv, not {content_type or 'nothing'}",
    )


def _parse_json(body: bytes) -> list[RawRow]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiProblem(400, "malformed-body", "Malformed body", f"not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise ApiProblem(
            400,
            "malformed-body",
            "Malformed body",
            'expected a JSON list of records or {"items": [...]}',
        )
    out = []
    for i, item in enumerate(data, start=1):
        if isinstance(item, dict):
            out.append(RawRow(i, item, []))
        else:
            out.append(
                RawRow(
                    i, None, [FieldError(field="", message="not a JSON object", location="body")]
                )
            )
    return out


def _members(annotation: Any) -> list[Any]:
    """The types a field annotation allows, without ``None`` and ``Annotated`` metadata."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg) if m is not NoneType]
    return [annotation]


def _record_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``Location`` of ``location: Location | None``), if any."""
    members = _members(annotation)
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _field_type(model: type[BaseModel], header: str) -> Any:
    """The annotation of the field a header names, through dotted nested models
    (``location.lat``); None when it names no field (the row's check reports it)."""
    annotation: Any = model
    for part in header.split("."):
        record = _record_model(annotation)
        field = record.model_fields.get(part) if record is not None else None
        if field is None:
            return None
        annotation = field.annotation
    return annotation


def _structured(annotation: Any) -> bool:
    """Whether a field holds a list or an object: only such a cell is read as JSON."""
    members = _members(annotation)
    return bool(members) and all(
        get_origin(m) in (list, tuple, set, frozenset, dict)
        or m in (list, tuple, set, frozenset, dict)
        or (isinstance(m, type) and issubclass(m, BaseModel))
        for m in members
    )


def _list_of_str(annotation: Any) -> bool:
    members = _members(annotation)
    return (
        len(members) == 1
        and get_origin(members[0]) is list
        and _members(get_args(members[0])[0]) == [str]
    )


def _cell(model: type[BaseModel], header: str, text: str) -> Any:
    """A cell's value for the field its header names: JSON where the field holds a list or an
    object and the cell starts with ``[`` or ``{``; a list of strings split on ``;``; else the
    text (a name like ``[Closed] Riverside branch`` stays as written)."""
    stripped = text.strip()
    annotation = _field_type(model, header)
    if annotation is None or not _structured(annotation):
        return stripped
    if stripped[:1] in ("[", "{"):
        return json.loads(stripped)
    if _list_of_str(annotation):
        return [part.strip() for part in stripped.split(";") if part.strip()]
    return stripped


def _columns(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"column {numbers[0]}"
    return f"columns {', '.join(map(str, numbers[:-1]))} and {numbers[-1]}"


def _check_headers(headers: Sequence[str]) -> None:
    """Refuse a header row that names no field in a column or the same field in two: each
    column must say where its cells go, and a repeated one would silently win over the other."""
    blank = [
        i
        for i, header in enumerate(headers, start=1)
        if any(not part.strip() for part in header.split("."))
    ]
    if blank:
        raise ApiProblem(
            400,
            "malformed-body",
            "Malformed body",
            f"the CSV header row has an empty field name in {_columns(blank)}; name the field "
            "of each column (or drop the column)",
        )
    columns: dict[str, list[int]] = {}
    for i, header in enumerate(headers, start=1):
        columns.setdefault(header, []).append(i)
    repeated = [f"{header!r} ({_columns(at)})" for header, at in columns.items() if len(at) > 1]
    if repeated:
        raise ApiProblem(
            400,
            "malformed-body",
            "Malformed body",
            f"the CSV header row names a field more than once: {', '.join(repeated)}; "
            "give each field one column",
        )


def _parse_csv(body: bytes, model: type[BaseModel]) -> list[RawRow]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiProblem(
            400, "malformed-body", "Malformed body", f"CSV must be UTF-8: {exc}"
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ApiProblem(400, "malformed-body", "Malformed body", "the CSV has no header row")
    _check_headers(reader.fieldnames)
    out = []
    for i, cells in enumerate(reader, start=1):
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        for header, value in cells.items():
            if header is None:
                errors.append(
                    FieldError(field="", message="more cells than headers", location="body")
                )
                continue
            if value is None or value.strip() == "":
                continue
            try:
                parsed = _cell(model, header, value)
            except json.JSONDecodeError as exc:
                errors.append(
                    FieldError(field=header, message=f"not valid JSON: {exc}", location="body")
                )
                continue
            target = data
            *parents, leaf = header.split(".")
            for p in parents:
                nested = target.setdefault(p, {})
                if not isinstance(nested, dict):
                    errors.append(
                        FieldError(
                            field=header, message="clashes with another column", location="body"
                        )
                    )
                    break
                target = nested
            else:
                target[leaf] = parsed
        out.append(RawRow(i, data, errors))
    return out


def parse_body(body: bytes, content_type: str, kind: RecordKind, max_rows: int) -> list[RawRow]:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json":
        rows = _parse_json(body)
    elif media in ("text/csv", "application/csv"):
        rows = _parse_csv(body, _MODELS[kind])
    else:
        raise _unsupported(media)
    if len(rows) > max_rows:
        raise ApiProblem(
            413,
            "too-many-rows",
            "Content too large",
            f"{len(rows)} rows; at most {max_rows} per import",
        )
    return rows


def _validation_errors(exc: ValidationError) -> list[FieldError]:
    """A row's errors as a PUT's (``api.problems``) word them: one of the records' own checks
    without pydantic's "Value error, " before it."""
    return [
        FieldError(
            field=".".join(str(p) for p in e["loc"]),
            message=error_message(e),
            location="body",
        )
        for e in exc.errors()
    ]


def run_import(
    session: Session,
    kind: RecordKind,
    rows: list[RawRow],
    who: Principal,
    *,
    all_or_nothing: bool,
) -> ImportReport:
    model = _MODELS[kind]
    parsed: list[tuple[int, BaseModel]] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    for raw in rows:
        rid = raw.data.get("id") if raw.data else None
        record_id = str(rid) if rid is not None else None
        if raw.data is None or raw.errors:
            rejected.append(RejectedRow(row=raw.row, id=record_id, errors=raw.errors))
            continue
        try:
            record: BaseModel = model.model_validate(raw.data).record()
        except ValidationError as exc:
            rejected.append(RejectedRow(row=raw.row, id=record_id, errors=_validation_errors(exc)))
            continue
        record_id = str(getattr(record, "id"))  # noqa: B009 - every record model has an id
        if record_id in seen:
            rejected.append(
                RejectedRow(
                    row=raw.row,
                    id=record_id,
                    errors=[
                        FieldError(
                            field="id",
                            message=f"duplicate id in this import (row {seen[record_id]})",
                            location="body",
                        )
                    ],
                )
            )
            continue
        seen[record_id] = raw.row
        parsed.append((raw.row, record))

    reads = Reads(session)
    checks = _reference_checks(reads, kind, [r for _, r in parsed])
    valid: list[BaseModel] = []
    for row_no, record in parsed:
        errors = checks(record)
        if errors:
            rejected.append(RejectedRow(row=row_no, id=str(getattr(record, "id")), errors=errors))  # noqa: B009
        else:
            valid.append(record)
    if kind is RecordKind.CASE:
        valid = _reject_group_breaches(reads, valid, rejected, seen)
        valid = _drop_dangling_links(session, valid, rejected, seen)
    rejected.sort(key=lambda r: r.row)
    if rejected and all_or_nothing:
        return ImportReport(
            received=len(rows), created=0, replaced=0, rejected=rejected, written=False
        )

    # Firm and lawyer rows were read by their checks (``roster.firm_issues``, ``lawyer_issues``).
    if kind is RecordKind.CASE:
        caseload.prefetch_puts(reads, [r for r in valid if isinstance(r, Case)])
    created = replaced = 0
    for record in valid:
        if isinstance(record, Firm):
            written = roster.put_firm(session, record, who, checked=True, reads=reads)
        elif isinstance(record, Lawyer):
            written = roster.put_lawyer(session, record, who, checked=True, reads=reads)
        elif isinstance(record, Case):
            written = caseload.put_case(session, record, who, checked=True, reads=reads)
        else:  # pragma: no cover - _MODELS holds exactly these
            raise TypeError(type(record))
        created += written.created
        replaced += not written.created
    return ImportReport(
        received=len(rows), created=created, replaced=replaced, rejected=rejected, written=True
    )


def _reject_group_breaches(
    reads: Reads, valid: list[BaseModel], rejected: list[RejectedRow], row_of: dict[str, int]
) -> list[BaseModel]:
    """Reject the valid case rows that would leave cases which must stay with their lawyers
    breaking a group rule together (``caseload.group_issues``), checked with the other valid
    rows only: a row rejected for another reason is never written, so it breaks nothing."""
    issues = caseload.group_issues(reads, [r for r in valid if isinstance(r, Case)])
    for case_id, errors in issues.items():
        rejected.append(RejectedRow(row=row_of[case_id], id=case_id, errors=errors))
    return [r for r in valid if str(getattr(r, "id")) not in issues]  # noqa: B009


def _drop_dangling_links(
    session: Session, valid: list[BaseModel], rejected: list[RejectedRow], row_of: dict[str, int]
) -> list[BaseModel]:
    """Reject, until none is left, valid cases that link to a case rejected in this import
    that is not in the database either: a stored case whose replacement was rejected stays
    as it was, so a link to it holds."""
    rows = {str(getattr(r, "id")): r for r in valid}  # noqa: B009
    rejected_ids = {r.id for r in rejected if r.id is not None}
    linked = sorted({x for r in valid if isinstance(r, Case) for x in r.linked_case_ids})
    stored = _stored_case_ids(session, [x for x in linked if x in rejected_ids or x in rows])
    gone = rejected_ids - stored
    changed = True
    while changed:
        changed = False
        for case_id, record in list(rows.items()):
            assert isinstance(record, Case)
            dangling = [x for x in record.linked_case_ids if x in gone and x not in rows]
            if dangling:
                del rows[case_id]
                if case_id not in stored:
                    gone.add(case_id)
                rejected.append(
                    RejectedRow(
                        row=row_of[case_id],
                        id=case_id,
                        errors=[
                            FieldError(
                                field="linked_case_ids",
                                message=f"linked case(s) {dangling} rejected in this import",
                                location="body",
                            )
                        ],
                    )
                )
                changed = True
    return list(rows.values())


def _stored_case_ids(session: Session, ids: list[str]) -> set[str]:
    """Which of ``ids`` are cases in the database (asked in chunks: a statement takes a
    bounded number of parameters)."""
    found: set[str] = set()
    for chunk in chunks(ids):
        found.update(session.execute(select(CaseRow.id).where(CaseRow.id.in_(chunk))).scalars())
    return found


def _reference_checks(
    reads: Reads, kind: RecordKind, records: list[BaseModel]
) -> Callable[[BaseModel], list[FieldError]]:
    """Per-record checks against the database plus the records of this import; what they
    read of the database is read once for all records."""
    session = reads.session
    if kind is RecordKind.FIRM:
        firm_issues = roster.firm_issues(reads, [r for r in records if isinstance(r, Firm)])
        return lambda record: firm_issues[str(getattr(record, "id"))]  # noqa: B009
    if kind is RecordKind.LAWYER:
        firm_ids = set(session.execute(select(FirmRow.id)).scalars())
        issues = roster.lawyer_issues(
            reads, [r for r in records if isinstance(r, Lawyer)], firm_ids
        )
        return lambda record: issues[str(getattr(record, "id"))]  # noqa: B009
    lawyer_ids = set(session.execute(select(LawyerRow.id)).scalars())
    stored = session.execute(select(CaseRow.id, CaseRow.assigned_lawyer_id)).all()
    held = {case_id: lawyer_id for case_id, lawyer_id in stored if lawyer_id is not None}
    case_ids = {case_id for case_id, _ in stored}
    case_ids |= {str(getattr(r, "id")) for r in records}  # noqa: B009

    def case_check(record: BaseModel) -> list[FieldError]:
        assert isinstance(record, Case)
        errors = caseload.case_issues(record, session, lawyer_ids=lawyer_ids, case_ids=case_ids)
        error = caseload.assignment_field_error(record, held.get(record.id))
        return errors + ([error] if error else [])

    return case_check
