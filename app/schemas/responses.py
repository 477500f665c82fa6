"""What the API sends for each resource: the resources dump their rows through these schemas.

A field is always present unless its description says when it is not (``required=True`` documents
"always present", ``allow_none=True`` "may be null"). The wire rules that make an answer read as
Mistral's (JSON-typed fields as JSON text, its time format, the engine's bookkeeping left out, ...)
are the fields' own: see app/schemas/wire.py for how a field reads its row.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, fields, missing

from app.engine.definitions import input_text, interface
from app.engine.task_runtime import TaskRuntime, shown_runtime_context
from app.models import TaskExecution, WorkflowExecution
from app.schemas.requests import EXECUTION_STATES
from app.schemas.wire import Count, Flag, Getter, JsonText, Stored, Text, TextList, Timestamp, WireSchema, without

SCOPE_VALUES = ("private", "public")
# Every state the API may show: executions use EXECUTION_STATES; tasks and actions may also be
# WAITING, DELAYED or SKIPPED.
TASK_STATES = ("IDLE", "WAITING", "RUNNING", "DELAYED", "PAUSED", "SUCCESS", "CANCELLED", "ERROR", "SKIPPED")
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
JSON_TEXT_NOTE = ("A JSON document serialized as a string, as Mistral sends its JSON-typed fields; "
                  "decode it with json.loads.")
# Engine bookkeeping kept in an execution's params that Mistral's params do not have.
INTERNAL_PARAMS = ("depth", "item")
# Mistral gives a cron trigger that only has a first time this pattern, which never matches (30 February).
NEVER = "0 0 30 2 0"


def _timestamp(what: str, nullable: bool = False, of: Getter | None = None) -> Timestamp:
    return Timestamp(required=True, allow_none=nullable, of=of, metadata={
        "pattern": TIMESTAMP_PATTERN,
        "description": f"{what}, UTC, as `YYYY-MM-DD HH:MM:SS`" + (" (null when not set)." if nullable else "."),
    })


def _json_text(what: str, nullable: bool = False, required: bool = True, of: Getter | None = None,
               null_as_text: bool = False) -> JsonText:
    return JsonText(required=required, allow_none=nullable, of=of, null_as_text=null_as_text,
                    metadata={"description": f"{what}. {JSON_TEXT_NOTE}"})


def _text(what: str, nullable: bool = False, of: Getter | None = None, **metadata: Any) -> Text:
    return Text(required=True, allow_none=nullable, of=of, metadata={"description": what, **metadata})


def _state(states: tuple[str, ...]) -> Text:
    return Text(required=True, metadata={"enum": list(states)})


def _updated_at() -> Timestamp:
    return Timestamp(allow_none=True, metadata={
        "pattern": TIMESTAMP_PATTERN,
        "description": "Last update time, UTC, as `YYYY-MM-DD HH:MM:SS` (null when never updated; absent from "
                       "the answer to a creation, as in Mistral)."})


def _tags() -> TextList:
    return TextList(required=True, metadata={"description": "Tags of the object."})


def _scope() -> Text:
    return Text(required=True, metadata={"enum": list(SCOPE_VALUES), "description": "Visibility."})


def _project() -> Text:
    return Text(required=True, allow_none=True, metadata={"description": "Owning project."})


def _or_none(attribute: str) -> Getter:
    """An empty value shown as null."""
    return lambda obj: getattr(obj, attribute) or None


# Mistral writes an execution or a task again as soon as it starts it; a row written once reads the same.
def _updated_or_created(row: Any) -> Any:
    return row.updated_at or row.created_at


class WorkflowInterfaceSchema(Schema):
    class Meta:
        unknown = INCLUDE

    input = fields.List(fields.Raw(), required=True, metadata={"description": "The raw `input` declaration."})
    output = fields.List(fields.String(), required=True, metadata={"description": "Output keys."})


class WorkflowSchema(WireSchema):
    """A workflow as ``GET /v2/workflows[/{id}]`` shows it (``interface`` as JSON text)."""

    id = _text("Workflow id (UUID).")
    name = _text("Workflow name.")
    namespace = _text("Namespace (empty string for the default one).")
    input = _text("The input signature, e.g. `name, greeting=\"hi\"`.", of=lambda row: input_text(row.spec))
    interface: fields.Field = _json_text("`{\"input\": [...], \"output\": [...]}`",
                                         of=lambda row: interface(row.spec))
    definition = _text("The YAML definition text.")
    checksum = _text("MD5 of the definition (null for a workbook's workflows).", nullable=True,
                     of=_or_none("checksum"))
    tags = _tags()
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


class WorkflowSavedSchema(WorkflowSchema):
    """A workflow as its creation or update returns it: there ``interface`` is a JSON object."""

    interface = Stored(WorkflowInterfaceSchema, required=True, of=lambda row: interface(row.spec))


class WorkbookSchema(WireSchema):
    id = _text("Workbook id (UUID).")
    name = _text("Workbook name.")
    namespace = _text("Namespace.")
    definition = _text("The YAML definition text.")
    tags = _tags()
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


class ActionSchema(WireSchema):
    """A built-in action (id = its name) or an ad-hoc one defined by users; as in Mistral, is_system is
    always false and a built-in action has an empty definition and no tags or scope.

    This schema dumps built-in actions (``app.resources.actions.BuiltinAction``) as they are;
    :class:`AdhocActionSchema` dumps the rows of ad-hoc ones."""

    id = _text("The ad-hoc action's UUID, or the built-in action's name.")
    name = _text("Action name.")
    is_system = Flag(required=True, of=lambda _: False,
                     metadata={"description": "Always false, as in Mistral."})
    input = _text("The input signature, e.g. `output, delay=0` (null in an upload's answer when none).",
                  nullable=True)
    description = _text("Description.", nullable=True)
    tags = TextList(required=True, allow_none=True, metadata={"description": "Tags (null for built-in actions)."})
    definition = _text("The YAML definition text (empty for built-in actions).", nullable=True)
    scope = Text(required=True, allow_none=True, metadata={
        "enum": [*SCOPE_VALUES, None], "description": "Visibility (null for built-in actions)."})
    project_id = _project()
    namespace = _text("Namespace.")
    created_at = _timestamp("Creation time", nullable=True)
    updated_at = _updated_at()


class AdhocActionSchema(ActionSchema):
    """An ad-hoc action's row: an empty description is null."""

    description = _text("Description.", nullable=True, of=_or_none("description"))


