"""Marshmallow schemas of the API: the request bodies it accepts and the responses it sends.

The request schemas load and validate bodies (their ``metadata`` only documents them). The response and
query-parameter schemas (sections below) only describe, for the OpenAPI document (app/openapi.py), what
the resources' ``*_dict`` functions send and which arguments they read; in response schemas
``required=True`` means "always present" and ``allow_none=True`` means "may be null".
"""

from __future__ import annotations

import json
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validate, validates_schema

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


# --- Response schemas (documentation only: the resources build responses with their *_dict functions) ---

SCOPE_VALUES = ("private", "public")
# Every state the API may show: executions use EXECUTION_STATES; tasks and actions may also be
# WAITING, DELAYED or SKIPPED.
TASK_STATES = ("IDLE", "WAITING", "RUNNING", "DELAYED", "PAUSED", "SUCCESS", "CANCELLED", "ERROR", "SKIPPED")
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
JSON_TEXT_NOTE = ("A JSON document serialized as a string, as Mistral sends its JSON-typed fields; "
                  "decode it with json.loads.")


def _timestamp(what: str, nullable: bool = False) -> fields.String:
    return fields.String(required=True, allow_none=nullable, metadata={
        "pattern": TIMESTAMP_PATTERN,
        "description": f"{what}, UTC, as `YYYY-MM-DD HH:MM:SS`" + (" (null when not set)." if nullable else "."),
    })


def _json_text(what: str, nullable: bool = False, required: bool = True) -> fields.String:
    return fields.String(required=required, allow_none=nullable, metadata={"description": f"{what}. {JSON_TEXT_NOTE}"})


def _text(what: str, nullable: bool = False, **metadata: Any) -> fields.String:
    return fields.String(required=True, allow_none=nullable, metadata={"description": what, **metadata})


def _updated_at() -> fields.String:
    return fields.String(allow_none=True, metadata={
        "pattern": TIMESTAMP_PATTERN,
        "description": "Last update time, UTC, as `YYYY-MM-DD HH:MM:SS` (null when never updated; absent from "
                       "the answer to a creation, as in Mistral)."})


def _tags() -> fields.List:
    return fields.List(fields.String(), required=True, metadata={"description": "Tags of the object."})


def _scope() -> fields.String:
    return fields.String(required=True, metadata={"enum": list(SCOPE_VALUES), "description": "Visibility."})


def _project() -> fields.String:
    return fields.String(required=True, allow_none=True, metadata={"description": "Owning project."})


class ErrorSchema(Schema):
    """Every error: HTTP status = the error's class; 4xx are the client's fault, 5xx the server's.
    The text endpoints (POST/PUT of workflows, workbooks, actions) answer only ``faultstring``, as Mistral's."""

    faultcode = fields.String(metadata={"enum": ["Client", "Server"]})
    faultstring = _text("What went wrong; for a definition, one `path: message` line per problem.")
    debuginfo = fields.String(allow_none=True, metadata={"description": "Always null."})
    errors = fields.List(fields.String(), metadata={
        "description": "Each problem as `path: message` (definition and request validation errors only)."})


class VersionLinkSchema(Schema):
    href = _text("URL of the version's root.")
    target = _text("Version name.")
    rel = _text("Link relation.")


class VersionSchema(Schema):
    id = _text("Version id, `v2.0`.")
    status = _text("`CURRENT`.")
    links = fields.List(fields.Nested(VersionLinkSchema), required=True)


class VersionsSchema(Schema):
    versions = fields.List(fields.Nested(VersionSchema), required=True)
    docs = _text("URL of the browsable API page, `/v2/docs` (an addition to Mistral's answer).")


class V2RootSchema(Schema):
    uri = _text("URL of `/v2`.")


class HealthCheckSchema(Schema):
    class Meta:
        unknown = INCLUDE

    ok = fields.Boolean(required=True)
    error = fields.String(metadata={"description": "Why the check failed."})


class LiveWorkerSchema(Schema):
    name = fields.String(required=True, metadata={"description": "The Celery worker's name."})
    pool = fields.String(allow_none=True, metadata={"description": "Its execution pool (`WORKER_POOL`)."})
    concurrency = fields.Integer(allow_none=True, metadata={"description": "Actions it runs at once."})
    last_beat_seconds_ago = fields.Float(required=True)


