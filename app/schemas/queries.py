"""Query arguments of the routes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from app.schemas.responses import SCOPE_VALUES

FILTER_NOTE = ("Column filter: `value` (equal), or `op:value` with op one of eq, neq, gt, gte, lt, lte, "
               "in and nin (comma-separated lists), has (contains).")
MAX_LIMIT = 1000
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "has")
SORT_DIRECTIONS = ("asc", "desc")
# Arguments every collection takes without a word (Mistral's client sends some of them everywhere).
IGNORED_ARGUMENTS = frozenset({"all_projects", "namespace", "scope", "nulls", "include_output", "errors_only",
                               "max_depth", "statistics_only", "project_id"})


def split(value: str | None) -> list[str]:
    """A comma-separated argument's items, blanks dropped."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_filter(raw: str) -> tuple[str, Any]:
    """``op:value`` (``in``/``nin`` take a comma list) or a plain value (``eq``)."""
    op, sep, value = raw.partition(":")
    if sep and op in OPERATORS:
        return op, split(value) if op in ("in", "nin") else value
    return "eq", raw


class Limit(fields.Integer):
    """A page size, clamped to MAX_LIMIT as Mistral clamps it (so an unlimited list may have a next page)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if value is None or value == "":
            return MAX_LIMIT
        try:
            limit = int(value)
        except ValueError as exc:
            raise ValidationError(f"Invalid input for field/attribute limit. Value: '{value}'. unable to convert to "
                                  f"int. Error: {exc}") from exc
        if limit <= 0:
            raise ValidationError("Limit must be positive.")
        return min(limit, MAX_LIMIT)


class Names(fields.String):
    """A comma-separated list (``lower``: in lower case, as Mistral reads sort keys and directions)."""

    def __init__(self, *args: Any, lower: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lower = lower

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        names = split(super()._deserialize(value, attr, data, **kwargs))
        return [name.lower() for name in names] if self.lower else names


class Filter(fields.String):
    """A column filter, loaded as ``(op, value)``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return parse_filter(super()._deserialize(value, attr, data, **kwargs))


class TrueOnly(fields.Boolean):
    """``true`` (any case) is true; anything else is false, as Mistral's ``include_output`` reads."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        return str(value).lower() == "true"


def _query_text(description: str, **metadata: Any) -> fields.String:
    return fields.String(metadata={"description": description, **metadata})


class ListQuerySchema(Schema):
    """What every collection takes; each collection's schema adds its filters (``filters`` names them).
    Only the arguments given are loaded."""

    filters: tuple[str, ...] = ()

    limit = Limit(metadata={"minimum": 1, "description": f"Page size, at most {MAX_LIMIT} (absent: {MAX_LIMIT})."})
    marker = _query_text("Id of the last item of the previous page (for actions: its name).")
    sort_keys = Names(lower=True, metadata={
        "description": "Comma-separated columns to sort by (default `created_at`, actions: `name`)."})
    sort_dirs = Names(lower=True, metadata={
        "description": "Comma-separated `asc`|`desc`, one per sort key (default `asc`)."})
    # Loaded as ``selected``: ``fields`` is the name of a schema's own fields.
    selected = Names(data_key="fields", metadata={
        "description": "Comma-separated fields to return (`id` is always returned)."})
    nulls = Names(metadata={"description": "Comma-separated columns that must be null (e.g. `root_execution_id`)."})

    @validates_schema
    def _sort_order(self, data: dict[str, Any], **_: Any) -> None:
        """Checked together, in Mistral's order: the count of directions, then each direction."""
        keys, directions = data.get("sort_keys") or ["default"], data.get("sort_dirs") or []
        if len(keys) < len(directions):
            raise ValidationError("Length of sort_keys must be equal or greater than sort_dirs.", "sort_dirs")
        if any(direction not in SORT_DIRECTIONS for direction in directions):
            raise ValidationError("Unknown sort direction, must be 'desc' or 'asc'.", "sort_dirs")


def _list_query(name: str, *filters: str, **extra: fields.Field) -> type[ListQuerySchema]:
    attrs: dict[str, Any] = {**extra, **{column: Filter(metadata={"description": FILTER_NOTE}) for column in filters}}
    attrs["filters"] = filters
    return type(name, (ListQuerySchema,), attrs)


def _namespace() -> fields.String:
    return _query_text("Namespace (absent or empty: the default namespace).")


def _include_output() -> fields.Boolean:
    return TrueOnly(metadata={"description": "Include `output` in the items."})


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
ActionListQuerySchema = _list_query(
    "ActionListQuerySchema", "name", "scope", "tags", "created_at", "updated_at", "description", "definition",
    "is_system", "input",
    namespace=_query_text("Only ad-hoc actions of this namespace (built-in actions are always listed)."))
ExecutionListQuerySchema = _list_query(
    "ExecutionListQuerySchema", "workflow_name", "workflow_id", "workflow_namespace", "description", "tags",
    "params", "task_execution_id", "root_execution_id", "state", "state_info", "input", "output", "created_at",
    "updated_at", "project_id",
    include_output=_include_output())
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

