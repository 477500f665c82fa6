"""Sub-executions: the workflow executions below an execution or a task.

- ``GET /v2/executions/<id>/executions``: the execution itself, then every descendant, depth-first;
- ``GET /v2/tasks/<id>/executions``: the same below a task (its sub-workflows are depth 0);
- ``GET /v2/tasks/<id>/workflow_executions``: a task's direct sub-workflows, with the list parameters.

``errors_only`` descends only through ERROR tasks; ``max_depth`` (negative: no limit) stops at that
depth; ``include_output`` adds each execution's ``output``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.engine.errors import EngineError
from app.engine.states import State
from app.extensions import session
from app.models import TaskExecution, WorkflowExecution
from app.resources.execution_tree import ExecutionTree, beyond, flag_arg, int_arg
from app.resources.executions import EXECUTIONS, FIELDS, NO_OUTPUT, get_execution, listed_executions
from app.resources.listing import list_rows
from app.resources.tasks import get_task
from app.schemas import ExecutionListQuerySchema

blueprint = Blueprint("sub_executions", __name__, url_prefix="/v2")


@dataclass(frozen=True)
class Walk:
    tree: ExecutionTree
    errors_only: bool
    max_depth: int

    def below_execution(self, wf_ex: WorkflowExecution, depth: int) -> list[WorkflowExecution]:
        if beyond(self.max_depth, depth):
            return []
        found = [wf_ex]
        children = self.tree.children(wf_ex.id)
        for task in self.tree.tasks(wf_ex.id):
            found += self.below_task(task, children.get(task.id, []), depth + 1)
        return found

    def below_task(self, task: TaskExecution, children: list[WorkflowExecution],
                   depth: int) -> list[WorkflowExecution]:
        if self.errors_only and task.state != State.ERROR:
            return []
        return [row for child in children for row in self.below_execution(child, depth)]


def _walk() -> Walk:
    return Walk(ExecutionTree(session()), flag_arg("errors_only"), int_arg("max_depth", -1))


def _listed(rows: list[WorkflowExecution]) -> ResponseReturnValue:
    return jsonify(listed_executions(rows, include_output=flag_arg("include_output")))


@blueprint.get("/executions/<execution_id>/executions")
def execution_sub_executions(execution_id: str) -> ResponseReturnValue:
    root = get_execution(execution_id)
    return _listed(_walk().below_execution(root, 0))


@blueprint.get("/tasks/<task_id>/executions")
def task_sub_executions(task_id: str) -> ResponseReturnValue:
    task = get_task(task_id)
    walk = _walk()
    return _listed(walk.below_task(task, walk.tree.children_of_task(task.id), 0))


@blueprint.get("/tasks/<task_id>/workflow_executions")
def task_workflow_executions(task_id: str) -> ResponseReturnValue:
    get_task(task_id)
    if "include_output" in request.args:
        raise EngineError('Unknown argument: "include_output"')
    rows, wanted, next_link = list_rows(
        session(), WorkflowExecution, f"tasks/{task_id}/workflow_executions",
        [WorkflowExecution.task_execution_id == task_id], query_schema=ExecutionListQuerySchema, allowed_fields=FIELDS,
    )
    # Mistral lists a task's sub-workflows without their input and params unless fields asks for them.
    unloaded = [key for key in ("input", "params") if not wanted or key not in wanted]
    body: dict[str, Any] = {"executions": EXECUTIONS.dump_many(rows, wanted, [*unloaded, *NO_OUTPUT])}
    if next_link:
        body["next"] = next_link
    return jsonify(body)

