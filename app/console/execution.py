"""One execution: its data, graph, timeline and tasks, and the recovery operations.

Reads use the API's own representation of a task (its response schema) where the API shows computed values;
recovery goes through the engine operations of ``PUT /v2/executions/<id>`` and ``PUT /v2/tasks/<id>``
with the same refusals.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import load_only

from app.console import graph, graphs
from app.console.forms import FormErrors, json_value
from app.console.present import duration
from app.console.session import flash
from app.console.web import confirmation, redirect_to, render, route, url
from app.engine.bookkeeping import runtime
from app.engine.errors import EngineError, NotFound
from app.engine.states import COMPLETED
from app.extensions import db, session
from app.models import ActionExecution, TaskExecution, WorkflowDefinition, WorkflowExecution
from app.resources.common import engine
from app.resources.executions import changes_state, check_update, get_execution
from app.resources.tasks import TASK_ANSWERS
from app.schemas import INTERNAL_PARAMS

TASK_COLUMNS = (TaskExecution.id, TaskExecution.name, TaskExecution.state, TaskExecution.state_info,
                TaskExecution.type, TaskExecution.created_at, TaskExecution.updated_at, TaskExecution.started_at,
                TaskExecution.finished_at, TaskExecution.runtime_context, TaskExecution.workflow_execution_id)
ACTION_COLUMNS = (ActionExecution.id, ActionExecution.name, ActionExecution.state, ActionExecution.task_execution_id,
                  ActionExecution.created_at, ActionExecution.updated_at, ActionExecution.item_index,
                  ActionExecution.is_sync, ActionExecution.state_info)
# What the task panel takes from the API's representation of a task.
SHOWN_TASK_FIELDS = ("published", "result")
# A with-items task may run thousands of actions: the panel shows the first ones.
ACTIONS_SHOWN = 100
# The operations of the recovery buttons: (target state, what the button says, the question it asks).
OPERATIONS = {"pause": ("PAUSED", "Pause", "Pause this execution? Running actions finish; no new task starts."),
              "resume": ("RUNNING", "Resume", "Resume this execution?"),
              "cancel": ("CANCELLED", "Cancel", "Cancel this execution? It cannot be resumed afterwards.")}


def _tasks(execution_id: str) -> list[TaskExecution]:
    query = (select(TaskExecution).options(load_only(*TASK_COLUMNS))
             .where(TaskExecution.workflow_execution_id == execution_id)
             .order_by(TaskExecution.created_at, TaskExecution.id))
    return list(session().scalars(query))


def _states(tasks: list[TaskExecution]) -> dict[str, str]:
    return graph.latest_states({"name": t.name, "state": t.state, "created_at": t.created_at.isoformat()}
                               for t in tasks)


def _breadcrumb(wf_ex: WorkflowExecution) -> list[dict[str, Any]]:
    """From the root execution down to this one's parent: each with the task that started the next."""
    trail: list[dict[str, Any]] = []
    current = wf_ex
    while current.task_execution_id and len(trail) < 50:
        task = db.session.get(TaskExecution, current.task_execution_id)
        parent = db.session.get(WorkflowExecution, task.workflow_execution_id) if task else None
        if task is None or parent is None:
            break
        trail.insert(0, {"id": parent.id, "workflow_name": parent.workflow_name, "task": task.name})
        current = parent
    return trail


def _progress(task: TaskExecution) -> dict[str, int] | None:
    """A with-items task's items: how many there are and how many ended."""
    record = runtime(task)
    if record.shown_items is None:
        return None
    return {"count": record.shown_items.count, "done": record.items.done if record.items else 0}


def _retries(task: TaskExecution) -> int:
    return runtime(task).retry_no


@route("/executions/<execution_id>")
def execution(execution_id: str) -> Response:
    wf_ex = get_execution(execution_id)
    tasks = _tasks(wf_ex.id)
    states = _states(tasks)
    task_ids = [task.id for task in tasks]
    actions = list(session().scalars(
        select(ActionExecution).options(load_only(*ACTION_COLUMNS))
        .where(ActionExecution.task_execution_id.in_(task_ids)).order_by(ActionExecution.created_at)
    )) if task_ids else []
    children = list(session().scalars(
        select(WorkflowExecution).options(load_only(WorkflowExecution.id, WorkflowExecution.workflow_name,
                                                    WorkflowExecution.state, WorkflowExecution.task_execution_id))
        .where(WorkflowExecution.task_execution_id.in_(task_ids)))) if task_ids else []
    # Failures first: the tasks in ERROR, then the others in the order they started.
    failed = [task for task in tasks if task.state == "ERROR"]
    ended = (wf_ex.updated_at or wf_ex.created_at) if wf_ex.state in COMPLETED else None

    def link(task_name: str) -> str:
        return url("execution_task", execution_id=wf_ex.id, name=task_name)

    live = wf_ex.state not in COMPLETED
    states_url = url("execution_states", execution_id=wf_ex.id) if live else None

    return render(
        "console/execution.html", section="executions", title=f"{wf_ex.workflow_name} {wf_ex.id[:8]}",
        execution=wf_ex, tasks=tasks, failed=failed, children={c.task_execution_id: c for c in children},
        breadcrumb=_breadcrumb(wf_ex), graph=graphs.execution_svg(wf_ex, states, link, states_url),
        timeline=graphs.timeline(tasks, actions), duration=duration(wf_ex.created_at, ended),
        operations=_operations(wf_ex), live=live, params=_shown_params(wf_ex),
        # The execution keeps the spec it started with; its definition may be gone since.
        workflow_exists=bool(wf_ex.workflow_id) and db.session.get(WorkflowDefinition, wf_ex.workflow_id) is not None,
        retries=_retries, progress=_progress, task_duration=lambda t: duration(t.started_at or t.created_at,
                                                                                t.finished_at),
    )


