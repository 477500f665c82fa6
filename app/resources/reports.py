"""``GET /v2/executions/<id>/report``: the execution tree with task statistics (Mistral's report).

``errors_only`` keeps only ERROR tasks (the root execution is always there); ``max_depth`` limits
how deep sub-workflows are opened (the root has depth 0; a sub-workflow past the limit appears without
its tasks; negative means no limit); ``statistics_only`` leaves the tree out. The statistics count
the tasks the tree shows, sub-workflows' included.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import missing
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.states import State
from app.engine.task_runtime import TaskRuntime
from app.extensions import session
from app.models import ActionExecution, TaskExecution, WorkflowExecution, utc_now
from app.resources.execution_tree import ExecutionTree, beyond, flag_arg, int_arg
from app.resources.executions import get_execution
from app.schemas import ExecutionReportSchema

blueprint = Blueprint("reports", __name__, url_prefix="/v2/executions")
HISTORY = 20
COUNTED_STATES = {State.RUNNING: "running", State.SUCCESS: "success", State.ERROR: "error",
                  State.IDLE: "idle", State.PAUSED: "paused"}


@dataclass
class TaskNode:
    row: TaskExecution
    action_executions: list[ActionExecution]
    workflow_executions: list[WorkflowNode]
    retry_count: Any = missing


@dataclass
class WorkflowNode:
    row: WorkflowExecution
    # Left out for a sub-workflow deeper than max_depth: the client prints such a workflow alone.
    task_executions: list[TaskNode] | Any = missing


@dataclass
class ReportBody:
    statistics: dict[str, int]
    root_workflow_execution: WorkflowNode | Any = missing


REPORT = ExecutionReportSchema()


class Report:
    """Walks the tree once, keeping the nodes the report shows and counting their tasks."""

    def __init__(self, tree: ExecutionTree, errors_only: bool, max_depth: int) -> None:
        self.tree = tree
        self.errors_only = errors_only
        self.max_depth = max_depth
        self.counts: Counter[str] = Counter()

    def workflow(self, wf_ex: WorkflowExecution, depth: int) -> WorkflowNode:
        node = WorkflowNode(wf_ex)
        if beyond(self.max_depth, depth):
            return node
        actions, children = self.tree.actions(wf_ex.id), self.tree.children(wf_ex.id)
        node.task_executions = [
            self.task(task, actions.get(task.id, []), children.get(task.id, []), depth + 1)
            for task in self.tree.tasks(wf_ex.id)
            if not self.errors_only or task.state == State.ERROR
        ]
        return node

    def task(self, task: TaskExecution, actions: list[ActionExecution], children: list[WorkflowExecution],
             depth: int) -> TaskNode:
        self.counts[task.state] += 1
        retry_no = TaskRuntime.from_row(task.runtime_context).retry_no
        # A sub-workflow sits at its task's depth, so max_depth=0 shows it without its tasks.
        return TaskNode(task, actions, [self.workflow(child, depth) for child in children],
                        retry_no or missing)

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
    statistics = {**walk.statistics(), "estimated_time": estimated_time(session(), root, utc_now())}
    return jsonify(REPORT.dump(ReportBody(statistics, missing if statistics_only else tree)))
