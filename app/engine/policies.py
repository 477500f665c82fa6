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
    delay: int
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

    def _integer(self, key: str) -> int:
        if self._raw(key) is None:
            return 0
        policy, field = _INTEGER_POLICIES[key]
        return _checked_integer(policy, field, self._evaluated(key))

    def seconds(self, key: str) -> float:
        """``wait-before``, ``wait-after`` and ``timeout``: a non-negative integer (0 = none)."""
        return self._integer(key)

    def concurrency(self) -> int:
        return self._integer("concurrency")

    def pause_before(self) -> bool:
        if self._raw("pause-before") is None:
            return False
        value = self._evaluated("pause-before")
        if not isinstance(value, bool):
            raise PolicyError(_invalid("PauseBeforePolicy", "expr", value, f"{value!r} is not of type 'boolean'",
                                       "type", "{'type': 'boolean'}"))
        return value

    def validate(self) -> None:
        """Check every policy's value as the task starts, as Mistral does before running anything."""
        self.pause_before()
        for key in _INTEGER_POLICIES:
            self._integer(key)
        self.retry()

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
            key: expressions.evaluate_recursively(raw.get(key, 0), self._data, self._view)
            for key in ("delay", "count")
        }
        return Retry(
            count=_checked_integer("RetryPolicy", "count", values["count"]),
            delay=_checked_integer("RetryPolicy", "delay", values["delay"]),
            break_on=raw.get("break-on"),
            continue_on=raw.get("continue-on"),
        )

    def condition(self, raw: Any) -> bool:
        return bool(expressions.evaluate_recursively(raw, self._data, self._view))


# Policy key -> (the class Mistral names in its message, the field its schema checks).
_INTEGER_POLICIES = {
    "wait-before": ("WaitBeforePolicy", "delay"),
    "wait-after": ("WaitAfterPolicy", "delay"),
    "timeout": ("TimeoutPolicy", "delay"),
    "concurrency": ("ConcurrencyPolicy", "concurrency"),
}
_INTEGER_SCHEMA = "{'type': 'integer', 'minimum': 0}"


def _checked_integer(policy: str, field: str, value: Any) -> int:
    """A policy value as Mistral's schema takes it: an integer (1.0 counts) of at least 0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(_invalid(policy, field, value, f"{value!r} is not of type 'integer'", "type",
                                   _INTEGER_SCHEMA))
    if value < 0:
        raise PolicyError(_invalid(policy, field, value, f"{value!r} is less than the minimum of 0", "minimum",
                                   _INTEGER_SCHEMA))
    return value


def _invalid(policy: str, field: str, value: Any, problem: str, validator: str, schema: str) -> str:
    # Mistral's wording: jsonschema's report of the evaluated value, then its own hint.
    return (f"Invalid data type in {policy}: {problem}\n\n"
            f"Failed validating '{validator}' in schema['properties']['{field}']:\n    {schema}\n\n"
            f"On instance['{field}']:\n    {value!r}. Value(s) can be shown after YAQL evaluating. "
            "If you use YAQL here, please correct it.")
