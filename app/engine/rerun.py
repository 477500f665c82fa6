"""Rerunning and skipping a failed task (``PUT /v2/tasks/<id>``). Runs inside a Step."""

from __future__ import annotations

from typing import Any

from app.engine import launch
from app.engine.bookkeeping import PRIVATE, private, set_private
from app.engine.errors import EngineError
from app.engine.states import State, check_workflow_transition
from app.engine.stepping import StepOps
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


def reset_for_rerun(step: StepOps, task: TaskExecution, state: str) -> None:
    """A task that ended goes back to ``state`` (RUNNING, or WAITING for a join) as if it had not
    run: no result, no end, not followed, no transitions taken. Its runtime context is the
    caller's to trim (what a rerun keeps differs for a task and for a join)."""
    step.set_state(task, state, None)
    task.result, task.finished_at = [], None
    task.processed, task.error_handled, task.next_tasks, task.has_next = False, False, None, False


def rerun(step: StepOps, task: TaskExecution, reset: bool) -> None:
    previous = private(task)
    reset_for_rerun(step, task, State.RUNNING.value)
    # A rerun is not triggered by anything (Mistral drops the entry); the policies start afresh.
    task.runtime_context = {key: value for key, value in task.runtime_context.items()
                            if key not in ("triggered_by", "retry_task_policy", PRIVATE)}
    _reopen_joins(step, task.name, task.id)
    if reset:
        _refuse_old_actions(step, task, only_failed=False)
        step.begin(task)
    else:
        _rerun_failed_items(step, task, previous)
    step.drain()


def _reopen_joins(step: StepOps, name: str, task_id: str) -> None:
    """Joins that failed because ``name`` never arrived wait for it again, as Mistral re-evaluates them."""
    failed = step.store.tasks(step.wf_ex.id, states=[State.ERROR.value], joins_only=True)
    for join in failed:
        progress = dict(private(join).get("join") or {})
        if name not in (progress.get("missed") or []):
            continue
        progress["missed"] = [source for source in progress["missed"] if source != name]
        set_private(join, join=progress)
        # Mistral drops the 'not triggered' entry the failed join recorded for the rerun task.
        join.runtime_context = {**join.runtime_context, "triggered_by": [
            entry for entry in join.runtime_context.get("triggered_by") or []
            if not (entry.get("event") == "not triggered" and entry.get("task_id") == task_id)]}
        reset_for_rerun(step, join, State.WAITING.value)


def _refuse_old_actions(step: StepOps, task: TaskExecution, only_failed: bool) -> None:
    states = [State.ERROR.value, State.CANCELLED.value] if only_failed else None
    step.store.update_actions(task.id, {"accepted": False}, states=states)


def _rerun_failed_items(step: StepOps, task: TaskExecution, previous: dict[str, Any]) -> None:
    failed = step.store.actions(task.id, states=[State.ERROR.value, State.CANCELLED.value], accepted=True)
    progress = dict(previous.get("with_items") or {})
    progress["done"] = int(progress.get("done", 0)) - len(failed)
    set_private(task, with_items=progress)
    for old in failed:
        old.accepted = False
    launch.rerun_items(step, task, [int(old.item_index or 0) for old in failed])
    launch.finish_items_if_done(step, task)


def skip(step: StepOps, task: TaskExecution) -> None:
    if task.state != State.ERROR:
        raise EngineError("The current task execution must be in ERROR for rerun. "
                          "Only updating task to rerun is supported.")
    task.processed, task.error_handled = False, False
    task.runtime_context = {key: value for key, value in task.runtime_context.items() if key != "triggered_by"}
    step.complete_task(task, State.SKIPPED.value, task.result, state_info="Task was skipped.")
    step.drain()