class WorkersCheckSchema(HealthCheckSchema):
    live = fields.List(fields.Nested(LiveWorkerSchema), metadata={
        "description": "Workers that beat within three heartbeat intervals."})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "degraded"]})
    database = fields.Nested(HealthCheckSchema, required=True)
    broker = fields.Nested(HealthCheckSchema, required=True)
    scheduler = fields.Nested(HealthCheckSchema, required=True)
    workers = fields.Nested(WorkersCheckSchema, required=True)
    overdue_timers = fields.Integer(metadata={"description": "Timers past due (when the database answers)."})


class ValidationResultSchema(Schema):
    valid = fields.Boolean(required=True)
    error = fields.String(metadata={"description": "The problems, one `path: message` line each (invalid only)."})
    errors = fields.List(fields.String(), metadata={"description": "Each problem (invalid only)."})


class WorkflowInterfaceSchema(Schema):
    class Meta:
        unknown = INCLUDE

    input = fields.List(fields.Raw(), required=True, metadata={"description": "The raw `input` declaration."})
    output = fields.List(fields.String(), required=True, metadata={"description": "Output keys."})


class WorkflowSchema(Schema):
    """A workflow as ``GET /v2/workflows[/{id}]`` shows it (``interface`` as JSON text)."""

    id = _text("Workflow id (UUID).")
    name = _text("Workflow name.")
    namespace = _text("Namespace (empty string for the default one).")
    input = _text("The input signature, e.g. `name, greeting=\"hi\"`.")
    interface: fields.Field = _json_text("`{\"input\": [...], \"output\": [...]}`")
    definition = _text("The YAML definition text.")
    checksum = _text("MD5 of the definition (null for a workbook's workflows).", nullable=True)
    tags = _tags()
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


class WorkflowSavedSchema(WorkflowSchema):
    """A workflow as its creation or update returns it: there ``interface`` is a JSON object."""

    interface = fields.Nested(WorkflowInterfaceSchema, required=True)


class WorkbookSchema(Schema):
    id = _text("Workbook id (UUID).")
    name = _text("Workbook name.")
    namespace = _text("Namespace.")
    definition = _text("The YAML definition text.")
    tags = _tags()
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


class ActionSchema(Schema):
    """A built-in action (id = its name) or an ad-hoc one defined by users; as in Mistral, is_system is
    always false and a built-in action has an empty definition and no tags or scope."""

    id = _text("The ad-hoc action's UUID, or the built-in action's name.")
    name = _text("Action name.")
    is_system = fields.Boolean(required=True, metadata={"description": "Always false, as in Mistral."})
    input = _text("The input signature, e.g. `output, delay=0` (null in an upload's answer when none).",
                  nullable=True)
    description = _text("Description.", nullable=True)
    tags = fields.List(fields.String(), required=True, allow_none=True, metadata={
        "description": "Tags (null for built-in actions)."})
    definition = _text("The YAML definition text (empty for built-in actions).", nullable=True)
    scope = fields.String(required=True, allow_none=True, metadata={
        "enum": [*SCOPE_VALUES, None], "description": "Visibility (null for built-in actions)."})
    project_id = _project()
    namespace = _text("Namespace.")
    created_at = _timestamp("Creation time", nullable=True)
    updated_at = _updated_at()


class ExecutionSchema(Schema):
    id = _text("Execution id (UUID).")
    workflow_id = _text("Id of the workflow definition.", nullable=True)
    workflow_name = _text("Workflow name.")
    workflow_namespace = _text("Workflow namespace.")
    description = _text("Description.", nullable=True)
    tags = _tags()
    params = _json_text("Execution parameters (`env`, `namespace`, `task_name`, ...)")
    task_execution_id = _text("The parent task, for a sub-workflow execution.", nullable=True)
    root_execution_id = _text("The root execution, for a sub-workflow execution.", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(EXECUTION_STATES)})
    state_info = _text("Why the execution is in its state (errors).", nullable=True)
    input = _json_text("Workflow input")
    output = _json_text("Workflow output (in lists only with `include_output=true`)")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    project_id = _project()


class ExecutionDetailSchema(ExecutionSchema):
    published_global = _json_text("Variables published to the global context")


class TaskSchema(Schema):
    id = _text("Task execution id (UUID).")
    name = _text("Task name.")
    type = fields.String(required=True, metadata={"enum": ["ACTION", "WORKFLOW"]})
    workflow_name = _text("Workflow name.")
    workflow_namespace = _text("Workflow namespace.")
    workflow_id = _text("Workflow definition id.", nullable=True)
    workflow_execution_id = _text("The execution the task belongs to.")
    tags = _tags()
    state = fields.String(required=True, metadata={"enum": list(TASK_STATES)})
    state_info = _text("Why the task is in its state (errors).", nullable=True)
    project_id = _project()
    runtime_context = _json_text("Runtime context (with-items, retries, ...)")
    published = _json_text("Variables the task published (null when it only published globally)", nullable=True)
    processed = fields.Boolean(required=True)
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    started_at = _timestamp("Start time", nullable=True)
    finished_at = _timestamp("End time", nullable=True)
    result = _json_text("The task's result (`json.dumps` of it; not in lists)")
    published_global = _json_text("Variables the task published to the global context (only when it did; "
                                  "not in lists)", required=False)