class AdhocActionSavedSchema(AdhocActionSchema):
    """The answer to an upload shows the stored input, null when none, as Mistral's does."""

    input = _text("The input signature (null when none).", nullable=True, of=_or_none("input"))


def _execution_params(row: WorkflowExecution) -> dict[str, Any]:
    return without(row.params, *INTERNAL_PARAMS)


class ExecutionSchema(WireSchema):
    id = _text("Execution id (UUID).")
    workflow_id = _text("Id of the workflow definition.", nullable=True)
    workflow_name = _text("Workflow name.")
    workflow_namespace = _text("Workflow namespace.")
    description = _text("Description.", nullable=True)
    tags = _tags()
    params = _json_text("Execution parameters (`env`, `namespace`, `task_name`, ...)", of=_execution_params)
    task_execution_id = _text("The parent task, for a sub-workflow execution.", nullable=True)
    root_execution_id = _text("The root execution, for a sub-workflow execution.", nullable=True)
    state = _state(EXECUTION_STATES)
    state_info = _text("Why the execution is in its state (errors).", nullable=True)
    input = _json_text("Workflow input")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True, of=_updated_or_created)
    project_id = _project()
    output = _json_text("Workflow output (in lists only with `include_output=true`)",
                        of=lambda row: row.output or {})


def _published_global(row: WorkflowExecution) -> dict[str, Any]:
    return without(row.context, *(row.spec.get("vars") or {}))


class ExecutionDetailSchema(ExecutionSchema):
    published_global = _json_text("Variables published to the global context", of=_published_global)


def _task_published(row: TaskExecution) -> dict[str, Any] | None:
    """Mistral leaves ``published`` null when a task's publish clause only publishes globally."""
    if not row.published and TaskRuntime.from_row(row.runtime_context).published_global:
        return None
    return row.published


def _task_published_global(row: TaskExecution) -> Any:
    return TaskRuntime.from_row(row.runtime_context).published_global or missing


class TaskSchema(WireSchema):
    id = _text("Task execution id (UUID).")
    name = _text("Task name.")
    type = Text(required=True, metadata={"enum": ["ACTION", "WORKFLOW"]})
    workflow_name = _text("Workflow name.")
    workflow_namespace = _text("Workflow namespace.")
    workflow_id = _text("Workflow definition id.", nullable=True)
    workflow_execution_id = _text("The execution the task belongs to.")
    tags = _tags()
    state = _state(TASK_STATES)
    state_info = _text("Why the task is in its state (errors).", nullable=True)
    project_id = _project()
    runtime_context = _json_text("Runtime context (with-items, retries, ...)",
                                 of=lambda row: shown_runtime_context(row.runtime_context))
    published = _json_text("Variables the task published (null when it only published globally)", nullable=True,
                           of=_task_published)
    processed = Flag(required=True)
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True, of=_updated_or_created)
    started_at = _timestamp("Start time", nullable=True)
    finished_at = _timestamp("End time", nullable=True)
    result = _json_text("The task's result (`json.dumps` of it; not in lists)", null_as_text=True)
    published_global = JsonText(omittable=True, of=_task_published_global, metadata={"description": (
        f"Variables the task published to the global context (only when it did; not in lists). {JSON_TEXT_NOTE}")})


