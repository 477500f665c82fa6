"""Bounds on expression evaluation, so a hostile expression fails its task instead of the worker.

- time: evaluation runs under a timer (``SIGALRM``) in the main thread, where Celery, gunicorn and
  the scheduler evaluate expressions; past the limit it raises.
- size: Jinja's ``*`` and ``**`` refuse results larger than the limits (YAQL has its own quota).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from jinja2.sandbox import SandboxedEnvironment, SecurityError

TIME_LIMIT_SECONDS = 5.0
MAX_REPEAT_LENGTH = 10_000_000
MAX_EXPONENT = 10_000


class ExpressionTimeout(Exception):
    """Raised inside an evaluation that ran longer than the time limit."""


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise ExpressionTimeout(f"evaluation took longer than {TIME_LIMIT_SECONDS:g} seconds")


@contextmanager
def time_limit(seconds: float = TIME_LIMIT_SECONDS) -> Iterator[None]:
    """Interrupt the block after ``seconds``; a no-op outside the main thread or when nested."""
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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
