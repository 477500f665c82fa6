"""Bounds on expression evaluation, so a hostile expression fails its task instead of the worker.

- time: a watchdog thread interrupts an evaluation that outlives its deadline by raising
  :class:`ExpressionTimeout` in the evaluating thread. Unlike ``SIGALRM`` this works in any thread:
  gunicorn's threaded workers and the scheduler embedded in a Celery worker evaluate expressions
  outside the main thread. Like a signal handler, it takes effect between two Python bytecodes.
- size: a watchdog cannot interrupt one C-level operation (``(9**1000)**10000`` runs for seconds in
  one bytecode), so every operation that can build a huge value checks the size of its result first:
  integer ``*``, ``**``, ``pow`` and bit shifts (Jinja and YAQL), and the string operations that pad
  or repeat (``*``, ``%`` and ``format`` widths, ``center``, ``ljust``, ``rjust``, ``zfill``,
  ``expandtabs``, ``replace``, ``join``, ``indent``, ``tojson`` indents). YAQL's memory quota bounds
  its collections and strings.

An exception raised into another thread can land at any bytecode, so the evaluating thread takes no
lock that such an exception could leave held: a block's end and the watchdog's firing race on one
atomic ``dict.pop``, and the loser of that race knows where it stands.
"""

from __future__ import annotations

import ctypes
import inspect
import itertools
import os
import re
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from jinja2.sandbox import SandboxedEnvironment, SecurityError

TIME_LIMIT_SECONDS = 5.0
MAX_REPEAT_LENGTH = 10_000_000
MAX_EXPONENT = 10_000
# How late past a deadline the watchdog may notice it; also how often an idle watchdog wakes.
WATCHDOG_PERIOD_SECONDS = 0.25


_configured = {"time_limit": TIME_LIMIT_SECONDS}


def set_time_limit(seconds: float) -> None:
    """The time limit of every evaluation from now on (the ``EXPRESSION_TIME_LIMIT_SECONDS`` setting)."""
    if not seconds > 0:
        raise ValueError(f"the expression time limit must be a positive number of seconds, not {seconds!r}")
    _configured["time_limit"] = float(seconds)


def current_time_limit() -> float:
    return _configured["time_limit"]


class ExpressionTimeout(Exception):
    """Raised inside an evaluation that ran longer than the time limit."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or f"evaluation took longer than {current_time_limit():g} seconds")


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
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (by default the configured limit); nested blocks run
    under the outermost limit."""
    deadline = _watchdog.arm(current_time_limit() if seconds is None else seconds)
    if deadline is None:
        yield
        return
    try:
        yield
    finally:
        _watchdog.disarm(deadline)


# Integers up to about 30,000 decimal digits: any operation on them takes microseconds.
MAX_INTEGER_BITS = 100_000
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_STRING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map",
                             "replace", "join"})


class ValueTooLarge(SecurityError):
    """Raised before an operation whose result would be larger than the limits allow."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_product(left: Any, right: Any) -> None:
    """``left * right``: integers, or a sequence repeated."""
    if _is_int(left) and _is_int(right):
        if left.bit_length() + right.bit_length() > MAX_INTEGER_BITS:
            raise ValueTooLarge(f"integers above {MAX_INTEGER_BITS} bits are refused")
        return
    sequence, count = (left, right) if _is_int(right) else (right, left)
    if isinstance(sequence, (str, list, tuple)) and _is_int(count) and len(sequence) * count > MAX_REPEAT_LENGTH:
        raise ValueTooLarge(f"the result would be longer than {MAX_REPEAT_LENGTH} items")


def check_power(base: Any, exponent: Any, modulo: Any = None) -> None:
    if modulo is not None or not isinstance(exponent, (int, float)):
        return
    if abs(exponent) > MAX_EXPONENT:
        raise ValueTooLarge(f"exponents above {MAX_EXPONENT} are refused")
    if _is_int(base) and _is_int(exponent) and exponent > 0 and base.bit_length() * exponent > MAX_INTEGER_BITS:
        raise ValueTooLarge(f"integers above {MAX_INTEGER_BITS} bits are refused")


def check_shift(value: Any, bits: Any) -> None:
    if _is_int(value) and _is_int(bits) and value.bit_length() + bits > MAX_INTEGER_BITS:
        raise ValueTooLarge(f"integers above {MAX_INTEGER_BITS} bits are refused")


def check_length(length: int) -> None:
    if length > MAX_REPEAT_LENGTH:
        raise ValueTooLarge(f"the result would be longer than {MAX_REPEAT_LENGTH} characters")


def check_printf(template: str, values: Any) -> None:
    """``template % values``: no field wider (or more precise) than the length limit."""
    for match in _PRINTF_FIELD.finditer(template):
        for number in match.groups():
            if number == "*":
                raise ValueTooLarge("'*' widths in % formatting are refused")
            if number is not None:
                check_length(int(number))


def check_format(template: str) -> None:
    """``template.format(...)``: no field wider than the length limit, no width taken from an argument."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises the same error itself
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            raise ValueTooLarge("format specifications taken from arguments are refused")
        for number in re.findall(r"\d+", spec):
            check_length(int(number))