class SentRequestSchema(Schema):
    """The request an asynchronous action sent to its third party, recorded as it left."""

    method = fields.String(required=True, metadata={"description": "HTTP method."})
    url = fields.String(required=True, metadata={"description": (
        "The URL, query included; the password of its authority and secret query parameters "
        "(`token`, `secret`, `password`, `api_key`, ...) read `***`.")})
    headers = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "Every header sent, the `Mistral-*` ones included. Credentials read `***`: "
                       "`Authorization`, `Proxy-Authorization`, `Cookie`, `X-Auth-Token`, "
                       "`Mistral-Callback-Token`, any header whose name holds `token`, `secret`, `password`, "
                       "`api-key` or `session`; the capability in `Mistral-Callback-Full-URL` is masked too."})
    sent_at = fields.String(required=True, metadata={
        "pattern": TIMESTAMP_PATTERN, "description": "When it was sent, UTC, as `YYYY-MM-DD HH:MM:SS`."})


class ActionExecutionSchema(WireSchema):
    """As Mistral shows one: no task_name and no params; a synchronous run that is not saved answers with
    null id, times, project, accepted and tags (it was never stored). ``sent_request`` is an extension."""

    id = _text("Action execution id (UUID; null for an unsaved synchronous run).", nullable=True)
    name = _text("Action name.")
    workflow_name = _text("Workflow name (null outside workflows).", nullable=True)
    workflow_namespace = _text("Workflow namespace.")
    task_execution_id = _text("The task (null outside workflows).", nullable=True)
    state = _state(TASK_STATES)
    state_info = _text("Why the action is in its state (errors).", nullable=True)
    tags = TextList(required=True, allow_none=True, of=_or_none("tags"), metadata={"description": "Tags (null)."})
    description = _text("Description.", nullable=True)
    project_id = _project()
    accepted = Flag(required=True, allow_none=True, metadata={"description": "Whether its result was accepted."})
    input = _json_text("Action input")
    created_at = _timestamp("Creation time", nullable=True)
    updated_at = _timestamp("Last update time", nullable=True)
    sent_request = Stored(SentRequestSchema, required=True, allow_none=True, metadata={
        "description": "Extension (not in Mistral): the HTTP request an asynchronous action sent to its third "
                       "party (`std.mistral_http`, or any async action sending through the service's HTTP "
                       "session), a JSON object rather than JSON text; null for a synchronous action, for "
                       "one that sent nothing (`std.async_noop`), and while the request is being sent."})
    output = _json_text("Action output, `{\"result\": ...}` (null while running; in lists only with "
                        "`include_output=true`)", nullable=True, required=False)


def _none(_: Any) -> None:
    return None


class ActionStartedSchema(ActionExecutionSchema):
    """The answer to a run: the execution as it was started (RUNNING, never yet updated), even when a worker
    has finished it by the time the answer is written, as Mistral's answer is."""

    state = Text(required=True, of=lambda _: "RUNNING")
    state_info = Text(allow_none=True, of=_none)
    accepted = Flag(required=True, of=lambda _: False)
    updated_at = Timestamp(allow_none=True, of=_none)
    output = JsonText(allow_none=True, of=_none)


class ActionUnsavedSchema(ActionExecutionSchema):
    """A synchronous run whose result is not saved: Mistral answers an execution that was never stored."""

    id = Text(allow_none=True, of=_none)
    created_at = Timestamp(allow_none=True, of=_none)
    updated_at = Timestamp(allow_none=True, of=_none)
    project_id = Text(allow_none=True, of=_none)
    accepted = Flag(allow_none=True, of=_none)
    tags = TextList(allow_none=True, of=_none)
    description = Text(allow_none=True, of=_or_none("description"))


class EnvironmentResponseSchema(WireSchema):
    id = _text("Environment id (UUID).")
    name = _text("Environment name.")
    description = Text(allow_none=True, of=_or_none("description"), metadata={
        "description": "Description (absent from a creation's answer when none was given)."})
    variables = JsonText(allow_none=True, metadata={
        "description": f"The variables (null when none were given). {JSON_TEXT_NOTE}"})
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


class CronTriggerResponseSchema(WireSchema):
    id = _text("Trigger id (UUID).")
    name = _text("Trigger name.")
    pattern = _text("Cron pattern (5 fields, or 6 with seconds; `0 0 30 2 0`, never, for a trigger with only "
                    "a first execution time, as in Mistral).", of=lambda row: row.pattern or NEVER)
    workflow_name = _text("Workflow name.")
    workflow_id = _text("Workflow definition id.", nullable=True)
    workflow_input = _json_text("Input of each execution")
    workflow_params = _json_text("Parameters of each execution")
    first_execution_time = _timestamp("First firing", nullable=True)
    next_execution_time = _timestamp("Next firing", nullable=True)
    remaining_executions = Count(required=True, allow_none=True,
                                 metadata={"description": "Firings left (null: unlimited)."})
    scope = _scope()
    project_id = _project()
    created_at = _timestamp("Creation time")
    updated_at = _updated_at()


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
