"""How response schemas turn rows into the wire format, and how they do it fast.

Every field of a response schema is a :class:`WireField`: it reads its attribute of the object dumped
(or computes its value from the whole object with ``of=``), then converts that value to the wire
(``to_wire``). A computed value of an ``omittable`` field may be ``missing``: the key is then left out
of the answer, as Mistral leaves out what it did not load.

:class:`WireSchema` dumps through the same fields, compiled once per schema instance (after ``only`` and
``exclude``) into one function per row: a 1,000-row page costs about what the hand-written dicts it
replaced cost (``python -m bench.wire``). ``tests/unit/test_wire_schemas.py`` checks that it answers
what marshmallow's own dump through the same fields answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, missing

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

Getter = Callable[[Any], Any]


class WireField(fields.Field):
    """A response field: its attribute's value (or ``of(obj)``), passed through ``to_wire``.

    Only for dumping: response schemas never load. ``omittable``: ``of`` may answer ``missing``, and
    the key is then left out.
    """

    def __init__(self, *args: Any, of: Getter | None = None, omittable: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.of = of
        self.omittable = omittable

    def to_wire(self, value: Any) -> Any:
        return value

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        if self.of is not None:
            return self.of(obj)
        return super().get_value(obj, attr, accessor=accessor, default=default)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return self.to_wire(value)

    def source(self, attr: str, names: dict[str, Any]) -> str:
        """Python expression of the field's value before ``to_wire``, over ``obj`` (for WireSchema)."""
        if self.of is not None:
            return _name(names, self.of) + "(obj)"
        attribute = self.attribute or attr
        if not all(part.isidentifier() for part in attribute.split(".")):
            raise ValueError(f"not an attribute path: {attribute!r}")
        return f"obj.{attribute}"

    def expression(self, value: str, names: dict[str, Any]) -> str:
        """Python expression of the wire value of ``value`` (an expression) (for WireSchema)."""
        if type(self).to_wire is WireField.to_wire:
            return value
        return f"{_name(names, self.to_wire)}({value})"


def _name(names: dict[str, Any], value: Any) -> str:
    name = f"_g{len(names)}"
    names[name] = value
    return name


class Text(WireField, fields.String):
    """A string, or null, as stored."""


class Flag(WireField, fields.Boolean):
    """A boolean, or null, as stored."""


class Count(WireField, fields.Integer):
    """An integer, or null, as stored."""


class TextList(WireField, fields.List):
    """A list of strings (tags), or null, as stored."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.String(), **kwargs)


class Stored(WireField, fields.Nested):
    """An object kept in its wire form (a JSON column): sent as it is; the nested schema documents it."""

    # marshmallow's Nested names the value ``nested_obj``; WireField names it ``value``.
    def _serialize(self, nested_obj: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return nested_obj


SchemaRef = type[Schema] | Callable[[], type[Schema]]


class _Nested(WireField):
    """Objects dumped by another response schema (``schema``: the class, or a function returning it for a
    schema declared further down)."""

    def __init__(self, *args: Any, schema: SchemaRef, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schema_ref = schema
        self._dumper: Schema | None = None

    def dumper(self) -> Schema:
        if self._dumper is None:
            ref = self._schema_ref
            schema_class = ref if isinstance(ref, type) else ref()
            self._dumper = schema_class()
        return self._dumper


class Child(_Nested, fields.Nested):
    """One object dumped by another response schema."""

    def __init__(self, schema: SchemaRef, **kwargs: Any) -> None:
        super().__init__(schema, schema=schema, **kwargs)

    def to_wire(self, value: Any) -> Any:
        return None if value is None else self.dumper().dump(value)

    def _serialize(self, nested_obj: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return self.to_wire(nested_obj)


class Children(_Nested, fields.List):
    """A list of objects dumped by another response schema."""

    def __init__(self, schema: SchemaRef, **kwargs: Any) -> None:
        super().__init__(fields.Nested(schema), schema=schema, **kwargs)

    def to_wire(self, value: Any) -> Any:
        return self.dumper().dump(value, many=True)


def time_text(value: datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS``; ``isoformat`` writes it several times faster than ``strftime``."""
    if value is None:
        return None
    if value.tzinfo is None and value.year >= 1000:
        return value.isoformat(" ", "seconds")
    return value.strftime(TIME_FORMAT)


class Timestamp(WireField, fields.String):
    """A time as Mistral writes it, ``YYYY-MM-DD HH:MM:SS`` (UTC), or null."""

    def to_wire(self, value: datetime | None) -> str | None:
        return time_text(value)

    def expression(self, value: str, names: dict[str, Any]) -> str:
        return f"{_name(names, time_text)}({value})"