def check_string_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A call of one of ``str``'s methods that can make a longer string than it was given."""
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args else kwargs.get("width")
        if isinstance(width, int):
            check_length(width)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(size):
            check_length(len(text) * max(size, 0))
    elif name in ("format", "format_map"):
        check_format(text)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        old, new = args[0], args[1]
        count = text.count(old) if old else len(text) + 1
        if len(args) > 2 and _is_int(args[2]) and args[2] >= 0:
            count = min(count, args[2])
        check_length(len(text) + count * (len(new) - len(old)))
    elif name == "join" and args and isinstance(args[0], (list, tuple)):
        parts = args[0]
        check_length(len(text) * max(len(parts) - 1, 0) + sum(len(str(p)) for p in parts))


def _bounded_filter(check: Callable[..., None], original: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        return original(*args, **kwargs)

    # Jinja decides from these markers which context the filter wants as its first argument.
    for marker in ("jinja_pass_arg",):
        if hasattr(original, marker):
            setattr(bounded, marker, getattr(original, marker))
    return bounded


def _check_center(value: Any, width: Any = 80) -> None:
    if _is_int(width):
        check_length(width)


def _check_indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
    if _is_int(width):
        lines = str(value).count("\n") + 1
        check_length(len(str(value)) + lines * width)
    elif isinstance(width, str):
        check_length(len(str(value)) + (str(value).count("\n") + 1) * len(width))


def _check_format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_printf(str(value), args or kwargs)


def _check_replace(context: Any, value: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        check_string_method(value, "replace", (old, new) + ((count,) if count is not None else ()), {})


def _check_join(context: Any, value: Any, d: Any = "", attribute: Any = None) -> None:
    if isinstance(value, (list, tuple)) and isinstance(d, str):
        check_length(len(d) * max(len(value) - 1, 0) + sum(len(str(p)) for p in value))


def _check_tojson(context: Any, value: Any, indent: Any = None) -> None:
    if _is_int(indent) and indent > 64:
        raise ValueTooLarge("tojson indents above 64 are refused")


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, unable to build huge values with operators, filters or ``str`` methods."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, check in (("center", _check_center), ("indent", _check_indent), ("format", _check_format),
                            ("replace", _check_replace), ("join", _check_join), ("tojson", _check_tojson)):
            self.filters[name] = _bounded_filter(check, self.filters[name])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            check_product(left, right)
        elif operator == "**":
            check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            check_printf(left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # The sandbox replaces str.format when it is looked up, so the check goes around its wrapper.
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            check_format(template)
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str) and name in _STRING_METHODS:
            check_string_method(owner, name, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def bound_yaql_context(context: Any) -> None:
    """Put the size checks in front of YAQL's integer operations that can explode."""
    layer = context
    while layer is not None:  # the standard library is registered in an ancestor of the context
        for name, check in (("pow", check_power), ("#operator_*", _check_yaql_product),
                            ("shiftBitsLeft", check_shift)):
            definitions, _ = layer.get_functions(name)
            for definition in list(definitions):
                bounded = definition.clone()
                bounded.payload = _checked(check, definition.payload)
                layer.delete_function(definition)
                layer.register_function(bounded)
        layer = layer.parent


def _check_yaql_product(*args: Any) -> None:
    # Only the integer overload needs it: YAQL's memory quota bounds a repeated string or list.
    numbers = [a for a in args if _is_int(a)]
    if len(numbers) == 2 and len(args) == 2:
        check_product(*numbers)


def _checked(check: Callable[..., None], function: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(function)

    def bounded(*args: Any, **kwargs: Any) -> Any:
        # YAQL may pass arguments by keyword; the check takes them in the function's order.
        check(*signature.bind(*args, **kwargs).args)
        return function(*args, **kwargs)

    return bounded
