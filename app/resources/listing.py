"""Collection queries the way Mistral's API takes them.

``limit``, ``marker``, ``sort_keys``, ``sort_dirs``, ``fields``, and column filters written
``column=op:value`` with op one of eq, neq, gt, gte, lt, lte, in, nin, has.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from flask import request
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, and_, cast, false, or_, select
from sqlalchemy.orm import Session

from app.engine.errors import EngineError, NotFound
from app.resources.common import settings

MAX_LIMIT = 1000
_PAGING_KEYS = {"limit", "marker", "sort_keys", "sort_dirs", "fields", "nulls", "include_output",
                "all_projects", "namespace", "scope"}
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "has")
# Options some collections take besides their filters (the routes read them themselves).
_ROUTE_OPTIONS = {"errors_only", "max_depth", "statistics_only", "project_id"}


def refuse_unknown_arguments(known: Sequence[str] | set[str]) -> None:
    """Mistral answers 400 to an argument a collection does not take, rather than ignoring it (a
    misspelt filter would otherwise return everything)."""
    accepted = set(known) | _PAGING_KEYS | _ROUTE_OPTIONS
    unknown = [key for key in request.args if key not in accepted]
    if unknown:
        raise EngineError(f'Unknown argument: "{unknown[0]}"')


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_filter(raw: str) -> tuple[str, Any]:
    op, sep, value = raw.partition(":")
    if sep and op in OPERATORS:
        return op, _split(value) if op in ("in", "nin") else value
    return "eq", raw


def _typed(column: Any, raw: str) -> Any:
    """The filter value as the column's type, so every database compares like with like."""
    kind = column.type
    try:
        if isinstance(kind, DateTime):
            return datetime.fromisoformat(raw.strip().replace("T", " "))
        if isinstance(kind, Boolean):
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return lowered in ("true", "1")
        if isinstance(kind, Integer):
            return int(raw)
    except ValueError as exc:
        raise EngineError(f"Invalid value for filter {column.key}: {raw!r}") from exc
    return raw


def _condition(column: Any, op: str, value: Any) -> Any:
    if value == "" and not isinstance(column.type, (String, JSON)):
        # Mistral compares the column with the empty text, which matches no row.
        return false()
    if isinstance(column.type, JSON):
        # JSON columns compare as their text; ordering them means nothing.
        if op not in ("eq", "neq", "has", "in", "nin"):
            raise EngineError(f"Filter {op} is not supported on {column.key}")
        column = cast(column, String)
    elif op != "has":
        value = [_typed(column, v) for v in value] if op in ("in", "nin") else _typed(column, value)
    if op == "has":
        return cast(column, String).contains(value)
    if op in ("in", "nin"):
        clause = column.in_(value)
        return ~clause if op == "nin" else clause
    mapping: dict[str, Callable[[Any, Any], Any]] = {
        "eq": lambda c, v: c == v, "neq": lambda c, v: c != v, "gt": lambda c, v: c > v,
        "gte": lambda c, v: c >= v, "lt": lambda c, v: c < v, "lte": lambda c, v: c <= v,
    }
    return mapping[op](column, value)


def listing_limit(raw: str | None) -> int:
    """Mistral clamps every page to MAX_LIMIT, so a list without a limit may also have a next page."""
    if raw is None or raw == "":
        return MAX_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise EngineError(f"Invalid input for field/attribute limit. Value: '{raw}'. unable to convert to int. "
                          f"Error: {exc}") from exc
    if limit <= 0:
        raise EngineError("Limit must be positive.")
    return min(limit, MAX_LIMIT)


def sort_order(default_sort: str) -> tuple[list[str], list[str]]:
    """``sort_keys`` (any case) and ``sort_dirs``, one direction per key, checked as Mistral checks them."""
    args = request.args
    sort_keys = [key.lower() for key in _split(args.get("sort_keys"))] or [default_sort]
    sort_dirs = [direction.lower() for direction in _split(args.get("sort_dirs"))]
    if len(sort_keys) < len(sort_dirs):
        raise EngineError("Length of sort_keys must be equal or greater than sort_dirs.")
    sort_dirs += ["asc"] * (len(sort_keys) - len(sort_dirs))
    if any(direction not in ("asc", "desc") for direction in sort_dirs):
        raise EngineError("Unknown sort direction, must be 'desc' or 'asc'.")
    return sort_keys, sort_dirs


def _sorting(columns: dict[str, Any], default_sort: str) -> tuple[list[str], list[str]]:
    sort_keys, sort_dirs = sort_order(default_sort)
    for key in sort_keys:
        if key not in columns:
            raise EngineError(f"Sort key supplied is invalid: {key}")
    if "id" not in sort_keys:
        sort_keys.append("id")
        sort_dirs.append("asc")
    return sort_keys, sort_dirs


