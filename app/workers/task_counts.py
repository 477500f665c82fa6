"""Keeps the worker's count of tasks by name bounded.

Each action runs as a Celery task shown under the action's name and execution id
(``std.noop[<id>]``, so Flower and the logs say which action it is), and Celery's worker counts the
tasks it accepted by that name (the ``total`` of ``celery inspect stats``) in a dictionary that is
never trimmed: one entry per action ever run, a few hundred bytes each, for the life of the
process. This worker step folds those entries into one count per action name every minute.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from celery import bootsteps
from celery.worker import state

FOLD_SECONDS = 60.0


def fold(counts: Counter[str]) -> None:
    """Replace every ``name[id]`` entry of ``counts`` by its share of ``name``'s."""
    # Task threads add entries meanwhile: list() copies the keys in one step, and an entry added
    # after it is folded at the next pass.
    for key in [key for key in list(counts) if key.endswith("]") and "[" in key]:
        counts[key[: key.rindex("[")]] += counts.pop(key, 0)


class TaskCountFolding(bootsteps.StartStopStep):
    """Folds Celery's per-name task counts on the worker's timer (its event loop)."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **options: Any) -> None:
        super().__init__(parent, **options)
        self._entry: Any = None

    def start(self, parent: Any) -> None:
        self._entry = parent.timer.call_repeatedly(FOLD_SECONDS, fold, (state.total_count,))

    def stop(self, parent: Any) -> None:
        if self._entry is not None:
            self._entry.cancel()
            self._entry = None
