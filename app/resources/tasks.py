"""``/v2/tasks``: task executions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.engine.errors import EngineError, NotFound
from app.engine.task_runtime import TaskRuntime
from app.extensions import db, session
from app.models import ActionExecution, TaskExecution
from app.resources.common import engine, json_body
from app.resources.listing import list_rows, with_id
from app.schemas import SchemaCache, TaskListQuerySchema, TaskSchema, TaskUpdateSchema
from app.schemas.wire import JsonText

blueprint = Blueprint("tasks", __name__, url_prefix="/v2/tasks")


def _items_running(row: TaskExecution) -> bool:
    if row.state != "RUNNING":
        return False
    record = TaskRuntime.from_row(row.runtime_context)
    return (record.shown_items or record.items) is not None


def _items_so_far(row: TaskExecution) -> list[Any]:
    """A with-items task still running shows, as Mistral's does, the results of the items that ended
    (read here, once per request, rather than rewritten at every item's end)."""
    outputs = session().execute(
        select(ActionExecution.output).where(ActionExecution.task_execution_id == row.id,
                                             ActionExecution.accepted.is_(True))
        .order_by(ActionExecution.item_index, ActionExecution.created_at)).scalars()
    return [(output or {}).get("result") for output in outputs]


def _result(row: TaskExecution) -> Any:
    return _items_so_far(row) if _items_running(row) else row.result


class TaskAnswerSchema(TaskSchema):
    """A task as its single reads show it: ``result`` is read at dump time for a with-items task still
    running (the only field that needs the database)."""

    result = JsonText(required=True, null_as_text=True, of=_result,
                      metadata=TaskSchema._declared_fields["result"].metadata)


TASKS = SchemaCache(TaskSchema)
TASK_ANSWERS = SchemaCache(TaskAnswerSchema)
# Lists leave out what Mistral's lists leave out.
NOT_LISTED = ("result", "published_global")


def listed_tasks(rows: Sequence[TaskExecution], fields: Sequence[str] | None = None) -> dict[str, Any]:
    """The body of a list of tasks (without its next link)."""
    return {"tasks": TASKS.dump_many(rows, fields, NOT_LISTED)}


FIELDS = ["id", "name", "type", "workflow_name", "workflow_namespace", "workflow_id", "workflow_execution_id",
          "tags", "state", "state_info", "project_id", "runtime_context", "result", "published", "published_global",
          "processed", "created_at", "updated_at", "started_at", "finished_at", "reset", "env"]


def get_task(task_id: str) -> TaskExecution:
    row = db.session.get(TaskExecution, task_id)
    if row is None:
        raise NotFound(f"Task execution not found [id={task_id}]")
    return row


@blueprint.get("")
def list_tasks() -> ResponseReturnValue:
    rows, fields, next_link = list_rows(session(), TaskExecution, "tasks", query_schema=TaskListQuerySchema,
                                        allowed_fields=FIELDS)
    body = listed_tasks(rows, fields)
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<task_id>")
def get(task_id: str) -> ResponseReturnValue:
    wanted = [f for f in (request.args.get("fields") or "").split(",") if f]
    for field in wanted:
        if field not in FIELDS:
            raise EngineError(f"Field '{field}' does not exist.")
    return jsonify(TASK_ANSWERS.dump(get_task(task_id), with_id(wanted) if wanted else None))


@blueprint.put("/<task_id>")
def update(task_id: str) -> ResponseReturnValue:
    """Rerun a failed task (``{"state": "RUNNING", "reset": true}``) or skip it (``SKIPPED``)."""
    body = TaskUpdateSchema().load(json_body())
    task = get_task(task_id)
    for key in ("name", "workflow_name"):
        if body[key] and body[key] != getattr(task, key):
            raise EngineError(f"Task {key} does not match: {body[key]} != {getattr(task, key)}")
    updated = engine().update_task(task_id, body["state"], body["reset"], body["env"] or None)
    return jsonify(TASK_ANSWERS.dump(updated))