class SentRequestSchema(Schema):
    """The request an asynchronous action sent to its third party, recorded as it left."""

    method = _text("HTTP method.")
    url = _text("The URL, query included; the password of its authority and secret query parameters "
                "(`token`, `secret`, `password`, `api_key`, ...) read `***`.")
    headers = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "Every header sent, the `Mistral-*` ones included. Credentials read `***`: "
                       "`Authorization`, `Proxy-Authorization`, `Cookie`, `X-Auth-Token`, "
                       "`Mistral-Callback-Token`, any header whose name holds `token`, `secret`, `password`, "
                       "`api-key` or `session`; the capability in `Mistral-Callback-Full-URL` is masked too."})
    sent_at = _timestamp("When it was sent")


class ActionExecutionSchema(Schema):
    """As Mistral shows one: no task_name and no params; a synchronous run that is not saved answers with
    null id, times, project, accepted and tags (it was never stored). ``sent_request`` is an extension."""

    id = _text("Action execution id (UUID; null for an unsaved synchronous run).", nullable=True)
    name = _text("Action name.")
    workflow_name = _text("Workflow name (null outside workflows).", nullable=True)
    workflow_namespace = _text("Workflow namespace.")
    task_execution_id = _text("The task (null outside workflows).", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(TASK_STATES)})
    state_info = _text("Why the action is in its state (errors).", nullable=True)
    tags = fields.List(fields.String(), required=True, allow_none=True, metadata={"description": "Tags (null)."})
    description = _text("Description.", nullable=True)
    project_id = _project()
    accepted = fields.Boolean(required=True, allow_none=True, metadata={
        "description": "Whether its result was accepted."})
    input = _json_text("Action input")
    output = _json_text("Action output, `{\"result\": ...}` (null while running; in lists only with "
                        "`include_output=true`)", nullable=True, required=False)
    created_at = _timestamp("Creation time", nullable=True)
    updated_at = _timestamp("Last update time", nullable=True)
    sent_request = fields.Nested(SentRequestSchema, required=True, allow_none=True, metadata={
        "description": "Extension (not in Mistral): the HTTP request an asynchronous action sent to its third "
                       "party (`std.mistral_http`, or any async action sending through the service's HTTP "
                       "session), a JSON object rather than JSON text; null for a synchronous action, for "
                       "one that sent nothing (`std.async_noop`), and while the request is being sent."})


class EnvironmentResponseSchema(Schema):
    id = _text("Environment id (UUID).")
    name = _text("Environment name.")
    description = fields.String(allow_none=True, metadata={
        "description": "Description (absent from a creation's answer when none was given)."})
    variables = fields.String(allow_none=True, metadata={
        "description": f"The variables (null when none were given). {JSON_TEXT_NOTE}"})
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


class CronTriggerResponseSchema(Schema):
    id = _text("Trigger id (UUID).")
    name = _text("Trigger name.")
    pattern = _text("Cron pattern (5 fields, or 6 with seconds; `0 0 30 2 0`, never, for a trigger with only "
                    "a first execution time, as in Mistral).")
    workflow_name = _text("Workflow name.")
    workflow_id = _text("Workflow definition id.", nullable=True)
    workflow_input = _json_text("Input of each execution")
    workflow_params = _json_text("Parameters of each execution")
    first_execution_time = _timestamp("First firing", nullable=True)
    next_execution_time = _timestamp("Next firing", nullable=True)
    remaining_executions = fields.Integer(required=True, allow_none=True,
                                          metadata={"description": "Firings left (null: unlimited)."})
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


class ReportStatisticsSchema(Schema):
    total_tasks_count = fields.Integer(required=True)
    running_tasks_count = fields.Integer(required=True)
    success_tasks_count = fields.Integer(required=True)
    error_tasks_count = fields.Integer(required=True)
    idle_tasks_count = fields.Integer(required=True)
    paused_tasks_count = fields.Integer(required=True)
    estimated_time = fields.Integer(required=True, metadata={
        "description": "Seconds left, from up to 20 earlier successful runs (-1: no history, 0: not running)."})


