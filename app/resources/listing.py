"""Collection queries the way Mistral's API takes them.

``limit``, ``marker``, ``sort_keys``, ``sort_dirs``, ``fields``, and column filters written
``column=op:value`` with op one of eq, neq, gt, gte, lt, lte, in, nin, has.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import request
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, and_, cast, or_, select
from sqlalchemy.orm import Session

from app.engine.errors import EngineError
from app.resources.common import settings

MAX_LIMIT = 1000
_PAGING_KEYS = {"limit", "marker", "sort_keys", "sort_dirs", "fields", "nulls", "include_output",
                "all_projects", "namespace", "scope"}
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "has")


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


def list_rows(session: Session, model: Any, collection: str, base_filters: list[Any] | None = None,
              filterable: set[str] | None = None, default_sort: str = "created_at",
              allowed_fields: set[str] | None = None) -> tuple[list[Any], list[str] | None, str | None]:
    """Run the query described by the request's arguments. Returns rows, fields, next link."""
    args = request.args
    columns = {column.key: column for column in model.__table__.columns}
    try:
        limit = min(int(args.get("limit") or 0), MAX_LIMIT) or None
    except ValueError as exc:
        raise EngineError("limit must be a positive integer") from exc
    if limit is not None and limit < 0:
        raise EngineError("limit must be a positive integer")
    sort_keys = _split(args.get("sort_keys")) or [default_sort]
    sort_dirs = _split(args.get("sort_dirs"))
    fields = _split(args.get("fields")) or None
    if fields and allowed_fields is not None:
        unknown = [f for f in fields if f not in allowed_fields]
        if unknown:
            raise EngineError(f"Some fields do not exist {unknown}, please choose from "
                              f"{sorted(allowed_fields)}")
    query = select(model).where(*(base_filters or []))
    for key, raw in args.items():
        if key in _PAGING_KEYS:
            continue
        if key not in columns or (filterable is not None and key not in filterable):
            continue
        op, value = parse_filter(raw)
        query = query.where(_condition(getattr(model, key), op, value))
    for key in _split(args.get("nulls")):
        if key not in columns:
            raise EngineError(f"Unknown column in nulls: {key}")
        query = query.where(getattr(model, key).is_(None))
    order = []
    for index, key in enumerate(sort_keys):
        if key not in columns:
            raise EngineError(f"Unknown sort key: {key}")
        direction = sort_dirs[index] if index < len(sort_dirs) else "asc"
        if direction not in ("asc", "desc"):
            raise EngineError(f"Unknown sort direction: {direction}")
        if isinstance(columns[key].type, JSON):
            raise EngineError(f"Cannot sort by {key}")
        order.append((getattr(model, key), direction))
    if "id" not in sort_keys:
        order.append((model.id, sort_dirs[0] if sort_dirs else "asc"))
    marker = args.get("marker")
    if marker:
        query = query.where(_after_marker(session, model, marker, order))
    query = query.order_by(*(c.desc() if d == "desc" else c.asc() for c, d in order))
    if limit:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    next_link = None
    if limit and len(rows) == limit:
        params = {k: v for k, v in args.items() if k != "marker"}
        params["marker"] = rows[-1].id
        next_link = f"{settings().public_url}/v2/{collection}?{urlencode(params)}"
    return rows, fields, next_link


def _after_marker(session: Session, model: Any, marker: str, order: list[tuple[Any, str]]) -> Any:
    row = session.get(model, marker)
    if row is None:
        raise EngineError(f"Marker {marker} not found")
    clauses = []
    for index, (column, direction) in enumerate(order):
        value = getattr(row, column.key)
        equal_before = [c == getattr(row, c.key) for c, _ in order[:index]]
        beyond = column < value if direction == "desc" else column > value
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


def select_fields(item: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if not fields:
        return item
    wanted = set(fields) | {"id"}
    return {key: value for key, value in item.items() if key in wanted}