def _shown_params(wf_ex: WorkflowExecution) -> dict[str, Any]:
    return {key: value for key, value in wf_ex.params.items() if key not in INTERNAL_PARAMS}


def _operations(wf_ex: WorkflowExecution) -> list[tuple[str, str, str]]:
    names = {"RUNNING": ("pause", "cancel"), "IDLE": ("cancel",), "PAUSED": ("resume", "cancel")}
    return [(name, OPERATIONS[name][1], OPERATIONS[name][2]) for name in names.get(wf_ex.state, ())]


@route("/executions/<execution_id>/states")
def execution_states(execution_id: str) -> Response:
    """What the graph polls: the latest state of each task, and the execution's."""
    row = session().scalars(select(WorkflowExecution).options(load_only(WorkflowExecution.state))
                            .where(WorkflowExecution.id == execution_id)).first()
    if row is None:
        return Response(json.dumps({"error": "not found"}), status=404, mimetype="application/json")
    payload = graph.states_payload(_states(_tasks(execution_id)), row.state)
    return jsonify({**payload, "state": row.state})


@route("/executions/<execution_id>/tasks/<path:name>", endpoint="execution_task")
def task(execution_id: str, name: str) -> Response:
    """Every run of one task of an execution (a loop or a rerun runs it again), the latest first."""
    wf_ex = get_execution(execution_id)
    rows = list(session().scalars(select(TaskExecution).where(
        TaskExecution.workflow_execution_id == execution_id, TaskExecution.name == name)
        .order_by(TaskExecution.created_at.desc(), TaskExecution.id.desc())))
    runs = []
    for row in rows:
        shown = TASK_ANSWERS.dump(row, only=SHOWN_TASK_FIELDS)
        actions = list(session().scalars(select(ActionExecution).where(ActionExecution.task_execution_id == row.id)
                                         .order_by(ActionExecution.item_index, ActionExecution.created_at)
                                         .limit(ACTIONS_SHOWN + 1)))
        children = list(session().scalars(
            select(WorkflowExecution).options(load_only(WorkflowExecution.id, WorkflowExecution.workflow_name,
                                                        WorkflowExecution.state))
            .where(WorkflowExecution.task_execution_id == row.id)))
        runs.append({"row": row, "published": _loads(shown.get("published")), "result": _loads(shown.get("result")),
                     "retries": _retries(row), "progress": _progress(row), "actions": actions[:ACTIONS_SHOWN],
                     "more_actions": len(actions) > ACTIONS_SHOWN, "children": children})
    template = "console/_task.html" if request.args.get("fragment") else "console/task.html"
    return render(template, section="executions", title=f"{name} · {wf_ex.workflow_name}", execution=wf_ex,
                  name=name, runs=runs)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@route("/executions/<execution_id>/<operation>", methods=("POST",), endpoint="execution_control")
def control(execution_id: str, operation: str) -> Response:
    """Pause, resume or cancel, as ``PUT /v2/executions/<id>`` with that state does."""
    if operation not in OPERATIONS:
        raise EngineError(f"Unknown operation {operation!r}: pause, resume or cancel.")
    state, label, question = OPERATIONS[operation]
    back = url("execution", execution_id=execution_id)
    asked = confirmation(question, back)
    if asked is not None:
        return asked
    try:
        check_update(state, None, None)
        current = get_execution(execution_id)
        if changes_state(current, state):
            current = engine().update_execution(execution_id, state, None, None, None)
        flash("ok", f"{label}: the execution is now {current.state}.")
    except EngineError as exc:
        session().rollback()
        flash("error", f"{label} refused ({exc.http_status}): {exc}")
    return redirect_to("execution", execution_id=execution_id)


@route("/tasks/<task_id>/<operation>", methods=("POST",), endpoint="task_control")
def task_control(task_id: str, operation: str) -> Response:
    """Rerun (with reset or not, with a new env) or skip a failed task, as ``PUT /v2/tasks/<id>`` does."""
    row = db.session.get(TaskExecution, task_id)
    if row is None:
        raise NotFound(f"Task execution not found [id={task_id}]")
    if operation not in ("rerun", "skip"):
        raise EngineError(f"Unknown operation {operation!r}: rerun or skip.")
    back = url("execution", execution_id=row.workflow_execution_id)
    errors = FormErrors()
    env = json_value(errors, "env", "The env", dict, None)
    if errors:
        flash("error", errors["env"])
        return redirect_to("execution", execution_id=row.workflow_execution_id)
    reset = request.form.get("reset") == "1"
    question = (f"Rerun the task {row.name!r}{' from the start (reset)' if reset else ' (failed items only)'}?"
                if operation == "rerun" else f"Skip the task {row.name!r}? The workflow goes on as if it succeeded.")
    asked = confirmation(question, back)
    if asked is not None:
        return asked
    try:
        if operation == "rerun":
            engine().update_task(task_id, "RUNNING", reset, env or None)
            flash("ok", f"The task {row.name!r} runs again.")
        else:
            engine().update_task(task_id, "SKIPPED", None, env or None)
            flash("ok", f"The task {row.name!r} was skipped.")
    except EngineError as exc:
        session().rollback()
        flash("error", f"{'Rerun' if operation == 'rerun' else 'Skip'} refused ({exc.http_status}): {exc}")
    return Response(status=303, headers={"Location": back})
