"""Reading an execution tree (tasks, their actions, their sub-workflows) for reports and listings.

Each workflow execution costs one query per kind of child rather than one per task, so a report of a
workflow with many tasks stays cheap. Children come in creation order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypeVar

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.errors import EngineError
from app.models import ActionExecution, TaskExecution, WorkflowExecution

Row = TypeVar("Row", ActionExecution, WorkflowExecution)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")


def flag_arg(name: str, default: bool = False) -> bool:
    """A boolean query parameter; the client sends ``True``, ``true`` or an empty value."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise EngineError(f"Invalid input for field/attribute {name}. Value: '{raw}'. Expected a boolean.")


def int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise EngineError(f"Invalid input for field/attribute {name}. Value: '{raw}'. Expected an integer.") from exc


def beyond(max_depth: int, depth: int) -> bool:
    """Whether ``depth`` lies past ``max_depth`` (negative means no limit; the root is depth 0)."""
    return 0 <= max_depth < depth


class ExecutionTree:
    def __init__(self, session: Session) -> None:
        self.session = session

    def tasks(self, workflow_execution_id: str) -> list[TaskExecution]:
        return list(self.session.scalars(
            select(TaskExecution).where(TaskExecution.workflow_execution_id == workflow_execution_id)
            .order_by(TaskExecution.created_at, TaskExecution.id)
        ))

    def actions(self, workflow_execution_id: str) -> dict[str, list[ActionExecution]]:
        """The action executions of every task of a workflow execution, by task id."""
        return self._by_task(ActionExecution, workflow_execution_id)

    def children(self, workflow_execution_id: str) -> dict[str, list[WorkflowExecution]]:
        """The sub-workflow executions started by the tasks of a workflow execution, by task id."""
        return self._by_task(WorkflowExecution, workflow_execution_id)

    def children_of_task(self, task_id: str) -> list[WorkflowExecution]:
        return list(self.session.scalars(
            select(WorkflowExecution).where(WorkflowExecution.task_execution_id == task_id)
            .order_by(WorkflowExecution.created_at, WorkflowExecution.id)
        ))

    def _by_task(self, model: type[Row], workflow_execution_id: str) -> dict[str, list[Row]]:
        column: Any = model.task_execution_id
        task_ids = select(TaskExecution.id).where(TaskExecution.workflow_execution_id == workflow_execution_id)
        rows = self.session.scalars(
            select(model).where(column.in_(task_ids)).order_by(model.created_at, model.id)
        )
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            grouped[str(row.task_execution_id)].append(row)
        return grouped
