"""``/v2/actions``: the built-in actions and the ad-hoc actions users define."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.actions import registry
from app.actions.base import signature_text
from app.engine import catalog
from app.engine.errors import DSLError, EngineError, NotFound
from app.extensions import session
from app.models import ActionDefinition
from app.resources.common import namespace_arg, scope_arg, text_body, time_text, write
from app.resources.listing import select_fields

blueprint = Blueprint("actions", __name__, url_prefix="/v2/actions")


def builtin_dict(name: str, action_class: type) -> dict[str, Any]:
    doc = (action_class.__doc__ or "").strip().splitlines()
    return {
        "id": name, "name": name, "is_system": True, "input": signature_text(action_class),
        "description": doc[0] if doc else "", "tags": [], "definition": None, "scope": "public",
        "project_id": None, "namespace": "", "created_at": None, "updated_at": None,
    }


def adhoc_dict(row: ActionDefinition) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "is_system": False, "input": row.input,
        "description": row.description, "tags": row.tags, "definition": row.definition,
        "scope": row.scope, "project_id": row.project_id, "namespace": row.namespace,
        "created_at": time_text(row.created_at), "updated_at": time_text(row.updated_at),
    }


def _all_actions() -> list[dict[str, Any]]:
    items = [builtin_dict(name, cls) for name, cls in registry.all_actions().items()]
    query = session().query(ActionDefinition)
    if "namespace" in request.args:
        query = query.filter(ActionDefinition.namespace == request.args["namespace"])
    items += [adhoc_dict(row) for row in query.all()]
    return items


@blueprint.get("")
def list_actions() -> ResponseReturnValue:
    """Built-in and ad-hoc actions together, sorted (by name by default) and paged by name."""
    items = _all_actions()
    for key, value in request.args.items():
        if key in ("name", "scope", "is_system"):
            items = [item for item in items if str(item.get(key)).lower() == value.lower()]
    sort_key = (request.args.get("sort_keys") or "name").split(",")[0]
    reverse = (request.args.get("sort_dirs") or "asc").split(",")[0] == "desc"
    items.sort(key=lambda item: str(item.get(sort_key) or ""), reverse=reverse)
    marker = request.args.get("marker")
    if marker:
        names = [item["name"] for item in items]
        items = items[names.index(marker) + 1:] if marker in names else []
    try:
        limit = int(request.args.get("limit") or 0)
    except ValueError as exc:
        raise EngineError("limit must be a positive integer") from exc
    if limit < 0:
        raise EngineError("limit must be a positive integer")
    page = items[:limit] if limit else items
    fields = [f for f in (request.args.get("fields") or "").split(",") if f] or None
    body: dict[str, Any] = {"actions": [select_fields(item, fields) for item in page]}
    return jsonify(body)


@blueprint.get("/<name>")
@blueprint.get("/<name>/")
@blueprint.get("/<name>/<namespace>")
def get(name: str, namespace: str = "") -> ResponseReturnValue:
    action_class = registry.find(name)
    if action_class is not None:
        return jsonify(builtin_dict(name, action_class))
    return jsonify(adhoc_dict(catalog.get_action(session(), name, namespace or namespace_arg())))


@blueprint.post("")
def create() -> ResponseReturnValue:
    rows = write(lambda: catalog.create_actions(session(), text_body(), namespace_arg(), scope_arg()))
    return jsonify({"actions": [adhoc_dict(row) for row in rows]}), 201


@blueprint.put("")
@blueprint.put("/<identifier>")
def update(identifier: str | None = None) -> ResponseReturnValue:
    rows = write(lambda: catalog.create_actions(session(), text_body(), namespace_arg(), scope_arg(), update=True))
    if identifier is not None and rows and identifier not in (rows[0].id, rows[0].name):
        raise NotFound(f"Action not found [id={identifier}]")
    return jsonify({"actions": [adhoc_dict(row) for row in rows]})


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
    write(lambda: catalog.delete_action(session(), name, namespace or namespace_arg()))
    return "", 204