def requested_fields(allowed_fields: Sequence[str] | None, extensions: Sequence[str] = ()) -> list[str] | None:
    """The ``fields`` argument, refused as Mistral does when it names a field the resource lacks;
    ``extensions`` (fields of ours) are accepted but, as in Mistral's text, not offered."""
    fields = _split(request.args.get("fields")) or None
    if fields and allowed_fields is not None:
        unknown = [f for f in fields if f not in allowed_fields and f not in extensions]
        if unknown:
            raise EngineError(f"Some fields do not exist  [{', '.join(unknown)}], please choose from "
                              f"[{', '.join(allowed_fields)}]")
    if fields and "id" not in fields:
        fields.insert(0, "id")
    return fields


def _filters(model: Any, columns: dict[str, Any], filterable: Sequence[str] | None) -> list[tuple[str, str, Any]]:
    """(column, op, value) of every filter argument, in the resource's order when it has one."""
    args = request.args
    keys = [k for k in args if k not in _PAGING_KEYS and k in columns and (filterable is None or k in filterable)]
    if filterable is not None:
        keys.sort(key=list(filterable).index)
    return [(key, *parse_filter(args[key])) for key in keys]


def _tags_condition(column: Any, op: str, value: Any) -> Any:
    """Tags match when the row carries every tag named (``tags=a,b``); other operators are ignored."""
    if op != "eq":
        return None
    return and_(*[cast(column, String).contains(json.dumps(tag)) for tag in _split(value)])


def list_rows(session: Session, model: Any, collection: str, base_filters: list[Any] | None = None,
              filterable: Sequence[str] | None = None, default_sort: str = "created_at",
              allowed_fields: Sequence[str] | None = None,
              marker_missing: Callable[[str], str] | None = None, marker_by: Any = None,
              extension_fields: Sequence[str] = (),
              ) -> tuple[list[Any], list[str] | None, str | None]:
    """Run the query described by the request's arguments. Returns rows, fields, next link."""
    args = request.args
    columns = {column.key: column for column in model.__table__.columns}
    refuse_unknown_arguments(set(filterable) if filterable is not None else set(columns))
    limit = listing_limit(args.get("limit"))
    sort_keys, sort_dirs = _sorting(columns, default_sort)
    fields = requested_fields(allowed_fields, extension_fields)
    query = select(model).where(*(base_filters or []))
    filters = _filters(model, columns, filterable)
    for key, op, value in filters:
        condition = (_tags_condition(getattr(model, key), op, value) if key == "tags"
                     else _condition(getattr(model, key), op, value))
        if condition is not None:
            query = query.where(condition)
    for key in _split(args.get("nulls")):
        if key not in columns:
            raise EngineError(f"Unknown column in nulls: {key}")
        query = query.where(getattr(model, key).is_(None))
    order = [(_sortable(getattr(model, key)), direction) for key, direction in zip(sort_keys, sort_dirs, strict=True)]
    marker = args.get("marker")
    if marker:
        query = query.where(_after_marker(session, model, marker, order, marker_missing, marker_by))
    query = query.order_by(*(c.desc() if d == "desc" else c.asc() for c, d in order)).limit(limit)
    rows = list(session.scalars(query))
    next_link = None
    if len(rows) == limit:
        next_link = _next_link(collection, sort_keys, sort_dirs, filters, limit, rows[-1].id, fields)
    return rows, fields, next_link


def _next_link(collection: str, sort_keys: list[str], sort_dirs: list[str], filters: list[tuple[str, str, Any]],
               limit: int, marker: str, fields: list[str] | None) -> str:
    """Mistral's link, except that ``in``/``nin`` keep their comma list (Mistral prints a Python list there,
    which no server can read back: DECISIONS.md keeps the filter)."""
    parts = [f"sort_keys={','.join(sort_keys)}", f"sort_dirs={','.join(sort_dirs)}"]
    parts += [f"{key}={op}:{','.join(value) if isinstance(value, list) else value}" for key, op, value in filters]
    parts += [f"limit={limit}", f"marker={marker}"]
    if fields:
        parts.append(f"fields={','.join(fields)}")
    return f"{settings().public_url}/v2/{collection}?{'&'.join(parts)}"


def _sortable(column: Any) -> Any:
    """JSON columns sort by their text, as Mistral's do (PostgreSQL cannot order json values)."""
    return cast(column, String) if isinstance(column.type, JSON) else column


def _after_marker(session: Session, model: Any, marker: str, order: list[tuple[Any, str]],
                  missing: Callable[[str], str] | None, marker_by: Any = None) -> Any:
    """Rows after the marker row, found by id (or by ``marker_by``, a unique column)."""
    key = model.id if marker_by is None else marker_by
    if session.scalars(select(model.id).where(key == marker)).first() is None:
        raise NotFound(missing(marker) if missing else f"{model.__name__} not found [id={marker}]")
    clauses = []
    for index, (expression, direction) in enumerate(order):
        def at_marker(value: Any) -> Any:
            return select(value).where(key == marker).scalar_subquery()

        equal_before = [e == at_marker(e) for e, _ in order[:index]]
        beyond = expression < at_marker(expression) if direction == "desc" else expression > at_marker(expression)
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


def with_id(fields: Sequence[str]) -> list[str]:
    """The fields a single read's ``fields`` argument selects: ``id`` always comes too."""
    return ["id", *fields]
