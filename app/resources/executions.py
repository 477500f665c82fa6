"""``/v2/executions``: start workflows and follow them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from app.engine.errors import EngineError, NotAllowed, NotFound
from app.engine.states import COMPLETED
from app.extensions import db, session
from app.models import TaskExecution, WorkflowExecution
from app.resources.common import engine, json_body, json_text, time_text, write
from app.resources.listing import list_rows, select_fields
from app.resources.tasks import task_dict
from app.schemas import ExecutionCreateSchema, ExecutionUpdateSchema

blueprint = Blueprint("executions", __name__, url_prefix="/v2/executions")
FIELDS = ["id", "workflow_id", "workflow_name", "workflow_namespace", "description", "tags", "params",
          "task_execution_id", "root_execution_id", "source_execution_id", "state", "state_info", "input", "output",
          "created_at", "updated_at", "project_id", "published_global"]


def execution_dict(row: WorkflowExecution, with_output: bool = True) -> dict[str, Any]:
    item = {
        "id": row.id,
        "workflow_id": row.workflow_id,
        "workflow_name": row.workflow_name,
        "workflow_namespace": row.workflow_namespace,
        "description": row.description,
        "tags": row.tags,
        "params": json_text(row.params),
        "task_execution_id": row.task_execution_id,
        "root_execution_id": row.root_execution_id,
        "state": row.state,
        "state_info": row.state_info,
        "input": json_text(row.input),
        "created_at": time_text(row.created_at),
        "updated_at": time_text(row.updated_at),
        "project_id": row.project_id,
    }
    if with_output:
        item["output"] = json_text(row.output or {})
    return item


def get_execution(execution_id: str) -> WorkflowExecution:
    row = db.session.get(WorkflowExecution, execution_id)
    if row is None:
        raise NotFound(f"WorkflowExecution not found [id={execution_id}]")
    return row


@blueprint.post("")
def create() -> ResponseReturnValue:
    body = ExecutionCreateSchema().load(json_body())
    identifier = body["workflow_id"] or body["workflow_name"]
    wf_input, params, description = body["input"], body["params"], body["description"] or ""
    if body["source_execution_id"]:
        source = get_execution(body["source_execution_id"])
        identifier = identifier or source.workflow_id or source.workflow_name
        wf_input = wf_input or dict(source.input)
        params = params or {k: v for k, v in source.params.items() if k != "namespace"}
        description = f"{description} Based on the execution '{source.id}'".strip()
    wf_ex = engine().start_workflow(
        identifier, body["workflow_namespace"] or "", wf_input, params, description, body["id"]
    )
    return jsonify(execution_dict(wf_ex)), 201


@blueprint.put("/<execution_id>")
def update(execution_id: str) -> ResponseReturnValue:
    body = ExecutionUpdateSchema().load(json_body())
    env = body["params"].get("env") if body["params"] else None
    if env is not None and not isinstance(env, dict):
        raise EngineError("params.env must be a JSON object")
    wf_ex = engine().update_execution(execution_id, body["state"], body["description"], env, body["state_info"])
    return jsonify(execution_dict(wf_ex))


@blueprint.get("")
def list_executions() -> ResponseReturnValue:
    include_output = request.args.get("include_output", "").lower() == "true"
    rows, fields, next_link = list_rows(session(), WorkflowExecution, "executions",
                                        allowed_fields=FIELDS)
    items = [select_fields(execution_dict(row, include_output), fields) for row in rows]
    body: dict[str, Any] = {"executions": items}
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<execution_id>")
def get(execution_id: str) -> ResponseReturnValue:
    row = get_execution(execution_id)
    item = execution_dict(row)
    item["published_global"] = json_text(
        {k: v for k, v in row.context.items() if k not in (row.spec.get("vars") or {})}
    )
    fields = [f for f in request.args.get("fields", "").split(",") if f]
    return jsonify(select_fields(item, fields or None))


@blueprint.get("/<execution_id>/tasks")
def list_tasks(execution_id: str) -> ResponseReturnValue:
    get_execution(execution_id)
    rows, fields, next_link = list_rows(
        session(), TaskExecution, f"executions/{execution_id}/tasks",
        [TaskExecution.workflow_execution_id == execution_id],
    )
    body: dict[str, Any] = {"tasks": [select_fields(task_dict(row, False), fields) for row in rows]}
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.delete("/<execution_id>")
def delete(execution_id: str) -> ResponseReturnValue:
    row = get_execution(execution_id)
    force = request.args.get("force", "").lower() == "true"
    if row.state not in COMPLETED and not force:
        raise NotAllowed(
            "Only completed executions can be deleted. Use --force to override this. "
            f"Execution {row.id} is in {row.state} state"
        )
    write(lambda: db.session.execute(
        sql_delete(WorkflowExecution).where(WorkflowExecution.id.in_(_tree_ids(row.id)))))
    return "", 204


def _tree_ids(execution_id: str) -> list[str]:
    """The execution and every sub-workflow execution below it: Mistral deletes the whole tree, so no
    orphaned child stays listed (tasks and action executions follow by their foreign keys)."""
    ids, frontier = [execution_id], [execution_id]
    while frontier:
        tasks = select(TaskExecution.id).where(TaskExecution.workflow_execution_id.in_(frontier))
        frontier = list(session().scalars(
            select(WorkflowExecution.id).where(WorkflowExecution.task_execution_id.in_(tasks))))
        ids += frontier
    return ids
