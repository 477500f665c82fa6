"""The engine's own bookkeeping of a task, kept inside its runtime context but out of sight.

Mistral shows a task's ``runtime_context`` (retry counts, with-items capacity, ``triggered_by``)
through the API and ``task()``; the engine also needs progress counters, flags and pending results
that Mistral does not have. Those live under one private key that every reader leaves out.
"""

from __future__ import annotations

from typing import Any

from app.engine import decisions
from app.models import TaskExecution

PRIVATE = "__engine"


def private(task: TaskExecution) -> dict[str, Any]:
    value = (task.runtime_context or {}).get(PRIVATE)
    return value if isinstance(value, dict) else {}


def public_runtime_context(runtime_context: dict[str, Any] | None) -> dict[str, Any]:
    """A task's runtime context as the API and ``task()`` show it."""
    return {key: value for key, value in (runtime_context or {}).items() if key != PRIVATE}


def set_runtime(task: TaskExecution, **values: Any) -> None:
    # JSON columns are replaced, not mutated, so the change is always written.
    task.runtime_context = {**task.runtime_context, **values}


def set_private(task: TaskExecution, **values: Any) -> None:
    """The engine's own bookkeeping of a task, kept out of the runtime context Mistral shows."""
    set_runtime(task, **{PRIVATE: {**private(task), **values}})


def record_progress(task: TaskExecution, progress: dict[str, Any]) -> None:
    """Keep the with-items progress, and show it as Mistral does: the count of items and the free
    places of the concurrency window (None without one)."""
    set_private(task, with_items=progress)
    concurrency = int(task.runtime_context.get("concurrency") or 0)
    count, done = int(progress.get("count", 0)), int(progress.get("done", 0))
    # The free places of the window: the items started (all of them before items were made lazily)
    # less those that ended.
    started = int(progress.get("next", count) or 0)
    set_runtime(task, with_items={"capacity": decisions.free_places(concurrency, started, done), "count": count})