class JsonText(WireField, fields.String):
    """A JSON-typed value, sent as JSON text as Mistral sends its JSON fields (null stays null unless
    ``null_as_text``: then it is the text ``null``)."""

    def __init__(self, *args: Any, null_as_text: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.null_as_text = null_as_text

    def to_wire(self, value: Any) -> str | None:
        if value is None and not self.null_as_text:
            return None
        return json.dumps(value)

    def expression(self, value: str, names: dict[str, Any]) -> str:
        dumps = _name(names, json.dumps)
        if self.null_as_text:
            return f"{dumps}({value})"
        return f"(None if (_j := {value}) is None else {dumps}(_j))"


class WireSchema(Schema):
    """A response schema: only :class:`WireField` fields, no hooks, dumped on the fast path.

    Once per schema instance (after ``only`` and ``exclude``), the dump of one row is compiled into a
    function that builds the row's dict in one expression, as ``dataclasses`` and ``attrs`` compile
    their methods: marshmallow's generic path (an accessor, defaults and a method call per field) costs
    more than the values themselves on a 1,000-row page.
    """

    _dump_row: Callable[[Any], dict[str, Any]] | None = None

    def _row_function(self) -> Callable[[Any], dict[str, Any]]:
        if self._dump_row is None:
            self._dump_row = _compile(type(self).__name__, self.dump_fields)
        return self._dump_row

    def _serialize(self, obj: Any, *, many: bool = False) -> Any:
        dump_row = self._row_function()
        if many:
            return [dump_row(item) for item in obj]
        return dump_row(obj)

    def dump_marshmallow(self, obj: Any, *, many: bool = False) -> Any:
        """marshmallow's own dump of ``obj`` through the same fields (the reference of the fast path)."""
        if many:
            return [Schema._serialize(self, item) for item in obj]
        return Schema._serialize(self, obj)


def _compile(schema: str, dump_fields: Mapping[str, fields.Field]) -> Callable[[Any], dict[str, Any]]:
    names: dict[str, Any] = {"missing": missing}
    lines: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        items = ", ".join(pending)
        lines.append(f"    row.update({{{items}}})" if lines else f"    row = {{{items}}}")
        pending.clear()

    for attr, field in dump_fields.items():
        if not isinstance(field, WireField):
            raise TypeError(f"{schema}.{attr} is not a wire field")
        key = repr(field.data_key or attr)
        if field.omittable:
            flush()
            lines.append(f"    if (_m := {field.source(attr, names)}) is not missing:")
            lines.append(f"        row[{key}] = {field.expression('_m', names)}")
        else:
            pending.append(f"{key}: {field.expression(field.source(attr, names), names)}")
    flush()
    source = "def dump_row(obj):\n" + "\n".join(lines) + "\n    return row\n"
    # The source is made only of the schema's own declarations (field names and attributes, checked
    # to be identifiers above), never of request data.
    exec(compile(source, f"<dump of {schema}>", "exec"), names)  # noqa: S102
    dump_row: Callable[[Any], dict[str, Any]] = names["dump_row"]
    return dump_row


class SchemaCache:
    """Schema instances by the fields they dump, built once: building one (and compiling its dump) costs
    more than dumping a row. At most ``MAX_SELECTIONS`` are kept (``fields=`` may ask for many)."""

    MAX_SELECTIONS = 64

    def __init__(self, schema: type[WireSchema]) -> None:
        self.schema = schema
        self.names = tuple(schema._declared_fields)
        self._instances: dict[tuple[tuple[str, ...], frozenset[str]], WireSchema] = {}

    def get(self, only: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> WireSchema:
        """The schema dumping ``only`` these fields (when given; unknown names ignored) minus ``exclude``,
        always in the declared order."""
        wanted = None if only is None else set(only)
        kept = self.names if wanted is None else tuple(name for name in self.names if name in wanted)
        key = (kept, frozenset(exclude) & set(self.names))
        schema = self._instances.get(key)
        if schema is None:
            schema = self.schema(only=kept, exclude=tuple(key[1]))
            if len(self._instances) < self.MAX_SELECTIONS:
                self._instances[key] = schema
        return schema

    def dump(self, obj: Any, only: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> dict[str, Any]:
        dumped: dict[str, Any] = self.get(only, exclude).dump(obj)
        return dumped

    def dump_many(self, objs: Iterable[Any], only: Iterable[str] | None = None,
                  exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
        dumped: list[dict[str, Any]] = self.get(only, exclude).dump(objs, many=True)
        return dumped


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """``mapping`` less ``keys`` (the engine's bookkeeping that Mistral's answers do not show)."""
    return {key: value for key, value in mapping.items() if key not in keys}
