"""Pausing, resuming and stopping a workflow execution (and its sub-workflows). Runs inside a Step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from app.engine import launch, notifications, timers
from app.engine.commands import RunTask
from app.engine.states import COMPLETED, State
from app.engine.transactions import lock_workflow
from app.models import ActionExecution, TaskExecution, WorkflowExecution, utc_now

if TYPE_CHECKING:
    from app.engine.runtime import Step

_OPEN_TASK_STATES = [State.IDLE.value, State.WAITING.value, State.RUNNING.value, State.DELAYED.value,
                     State.PAUSED.value]


def children(step: Step, states: tuple[str, ...]) -> list[WorkflowExecution]:
    """Sub-workflow executions started by this workflow's tasks, locked, in the given states."""
    task_ids = select(TaskExecution.id).where(TaskExecution.workflow_execution_id == step.wf_ex.id)
    ids = step.session.scalars(select(WorkflowExecution.id).where(
        WorkflowExecution.task_execution_id.in_(task_ids), WorkflowExecution.state.in_(states),
    )).all()
    locked = [lock_workflow(step.session, child_id) for child_id in ids]
    return [child for child in locked if child is not None]


def pause(step: Step) -> None:
    if step.wf_ex.state != State.RUNNING:
        return
    for child in children(step, (State.RUNNING.value,)):
        pause(type(step)(step.session, child, step.messages))
    step.stop(State.PAUSED.value, None)


def resume(step: Step) -> None:
    """Go on where the workflow stopped: finished tasks, idle tasks, with-items windows, backlog."""
    wf = step.wf_ex
    if wf.state not in (State.PAUSED, State.IDLE):
        return
    for child in children(step, (State.PAUSED.value,)):
        resume(type(step)(step.session, child, step.messages))
    wf.state, wf.state_info = State.RUNNING.value, None
    backlog = list(wf.runtime_context.get("backlog") or [])
    wf.runtime_context = {k: v for k, v in wf.runtime_context.items() if k != "backlog"}
    tasks = step.session.scalars(select(TaskExecution).where(
        TaskExecution.workflow_execution_id == wf.id,
        TaskExecution.processed.is_(False),
    ).order_by(TaskExecution.created_at)).all()
    for task in tasks:
        if task.state in COMPLETED:
            step.requeue(task)
        elif task.state == State.IDLE:
            task.state, task.state_info, task.started_at = State.RUNNING.value, None, utc_now()
            step.begin(task)
        elif task.state == State.RUNNING and step.spec.tasks[task.name].with_items is not None:
            launch.start_idle_items(step, task)
    step.run_commands([RunTask(item["task_name"], item["in_context"], item.get("triggered_by"))
                       for item in backlog])
    step.drain()


def cancel(step: Step, message: str | None) -> None:
    """Cancel the workflow, its unfinished tasks and actions, and its running sub-workflows."""
    wf = step.wf_ex
    for child in children(step, (State.RUNNING.value, State.PAUSED.value, State.IDLE.value)):
        cancel(type(step)(step.session, child, step.messages), message)
    open_tasks = select(TaskExecution.id).where(
        TaskExecution.workflow_execution_id == wf.id, TaskExecution.state.in_(_OPEN_TASK_STATES),
    )
    if (wf.params or {}).get("notify"):
        notifications.record_bulk_change(step.session, wf, list(step.session.scalars(select(TaskExecution).where(
            TaskExecution.id.in_(open_tasks)))), State.CANCELLED.value)
    step.session.execute(
        update(ActionExecution)
        .where(ActionExecution.task_execution_id.in_(open_tasks),
               ActionExecution.state.in_([State.RUNNING.value, State.PAUSED.value, State.IDLE.value]))
        .values(state=State.CANCELLED.value, output={"result": None}, updated_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    step.session.execute(
        update(TaskExecution)
        .where(TaskExecution.workflow_execution_id == wf.id, TaskExecution.state.in_(_OPEN_TASK_STATES))
        .values(state=State.CANCELLED.value, processed=True, finished_at=utc_now(), updated_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    step.session.expire_all()
    timers.cancel_for_workflow(step.session, wf.id)
    step.stop(State.CANCELLED.value, message)
