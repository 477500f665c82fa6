"""``/v2/actions``: the built-in actions and the ad-hoc actions users define."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.actions import registry
from app.actions.base import signature_text
from app.engine import catalog
from app.engine.errors import DSLError, EngineError, NotFound
from app.extensions import session
from app.models import ActionDefinition
from app.resources.common import namespace_arg, scope_arg, settings, text_body, write
from app.resources.listing import load_query, sort_order
from app.schemas import ActionListQuerySchema, ActionSchema, AdhocActionSavedSchema, AdhocActionSchema, SchemaCache
from app.schemas.queries import MAX_LIMIT

blueprint = Blueprint("actions", __name__, url_prefix="/v2/actions")


# Built-in actions have no rows; their times are the service's start, as Mistral shows its providers' load time.
_LOADED_AT = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
FILTERS = ["name", "scope", "tags", "created_at", "updated_at", "description", "definition", "is_system", "input",
           "namespace"]


@dataclass(frozen=True)
class BuiltinAction:
    """A built-in action as the API shows it (through ``ActionSchema``, like an ad-hoc action's row)."""

    name: str
    input: str
    description: str
    tags: None = None
    definition: str = ""
    scope: None = None
    project_id: None = None
    namespace: str = ""
    created_at: datetime = _LOADED_AT
    updated_at: datetime = _LOADED_AT

    @property
    def id(self) -> str:
        return self.name

    @classmethod
    def of(cls, name: str, action_class: type) -> BuiltinAction:
        return cls(name=name, input=signature_text(action_class), description=inspect.getdoc(action_class) or "")


BUILTIN = SchemaCache(ActionSchema)
ADHOC = SchemaCache(AdhocActionSchema)
SAVED = SchemaCache(AdhocActionSavedSchema)
# An upload that created the action: no updated_at yet, as in Mistral.
CREATED = ("updated_at",)


def _all_actions(namespace: str) -> list[dict[str, Any]]:
    items = BUILTIN.dump_many([BuiltinAction.of(name, cls) for name, cls in registry.all_actions().items()]) \
        if not namespace else []
    query = session().query(ActionDefinition).filter(ActionDefinition.namespace == namespace)
    items += ADHOC.dump_many(query.all())
    return items


def _matches(item: dict[str, Any], key: str, op: str, value: Any) -> bool:
    have = item.get(key)
    text = "" if have is None else str(have).lower() if isinstance(have, bool) else str(have)
    if op in ("in", "nin"):
        return (text in value) == (op == "in")
    if op == "has":
        return str(value) in text
    compare = {"eq": text == value, "neq": have is None or text != value}
    if op in compare:
        return compare[op]
    if have is None:
        return False
    return {"gt": text > value, "gte": text >= value, "lt": text < value, "lte": text <= value}[op]


@blueprint.get("")
def list_actions() -> ResponseReturnValue:
    """Built-in and ad-hoc actions of one namespace (the default one unless named), sorted by name.

    As in Mistral, ``fields`` is not applied and a marker that is no action's id is ignored."""
    query = load_query(ActionListQuerySchema)
    namespace = query.get("namespace") or ""
    items = _all_actions(namespace)
    filters = [key for key in FILTERS if key in query and key != "namespace"]
    for key in filters:
        items = [item for item in items if _matches(item, key, *query[key])]
    sort_keys, sort_dirs = sort_order(query, "name")
    sort_key, reverse = sort_keys[0], sort_dirs[0] == "desc"
    items.sort(key=lambda item: (str(item.get(sort_key) or ""), item["id"]), reverse=reverse)
    ids = [item["id"] for item in items]
    marker = query.get("marker")
    if marker in ids:
        items = items[ids.index(marker) + 1:]
    limit = query.get("limit", MAX_LIMIT)
    page = items[:limit]
    body: dict[str, Any] = {"actions": page}
    if len(page) == limit:
        parts = [f"sort_keys={sort_key},id", f"sort_dirs={'desc' if reverse else 'asc'},asc"]
        parts += [_shown(key, *query[key]) for key in filters]
        parts += [f"namespace=eq:{namespace}", f"limit={limit}", f"marker={page[-1]['id']}"]
        body["next"] = f"{settings().public_url}/v2/actions?{'&'.join(parts)}"
    return jsonify(body)


def _shown(key: str, op: str, value: Any) -> str:
    """A filter as a next link writes it: ``key=op:value``."""
    return f"{key}={op}:{','.join(value) if isinstance(value, list) else value}"


@blueprint.get("/<name>")
@blueprint.get("/<name>/")
@blueprint.get("/<name>/<namespace>")
def get(name: str, namespace: str = "") -> ResponseReturnValue:
    action_class = registry.find(name)
    if action_class is not None:
        return jsonify(BUILTIN.dump(BuiltinAction.of(name, action_class)))
    if request.args.get("fields") is not None:
        raise EngineError('Unknown argument: "fields"')
    namespace = namespace or namespace_arg()
    row = _visible_from(name, namespace) or catalog.get_action(session(), name, namespace)
    return jsonify(ADHOC.dump(row))


@blueprint.post("")
def create() -> ResponseReturnValue:
    rows = write(lambda: catalog.create_actions(session(), text_body(), namespace_arg(), scope_arg()))
    return jsonify({"actions": SAVED.dump_many(rows, exclude=CREATED)}), 201


@blueprint.put("")
@blueprint.put("/<identifier>")
def update(identifier: str | None = None) -> ResponseReturnValue:
    rows = write(lambda: catalog.create_actions(session(), text_body(), namespace_arg(), scope_arg(), update=True))
    if identifier is not None and rows and identifier not in (rows[0].id, rows[0].name):
        raise NotFound(f"Action not found [id={identifier}]")
    return jsonify({"actions": SAVED.dump_many(rows)})


@blueprint.post("/validate")
def validate() -> ResponseReturnValue:
    try:
        catalog.validate_actions(text_body())
    except DSLError as exc:
        return jsonify({"valid": False, "error": str(exc), "errors": exc.problems})
    return jsonify({"valid": True})


@blueprint.delete("/<name>")
@blueprint.delete("/<name>/")
@blueprint.delete("/<name>/<namespace>")
def delete(name: str, namespace: str = "") -> ResponseReturnValue:
    namespace = namespace or namespace_arg()
    row = _visible_from(name, namespace)
    write(lambda: catalog.delete_action(session(), name, row.namespace if row else namespace))
    return "", 204


def _visible_from(name: str, namespace: str) -> ActionDefinition | None:
    """Mistral reads and deletes an action of the default namespace through any namespace too (its
    lookup falls back to the default one); when neither has it, the engine's error names ``namespace``."""
    return catalog.find_action(session(), name, namespace)
