"""Decisions of the step that need no database and no expression: pure functions over values.

The step (``runtime.Step``) evaluates the policies' values and reads the task's bookkeeping, asks
these functions what follows, and applies the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.engine.states import State


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


def before_start(done: dict[str, Any], pause_before: bool, timeout: int, wait_before: int) -> BeforeStart:
    """The before-start policies in Mistral's order, each applied once per run of the task (``done``
    holds the flags a previous pass left: ``pause_before_done``, ``timeout_scheduled``,
    ``wait_before_done``)."""
    if pause_before and not done.get("pause_before_done"):
        return BeforeStart(pause=True)
    return BeforeStart(
        timeout=timeout if timeout and not done.get("timeout_scheduled") else None,
        wait=wait_before if wait_before and not done.get("wait_before_done") else None,
    )


def should_retry(state: str, retry_no: int, count: int, breaks: bool, continues: bool | None) -> bool:
    """Whether a run that ended in ``state`` is run again under ``retry``.

    ``retry_no`` runs were retried already, out of ``count``; ``breaks`` is the value of
    ``break-on``, ``continues`` that of ``continue-on`` (None without one). A failed run is retried
    unless the count is spent or ``break-on`` holds; with ``continue-on`` any run is retried while
    it holds, a successful one too.
    """
    if retry_no >= count or (state == State.ERROR and breaks):
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


def free_places(concurrency: int, started: int, ended: int) -> int | None:
    """The free places of a with-items concurrency window, as Mistral shows them (``capacity``):
    the concurrency less the items started and not ended yet; None without a concurrency."""
    if not concurrency:
        return None
    return concurrency - min(concurrency, max(started - ended, 0))
