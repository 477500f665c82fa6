"""The OpenAPI 3 document of the API (``GET /v2/openapi.json``), generated, never written by hand.

Paths and methods come from the live Flask ``url_map``; what each (endpoint, method) takes and answers
comes from ``OPERATIONS`` below, which names marshmallow schemas of app/schemas/ (request bodies,
responses, query parameters); apispec's marshmallow plugin turns those into JSON Schema.

A route with no entry in ``OPERATIONS`` is left out of the document, and tests/api/test_openapi.py fails
naming it, so a new route cannot go undocumented.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema
from marshmallow import fields as ma_fields
from werkzeug.routing import Rule

from app import schemas as s
from app.resources.cron_triggers import CronTriggerSchema
from app.resources.security import OPEN_PATHS, OPEN_PREFIXES

OPENAPI_VERSION = "3.0.3"
DOCUMENT_PATH = "/v2/openapi.json"
TEXT = "text/plain"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
# Endpoints that are not part of the API (the docs page, its assets and the console are HTML for people).
IGNORED_ENDPOINTS = frozenset({"static", "apidocs.page", "apidocs.init_script", "apidocs.asset", "console"})
_CACHE_KEY = "tramontane.openapi"

blueprint = Blueprint("openapi", __name__)


@blueprint.get(DOCUMENT_PATH)
def document() -> ResponseReturnValue:
    cached: dict[str, Any] | None = current_app.extensions.get(_CACHE_KEY)
    if cached is None:
        # The url_map cannot change once the application serves requests, so one build is enough.
        cached = current_app.extensions[_CACHE_KEY] = build_document(current_app)
    return jsonify(cached)


SchemaLike = type[Schema] | Schema | Mapping[str, Any] | None


@dataclass(frozen=True)
class Operation:
    """How one endpoint (or one method of it) is documented.

    ``responses`` maps each status to its body schema (None: no body). ``body`` is a request schema,
    or ``TEXT`` for a definition uploaded as raw text. ``query`` lists schemas whose fields are query
    parameters. Path parameters come from the route itself (see ``PATH_PARAMETERS``).
    """

    summary: str
    responses: Mapping[int, SchemaLike]
    body: type[Schema] | str | None = None
    query: tuple[type[Schema], ...] = ()
    description: str = ""
    body_example: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def answers(status: int, schema: SchemaLike, *errors: int) -> dict[int, SchemaLike]:
    """A success status with its schema, and error statuses (all with the error body)."""
    result: dict[int, SchemaLike] = {status: schema}
    result.update({code: s.ErrorSchema for code in errors})
    return result


WORKFLOW_EXAMPLE = """---
version: '2.0'

hello_world:
  input:
    - name: World
  tasks:
    greet:
      action: std.echo output="Hello, <% $.name %>!"
      publish:
        greeting: <% task().result %>
"""

WORKBOOK_EXAMPLE = """---
version: '2.0'
name: greetings

workflows:
  greet:
    tasks:
      say:
        action: std.echo output="hello"
"""

ACTION_EXAMPLE = """---
version: '2.0'

greeting:
  base: std.echo
  base-input:
    output: "Hello, <% $.name %>!"
  input:
    - name
