"""``/v2/workbooks``: a workbook groups workflows and ad-hoc actions under one name."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.engine import catalog
from app.engine.errors import DSLError
from app.extensions import session
from app.models import Workbook
from app.resources.common import namespace_arg, scope_arg, text_body, write
from app.resources.listing import list_rows
from app.schemas import SchemaCache, WorkbookListQuerySchema, WorkbookSchema

blueprint = Blueprint("workbooks", __name__, url_prefix="/v2/workbooks")


FIELDS = ["id", "name", "namespace", "definition", "tags", "scope", "project_id", "created_at", "updated_at"]
FILTERS = ["created_at", "definition", "name", "scope", "tags", "updated_at", "namespace"]


WORKBOOKS = SchemaCache(WorkbookSchema)
# The answer to a creation has no updated_at yet, as Mistral's.
CREATED = ("updated_at",)


@blueprint.post("")
def create() -> ResponseReturnValue:
    row = write(lambda: catalog.save_workbook(session(), text_body(), namespace_arg(), scope_arg()))
    return jsonify(WORKBOOKS.dump(row, exclude=CREATED)), 201


@blueprint.put("")
def update() -> ResponseReturnValue:
    row = write(lambda: catalog.save_workbook(session(), text_body(), namespace_arg(), scope_arg(), update=True))
    return jsonify(WORKBOOKS.dump(row))


@blueprint.post("/validate")
def validate() -> ResponseReturnValue:
    try:
        catalog.validate_workbook(text_body())
    except DSLError as exc:
        return jsonify({"valid": False, "error": str(exc), "errors": exc.problems})
    return jsonify({"valid": True})


@blueprint.get("")
def list_workbooks() -> ResponseReturnValue:
    filters = [Workbook.namespace == request.args["namespace"]] if "namespace" in request.args else []
    rows, fields, next_link = list_rows(session(), Workbook, "workbooks", filters, filter_order=FILTERS,
                                        query_schema=WorkbookListQuerySchema,
                                        allowed_fields=FIELDS)
    body: dict[str, Any] = {"workbooks": WORKBOOKS.dump_many(rows, fields)}
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<name>")
def get(name: str) -> ResponseReturnValue:
    return jsonify(WORKBOOKS.dump(catalog.get_workbook(session(), name, namespace_arg())))


@blueprint.delete("/<name>")
def delete(name: str) -> ResponseReturnValue:
    write(lambda: catalog.delete_workbook(session(), name, namespace_arg()))
    return "", 204
