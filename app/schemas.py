"""Marshmallow schemas of the request bodies the API accepts."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

EXECUTION_STATES = ("IDLE", "RUNNING", "SUCCESS", "ERROR", "PAUSED", "CANCELLED")


class JsonDict(fields.Field):
    """A dict given either as a JSON object or as a string holding one (Mistral accepts both)."""

    default_error_messages = {"invalid": "must be a JSON object or a string holding one"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if value in (None, ""):
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise self.make_error("invalid") from exc
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        return value


class ExecutionCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(load_default=None, validate=validate.Length(max=36))
    workflow_id = fields.String(load_default=None)
    workflow_name = fields.String(load_default=None)
    workflow_namespace = fields.String(load_default="")
    description = fields.String(load_default="", allow_none=True)
    input = JsonDict(load_default=dict)
    params = JsonDict(load_default=dict)
    source_execution_id = fields.String(load_default=None)

    @validates_schema
    def _workflow_given(self, data: dict[str, object], **_: object) -> None:
        if not data.get("workflow_id") and not data.get("workflow_name") \
                and not data.get("source_execution_id"):
            raise ValidationError(
                "Workflow ID or workflow name must be provided. Workflow ID is recommended.",
                field_name="workflow_id",
            )


class ActionExecutionUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(required=True)
    output = fields.Raw(load_default=None, allow_none=True)


class ExecutionUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True)
    state_info = fields.String(load_default=None, allow_none=True)
    params = JsonDict(load_default=dict)


class EnvironmentSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    description = fields.String(load_default=None, allow_none=True)
    variables = JsonDict(load_default=dict)
    scope = fields.String(load_default="private")


class TaskUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default=None, allow_none=True)
    reset = fields.Boolean(load_default=None, allow_none=True)
    env = JsonDict(load_default=dict)
    name = fields.String(load_default=None, allow_none=True)
    workflow_name = fields.String(load_default=None, allow_none=True)


class RunActionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    input = JsonDict(load_default=dict)
    params = JsonDict(load_default=dict)
    workflow_namespace = fields.String(load_default="", allow_none=True)
    description = fields.String(load_default="", allow_none=True)
