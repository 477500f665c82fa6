"""Collection queries the way Mistral's API takes them.

``limit``, ``marker``, ``sort_keys``, ``sort_dirs``, ``fields``, and column filters written
``column=op:value`` with op one of eq, neq, gt, gte, lt, lte, in, nin, has: loaded by each collection's
query schema (app/schemas/queries.py), then turned into one SELECT.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from flask import request
from marshmallow import ValidationError
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, and_, cast, false, or_, select
from sqlalchemy.orm import Session

from app.engine.errors import EngineError, NotFound
from app.resources.common import settings
from app.schemas.queries import IGNORED_ARGUMENTS, MAX_LIMIT, ListQuerySchema, split


def load_query(schema_class: type[ListQuerySchema]) -> dict[str, Any]:
    """The request's arguments loaded by a collection's query schema. Mistral answers 400 to an argument a
    collection does not take, rather than ignoring it (a misspelt filter would otherwise return
    everything); the first problem is reported, in the order Mistral checks them."""
    schema = _query_schema(schema_class)
    names = {field.data_key or name: name for name, field in schema.load_fields.items()}
    unknown = [key for key in request.args if key not in names and key not in IGNORED_ARGUMENTS]
    if unknown:
        raise EngineError(f'Unknown argument: "{unknown[0]}"')
    try:
        loaded: dict[str, Any] = schema.load({key: request.args[key] for key in request.args if key in names})
    except ValidationError as exc:
        messages = exc.normalized_messages()
        first = next(key for key in [*names, *messages] if key in messages)
        raise EngineError(_first_text(messages[first])) from exc
    return loaded


_QUERY_SCHEMAS: dict[type[ListQuerySchema], ListQuerySchema] = {}


def _query_schema(schema_class: type[ListQuerySchema]) -> ListQuerySchema:
    schema = _QUERY_SCHEMAS.get(schema_class)
    if schema is None:
        schema = _QUERY_SCHEMAS[schema_class] = schema_class()
    return schema


def _first_text(message: Any) -> str:
    while isinstance(message, (list, dict)) and message:
        message = message[0] if isinstance(message, list) else next(iter(message.values()))
    return str(message)


def sort_order(query: dict[str, Any], default_sort: str) -> tuple[list[str], list[str]]:
    """``sort_keys`` (default ``default_sort``) and ``sort_dirs``, one direction per key (default ``asc``)."""
    sort_keys = list(query.get("sort_keys") or [default_sort])
    sort_dirs = list(query.get("sort_dirs") or [])
    return sort_keys, sort_dirs + ["asc"] * (len(sort_keys) - len(sort_dirs))


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


def _sorting(query: dict[str, Any], columns: dict[str, Any], default_sort: str) -> tuple[list[str], list[str]]:
    sort_keys, sort_dirs = sort_order(query, default_sort)
    for key in sort_keys:
        if key not in columns:
            raise EngineError(f"Sort key supplied is invalid: {key}")
    if "id" not in sort_keys:
        sort_keys.append("id")
        sort_dirs.append("asc")
    return sort_keys, sort_dirs


def requested_fields(query: dict[str, Any], allowed_fields: Sequence[str] | None,
                     extensions: Sequence[str] = ()) -> list[str] | None:
    """The ``fields`` argument, refused as Mistral does when it names a field the resource lacks;
    ``extensions`` (fields of ours) are accepted but, as in Mistral's text, not offered."""
    fields = list(query.get("selected") or []) or None
    if fields and allowed_fields is not None:
        unknown = [f for f in fields if f not in allowed_fields and f not in extensions]
        if unknown:
            raise EngineError(f"Some fields do not exist  [{', '.join(unknown)}], please choose from "
                              f"[{', '.join(allowed_fields)}]")
    if fields and "id" not in fields:
        fields.insert(0, "id")
    return fields


def _filters(schema_class: type[ListQuerySchema], query: dict[str, Any],
             filter_order: Sequence[str] | None) -> list[tuple[str, str, Any]]:
    """(column, op, value) of every filter given, in the request's order or ``filter_order``."""
    keys = [key for key in request.args if key in schema_class.filters]
    if filter_order is not None:
        order = list(filter_order)
        keys.sort(key=lambda key: order.index(key) if key in order else len(order))
    return [(key, *query[key]) for key in keys]


def _tags_condition(column: Any, op: str, value: Any) -> Any:
    """Tags match when the row carries every tag named (``tags=a,b``); other operators are ignored."""
    if op != "eq":
        return None
    return and_(*[cast(column, String).contains(json.dumps(tag)) for tag in split(value)])


def list_rows(session: Session, model: Any, collection: str, base_filters: list[Any] | None = None, *,
              query_schema: type[ListQuerySchema], filter_order: Sequence[str] | None = None,
              default_sort: str = "created_at", allowed_fields: Sequence[str] | None = None,
              marker_missing: Callable[[str], str] | None = None, marker_by: Any = None,
              extension_fields: Sequence[str] = (),
              ) -> tuple[list[Any], list[str] | None, str | None]:
    """Run the query described by the request's arguments (loaded by ``query_schema``; ``filter_order``:
    the order of the filters in next links, when not the request's). Returns rows, fields, next link."""
    query = load_query(query_schema)
    columns = {column.key: column for column in model.__table__.columns}
    limit = query.get("limit", MAX_LIMIT)
    sort_keys, sort_dirs = _sorting(query, columns, default_sort)
    fields = requested_fields(query, allowed_fields, extension_fields)
    select_rows = select(model).where(*(base_filters or []))
    filters = _filters(query_schema, query, filter_order)
    for key, op, value in filters:
        condition = (_tags_condition(getattr(model, key), op, value) if key == "tags"
                     else _condition(getattr(model, key), op, value))
        if condition is not None:
            select_rows = select_rows.where(condition)
    for key in query.get("nulls") or []:
        if key not in columns:
            raise EngineError(f"Unknown column in nulls: {key}")
        select_rows = select_rows.where(getattr(model, key).is_(None))
    order = [(_sortable(getattr(model, key)), direction) for key, direction in zip(sort_keys, sort_dirs, strict=True)]
    marker = query.get("marker")
    if marker:
        select_rows = select_rows.where(_after_marker(session, model, marker, order, marker_missing, marker_by))
    select_rows = select_rows.order_by(*(c.desc() if d == "desc" else c.asc() for c, d in order)).limit(limit)
    rows = list(session.scalars(select_rows))
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
