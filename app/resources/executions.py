"""``/v2/executions``: start workflows and follow them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.engine.errors import EngineError, InputError, NotFound
from app.engine.states import COMPLETED, check_workflow_transition
from app.extensions import db, session
from app.models import TaskExecution, WorkflowExecution
from app.resources import hints
from app.resources.bodies import load_body
from app.resources.common import engine
from app.resources.listing import list_rows, load_query, with_id
from app.resources.tasks import listed_tasks
from app.schemas import (
    ExecutionCreateSchema,
    ExecutionDetailSchema,
    ExecutionListQuerySchema,
    ExecutionSchema,
    ExecutionUpdateSchema,
    SchemaCache,
    TaskListQuerySchema,
)

blueprint = Blueprint("executions", __name__, url_prefix="/v2/executions")
FIELDS = ["id", "workflow_id", "workflow_name", "workflow_namespace", "description", "tags", "params",
          "task_execution_id", "root_execution_id", "source_execution_id", "state", "state_info", "input", "output",
          "created_at", "updated_at", "project_id", "published_global"]


EXECUTIONS = SchemaCache(ExecutionSchema)
EXECUTION_DETAILS = SchemaCache(ExecutionDetailSchema)
# Lists leave the output out unless include_output asks for it.
NO_OUTPUT = ("output",)


def listed_executions(rows: Sequence[WorkflowExecution], fields: Sequence[str] | None = None,
                      include_output: bool = False) -> dict[str, Any]:
    """The body of a list of executions (without its next link)."""
    return {"executions": EXECUTIONS.dump_many(rows, fields, () if include_output else NO_OUTPUT)}


def get_execution(execution_id: str) -> WorkflowExecution:
    row = db.session.get(WorkflowExecution, execution_id)
    if row is None:
        raise NotFound(f"WorkflowExecution not found [id={execution_id}]")
    return row


@blueprint.post("")
def create() -> ResponseReturnValue:
    body = load_body(ExecutionCreateSchema(), "wf_ex", FIELDS)
    identifier = body["workflow_id"] or body["workflow_name"]
    wf_input, params, description = body["input"], body["params"], body["description"] or ""
    if body["source_execution_id"]:
        source = get_execution(body["source_execution_id"])
        identifier = identifier or source.workflow_id or source.workflow_name
        wf_input = wf_input or dict(source.input)
        params = params or {k: v for k, v in source.params.items() if k != "namespace"}
        description = f"{description} Based on the execution '{source.id}'".strip()
    namespace = body["workflow_namespace"] or ""
    try:
        wf_ex = engine().start_workflow(identifier, namespace, wf_input, params, description, body["id"])
    except NotFound as exc:
        if not str(exc).startswith("Workflow not found [") or not identifier:
            raise
        raise NotFound(hints.hinted(str(exc), hints.unknown_workflow(session(), identifier, namespace))) from exc
    except InputError as exc:
        if not str(exc).startswith("Invalid input [") or not identifier:
            raise
        hint = hints.workflow_input(session(), identifier, namespace, wf_input or {})
        raise InputError(hints.hinted(str(exc), hint)) from exc
    return jsonify(EXECUTIONS.dump(wf_ex)), 201


@blueprint.put("/<execution_id>")
def update(execution_id: str) -> ResponseReturnValue:
    body = load_body(ExecutionUpdateSchema(), "wf_ex", FIELDS)
    env = body["params"].get("env") if body["params"] else None
    if env is not None and not isinstance(env, dict):
        raise EngineError("params.env must be a JSON object")
    state, description = body["state"], body["description"]
    check_update(state, description, env)
    current = get_execution(execution_id)
    if state is not None and not changes_state(current, state):
        return jsonify(EXECUTIONS.dump(current))
    wf_ex = engine().update_execution(execution_id, state, description, env, body["state_info"])
    # Mistral's answer to a description or env change lacks what that update did not load.
    unloaded = (("params", "input", "output") if description is not None
                else ("input", "output") if state is None else ())
    return jsonify(EXECUTIONS.dump(wf_ex, exclude=unloaded))


CONTROL_STATES = ("RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED")


def check_update(state: str | None, description: str | None, env: dict[str, Any] | None) -> None:
    """Mistral's refusals, in its words, before the engine is asked."""
    if state is not None and description is not None:
        raise EngineError("The property description must be updated separately from state.")
    if env is not None and state not in (None, "RUNNING"):
        raise EngineError("The property env can only be updated when workflow execution is not running or on "
                          "resume from pause.")
    if state is not None and state not in CONTROL_STATES:
        raise EngineError(f"Cannot change state to {state}. Allowed states are: '{', '.join(CONTROL_STATES)}")


def changes_state(wf_ex: WorkflowExecution, state: str) -> bool:
    """Whether Mistral would act: forcing ERROR on a paused or completed execution does nothing, and
    SUCCESS or PAUSED from a state that cannot reach it is refused."""
    if state == "ERROR" and wf_ex.state in ("PAUSED", *COMPLETED):
        return False
    if state in ("SUCCESS", "PAUSED"):
        check_workflow_transition(wf_ex.state, state, wf_ex.workflow_name, wf_ex.id)
    return True


@blueprint.get("")
def list_executions() -> ResponseReturnValue:
    rows, fields, next_link = list_rows(session(), WorkflowExecution, "executions",
                                        query_schema=ExecutionListQuerySchema, allowed_fields=FIELDS)
    body = listed_executions(rows, fields, load_query(ExecutionListQuerySchema).get("include_output", False))
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<execution_id>")
def get(execution_id: str) -> ResponseReturnValue:
    row = get_execution(execution_id)
    fields = [f for f in request.args.get("fields", "").split(",") if f]
    for field in fields:
        # A single read narrows to stored columns only, as Mistral's does.
        if field not in FIELDS or field in ("published_global", "source_execution_id"):
            raise EngineError(f"Field '{field}' does not exist.")
    return jsonify(EXECUTION_DETAILS.dump(row, with_id(fields) if fields else None))


@blueprint.get("/<execution_id>/tasks")
def list_tasks(execution_id: str) -> ResponseReturnValue:
    get_execution(execution_id)
    rows, fields, next_link = list_rows(
        session(), TaskExecution, f"executions/{execution_id}/tasks",
        [TaskExecution.workflow_execution_id == execution_id], query_schema=TaskListQuerySchema,
    )
    body = listed_tasks(rows, fields)
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.delete("/<execution_id>")
def delete(execution_id: str) -> ResponseReturnValue:
    engine().delete_execution(execution_id, force=request.args.get("force", "").lower() == "true")
    return "", 204
