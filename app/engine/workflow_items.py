"""``with-items`` over a sub-workflow: one child execution per item, ``concurrency`` at a time.

The task's runtime context holds the progress (``count``, ``done``, ``next`` item to start) and an
``epoch``: a retry or a rerun starts a new epoch, and children of an older one no longer count.
Each child carries its item as ``params["item"] = {"epoch": ..., "index": ...}``. Runs inside a Step.
"""

from __future__ import annotations

from app.engine import bookkeeping, dataflow, decisions, expressions, items, subworkflows
from app.engine.bookkeeping import runtime
from app.engine.states import COMPLETED, State
from app.engine.stepping import StepOps
from app.engine.task_runtime import ItemsProgress
from app.models import TaskExecution, WorkflowExecution, new_id


def start(step: StepOps, task: TaskExecution, count: int) -> None:
    capacity = step.policies(task).concurrency() or count
    progress = ItemsProgress(count=count, done=0, next=0, epoch=new_id()[:8])
    bookkeeping.record_progress(task, progress)
    _start_next(step, task, min(capacity, count))


def child_ended(step: StepOps, task: TaskExecution, child: WorkflowExecution) -> None:
    """One child ended: start the next item, and complete the task after the last."""
    progress = runtime(task).items or ItemsProgress()
    if (child.params.get("item") or {}).get("epoch") != progress.epoch:
        return
    progress.done += 1
    bookkeeping.record_progress(task, progress)
    if step.wf_ex.state == State.RUNNING:
        _start_next(step, task, 1)
    finish_if_done(step, task)


def refill(step: StepOps, task: TaskExecution) -> None:
    """After a resume: start items up to the concurrency again."""
    progress = runtime(task).items or ItemsProgress()
    running = [child for child in _children(step, task) if child.state not in COMPLETED]
    _start_next(step, task, decisions.items_to_start(step.policies(task).concurrency(), progress, len(running)))


def finish_if_done(step: StepOps, task: TaskExecution) -> None:
    if not decisions.items_finished(runtime(task).items):
        return
    children = sorted(_children(step, task), key=lambda child: int(child.params["item"]["index"]))
    state = items.outcome({child.state for child in children})
    failed = next((child for child in children if child.state == State.ERROR), None)
    step.complete_task(task, state, [child.output for child in children],
                       state_info="One or more actions had failed." if state == State.ERROR and failed else None)


def _children(step: StepOps, task: TaskExecution) -> list[WorkflowExecution]:
    epoch = (runtime(task).items or ItemsProgress()).epoch
    rows = step.store.child_executions(task.id)
    return [row for row in rows if (row.params.get("item") or {}).get("epoch") == epoch]


def _start_next(step: StepOps, task: TaskExecution, how_many: int) -> None:
    progress = runtime(task).items or ItemsProgress()
    first = progress.next or 0
    last = min(first + how_many, progress.count)
    if last <= first:
        return
    task_spec = step.spec.tasks[task.name]
    assert task_spec.with_items is not None
    data = step.data(task.in_context)
    view = step.view(task)
    # The list is evaluated again: only the task's inbound data is kept, not every item's input.
    values = items.expand(task_spec.with_items, data, view)
    if len(values) < last:
        step.complete_task(task, State.ERROR.value, None,
                           state_info=f"with-items now has {len(values)} items; item {last - 1} cannot start")
        return
    with expressions.shared_data():
        for index in range(first, last):
            child_input = dataflow.task_input(task_spec, {**data, **values[index]}, view)
            if subworkflows.start(step, task, child_input, item={"epoch": progress.epoch, "index": index}) is None:
                return
    progress.next = last
    bookkeeping.record_progress(task, progress)
