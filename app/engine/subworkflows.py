"""Sub-workflows: a task whose work is another workflow execution.

The child starts in the parent's transaction. When it ends, the parent's task completes in a
separate transaction (a ``ContinueParent`` message), so no transaction ever holds two workflow
locks taken bottom-up.
"""

from __future__ import annotations

from typing import Any

from app.engine import dataflow, expressions, specs
from app.engine.errors import EngineError, InputError
from app.engine.states import State
from app.engine.stepping import StepOps
from app.engine.task_runtime import WorkflowRuntime
from app.models import TaskExecution, WorkflowExecution, new_id

MAX_DEPTH = 20
# Parameters the engine sets on a child; a task's input never overrides them.
_OWN_PARAMS = ("task_execution_id", "root_execution_id", "depth", "item", "index", "namespace")


def start(step: StepOps, task: TaskExecution, child_input: dict[str, Any],
          item: dict[str, Any] | None = None) -> WorkflowExecution | None:
    """Start the child; ``item`` marks it as one item of a with-items task (see workflow_items).

    As in Mistral, what the task gives that the child does not declare as input is a parameter of
    the child (``task_name`` of a reverse workflow, ``env``, ...); a child whose input does not fit
    fails the task, which its on-error may handle. None when no child started.
    """
    parent = step.wf_ex
    # Only the engine writes a sub-workflow's depth; a root's params.depth came from its caller.
    depth = (int(parent.params.get("depth", 0)) if parent.task_execution_id else 0) + 1
    if depth > MAX_DEPTH:
        raise EngineError(f"Sub-workflows are nested more than {MAX_DEPTH} levels deep.")
    task_spec = step.spec.tasks[task.name]
    name = str(task_spec.workflow)
    if expressions.has_expression(name):
        name = str(expressions.evaluate(name, step.data(task.in_context), step.view(task)))
    definition = step.store.resolve_workflow(name, parent)
    spec_version, spec_snapshot = specs.of_definition(definition)
    child = WorkflowExecution(
        id=new_id(),
        workflow_id=definition.id,
        workflow_name=definition.name,
        workflow_namespace=definition.namespace,
        description="sub-workflow execution",
        spec=spec_snapshot,
        state=State.RUNNING.value,
        tags=list(definition.tags),
        params={
            # The child reads its root's env (see views); its own stays empty, as Mistral shows it.
            "env": {}, "namespace": definition.namespace, "task_execution_id": task.id,
            "root_execution_id": parent.root_execution_id or parent.id, "depth": depth,
            # Mistral's params show the item's index (0 outside with-items); "item" and "depth" are ours.
            "index": item["index"] if item is not None else 0,
            **({"item": item} if item is not None else {}),
            **({"notify": parent.params["notify"]} if parent.params.get("notify") else {}),
        },
        context={},
        runtime_context=WorkflowRuntime(workbook=definition.workbook_name, spec_version=spec_version).to_row(),
        task_execution_id=task.id,
        root_execution_id=parent.root_execution_id or parent.id,
        project_id=parent.project_id,
    )
    child_step = step.sub(child)
    declared = {name for name, _ in child_step.spec.input}
    extra = {key: value for key, value in child_input.items() if key not in declared and key not in _OWN_PARAMS}
    child.params = {**child.params, **extra}
    try:
        child.input = dataflow.prepare_input(child_step.spec, {k: v for k, v in child_input.items() if k in declared})
    except InputError as exc:
        step.complete_task(task, State.ERROR.value, [], state_info=str(exc))
        return None
    child.context = dataflow.evaluate_vars(child_step.spec, child.input, child_step.view())
    step.store.add(child)
    child_step.start()
    return child
