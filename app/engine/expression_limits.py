"""Bounds on expression evaluation, so a hostile expression fails its task instead of the worker.

- time: a watchdog thread interrupts an evaluation that outlives its deadline by raising
  :class:`ExpressionTimeout` in the evaluating thread. Unlike ``SIGALRM`` this works in any thread:
  gunicorn's threaded workers and the scheduler embedded in a Celery worker evaluate expressions
  outside the main thread. Like a signal handler, it takes effect between two Python bytecodes.
- size: Jinja's ``*`` and ``**`` refuse results larger than the limits (YAQL has its own quota).

An exception raised into another thread can land at any bytecode, so the evaluating thread takes no
lock that such an exception could leave held: a block's end and the watchdog's firing race on one
atomic ``dict.pop``, and the loser of that race knows where it stands.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jinja2.sandbox import SandboxedEnvironment, SecurityError

TIME_LIMIT_SECONDS = 5.0
MAX_REPEAT_LENGTH = 10_000_000
MAX_EXPONENT = 10_000
# How late past a deadline the watchdog may notice it; also how often an idle watchdog wakes.
WATCHDOG_PERIOD_SECONDS = 0.25


class ExpressionTimeout(Exception):
    """Raised inside an evaluation that ran longer than the time limit."""

    def __init__(self, message: str = f"evaluation took longer than {TIME_LIMIT_SECONDS:g} seconds") -> None:
        super().__init__(message)


def _raise_in_thread(thread_id: int, exception: type[BaseException] | None) -> None:
    """Make ``thread_id`` raise ``exception`` at its next bytecode (None withdraws a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exception) if exception else None)


class _Deadline:
    __slots__ = ("key", "thread_id", "at", "raised")

    def __init__(self, key: int, seconds: float) -> None:
        self.key = key
        self.thread_id = threading.get_ident()
        self.at = time.monotonic() + seconds
        self.raised = False


class Watchdog:
    """One daemon thread per process that interrupts the evaluations past their deadline."""

    def __init__(self) -> None:
        self._pid = -1
        self._keys = itertools.count()
        self._current = threading.local()  # the calling thread's outermost deadline

    def _ensure_started(self) -> None:
        # Threads do not survive fork(): a forked Celery pool child starts its own watchdog.
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._armed: dict[int, _Deadline] = {}
        threading.Thread(target=self._watch, name="expression-watchdog", daemon=True).start()

    def arm(self, seconds: float) -> _Deadline | None:
        """Start timing the calling thread; None when an outer block already times it."""
        self._ensure_started()
        outer = getattr(self._current, "deadline", None)
        if outer is not None and outer.key in self._armed:
            return None
        deadline = _Deadline(next(self._keys), seconds)
        self._current.deadline = deadline
        self._armed[deadline.key] = deadline
        return deadline

    def disarm(self, deadline: _Deadline) -> None:
        """End the block: either before the watchdog fired (nothing happens) or after (it times out)."""
        if self._armed.pop(deadline.key, None) is not None:
            self._current.deadline = None
            return
        # The watchdog won the race: its exception is on its way, if not already delivered here.
        while not deadline.raised:
            time.sleep(0.0005)
        _raise_in_thread(deadline.thread_id, None)
        self._current.deadline = None
        raise ExpressionTimeout()

    def _watch(self) -> None:
        while True:
            now = time.monotonic()
            wait = WATCHDOG_PERIOD_SECONDS
            for key, deadline in list(self._armed.items()):
                if deadline.at > now:
                    wait = min(wait, deadline.at - now)
                elif self._armed.pop(key, None) is deadline:
                    _raise_in_thread(deadline.thread_id, ExpressionTimeout)
                    deadline.raised = True
            time.sleep(wait)


_watchdog = Watchdog()


@contextmanager
def time_limit(seconds: float = TIME_LIMIT_SECONDS) -> Iterator[None]:
    """Interrupt the block after ``seconds``; nested blocks run under the outermost limit."""
    deadline = _watchdog.arm(seconds)
    if deadline is None:
        yield
        return
    try:
        yield
    finally:
        _watchdog.disarm(deadline)


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with ``*`` and ``**`` unable to build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            sequence, count = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(sequence, (str, list, tuple)) and isinstance(count, int) \
                    and len(sequence) * count > MAX_REPEAT_LENGTH:
                raise SecurityError(f"the result would be longer than {MAX_REPEAT_LENGTH} items")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponents above {MAX_EXPONENT} are refused")
        return super().call_binop(context, operator, left, right)
