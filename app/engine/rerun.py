"""Rerunning and skipping a failed task (``PUT /v2/tasks/<id>``). Runs inside a Step."""

from __future__ import annotations

from app.engine import launch
from app.engine.bookkeeping import runtime, save, updating
from app.engine.errors import EngineError
from app.engine.states import State, check_workflow_transition
from app.engine.stepping import StepOps
from app.engine.task_runtime import ItemsProgress
from app.models import TaskExecution, WorkflowExecution


def check_rerun(step: StepOps, task: TaskExecution, reset: bool | None) -> None:
    if task.state != State.ERROR:
        raise EngineError("The current task execution must be in ERROR for rerun. "
                          "Only updating task to rerun is supported.")
    check_workflow_transition(step.wf_ex.state, State.RUNNING.value, step.wf_ex.workflow_name, step.wf_ex.id)
    if reset is None:
        raise EngineError("Reset field is mandatory to rerun task.")
    if not reset and step.spec.tasks[task.name].with_items is None:
        raise EngineError("Only with-items task has the option to not reset.")
    if not reset and step.spec.tasks[task.name].workflow:
        raise EngineError("A with-items task over a sub-workflow can only be rerun with reset.")


def reopen(step: StepOps, wf: WorkflowExecution, parent_task: TaskExecution | None) -> None:
    """A workflow (or an ancestor of one) that ended goes back to RUNNING for a rerun."""
    step.set_state(wf, State.RUNNING.value, None)
    wf.output = None
    # Its next ending must reach the parent task again (continue_parent skips a reported one).
    wf.reported_to_parent = False
    if parent_task is not None:
        step.set_state(parent_task, State.RUNNING.value, None)
        parent_task.finished_at, parent_task.processed = None, False


def _reopen_task(step: StepOps, task: TaskExecution, state: str) -> None:
    """A task that ended goes back to ``state`` (RUNNING, or WAITING for a join) as if it had not
    run: no result, no end, not followed, no transitions taken. Its runtime record is the
    caller's to trim (a rerun task starts afresh, a join keeps its arrivals)."""
    step.set_state(task, state, None)
    task.result, task.finished_at = [], None
    task.processed, task.error_handled, task.next_tasks, task.has_next = False, False, None, False


def rerun(step: StepOps, task: TaskExecution, reset: bool) -> None:
    previous = runtime(task)
    _reopen_task(step, task, State.RUNNING.value)
    save(task, previous.reset_for_rerun())
    _reopen_joins(step, task.name, task.id)
    if reset:
        _refuse_old_actions(step, task, only_failed=False)
        step.begin(task)
    else:
        _rerun_failed_items(step, task, previous.items or ItemsProgress())
    step.drain()


def _reopen_joins(step: StepOps, name: str, task_id: str) -> None:
    """Joins that failed because ``name`` never arrived wait for it again, as Mistral re-evaluates them."""
    failed = step.store.tasks(step.wf_ex.id, states=[State.ERROR.value], joins_only=True)
    for join in failed:
        record = runtime(join)
        if record.join is None or name not in record.join.missed:
            continue
        record.join.missed = [source for source in record.join.missed if source != name]
        # Mistral drops the 'not triggered' entry the failed join recorded for the rerun task.
        record.triggered_by = [entry for entry in record.triggered_by or []
                               if not (entry.get("event") == "not triggered" and entry.get("task_id") == task_id)]
        save(join, record)
        _reopen_task(step, join, State.WAITING.value)


def _refuse_old_actions(step: StepOps, task: TaskExecution, only_failed: bool) -> None:
    states = [State.ERROR.value, State.CANCELLED.value] if only_failed else None
    step.store.update_actions(task.id, {"accepted": False}, states=states)


def _rerun_failed_items(step: StepOps, task: TaskExecution, progress: ItemsProgress) -> None:
    """The failed items of the run that ended start again; the others keep their results."""
    failed = step.store.actions(task.id, states=[State.ERROR.value, State.CANCELLED.value], accepted=True)
    progress.done -= len(failed)
    with updating(task) as record:
        record.items = progress
    for old in failed:
        old.accepted = False
    launch.rerun_items(step, task, [int(old.item_index or 0) for old in failed])
    launch.finish_items_if_done(step, task)


def skip(step: StepOps, task: TaskExecution) -> None:
    if task.state != State.ERROR:
        raise EngineError("The current task execution must be in ERROR for rerun. "
                          "Only updating task to rerun is supported.")
    task.processed, task.error_handled = False, False
    with updating(task) as record:
        record.triggered_by = None
    step.complete_task(task, State.SKIPPED.value, task.result, state_info="Task was skipped.")
    step.drain()
