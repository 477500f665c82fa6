"""``/v2/workflows``: workflow definitions uploaded as YAML text."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.engine import definitions
from app.engine.errors import Conflict, DSLError, EngineError
from app.extensions import session
from app.models import WorkflowDefinition
from app.resources.common import scope_arg, text_body, write
from app.resources.listing import list_rows, with_id
from app.schemas import SchemaCache, WorkflowListQuerySchema, WorkflowSavedSchema, WorkflowSchema

blueprint = Blueprint("workflows", __name__, url_prefix="/v2/workflows")
FIELDS = ["id", "name", "namespace", "input", "interface", "definition", "checksum", "tags", "scope",
          "project_id", "created_at", "updated_at"]
# The filters Mistral takes, in the order its next links show them.
FILTERS = ["created_at", "name", "scope", "tags", "updated_at", "definition", "project_id", "namespace"]
# Fields a single GET can narrow to: stored columns only (input and interface are computed).
STORED = ["id", "name", "namespace", "definition", "checksum", "tags", "scope", "project_id", "created_at",
          "updated_at"]


WORKFLOWS = SchemaCache(WorkflowSchema)
SAVED = SchemaCache(WorkflowSavedSchema)
# The answer to a creation has no updated_at yet, as Mistral's.
CREATED = ("updated_at",)


def _scope() -> str:
    return scope_arg()


@blueprint.post("")
def create() -> ResponseReturnValue:
    text, namespace, scope = text_body(), request.args.get("namespace") or "", _scope()
    rows = write(lambda: definitions.create_workflows(session(), text, namespace, scope))
    return jsonify({"workflows": SAVED.dump_many(rows, exclude=CREATED)}), 201


@blueprint.put("")
def update() -> ResponseReturnValue:
    rows = write(lambda: definitions.create_workflows(session(), text_body(), request.args.get("namespace") or "",
                                            _scope(), update=True))
    return jsonify({"workflows": SAVED.dump_many(rows)})


@blueprint.put("/<identifier>")
def update_one(identifier: str) -> ResponseReturnValue:
    """``mistral workflow-update --id <id>`` sends ``PUT /v2/workflows/<id>?namespace=&scope=`` and
    reads back one flat workflow, not the ``{"workflows": [...]}`` envelope."""
    text = text_body()
    row = definitions.get_workflow(session(), identifier, request.args.get("namespace") or "", exact=True)
    specs = definitions.validate_workflows(text)
    if len(specs) != 1:
        raise EngineError("More than one workflows are not supported for update with identifier. "
                          f"[identifier: {identifier}]")
    _rename(row, specs[0].name)
    # The row keeps its own namespace: the client sends an empty one with an id.
    updated, = write(lambda: definitions.create_workflows(session(), text, row.namespace, _scope(), update=True))
    return jsonify(SAVED.dump(updated))


def _rename(row: WorkflowDefinition, name: str) -> None:
    """As in Mistral, an update by id may rename the workflow (unless the name is taken)."""
    if name == row.name:
        return
    if definitions.find_by_name(session(), name, row.namespace, exact=True) is not None:
        raise Conflict(f"Duplicate entry for WorkflowDefinition ['name', 'namespace', 'project_id']: "
                       f"{name}, {row.namespace}, None")
    row.name = name
    session().flush()


@blueprint.post("/validate")
def validate() -> ResponseReturnValue:
    try:
        definitions.validate_workflows(text_body())
    except DSLError as exc:
        return jsonify({"valid": False, "error": str(exc), "errors": exc.problems})
    return jsonify({"valid": True})


@blueprint.get("")
def list_workflows() -> ResponseReturnValue:
    filters = []
    if "namespace" in request.args:
        filters.append(WorkflowDefinition.namespace == request.args["namespace"])
    rows, fields, next_link = list_rows(session(), WorkflowDefinition, "workflows", filters, filter_order=FILTERS,
                                        query_schema=WorkflowListQuerySchema,
                                        allowed_fields=FIELDS,
                                        marker_missing=lambda m: f"Workflow not found [workflow_id={m}]")
    if fields and "input" in fields:
        # Mistral computes both from the stored spec it loads for input (and for interface alone, neither).
        fields.append("interface")
    elif fields and "interface" in fields:
        fields.remove("interface")
    body: dict[str, Any] = {"workflows": WORKFLOWS.dump_many(rows, fields)}
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<identifier>")
def get(identifier: str) -> ResponseReturnValue:
    row = definitions.get_workflow(session(), identifier, request.args.get("namespace") or "", exact=True)
    wanted = [f for f in (request.args.get("fields") or "").split(",") if f in STORED]
    return jsonify(WORKFLOWS.dump(row, with_id(wanted) if wanted else None))


@blueprint.delete("/<identifier>")
def delete(identifier: str) -> ResponseReturnValue:
    write(lambda: definitions.delete_workflow(session(), identifier, request.args.get("namespace") or ""))
    return "", 204
