"""Results of one workflow's actions that arrive together in one worker process, recorded together.

A workflow's step holds its lock (on SQLite, the writers' lock) from its first statement to its
commit, so the branches of a fan-in or the items of a with-items task, reported by the threads of
one worker, would wait for each other and each pay for a transaction of its own: the lock, the
step's questions, the write and the commit. Instead, while a thread of the process records results
of a workflow, the results its other threads report for that workflow are handed to it, and it
records them, all that arrived meanwhile, in its next transaction: one step completes their tasks.

A handed-over result lives in this process's memory until that transaction commits, as a result
does while its own thread records it: if the process dies first, the action is one its dead worker
claimed, and the sweeper deals with it as with any such action.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")


class Arrivals(Generic[Item]):
    """Per key (a workflow execution's id): which thread records, and what waits for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # A key is here while a thread records its results; its list is what arrived meanwhile.
        self._waiting: dict[str, list[Item]] = {}

    def record(self, key: str, item: Item, record_batch: Callable[[Sequence[Item]], None],
               record_one: Callable[[Item], None], handed_over_failed: Callable[[Item, Exception], None]) -> None:
        """Record ``item``: hand it to the thread recording ``key``'s results, or become that thread.

        The recording thread records its own item alone (``record_one``), then each batch that
        arrived meanwhile (``record_batch``, or ``record_one`` for a batch of one), until none is
        left. A batch that fails is recorded again one item at a time, so that one result's error
        is not another's: a handed-over item's goes to ``handed_over_failed``, the caller's own is
        raised once nothing is left to record.
        """
        with self._lock:
            waiting = self._waiting.get(key)
            if waiting is not None:
                waiting.append(item)
                return
            self._waiting[key] = []
        own_error: Exception | None = None
        # Taken to be recorded by this thread, and not recorded yet.
        pending: list[Item] = [item]
        try:
            while pending:
                if len(pending) > 1:
                    try:
                        record_batch(pending)
                        pending = []
                    except Exception as exc:  # noqa: BLE001 - each item is recorded again on its own
                        log.warning("recording %d action results together failed (%s); recording them one at "
                                    "a time", len(pending), exc)
                while pending:
                    try:
                        record_one(pending[0])
                    except Exception as exc:  # noqa: BLE001 - raised to the caller, or told
                        if pending[0] is item:
                            own_error = exc
                        else:
                            handed_over_failed(pending[0], exc)
                    pending.pop(0)
                pending = self._next(key)
        except BaseException:
            # Interrupted (the worker is stopping): what is still to record is recorded here, one at
            # a time, and the workflow is let go of.
            for left in [*pending, *self._release(key)]:
                try:
                    record_one(left)
                except Exception as exc:  # noqa: BLE001 - told; the interruption goes on
                    handed_over_failed(left, exc)
            raise
        if own_error is not None:
            raise own_error

    def _next(self, key: str) -> list[Item]:
        with self._lock:
            waiting = self._waiting[key]
            if not waiting:
                del self._waiting[key]
                return []
            self._waiting[key] = []
            return waiting

    def _release(self, key: str) -> list[Item]:
        with self._lock:
            return self._waiting.pop(key, [])
