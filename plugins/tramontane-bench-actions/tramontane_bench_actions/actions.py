"""A no-op and a failing action, as a user's plugin writes them (see ``app.actions.base``)."""

from __future__ import annotations

from typing import Any

from app.actions.base import Action, ActionContext, ActionError


class NoopAction(Action):
    """Does nothing on the worker; result ``null``. The executor path's floor action."""

    def run(self, context: ActionContext) -> Any:
        return None


class FailAction(Action):
    """Fails on the worker with ``message``: the executor path of an action that raises."""

    def __init__(self, message: str = "bench.fail failed") -> None:
        self.message = message

    def run(self, context: ActionContext) -> Any:
        raise ActionError(self.message)