class ReportActionSchema(Schema):
    id = _text("Action execution id.")
    name = _text("Action name.")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(TASK_STATES)})
    state_info = _text("State information.", nullable=True)
    accepted = fields.Boolean(required=True)
    last_heartbeat = _timestamp("Last worker heartbeat", nullable=True)


class ReportTaskSchema(Schema):
    id = _text("Task execution id.")
    name = _text("Task name.")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(TASK_STATES)})
    state_info = _text("State information.", nullable=True)
    retry_count = fields.Integer(metadata={"description": "Retries so far (when the task has a retry policy)."})
    action_executions = fields.List(fields.Nested(ReportActionSchema), required=True)
    workflow_executions = fields.List(fields.Nested(lambda: ReportWorkflowSchema()), required=True)


class ReportWorkflowSchema(Schema):
    id = _text("Execution id.")
    name = _text("Workflow name.")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(EXECUTION_STATES)})
    state_info = _text("State information.", nullable=True)
    task_executions = fields.List(fields.Nested(ReportTaskSchema), metadata={
        "description": "Its tasks (absent for a sub-workflow deeper than `max_depth`)."})


class ExecutionReportSchema(Schema):
    statistics = fields.Nested(ReportStatisticsSchema, required=True)
    root_workflow_execution = fields.Nested(ReportWorkflowSchema, metadata={
        "description": "The execution tree (absent with `statistics_only=true`)."})


def _collection(name: str, key: str, item: type[Schema], partial: bool = True,
                with_next: bool = True) -> type[Schema]:
    """A collection envelope ``{"<key>": [...], "next"?: url}``; list items may be cut by ``fields``."""
    attrs: dict[str, Any] = {
        key: fields.List(fields.Nested(item(partial=True) if partial else item), required=True),
    }
    if with_next:
        attrs["next"] = fields.String(metadata={
            "description": "URL of the next page; present only when the page is full (`limit` reached)."})
    return Schema.from_dict(attrs, name=name)


WorkflowListSchema = _collection("WorkflowListSchema", "workflows", WorkflowSchema)
WorkflowSavedListSchema = _collection("WorkflowSavedListSchema", "workflows", WorkflowSavedSchema, partial=False,
                                      with_next=False)
WorkbookListSchema = _collection("WorkbookListSchema", "workbooks", WorkbookSchema)
ActionListSchema = _collection("ActionListSchema", "actions", ActionSchema)
ActionSavedListSchema = _collection("ActionSavedListSchema", "actions", ActionSchema, partial=False, with_next=False)
ExecutionListSchema = _collection("ExecutionListSchema", "executions", ExecutionSchema)
TaskListSchema = _collection("TaskListSchema", "tasks", TaskSchema)
ActionExecutionListSchema = _collection("ActionExecutionListSchema", "action_executions", ActionExecutionSchema)
EnvironmentListSchema = _collection("EnvironmentListSchema", "environments", EnvironmentResponseSchema)
CronTriggerListSchema = _collection("CronTriggerListSchema", "cron_triggers", CronTriggerResponseSchema)


# --- Query parameters (documentation only: the resources read request.args themselves) ---

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


# --- The minimal Keystone v3 the `mistral` CLI logs in with (app/resources/security.py) ---

class KeystoneUserSchema(Schema):
    class Meta:
        unknown = INCLUDE

    name = fields.String(metadata={"description": "User name (the token's name)."})
    password = fields.String(metadata={"description": "An API token."})


class KeystonePasswordSchema(Schema):
    class Meta:
        unknown = INCLUDE

    user = fields.Nested(KeystoneUserSchema)


class KeystoneTokenIdSchema(Schema):
    class Meta:
        unknown = INCLUDE

    id = fields.String(metadata={"description": "An API token."})


class KeystoneIdentitySchema(Schema):
    class Meta:
        unknown = INCLUDE

    methods = fields.List(fields.String(metadata={"enum": ["password", "token"]}))
    password = fields.Nested(KeystonePasswordSchema)
    token = fields.Nested(KeystoneTokenIdSchema)


class KeystoneAuthSchema(Schema):
    class Meta:
        unknown = INCLUDE

    identity = fields.Nested(KeystoneIdentitySchema)


class KeystoneAuthRequestSchema(Schema):
    class Meta:
        unknown = INCLUDE

    auth = fields.Nested(KeystoneAuthSchema, required=True)


class KeystoneVersionSchema(Schema):
    version = fields.Dict(required=True, metadata={"description": "Keystone's v3 version document."})


class KeystoneTokenSchema(Schema):
    token = fields.Dict(required=True, metadata={
        "description": "The token's user, project, roles and a catalog pointing at this service's `/v2`."})
