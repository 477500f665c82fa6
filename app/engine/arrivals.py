"""Results of one workflow's actions that arrive together in one worker process, recorded together.

A workflow's step holds its lock (on SQLite, the writers' lock) from its first statement to its
commit, so the branches of a fan-in or the items of a with-items task, reported by the threads of
one worker, would wait for each other and each pay for a transaction of its own: the lock, the
step's questions, the write and the commit. Instead, while a thread of the process records results
of a workflow, the results its other threads report for that workflow are handed to it, and it
records them, what arrived meanwhile, in its next transaction: one step completes their tasks.

A handed-over result lives in this process's memory until that transaction commits, as a result
does while its own thread records it. Its reporter keeps the action's heartbeat going until then
(the caller's ``recorded`` callbacks, see the engine's ``report_result``): if the process dies
first, the action is one its dead worker claimed, and the sweeper deals with it as with any such
action; while the process lives, the sweeper leaves it alone. Its reporter's task has ended by the
time it is recorded, so a failure to record it is logged, not raised: the action, no longer beaten
for, is then the sweeper's, as when a result's own thread fails to record it and its task ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Generic, TypeVar

Item = TypeVar("Item")

# At most this many results in one transaction, and this many transactions before the recording
# thread lets the workflow go (it records what waits then, and later arrivals find no one): a busy
# workflow neither holds its lock for long nor keeps one worker thread to itself.
BATCH_SIZE = 50
ROUNDS = 20


class Arrivals(Generic[Item]):
    """Per key (a workflow execution's id): which thread records, and what waits for it."""

    def __init__(self, batch_size: int = BATCH_SIZE, rounds: int = ROUNDS) -> None:
        self._lock = threading.Lock()
        # A key is here while a thread records its results; its list is what arrived meanwhile.
        self._waiting: dict[str, list[Item]] = {}
        self._batch_size = batch_size
        self._rounds = rounds

    def record(self, key: str, item: Item, record_batch: Callable[[Sequence[Item]], None],
               record_one: Callable[[Item], None], handed_over_failed: Callable[[Item, Exception], None]) -> None:
        """Record ``item``: hand it to the thread recording ``key``'s results, or become that thread.

        The recording thread records its own item alone (``record_one``), then what arrived
        meanwhile, a batch at a time (``record_batch``; ``record_one`` for a batch of one), until
        none is left. A batch that fails is recorded again one item at a time, so that one result's
        error is not another's: a handed-over item's goes to ``handed_over_failed``, the caller's
        own is raised once nothing is left to record.
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
        released = False
        rounds = 0
        try:
            while True:
                while pending:
                    batch = pending[:self._batch_size]
                    own_error = self._record(batch, item, record_batch, record_one, handed_over_failed) or own_error
                    del pending[:len(batch)]
                if released:
                    break
                rounds += 1
                pending, released = self._next(key, last=rounds >= self._rounds)
        except BaseException:
            # Interrupted (the worker is stopping): what is still to record is recorded here, one at
            # a time, and the workflow is let go of.
            for left in [*pending, *([] if released else self._release(key))]:
                try:
                    record_one(left)
                except Exception as exc:  # noqa: BLE001 - told; the interruption goes on
                    handed_over_failed(left, exc)
            raise
        if own_error is not None:
            raise own_error

    @staticmethod
    def _record(batch: Sequence[Item], own: Item, record_batch: Callable[[Sequence[Item]], None],
                record_one: Callable[[Item], None],
                handed_over_failed: Callable[[Item, Exception], None]) -> Exception | None:
        """Record ``batch``; the error of ``own`` if it is in the batch and failed."""
        if len(batch) > 1:
            with suppress(Exception):  # each is recorded again on its own (record_batch says why)
                record_batch(batch)
                return None
        own_error = None
        for one in batch:
            try:
                record_one(one)
            except Exception as exc:  # noqa: BLE001 - raised to the caller, or told
                if one is own:
                    own_error = exc
                else:
                    handed_over_failed(one, exc)
        return own_error

    def _next(self, key: str, last: bool) -> tuple[list[Item], bool]:
        """What arrived meanwhile, and whether the key was let go of (nothing arrived, or ``last``)."""
        with self._lock:
            waiting = self._waiting[key]
            if last or not waiting:
                del self._waiting[key]
                return waiting, True
            self._waiting[key] = []
            return waiting, False

    def _release(self, key: str) -> list[Item]:
        with self._lock:
            return self._waiting.pop(key, [])