"""

DEFINITION_NOTE = ("The body is the YAML definition as raw text (`Content-Type: text/plain`), as the "
                   "`mistral` client sends it.")
JSON_FIELDS_NOTE = ("JSON-typed fields (`input`, `params`, ...) may be given as objects or as strings "
                    "holding a JSON object.")

OPERATIONS: dict[str, Operation] = {
    # --- root, health, this document, Keystone ---
    "root.versions": Operation("API versions", answers(200, s.VersionsSchema)),
    "root.v2_root": Operation("Root of the v2 API", answers(200, s.V2RootSchema)),
    "root.health": Operation(
        "Health of the service", {200: s.HealthSchema, 503: s.HealthSchema},
        description="503 when the database or the broker does not answer; `scheduler` reports the "
                    "scheduler's heartbeat, `workers` the live Celery workers, `overdue_timers` the "
                    "timers past due."),
    "metrics.scrape": Operation(
        "Prometheus metrics", answers(200, {"type": "string", "description": "Prometheus text format 0.0.4."}),
        description="Counters every process keeps in Redis (executions started and finished, actions by "
                    "outcome, callbacks by answer, sweeper re-sends, action duration and API latency "
                    "histograms), and gauges read from the database (actions waiting for a callback, timers "
                    "due and overdue, executions running).",
        extra={"responses": {200: {"content": {TEXT: {"schema": {"type": "string"}}}}}}),
    "openapi.document": Operation(
        "This OpenAPI document", answers(200, {"type": "object", "description": "An OpenAPI 3 document."})),
    "keystone.version": Operation(
        "Keystone v3 version document (for the `mistral` CLI)", answers(200, s.KeystoneVersionSchema)),
    "keystone.issue_token": Operation(
        "Log in (Keystone v3 password or token method)", answers(201, s.KeystoneTokenSchema, 400, 401),
        body=s.KeystoneAuthRequestSchema,
        description="The password is an API token; it comes back in the `X-Subject-Token` header.",
        extra={"responses": {201: {"headers": {"X-Subject-Token": {
            "description": "The API token.", "schema": {"type": "string"}}}}}}),
    # --- workflows ---
    "workflows.list_workflows": Operation(
        "List workflows", answers(200, s.WorkflowListSchema, 400, 404), query=(s.WorkflowListQuerySchema,)),
    "workflows.get": Operation(
        "Get a workflow by name or id", answers(200, s.WorkflowSchema, 400, 404),
        query=(s.NamespaceQuerySchema,)),
    "workflows.create": Operation(
        "Create workflows", answers(201, s.WorkflowSavedListSchema, 400, 403, 409), body=TEXT,
        query=(s.DefinitionUploadQuerySchema,), description=DEFINITION_NOTE, body_example=WORKFLOW_EXAMPLE),
    "workflows.update": Operation(
        "Update workflows", answers(200, s.WorkflowSavedListSchema, 400, 403, 404, 409), body=TEXT,
        query=(s.DefinitionUploadQuerySchema,), description=DEFINITION_NOTE, body_example=WORKFLOW_EXAMPLE),
    "workflows.update_one": Operation(
        "Update one workflow by id (may rename it)", answers(200, s.WorkflowSavedSchema, 400, 403, 404, 409),
        body=TEXT, query=(s.DefinitionUploadQuerySchema,), description=DEFINITION_NOTE,
        body_example=WORKFLOW_EXAMPLE),
    "workflows.validate": Operation(
        "Validate workflow definitions", answers(200, s.ValidationResultSchema, 400), body=TEXT,
        description=DEFINITION_NOTE, body_example=WORKFLOW_EXAMPLE),
    "workflows.delete": Operation(
        "Delete a workflow", answers(204, None, 400, 404, 409), query=(s.NamespaceQuerySchema,)),
    # --- workbooks ---
    "workbooks.list_workbooks": Operation(
        "List workbooks", answers(200, s.WorkbookListSchema, 400, 404), query=(s.WorkbookListQuerySchema,)),
    "workbooks.get": Operation(
        "Get a workbook", answers(200, s.WorkbookSchema, 400, 404), query=(s.NamespaceQuerySchema,)),
    "workbooks.create": Operation(
        "Create a workbook (and its workflows and actions)", answers(201, s.WorkbookSchema, 400, 403, 409),
        body=TEXT, query=(s.DefinitionUploadQuerySchema,), description=DEFINITION_NOTE,
        body_example=WORKBOOK_EXAMPLE),
    "workbooks.update": Operation(
        "Update a workbook", answers(200, s.WorkbookSchema, 400, 403, 404, 409), body=TEXT,
        query=(s.DefinitionUploadQuerySchema,), description=DEFINITION_NOTE, body_example=WORKBOOK_EXAMPLE),
    "workbooks.validate": Operation(
        "Validate a workbook definition", answers(200, s.ValidationResultSchema, 400), body=TEXT,
        description=DEFINITION_NOTE, body_example=WORKBOOK_EXAMPLE),
    "workbooks.delete": Operation(
        "Delete a workbook", answers(204, None, 400, 404, 409), query=(s.NamespaceQuerySchema,)),
    # --- actions ---
    "actions.list_actions": Operation(
        "List built-in and ad-hoc actions", answers(200, s.ActionListSchema, 400),
        query=(s.ActionListQuerySchema,)),
    "actions.get": Operation(
        "Get an action", answers(200, s.ActionSchema, 400, 404), query=(s.NamespaceQuerySchema,),
        description="The namespace may also be given as the last path segment (the client sends "
                    "`/v2/actions/<name>/` for the default one)."),
    "actions.create": Operation(
        "Create ad-hoc actions", answers(201, s.ActionSavedListSchema, 400, 403, 409), body=TEXT,
        query=(s.DefinitionUploadQuerySchema,), description=DEFINITION_NOTE, body_example=ACTION_EXAMPLE),
    "actions.update": Operation(
        "Update ad-hoc actions", answers(200, s.ActionSavedListSchema, 400, 403, 404, 409), body=TEXT,
        query=(s.DefinitionUploadQuerySchema,), description=DEFINITION_NOTE, body_example=ACTION_EXAMPLE),
    "actions.validate": Operation(
        "Validate ad-hoc action definitions", answers(200, s.ValidationResultSchema, 400), body=TEXT,
        description=DEFINITION_NOTE, body_example=ACTION_EXAMPLE),
    "actions.delete": Operation(
        "Delete an ad-hoc action", answers(204, None, 400, 404, 409), query=(s.NamespaceQuerySchema,)),
    # --- environments ---
    "environments.list_environments": Operation(
        "List environments", answers(200, s.EnvironmentListSchema, 400, 404), query=(s.EnvironmentListQuerySchema,)),
    "environments.get": Operation("Get an environment by name", answers(200, s.EnvironmentResponseSchema, 404)),
    "environments.create": Operation(
        "Create an environment", answers(201, s.EnvironmentResponseSchema, 400, 403, 409), body=s.EnvironmentSchema,
        description=JSON_FIELDS_NOTE,
        body_example={"name": "staging", "description": "Staging", "variables": {"endpoint": "http://x"}}),
    "environments.update": Operation(
        "Update an environment (`name` identifies it)", answers(200, s.EnvironmentResponseSchema, 400, 403, 404),
        body=s.EnvironmentSchema, description=JSON_FIELDS_NOTE),
    "environments.delete": Operation("Delete an environment", answers(204, None, 404)),
    # --- executions ---
    "executions.list_executions": Operation(
        "List workflow executions", answers(200, s.ExecutionListSchema, 400, 404), query=(s.ExecutionListQuerySchema,)),
    "executions.get": Operation(
        "Get a workflow execution", answers(200, s.ExecutionDetailSchema(partial=True), 400, 404),
        query=(s.FieldsQuerySchema,)),
    "executions.create": Operation(
        "Start a workflow", answers(201, s.ExecutionSchema, 400, 404, 409), body=s.ExecutionCreateSchema,
        description="`workflow_id` or `workflow_name` is required, unless `source_execution_id` names an "
                    "execution to copy. " + JSON_FIELDS_NOTE,
        body_example={"workflow_name": "hello_world", "input": {"name": "you"}, "params": {"env": {}}}),
    "executions.update": Operation(
        "Pause, resume, stop an execution or change its description or env",
        answers(200, s.ExecutionSchema, 400, 404, 409), body=s.ExecutionUpdateSchema,
        description=JSON_FIELDS_NOTE, body_example={"state": "PAUSED"}),
    "executions.delete": Operation(
        "Delete an execution (completed ones, unless `force=true`)", answers(204, None, 400, 403, 404),
        query=(s.ForceQuerySchema,)),
    "executions.list_tasks": Operation(
        "List the tasks of an execution", answers(200, s.TaskListSchema, 400, 404),
        query=(s.TaskListQuerySchema,)),
    "reports.report": Operation(
        "Report of an execution tree, with task statistics", answers(200, s.ExecutionReportSchema, 400, 404),
        query=(s.ReportQuerySchema,)),
    "sub_executions.execution_sub_executions": Operation(
        "The execution and every execution below it, depth-first",
        answers(200, s.ExecutionListSchema, 400, 404), query=(s.SubExecutionsQuerySchema,)),
    # --- tasks ---
    "tasks.list_tasks": Operation(
        "List task executions", answers(200, s.TaskListSchema, 400, 404), query=(s.TaskListQuerySchema,)),
    "tasks.get": Operation("Get a task execution (with its result)", answers(200, s.TaskSchema, 404)),
    "tasks.update": Operation(
        "Rerun a failed task or skip it", answers(200, s.TaskSchema, 400, 404, 409), body=s.TaskUpdateSchema,
        description="`{\"state\": \"RUNNING\", \"reset\": true}` reruns, `{\"state\": \"SKIPPED\"}` skips. "
                    + JSON_FIELDS_NOTE,
        body_example={"state": "RUNNING", "reset": True}),
    "sub_executions.task_sub_executions": Operation(
        "Every execution below a task, depth-first", answers(200, s.ExecutionListSchema, 400, 404),
        query=(s.SubExecutionsQuerySchema,)),
    "sub_executions.task_workflow_executions": Operation(
        "The sub-workflow executions a task started", answers(200, s.ExecutionListSchema, 400, 404),
        query=(s.ExecutionListQuerySchema,)),
    # --- action executions ---
    "action_executions.list_action_executions": Operation(
        "List action executions", answers(200, s.ActionExecutionListSchema, 400, 404),
        query=(s.ActionExecutionListQuerySchema,)),
    "action_executions.list_for_task": Operation(
        "List the action executions of a task", answers(200, s.ActionExecutionListSchema, 400, 404),
        query=(s.ActionExecutionListQuerySchema,)),
    "action_executions.get": Operation(
        "Get an action execution (with its output)", answers(200, s.ActionExecutionSchema, 404)),
    "action_executions.complete": Operation(
        "Complete or update an action execution (async actions' callback)",
        answers(200, s.ActionExecutionSchema, 400, 404, 409), body=s.ActionExecutionUpdateSchema,
        description="`state` is SUCCESS, ERROR or CANCELLED to complete the action (`output` is its result, "
                    "or its error), PAUSED or RUNNING to update it. Completing an action that is already "
                    "completed answers 409.",
        body_example={"state": "SUCCESS", "output": {"answer": 42}}),
    "action_executions.run": Operation(
        "Run an action outside any workflow", answers(201, s.ActionExecutionSchema, 400, 404, 504),
        body=s.RunActionSchema,
        description="A sync action is awaited (up to `params.timeout` seconds, else 504) unless "
                    "`params.save_result` is true without `params.run_sync`. " + JSON_FIELDS_NOTE,
        body_example={"name": "std.echo", "input": {"output": "hi"}, "params": {"save_result": True}}),
    "action_executions.delete": Operation(
        "Delete an action execution: never allowed (Mistral's default)", answers(204, None, 403, 404)),
    # --- what Tramontane does not offer (yet) ---
    "unsupported.not_offered": Operation(
        "Event triggers, code sources and dynamic actions: not supported", {404: s.ErrorSchema, 501: s.ErrorSchema},
        description="404 when the rest of the path holds a character a path cannot match (a newline)."),
    "unsupported.members": Operation("Resource sharing (members): not supported", {501: s.ErrorSchema}),
    # --- cron triggers ---
    "cron_triggers.list_triggers": Operation(
        "List cron triggers", answers(200, s.CronTriggerListSchema, 400, 404), query=(s.CronTriggerListQuerySchema,)),
    "cron_triggers.get": Operation(
        "Get a cron trigger by name or id", answers(200, s.CronTriggerResponseSchema(partial=True), 400, 404),
        query=(s.FieldsQuerySchema,)),
    "cron_triggers.create": Operation(
        "Create a cron trigger", answers(201, s.CronTriggerResponseSchema, 400, 404, 409), body=CronTriggerSchema,
        description="`pattern` and/or `first_execution_time` (`YYYY-MM-DD HH:MM`, UTC); with only the "
                    "latter the trigger fires once. " + JSON_FIELDS_NOTE,
        body_example={"name": "nightly", "workflow_name": "hello_world", "pattern": "0 3 * * *"}),
    "cron_triggers.delete": Operation("Delete a cron trigger", answers(204, None, 404)),
}


PATH_PARAMETERS = {
    "identifier": "Name or id.",
    "name": "Name.",
    "namespace": "Namespace.",
    "execution_id": "Workflow execution id.",
    "task_id": "Task execution id.",
    "action_execution_id": "Action execution id.",
    "member_id": "Member id.",
    "rest": "The rest of the path (may hold slashes).",
}

# Every component, by name; anything else is named after its class (without "Schema").
COMPONENTS: dict[str, type[Schema]] = {
    "Error": s.ErrorSchema,
    "Versions": s.VersionsSchema,
    "V2Root": s.V2RootSchema,
    "Health": s.HealthSchema,
    "ValidationResult": s.ValidationResultSchema,
    "Workflow": s.WorkflowSchema,
    "WorkflowSaved": s.WorkflowSavedSchema,
    "WorkflowList": s.WorkflowListSchema,
    "WorkflowSavedList": s.WorkflowSavedListSchema,
    "Workbook": s.WorkbookSchema,
    "WorkbookList": s.WorkbookListSchema,
    "Action": s.ActionSchema,
    "ActionList": s.ActionListSchema,
    "ActionSavedList": s.ActionSavedListSchema,
    "Execution": s.ExecutionSchema,
    "ExecutionDetail": s.ExecutionDetailSchema,
    "ExecutionList": s.ExecutionListSchema,
    "ExecutionReport": s.ExecutionReportSchema,
    "Task": s.TaskSchema,
    "TaskList": s.TaskListSchema,
    "ActionExecution": s.ActionExecutionSchema,
    "ActionExecutionList": s.ActionExecutionListSchema,
    "Environment": s.EnvironmentResponseSchema,
    "EnvironmentList": s.EnvironmentListSchema,
    "CronTrigger": s.CronTriggerResponseSchema,
    "CronTriggerList": s.CronTriggerListSchema,
    "CronTriggerCreate": CronTriggerSchema,
    "ExecutionCreate": s.ExecutionCreateSchema,
    "ExecutionUpdate": s.ExecutionUpdateSchema,
    "TaskUpdate": s.TaskUpdateSchema,
    "ActionExecutionUpdate": s.ActionExecutionUpdateSchema,
    "RunAction": s.RunActionSchema,
    "EnvironmentRequest": s.EnvironmentSchema,
    "KeystoneAuthRequest": s.KeystoneAuthRequestSchema,
    "KeystoneVersion": s.KeystoneVersionSchema,
    "KeystoneToken": s.KeystoneTokenSchema,
}
_NAMES = {schema: name for name, schema in COMPONENTS.items()}

STATUS_TEXT = {
    200: "OK", 201: "Created", 204: "No content", 400: "Invalid request, input or definition",
    401: "Authentication required (when API authentication is on)", 403: "Not allowed in this state",
    404: "Not found", 409: "Conflict (already exists, or already completed)",
    501: "Not supported by this service", 503: "Degraded", 504: "Timed out waiting for the result",
}


def operation_for(endpoint: str, method: str) -> Operation | None:
    """The documentation of one (endpoint, method): ``"endpoint METHOD"`` first, then ``endpoint``."""
    for key in (f"{endpoint} {method}", endpoint):
        if key in OPERATIONS:
            return OPERATIONS[key]
    return None


def api_routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every (rule, method) of the API, in a stable order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            yield rule, method


_ANY = re.compile(r"<any\(([^)]*)\):[^<>]+>")


def openapi_paths(rule: str) -> list[str]:
    """``/v2/actions/<name>/<path:ns>`` -> ``["/v2/actions/{name}/{ns}"]``; an ``any(a, b)`` converter
    gives one path per value."""
    match = _ANY.search(rule)
    if match is not None:
        values = [value.strip().strip("'\"") for value in match.group(1).split(",")]
        return [path for value in values
                for path in openapi_paths(rule[:match.start()] + value + rule[match.end():])]
    return [re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)]


def path_shape(path: str) -> str:
    """A path with its parameter names blanked: two paths of one shape are the same OpenAPI path."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _schema_name(schema: type[Schema] | Schema) -> str:
    resolved = resolve_schema_cls(schema)
    cls = resolved[0] if isinstance(resolved, list) else resolved
    name = _NAMES.get(cls) or cls.__name__.removesuffix("Schema")
    if isinstance(schema, Schema) and schema.partial is True:
        name += "Partial"
    return name


