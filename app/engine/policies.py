"""Task policies (retry, waits, timeout, pause-before, concurrency, fail-on): their values. Pure.

Values may be literals or expressions; they are evaluated when the policy applies and checked here,
so a bad value fails the task with a message that names the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.engine import expressions
from app.engine.errors import EngineError
from app.engine.expressions import ExecutionView
from app.engine.language.inline import InlineSyntaxError, parse_params
from app.engine.language.spec import TaskSpec, WorkflowSpec


class PolicyError(EngineError):
    """Raised when a policy's value is not valid once evaluated."""


@dataclass(frozen=True)
class Retry:
    count: int
    delay: float
    break_on: Any = None
    continue_on: Any = None


class Policies:
    """The policies of one task, evaluated lazily against the task's data."""

    def __init__(self, spec: WorkflowSpec, task: TaskSpec, data: dict[str, Any],
                 view: ExecutionView) -> None:
        self._spec = spec
        self._task = task
        self._data = data
        self._view = view

    def _raw(self, key: str) -> Any:
        return self._spec.policy(self._task, key)

    def _evaluated(self, key: str) -> Any:
        return expressions.evaluate_recursively(self._raw(key), self._data, self._view)

    def seconds(self, key: str) -> float:
        """``wait-before``, ``wait-after`` and ``timeout``: a non-negative number (0 = none)."""
        return _non_negative(key, self._evaluated(key) or 0)

    def concurrency(self) -> int:
        return int(_non_negative("concurrency", self._evaluated("concurrency") or 0))

    def pause_before(self) -> bool:
        return bool(self._evaluated("pause-before"))

    def safe_rerun(self) -> bool:
        return bool(self._evaluated("safe-rerun"))

    def fails_on(self) -> bool:
        raw = self._raw("fail-on")
        return raw is not None and bool(expressions.evaluate_recursively(raw, self._data, self._view))

    def retry(self) -> Retry | None:
        raw = self._raw("retry")
        if raw is None:
            return None
        if isinstance(raw, str) and not expressions.has_expression(raw):
            try:
                raw = parse_params(raw)
            except InlineSyntaxError as exc:
                raise PolicyError(f"Invalid data type in RetryPolicy: {exc}") from exc
        if not isinstance(raw, dict):
            raw = self._evaluated("retry")
        if not isinstance(raw, dict):
            raise PolicyError(f"Invalid data type in RetryPolicy: {raw!r} is not a mapping")
        values = {
            key: expressions.evaluate_recursively(raw.get(key), self._data, self._view)
            for key in ("count", "delay")
        }
        return Retry(
            count=int(_non_negative("retry.count", values["count"] or 0)),
            delay=_non_negative("retry.delay", values["delay"] or 0),
            break_on=raw.get("break-on"),
            continue_on=raw.get("continue-on"),
        )

    def condition(self, raw: Any) -> bool:
        return bool(expressions.evaluate_recursively(raw, self._data, self._view))


def _non_negative(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"Invalid data type in {name} policy: {value!r} is not a number") from exc
    if number < 0:
        raise PolicyError(f"Invalid data type in {name} policy: {value!r} is negative")
    return number
