"""``GET /v2/executions/<id>/report``: the execution tree with task statistics (Mistral's report).

``errors_only`` keeps only ERROR tasks (the root execution is always there); ``max_depth`` limits
how deep sub-workflows are opened (the root has depth 0; a sub-workflow past the limit appears without
its tasks; negative means no limit); ``statistics_only`` leaves the tree out. The statistics count
the tasks the tree shows, sub-workflows' included.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.states import State
from app.extensions import session
from app.models import ActionExecution, TaskExecution, WorkflowExecution, utc_now
from app.resources.common import time_text
from app.resources.execution_tree import ExecutionTree, beyond, flag_arg, int_arg
from app.resources.executions import get_execution

blueprint = Blueprint("reports", __name__, url_prefix="/v2/executions")
HISTORY = 20
COUNTED_STATES = {State.RUNNING: "running", State.SUCCESS: "success", State.ERROR: "error",
                  State.IDLE: "idle", State.PAUSED: "paused"}


def _entry(row: WorkflowExecution | TaskExecution | ActionExecution, name: str) -> dict[str, Any]:
    return {"id": row.id, "name": name, "created_at": time_text(row.created_at),
            "updated_at": time_text(row.updated_at), "state": row.state, "state_info": row.state_info}


def action_entry(row: ActionExecution) -> dict[str, Any]:
    return {**_entry(row, row.name), "accepted": row.accepted, "last_heartbeat": time_text(row.last_heartbeat)}


class Report:
    """Walks the tree once, building its entries and counting the tasks it keeps."""

    def __init__(self, tree: ExecutionTree, errors_only: bool, max_depth: int) -> None:
        self.tree = tree
        self.errors_only = errors_only
        self.max_depth = max_depth
        self.counts: Counter[str] = Counter()

    def workflow(self, wf_ex: WorkflowExecution, depth: int) -> dict[str, Any]:
        entry = _entry(wf_ex, wf_ex.workflow_name)
        if beyond(self.max_depth, depth):
            return entry  # no task_executions key: the client prints such a workflow alone
        actions, children = self.tree.actions(wf_ex.id), self.tree.children(wf_ex.id)
        entry["task_executions"] = [
            self.task(task, actions.get(task.id, []), children.get(task.id, []), depth + 1)
            for task in self.tree.tasks(wf_ex.id)
            if not self.errors_only or task.state == State.ERROR
        ]
        return entry

    def task(self, task: TaskExecution, actions: list[ActionExecution], children: list[WorkflowExecution],
             depth: int) -> dict[str, Any]:
        self.counts[task.state] += 1
        entry = _entry(task, task.name)
        retry = task.runtime_context.get("retry_task_policy") or {}
        if "retry_no" in retry:
            entry["retry_count"] = retry["retry_no"]
        entry["action_executions"] = [action_entry(action) for action in actions]
        # A sub-workflow sits at its task's depth, so max_depth=0 shows it without its tasks.
        entry["workflow_executions"] = [self.workflow(child, depth) for child in children]
        return entry

    def statistics(self) -> dict[str, int]:
        stats = {f"{label}_tasks_count": self.counts[state] for state, label in COUNTED_STATES.items()}
        return {"total_tasks_count": sum(self.counts.values()), **stats}


def estimated_time(db: Session, wf_ex: WorkflowExecution, now: datetime) -> int:
    """Seconds left: the mean duration of the last successful runs of the same workflow minus the time
    spent so far; -1 without such history, 0 when the execution is not running."""
    if wf_ex.state != State.RUNNING:
        return 0
    history = db.execute(
        select(WorkflowExecution.created_at, WorkflowExecution.updated_at).where(
            WorkflowExecution.workflow_name == wf_ex.workflow_name,
            WorkflowExecution.workflow_namespace == wf_ex.workflow_namespace,
            WorkflowExecution.state == State.SUCCESS.value, WorkflowExecution.updated_at.is_not(None),
        ).order_by(WorkflowExecution.created_at.desc()).limit(HISTORY)
    ).all()
    durations = [(updated - created).total_seconds() for created, updated in history if updated is not None]
    if not durations:
        return -1
    mean = sum(durations) / len(durations)
    return round(mean - (now - wf_ex.created_at).total_seconds())


@blueprint.get("/<execution_id>/report")
def report(execution_id: str) -> ResponseReturnValue:
    errors_only, statistics_only = flag_arg("errors_only"), flag_arg("statistics_only")
    max_depth = int_arg("max_depth", -1)
    root = get_execution(execution_id)
    walk = Report(ExecutionTree(session()), errors_only, max_depth)
    tree = walk.workflow(root, 0)
    body: dict[str, Any] = {
        "statistics": {**walk.statistics(), "estimated_time": estimated_time(session(), root, utc_now())},
    }
    if not statistics_only:
        body["root_workflow_execution"] = tree
    return jsonify(body)
