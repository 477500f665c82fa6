"""``/v2/cron_triggers``: start workflows on a schedule (fired by the scheduler process)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.engine import cron
from app.engine.transactions import with_retries
from app.extensions import session
from app.models import CronTrigger
from app.resources.bodies import load_body
from app.resources.common import SCOPES
from app.resources.listing import list_rows, with_id
from app.schemas import CronTriggerListQuerySchema, CronTriggerResponseSchema, JsonDict, SchemaCache

blueprint = Blueprint("cron_triggers", __name__, url_prefix="/v2/cron_triggers")
FIELDS = ["id", "name", "workflow_name", "workflow_id", "workflow_input", "workflow_params", "project_id", "scope",
          "pattern", "remaining_executions", "first_execution_time", "next_execution_time", "created_at",
          "updated_at"]


class CronTriggerSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    workflow_id = fields.String(load_default=None, allow_none=True)
    workflow_name = fields.String(load_default=None, allow_none=True)
    workflow_namespace = fields.String(load_default="", allow_none=True)
    workflow_input = JsonDict(load_default=dict, allow_none=True)
    workflow_params = JsonDict(load_default=dict, allow_none=True)
    # The client sends the keys it was not given as null.
    pattern = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    first_execution_time = fields.String(load_default=None, allow_none=True)
    remaining_executions = fields.Integer(load_default=None, allow_none=True, strict=True)
    scope = fields.String(load_default="private", validate=validate.OneOf(SCOPES))

    @validates_schema
    def _workflow_given(self, data: dict[str, object], **_: object) -> None:
        if not data.get("workflow_id") and not data.get("workflow_name"):
            raise ValidationError("Workflow ID or workflow name must be provided.", field_name="workflow_id")


TRIGGERS = SchemaCache(CronTriggerResponseSchema)
# The answer to a creation has no updated_at yet, as Mistral's.
CREATED = ("updated_at",)


def new_trigger(body: dict[str, Any]) -> cron.NewTrigger:
    """The trigger a body loaded by ``CronTriggerSchema`` asks for (the console's form makes one too)."""
    return cron.NewTrigger(
        name=body["name"], workflow=body["workflow_id"] or body["workflow_name"],
        namespace=body["workflow_namespace"] or "", workflow_input=body["workflow_input"] or {},
        workflow_params=body["workflow_params"] or {}, pattern=body["pattern"] or None,
        first_execution_time=body["first_execution_time"],
        remaining_executions=body["remaining_executions"], scope=body["scope"],
    )


@blueprint.post("")
def create() -> ResponseReturnValue:
    new = new_trigger(load_body(CronTriggerSchema(), "cron_trigger", [*FIELDS, "workflow_namespace"]))
    # Its own write transaction (BEGIN IMMEDIATE on SQLite): the name check and the insert go together.
    row = with_retries(session(), lambda: cron.create(session(), new))
    return jsonify(TRIGGERS.dump(row, exclude=CREATED)), 201


@blueprint.get("")
def list_triggers() -> ResponseReturnValue:
    rows, wanted, next_link = list_rows(session(), CronTrigger, "cron_triggers",
                                        query_schema=CronTriggerListQuerySchema, allowed_fields=FIELDS)
    result: dict[str, Any] = {"cron_triggers": TRIGGERS.dump_many(rows, wanted)}
    if next_link:
        result["next"] = next_link
    return jsonify(result)


@blueprint.get("/<identifier>")
def get(identifier: str) -> ResponseReturnValue:
    wanted = [f for f in request.args.get("fields", "").split(",") if f]
    return jsonify(TRIGGERS.dump(cron.get(session(), identifier), with_id(wanted) if wanted else None))


@blueprint.delete("/<identifier>")
def delete(identifier: str) -> ResponseReturnValue:
    with_retries(session(), lambda: cron.delete_trigger(session(), identifier))
    return "", 204