def _json_dict_property(self: Any, field: ma_fields.Field, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """``JsonDict`` takes an object or a string holding one (or null, where the field allows it)."""
    if not isinstance(field, s.JsonDict):
        return {}
    nullable = ret.pop("nullable", False)
    as_object: dict[str, Any] = {"type": "object", **({"nullable": True} if nullable else {})}
    return {"anyOf": [as_object, {"type": "string", "description": "JSON text of an object."}]}


def _new_spec() -> APISpec:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="Tramontane",
        version="2.0",
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": (
            "A workflow service compatible with OpenStack Mistral's REST API v2. JSON-typed fields "
            "(`input`, `output`, `params`, `published`, `result`, `variables`, ...) are sent as JSON strings, "
            "as Mistral does; timestamps are `YYYY-MM-DD HH:MM:SS` (UTC). Errors are "
            "`{\"faultcode\", \"faultstring\", \"debuginfo\"}`.")},
    )
    assert plugin.converter is not None
    plugin.converter.add_attribute_function(_json_dict_property)
    spec.components.security_scheme("token", {"type": "apiKey", "in": "header", "name": "X-Auth-Token"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in COMPONENTS.items():
        spec.components.schema(name, schema=schema)
    return spec


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _schema_ref(schema: SchemaLike) -> Any:
    return dict(schema) if isinstance(schema, Mapping) else schema


def _operation(rule: Rule, method: str, path: str, names: list[str], doc: Operation) -> dict[str, Any]:
    tag = rule.endpoint.split(".", 1)[0]
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "description": PATH_PARAMETERS.get(name, name),
         "schema": {"type": "string"}}
        for name in names
    ]
    parameters += [{"in": "query", "schema": query} for query in doc.query]
    responses: dict[str, Any] = {}
    statuses = dict(doc.responses)
    if not _is_open(rule.rule):
        statuses.setdefault(401, s.ErrorSchema)
    for status, schema in sorted(statuses.items()):
        response: dict[str, Any] = {"description": STATUS_TEXT.get(status, str(status))}
        if schema is not None:
            response["content"] = {"application/json": {"schema": _schema_ref(schema)}}
        response.update(doc.extra.get("responses", {}).get(status, {}))
        responses[str(status)] = response
    operation: dict[str, Any] = {
        "operationId": _operation_id(method, path),
        "summary": doc.summary,
        "tags": [tag],
        "responses": responses,
    }
    if doc.description:
        operation["description"] = doc.description
    if parameters:
        operation["parameters"] = parameters
    if doc.body == TEXT:
        media: dict[str, Any] = {"schema": {"type": "string", "description": "YAML definition text."}}
        if doc.body_example is not None:
            media["example"] = doc.body_example
        operation["requestBody"] = {"required": True, "content": {TEXT: media}}
    elif doc.body is not None:
        media = {"schema": doc.body}
        if doc.body_example is not None:
            media["example"] = doc.body_example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    if _is_open(rule.rule):
        operation["security"] = []
    return operation


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9-]+", "_", path).strip("_") or "root"
    suffix = "_slash" if path.endswith("/") and path != "/" else ""
    return f"{method.lower()}_{words}{suffix}"


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of every documented route of ``app``."""
    spec = _new_spec()
    canonical: dict[str, str] = {}  # path shape -> the path (and parameter names) first seen for it
    operations: dict[str, dict[str, Any]] = {}
    for rule, method in api_routes(app):
        doc = operation_for(rule.endpoint, method)
        if doc is None:
            continue
        for route_path in openapi_paths(rule.rule):
            path = canonical.setdefault(path_shape(route_path), route_path)
            names = re.findall(r"\{([^}]+)\}", path)
            operations.setdefault(path, {})[method.lower()] = _operation(rule, method, path, names, doc)
    for path, ops in operations.items():
        spec.path(path=path, operations=ops)
    document = spec.to_dict()
    document["security"] = [{"token": []}, {"bearer": []}, {}]
    return document
