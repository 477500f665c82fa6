"""Pausing, resuming and stopping a workflow execution (and its sub-workflows). Runs inside a Step."""

from __future__ import annotations

from app.engine import launch
from app.engine.bookkeeping import updating_workflow
from app.engine.commands import RunTask
from app.engine.dispatch import ContinueParent
from app.engine.states import COMPLETED, State
from app.engine.stepping import StepOps
from app.models import WorkflowExecution, utc_now


def children(step: StepOps, states: tuple[str, ...]) -> list[WorkflowExecution]:
    """Sub-workflow executions started by this workflow's tasks, locked, in the given states."""
    return step.store.lock_children(step.wf_ex.id, states)


def pause(step: StepOps) -> None:
    if step.wf_ex.state != State.RUNNING:
        return
    for child in children(step, (State.RUNNING.value,)):
        pause(step.sub(child))
        _set_task_of(step, child, State.PAUSED.value)
    step.stop(State.PAUSED.value, None)


def _set_task_of(step: StepOps, child: WorkflowExecution, state: str) -> None:
    """The task of a paused sub-workflow is PAUSED too, as Mistral shows it; RUNNING again on resume."""
    task = step.store.task(child.task_execution_id) if child.task_execution_id else None
    if task is not None and task.state not in COMPLETED:
        step.set_state(task, state)


def resume(step: StepOps) -> None:
    """Go on where the workflow stopped: finished tasks, idle tasks, with-items windows, backlog."""
    wf = step.wf_ex
    if wf.state not in (State.PAUSED, State.IDLE):
        return
    for child in children(step, (State.PAUSED.value,)):
        resume(step.sub(child))
        _set_task_of(step, child, State.RUNNING.value)
    step.set_state(wf, State.RUNNING.value, None)
    if wf.task_execution_id:
        # A sub-workflow resumed on its own: its parent may go on too (see continue_parent).
        step.messages.append(ContinueParent(wf.id))
    with updating_workflow(wf) as record:
        backlog, record.backlog = record.backlog, []
    tasks = step.store.tasks(wf.id, processed=False)
    for task in tasks:
        if task.state in COMPLETED:
            step.requeue(task)
        elif task.state == State.IDLE:
            step.set_state(task, State.RUNNING.value, None)
            task.started_at = utc_now()
            step.begin(task)
        elif task.state == State.RUNNING and step.spec.tasks[task.name].with_items is not None:
            launch.start_idle_items(step, task)
    step.run_commands([RunTask(item["task_name"], item["in_context"], item.get("triggered_by"))
                       for item in backlog])
    step.drain()


def cancel(step: StepOps, message: str | None) -> None:
    """Cancel the workflow and its unfinished sub-workflows, with ``message`` as their state_info.

    As in Mistral, the tasks and actions already running are left alone: a running action still
    completes its task, but nothing new starts. A cancelled child completes its task in the parent
    (CANCELLED, with the child's message) through the usual report to the parent.
    """
    for child in children(step, (State.RUNNING.value, State.PAUSED.value, State.IDLE.value)):
        cancel(step.sub(child), message)
    step.store.cancel_timers(step.wf_ex.id)
    step.stop(State.CANCELLED.value, message)


def cancel_tree(step: StepOps, message: str | None) -> None:
    """Cancel the workflow, unless it is finished, and every unfinished sub-workflow below it: what is
    about to be deleted must leave nothing running (a forced delete).

    Only unfinished children are visited (a with-items task may have thousands of finished ones);
    the deletion itself removes every row of the tree, whatever its state.
    """
    for child in children(step, (State.RUNNING.value, State.PAUSED.value, State.IDLE.value)):
        cancel_tree(step.sub(child), message)
    if step.wf_ex.state not in COMPLETED:
        step.store.cancel_timers(step.wf_ex.id)
        step.stop(State.CANCELLED.value, message)
