"""The runtime records of a task and of a workflow execution, read from and written to their rows.

Engine modules change what they keep per task through :func:`updating` (or read it with
:func:`runtime`); the row's ``runtime_context`` is only ever written from a record, so its keys and
shapes are Mistral's and the engine's own bookkeeping stays under its private key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.engine import decisions
from app.engine.task_runtime import ItemsProgress, TaskRuntime, WorkflowRuntime
from app.models import TaskExecution, WorkflowExecution


def runtime(task: TaskExecution) -> TaskRuntime:
    return TaskRuntime.from_row(task.runtime_context)


def save(task: TaskExecution, record: TaskRuntime) -> None:
    row = record.to_row()
    if row != task.runtime_context:
        # JSON columns are replaced, not mutated, so the change is always written.
        task.runtime_context = row


@contextmanager
def updating(task: TaskExecution) -> Iterator[TaskRuntime]:
    """The task's record, written back to the row when the block ends without an error."""
    record = runtime(task)
    yield record
    save(task, record)


def record_progress(task: TaskExecution, progress: ItemsProgress) -> None:
    """Keep the with-items progress, and show it as Mistral does: the count of items and the free
    places of the concurrency window (None without one)."""
    with updating(task) as record:
        record.record_items(progress, decisions.free_places(record.concurrency, progress))


def workflow_runtime(wf: WorkflowExecution) -> WorkflowRuntime:
    return WorkflowRuntime.from_row(wf.runtime_context)


@contextmanager
def updating_workflow(wf: WorkflowExecution) -> Iterator[WorkflowRuntime]:
    record = workflow_runtime(wf)
    yield record
    wf.runtime_context = record.to_row()
