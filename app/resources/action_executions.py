"""``/v2/action_executions`` (and the seed's ``/v2/action-executions``): actions and their completion."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.engine.errors import EngineError, GatewayTimeout, NotAllowed, NotFound
from app.extensions import db, session
from app.models import ActionExecution
from app.resources.bodies import load_body, request_json
from app.resources.common import engine, settings
from app.resources.listing import list_rows, load_query, with_id
from app.schemas import (
    ActionExecutionListQuerySchema,
    ActionExecutionSchema,
    ActionExecutionUpdateSchema,
    ActionStartedSchema,
    ActionUnsavedSchema,
    RunActionSchema,
    SchemaCache,
)
from app.signals import CompletionSignals

blueprint = Blueprint("action_executions", __name__)
COLLECTION = "/v2/action_executions"
COLLECTION_HYPHENATED = "/v2/action-executions"


FIELDS = ["id", "workflow_name", "workflow_namespace", "task_name", "task_execution_id", "state", "state_info",
          "tags", "name", "description", "project_id", "accepted", "input", "output", "created_at", "updated_at",
          "params"]
# Fields of ours: asked for with ``fields=`` like Mistral's (never set by a request body).
EXTENSION_FIELDS = ("sent_request",)


ACTION_EXECUTIONS = SchemaCache(ActionExecutionSchema)
STARTED = SchemaCache(ActionStartedSchema)
UNSAVED = SchemaCache(ActionUnsavedSchema)


def _listing(base_filters: list[Any], collection: str) -> ResponseReturnValue:
    rows, fields, next_link = list_rows(session(), ActionExecution, collection, base_filters,
                                        query_schema=ActionExecutionListQuerySchema, allowed_fields=FIELDS,
                                        extension_fields=EXTENSION_FIELDS)
    include_output = load_query(ActionExecutionListQuerySchema).get("include_output", False) \
        or bool(fields and "output" in fields)
    body: dict[str, Any] = {
        "action_executions": ACTION_EXECUTIONS.dump_many(rows, fields, () if include_output else ("output",))
    }
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get(COLLECTION)
def list_action_executions() -> ResponseReturnValue:
    return _listing([], "action_executions")


@blueprint.get("/v2/tasks/<task_id>/action_executions")
def list_for_task(task_id: str) -> ResponseReturnValue:
    # Mistral lists the actions of an unknown task as none at all.
    return _listing([ActionExecution.task_execution_id == task_id], f"tasks/{task_id}/action_executions")


@blueprint.get(f"{COLLECTION}/<action_execution_id>")
@blueprint.get(f"{COLLECTION_HYPHENATED}/<action_execution_id>")
def get(action_execution_id: str) -> ResponseReturnValue:
    row = db.session.get(ActionExecution, action_execution_id)
    if row is None:
        raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
    wanted = [f for f in (request.args.get("fields") or "").split(",") if f]
    for field in wanted:
        if field not in FIELDS and field not in EXTENSION_FIELDS:
            raise EngineError(f"Field '{field}' does not exist.")
    return jsonify(ACTION_EXECUTIONS.dump(row, with_id(wanted) if wanted else None))


@blueprint.route(f"{COLLECTION}/<action_execution_id>", methods=["PUT", "POST"])
@blueprint.route(f"{COLLECTION_HYPHENATED}/<action_execution_id>", methods=["PUT", "POST"])
def complete(action_execution_id: str) -> ResponseReturnValue:
    """Every completion route: PUT (the Mistral client) and POST (the seed's recipe), both spellings."""
    body = load_body(ActionExecutionUpdateSchema(), "action_ex", FIELDS)
    row = engine().complete_action(action_execution_id, body["state"], body["output"])
    return jsonify(ACTION_EXECUTIONS.dump(row))


@blueprint.post(COLLECTION)
def run() -> ResponseReturnValue:
    """Run an action outside any workflow; a sync action is awaited unless its result is saved."""
    raw = request_json()
    if isinstance(raw, dict) and not raw.get("name"):
        raise EngineError("Please provide at least action name to run action.")
    body = load_body(RunActionSchema(), "action_ex", FIELDS)
    params = body["params"]
    timeout = _run_timeout(params.get("timeout"))
    row = engine().run_action(body["name"], body["input"], params, body["workflow_namespace"] or "",
                              body["description"] or "")
    # The answer shows the execution as it was started, whatever a fast worker wrote since (the row is read
    # again after the commit, so what the start wrote is restated, not re-read).
    action_id, is_sync = row.id, row.is_sync
    started = STARTED.dump(row)
    session().rollback()
    if not is_sync or (params.get("save_result") and not params.get("run_sync")):
        return jsonify(started), 201
    if not CompletionSignals(settings().broker_url).wait(action_id, timeout):
        raise GatewayTimeout(f"Action {body['name']} did not complete within {timeout:g} seconds; "
                             f"its execution {action_id} goes on.")
    # A fresh transaction: the one open while waiting still sees the action RUNNING.
    session().rollback()
    if not params.get("save_result"):
        return jsonify(UNSAVED.dump(engine().take_unsaved_result(action_id))), 201
    finished = session().get(ActionExecution, action_id)
    if finished is None:
        raise NotFound(f"ActionExecution {action_id} was deleted while it ran")
    return jsonify(ACTION_EXECUTIONS.dump(finished)), 201


def _run_timeout(raw: Any) -> float:
    if raw is None:
        return settings().run_sync_timeout
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise EngineError("params.timeout must be a number of seconds")
    try:
        value = float(raw)
    except ValueError as exc:
        raise EngineError("params.timeout must be a number of seconds") from exc
    if not 0 < value <= 3600:
        raise EngineError("params.timeout must be between 0 and 3600 seconds")
    return value


@blueprint.delete(f"{COLLECTION}/<action_execution_id>")
def delete(action_execution_id: str) -> ResponseReturnValue:
    """Refused unless ALLOW_ACTION_EXECUTION_DELETION is on (off by default, as Mistral's setting); then
    only a completed action run outside workflows goes."""
    if not settings().allow_action_execution_deletion:
        raise NotAllowed("Action execution deletion is not allowed.")
    engine().delete_action_execution(action_execution_id)
    return "", 204
