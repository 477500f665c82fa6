"""``/v2/tasks``: task executions."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.engine.bookkeeping import private, public_runtime_context
from app.engine.errors import EngineError, NotFound
from app.extensions import db, session
from app.models import ActionExecution, TaskExecution
from app.resources.common import engine, json_body, json_text, time_text
from app.resources.listing import list_rows, select_fields
from app.schemas import TaskUpdateSchema

blueprint = Blueprint("tasks", __name__, url_prefix="/v2/tasks")


def _items_running(row: TaskExecution) -> bool:
    return row.state == "RUNNING" and "with_items" in (row.runtime_context or {})


def _items_so_far(row: TaskExecution) -> list[Any]:
    """A with-items task still running shows, as Mistral's does, the results of the items that ended
    (read here, once per request, rather than rewritten at every item's end)."""
    outputs = session().execute(
        select(ActionExecution.output).where(ActionExecution.task_execution_id == row.id,
                                             ActionExecution.accepted.is_(True))
        .order_by(ActionExecution.item_index, ActionExecution.created_at)).scalars()
    return [(output or {}).get("result") for output in outputs]


def task_dict(row: TaskExecution, with_result: bool = True) -> dict[str, Any]:
    item = {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "workflow_name": row.workflow_name,
        "workflow_namespace": row.workflow_namespace,
        "workflow_id": row.workflow_id,
        "workflow_execution_id": row.workflow_execution_id,
        "tags": row.tags,
        "state": row.state,
        "state_info": row.state_info,
        "project_id": row.project_id,
        "runtime_context": json_text(public_runtime_context(row.runtime_context)),
        "published": _published(row),
        "processed": row.processed,
        "created_at": time_text(row.created_at),
        # Mistral writes a task again as soon as it starts it; a row written once reads the same.
        "updated_at": time_text(row.updated_at or row.created_at),
        "started_at": time_text(row.started_at),
        "finished_at": time_text(row.finished_at),
    }
    if with_result:
        item["result"] = json.dumps(_items_so_far(row) if _items_running(row) else row.result)
        published_global = private(row).get("published_global")
        if published_global:
            item["published_global"] = json_text(published_global)
    return item


FIELDS = ["id", "name", "type", "workflow_name", "workflow_namespace", "workflow_id", "workflow_execution_id",
          "tags", "state", "state_info", "project_id", "runtime_context", "result", "published", "published_global",
          "processed", "created_at", "updated_at", "started_at", "finished_at", "reset", "env"]


def _published(row: TaskExecution) -> str | None:
    """Mistral leaves ``published`` null when a task's publish clause only publishes globally."""
    if not row.published and private(row).get("published_global"):
        return None
    return json_text(row.published)


def get_task(task_id: str) -> TaskExecution:
    row = db.session.get(TaskExecution, task_id)
    if row is None:
        raise NotFound(f"Task execution not found [id={task_id}]")
    return row


@blueprint.get("")
def list_tasks() -> ResponseReturnValue:
    rows, fields, next_link = list_rows(session(), TaskExecution, "tasks", allowed_fields=FIELDS)
    body: dict[str, Any] = {"tasks": [select_fields(task_dict(row, False), fields) for row in rows]}
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<task_id>")
def get(task_id: str) -> ResponseReturnValue:
    wanted = [f for f in (request.args.get("fields") or "").split(",") if f]
    for field in wanted:
        if field not in FIELDS:
            raise EngineError(f"Field '{field}' does not exist.")
    return jsonify(select_fields(task_dict(get_task(task_id)), wanted or None))


@blueprint.put("/<task_id>")
def update(task_id: str) -> ResponseReturnValue:
    """Rerun a failed task (``{"state": "RUNNING", "reset": true}``) or skip it (``SKIPPED``)."""
    body = TaskUpdateSchema().load(json_body())
    task = get_task(task_id)
    for key in ("name", "workflow_name"):
        if body[key] and body[key] != getattr(task, key):
            raise EngineError(f"Task {key} does not match: {body[key]} != {getattr(task, key)}")
    updated = engine().update_task(task_id, body["state"], body["reset"], body["env"] or None)
    return jsonify(task_dict(updated))
