"""Query arguments of the routes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.schemas.responses import SCOPE_VALUES

FILTER_NOTE = ("Column filter: `value` (equal), or `op:value` with op one of eq, neq, gt, gte, lt, lte, "
               "in and nin (comma-separated lists), has (contains).")


def _query_text(description: str, **metadata: Any) -> fields.String:
    return fields.String(metadata={"description": description, **metadata})


def _list_params() -> dict[str, fields.Field]:
    return {
        "limit": fields.Integer(metadata={
            "minimum": 0, "description": "Page size, at most 1000 (0 or absent: no limit)."}),
        "marker": _query_text("Id of the last item of the previous page (for actions: its name)."),
        "sort_keys": _query_text("Comma-separated columns to sort by (default `created_at`, actions: `name`)."),
        "sort_dirs": _query_text("Comma-separated `asc`|`desc`, one per sort key (default `asc`)."),
        "fields": _query_text("Comma-separated fields to return (`id` is always returned)."),
    }


def _list_query(name: str, *filters: str, **extra: fields.Field) -> type[Schema]:
    attrs: dict[str, fields.Field] = {**_list_params(), **extra}
    attrs.update({column: _query_text(FILTER_NOTE) for column in filters})
    return Schema.from_dict(attrs, name=name)


def _namespace() -> fields.String:
    return _query_text("Namespace (absent or empty: the default namespace).")


def _include_output() -> fields.Boolean:
    return fields.Boolean(metadata={"description": "Include `output` in the items."})


class NamespaceQuerySchema(Schema):
    namespace = _namespace()


class DefinitionUploadQuerySchema(Schema):
    namespace = _namespace()
    scope = fields.String(metadata={"enum": list(SCOPE_VALUES), "description": "Visibility (default `private`)."})


FieldsQuerySchema = Schema.from_dict(
    {"fields": _query_text("Comma-separated fields to return (`id` is always returned).")}, name="FieldsQuerySchema")


class TreeQuerySchema(Schema):
    errors_only = fields.Boolean(metadata={"description": "Only descend through ERROR tasks."})
    max_depth = fields.Integer(metadata={"description": "Sub-workflow depth limit (the root is 0; negative: none)."})


class ReportQuerySchema(TreeQuerySchema):
    statistics_only = fields.Boolean(metadata={"description": "Leave the execution tree out."})


class SubExecutionsQuerySchema(TreeQuerySchema):
    include_output = _include_output()


class ForceQuerySchema(Schema):
    force = fields.Boolean(metadata={"description": "Delete even if the execution is not completed: what still "
                                                    "runs of it and below it is cancelled first."})


WorkflowListQuerySchema = _list_query(
    "WorkflowListQuerySchema", "name", "tags", "scope", "definition", "project_id", "created_at", "updated_at",
    namespace=_query_text("Only this namespace (empty: the default one)."))
WorkbookListQuerySchema = _list_query(
    "WorkbookListQuerySchema", "name", "tags", "scope", "definition", "created_at", "updated_at",
    namespace=_query_text("Only this namespace (empty: the default one)."))
ActionListQuerySchema = Schema.from_dict({
    **_list_params(),
    "namespace": _query_text("Only ad-hoc actions of this namespace (built-in actions are always listed)."),
    "name": _query_text("Only this name (case-insensitive)."),
    "scope": _query_text("Only this scope."),
    "is_system": _query_text("`true`: built-in actions only; `false`: ad-hoc actions only."),
}, name="ActionListQuerySchema")
ExecutionListQuerySchema = _list_query(
    "ExecutionListQuerySchema", "workflow_name", "workflow_id", "workflow_namespace", "description", "tags",
    "params", "task_execution_id", "root_execution_id", "state", "state_info", "input", "output", "created_at",
    "updated_at", "project_id",
    include_output=_include_output(),
    nulls=_query_text("Comma-separated columns that must be null (e.g. `root_execution_id`)."))
TaskListQuerySchema = _list_query(
    "TaskListQuerySchema", "name", "workflow_name", "workflow_id", "workflow_execution_id", "tags", "state",
    "state_info", "result", "published", "processed", "created_at", "updated_at")
ActionExecutionListQuerySchema = _list_query(
    "ActionExecutionListQuerySchema", "name", "tags", "workflow_name", "task_name", "task_execution_id", "state",
    "state_info", "accepted", "input", "output", "params", "description", "created_at", "updated_at",
    include_output=_include_output())
EnvironmentListQuerySchema = _list_query(
    "EnvironmentListQuerySchema", "name", "description", "variables", "scope", "created_at", "updated_at")
CronTriggerListQuerySchema = _list_query(
    "CronTriggerListQuerySchema", "name", "workflow_name", "workflow_id", "workflow_input", "workflow_params",
    "scope", "pattern", "remaining_executions", "first_execution_time", "next_execution_time", "created_at",
    "updated_at", "project_id")

