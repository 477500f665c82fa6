"""Decisions of the step that need no database and no expression: pure functions over values.

The step (``runtime.Step``) evaluates the policies' values and reads the task's runtime record
(:class:`~app.engine.task_runtime.TaskRuntime`), asks these functions what follows, and applies
the answer to the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.engine.states import State
from app.engine.task_runtime import ItemsProgress, JoinProgress, TaskRuntime


@dataclass(frozen=True)
class BeforeStart:
    """What the before-start policies ask of a task about to start.

    ``pause``: stop the workflow before the task (``pause-before``), nothing else happens now;
    ``timeout``: seconds of a timeout timer to set now (None: none, or set at an earlier start);
    ``wait``: seconds to wait before the work starts (``wait-before``; None: start now).
    """
    pause: bool = False
    timeout: int | None = None
    wait: int | None = None


def before_start(runtime: TaskRuntime, pause_before: bool, timeout: int, wait_before: int) -> BeforeStart:
    """The before-start policies in Mistral's order, each applied once per run of the task (the
    record holds the flags a previous pass left: ``pause_before_done``, ``timeout_scheduled``,
    ``wait_before_done``)."""
    if pause_before and not runtime.pause_before_done:
        return BeforeStart(pause=True)
    return BeforeStart(
        timeout=timeout if timeout and not runtime.timeout_scheduled else None,
        wait=wait_before if wait_before and not runtime.wait_before_done else None,
    )


def waits_after(runtime: TaskRuntime, wait_after: float) -> bool:
    """Whether ``wait-after`` delays the completion of this run (once per run)."""
    return bool(wait_after) and not runtime.wait_after_done


def should_retry(state: str, runtime: TaskRuntime, count: int, breaks: bool, continues: bool | None) -> bool:
    """Whether a run that ended in ``state`` is run again under ``retry``.

    ``runtime.retry_no`` runs were retried already, out of ``count``; ``breaks`` is the value of
    ``break-on``, ``continues`` that of ``continue-on`` (None without one). A failed run is retried
    unless the count is spent or ``break-on`` holds; with ``continue-on`` any run is retried while
    it holds, a successful one too.
    """
    if runtime.retry_no >= count or (state == State.ERROR and breaks):
        return False
    if continues is not None:
        return continues
    return state == State.ERROR


def workflow_end(unhandled_failures: int, cancelled: list[str]) -> tuple[str, str | None]:
    """How a workflow with nothing left to run ends: ERROR while a failed task is unhandled (the
    caller words the message from those tasks), else CANCELLED naming its cancelled tasks, else
    SUCCESS."""
    if unhandled_failures:
        return State.ERROR.value, None
    if cancelled:
        return State.CANCELLED.value, "Cancelled tasks: " + ", ".join(sorted(set(cancelled)))
    return State.SUCCESS.value, None


def join_state(join: int | str, inbound: int, progress: JoinProgress) -> str:
    """``"run"``, ``"wait"`` or ``"error"`` for a join task (``join``: ``all`` or how many of its
    ``inbound`` tasks it needs) given its arrivals so far."""
    needed = inbound if join == "all" else int(join)
    if len(progress.fired) >= needed:
        return "run"
    if inbound - len(progress.missed) < needed:
        return "error"
    return "wait"


def free_places(concurrency: int, progress: ItemsProgress) -> int | None:
    """The free places of a with-items concurrency window, as Mistral shows them (``capacity``):
    the concurrency less the items started and not ended yet; None without a concurrency."""
    if not concurrency:
        return None
    return concurrency - min(concurrency, max(progress.started - progress.done, 0))


def items_to_start(concurrency: int, progress: ItemsProgress, running: int) -> int:
    """How many items to start to fill the with-items window again (after a resume): up to the
    concurrency (every item without one) less those running."""
    capacity = concurrency or progress.count
    return max(capacity - running, 0)


def items_finished(progress: ItemsProgress | None) -> bool:
    """Whether every item of a with-items task ended, so the task completes."""
    progress = progress or ItemsProgress()
    return progress.done >= progress.count
