"""Request bodies: the schemas load and validate them (their ``metadata`` only documents them)."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

EXECUTION_STATES = ("IDLE", "RUNNING", "SUCCESS", "ERROR", "PAUSED", "CANCELLED")


# Marks a string field that is not JSON at all, for the body loader to word as Mistral does.
BAD_JSON_PREFIX = "not JSON: "


class JsonDict(fields.Field):
    """A dict given either as a JSON object or as a string holding one (Mistral accepts both)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if value in (None, ""):
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValidationError(f"{BAD_JSON_PREFIX}{exc}") from exc
        if not value:
            return {}
        if not isinstance(value, dict):
            raise ValidationError(f"JsonType field value must be a dictionary [actual={value}]")
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

    state = fields.String(required=True, metadata={
        "enum": ["SUCCESS", "ERROR", "CANCELLED", "PAUSED", "RUNNING"],
        "description": "SUCCESS, ERROR or CANCELLED complete the action; PAUSED or RUNNING update it."})
    output = fields.Raw(load_default=None, allow_none=True, metadata={
        "description": "The result (SUCCESS) or the error (ERROR); a string holding JSON is decoded."})


class ExecutionUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default=None, allow_none=True, metadata={
        "enum": ["RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED", None],
        "description": "PAUSED pauses, RUNNING resumes, SUCCESS/ERROR/CANCELLED stop the execution."})
    description = fields.String(load_default=None, allow_none=True)
    state_info = fields.String(load_default=None, allow_none=True, metadata={
        "description": "Why the execution is stopped."})
    params = JsonDict(load_default=dict, metadata={"description": "`{\"env\": {...}}` replaces the env."})


class EnvironmentSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    description = fields.String(load_default=None, allow_none=True)
    variables = JsonDict(load_default=dict)
    scope = fields.String(load_default="private", metadata={"enum": ["private", "public"]})


class TaskUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default=None, allow_none=True, metadata={
        "enum": ["RUNNING", "SKIPPED", None], "description": "RUNNING reruns a failed task, SKIPPED skips it."})
    reset = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "Rerun every item of a with-items task (mandatory with RUNNING)."})
    env = JsonDict(load_default=dict)
    name = fields.String(load_default=None, allow_none=True)
    workflow_name = fields.String(load_default=None, allow_none=True)


class RunActionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    input = JsonDict(load_default=dict)
    params = JsonDict(load_default=dict, metadata={
        "description": "`save_result`, `run_sync`, `target`, `timeout` (seconds)."})
    workflow_namespace = fields.String(load_default="", allow_none=True)
    description = fields.String(load_default="", allow_none=True)

