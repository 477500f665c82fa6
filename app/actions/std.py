"""Built-in actions that need nothing but the standard library."""

from __future__ import annotations

import time
from typing import Any

from app.actions.base import Action, ActionContext, ActionError, Result


class NoopAction(Action):
    """Does nothing; result ``null``."""

    @classmethod
    def runs_inline(cls, action_input: dict[str, Any]) -> bool:
        return True

    def run(self, context: ActionContext) -> Any:
        return None


class AsyncNoopAction(NoopAction):
    """Sends nothing and waits for a completion through the API."""

    def is_sync(self) -> bool:
        return False


class EchoAction(Action):
    """Returns ``output``, after ``delay`` seconds."""

    def __init__(self, output: Any, delay: float = 0) -> None:
        self.output = output
        self.delay = max(float(delay or 0), 0.0)

    @classmethod
    def runs_inline(cls, action_input: dict[str, Any]) -> bool:
        # A delay is a wait: it belongs on a worker, never in the engine's transaction.
        return float(action_input.get("delay") or 0) <= 0

    def run(self, context: ActionContext) -> Any:
        if self.delay:
            time.sleep(self.delay)
        return self.output


class FailAction(Action):
    """Fails: with ``error_data`` as the error if given, else with a fixed message."""

    def __init__(self, error_data: Any = None) -> None:
        self.error_data = error_data

    def __repr__(self) -> str:
        # Failure messages name the action by its repr, and Mistral's std.fail calls itself this.
        return "Fail action"

    @classmethod
    def runs_inline(cls, action_input: dict[str, Any]) -> bool:
        return True

    def run(self, context: ActionContext) -> Any:
        if self.error_data:
            return Result(error=self.error_data)
        raise ActionError("Fail action expected exception.")


class SleepAction(Action):
    """Sleeps ``seconds``; result ``null``."""

    def __init__(self, seconds: float = 1) -> None:
        self.seconds = max(float(seconds or 0), 0.0)

    def run(self, context: ActionContext) -> Any:
        time.sleep(self.seconds)
        return None


class TestDictAction(Action):
    """Returns ``{prefix0: val, ..., prefix<size-1>: val}``."""

    __test__ = False

    def __init__(self, size: int = 0, key_prefix: str = "", val: Any = "") -> None:
        # Taken as given, as Mistral's does: a size that is no integer fails the run, not the start.
        self.size = size
        self.key_prefix = key_prefix
        self.val = val

    @classmethod
    def runs_inline(cls, action_input: dict[str, Any]) -> bool:
        return True

    def run(self, context: ActionContext) -> Any:
        return {f"{self.key_prefix}{index}": self.val for index in range(self.size)}
