"""The action API: subclass :class:`Action`, take your parameters in ``__init__``, implement ``run``.

A sync action returns its result (or a :class:`Result`). An async action (``is_sync()`` false) only
starts the work; a third party completes it later through the API, using the ids and URLs found in
``context.execution``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from app.engine.errors import InputError
from app.masking import masked_headers, masked_url

if TYPE_CHECKING:  # egress imports this module for ActionError
    from app.actions.egress import EgressPolicy


@dataclass
class Result:
    """What ``run`` may return to say more than a plain value: an error or a cancellation."""

    data: Any = None
    error: Any = None
    cancel: bool = False

    def is_error(self) -> bool:
        return self.error is not None

    def to_output(self) -> dict[str, Any]:
        return {"result": self.error if self.is_error() else self.data}


@dataclass(frozen=True)
class ExecutionContext:
    """Where an action runs: its ids, and the URLs a third party uses to complete it."""

    action_execution_id: str
    workflow_name: str | None = None
    workflow_execution_id: str | None = None
    task_execution_id: str | None = None
    task_name: str | None = None
    callback_base_url: str = ""
    callback_full_url: str = ""
    callback_token: str | None = None

    @property
    def callback_url(self) -> str:
        """Mistral's relative completion path, for actions written against mistral-lib."""
        return f"/v2/action_executions/{self.action_execution_id}"


class OutboundLog:
    """The first HTTP request an action sent, kept (secrets masked) for its execution's record.

    Only the first: a redirect's later hops are the same request following the answer.
    """

    def __init__(self) -> None:
        self.sent: dict[str, Any] | None = None

    def record(self, method: str, url: str, headers: Mapping[str, Any], at: str) -> None:
        if self.sent is not None:
            return
        self.sent = {"method": method, "url": masked_url(url),
                     "headers": masked_headers({str(k): _text(v) for k, v in headers.items()}), "sent_at": at}


def utc_text() -> str:
    """Now in UTC, written as the API writes every time."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class ActionContext:
    execution: ExecutionContext
    settings: dict[str, Any] = field(default_factory=dict)
    # Outbound HTTP policy; None means the default one (see app.actions.egress).
    egress: EgressPolicy | None = None
    # Where the HTTP sessions of app.actions.egress note what they send; None: nobody keeps it.
    outbound: OutboundLog | None = None


class Action:
    """Base class of every action."""

    def run(self, context: ActionContext) -> Any:
        raise NotImplementedError

    def is_sync(self) -> bool:
        return True

    @classmethod
    def runs_inline(cls, action_input: dict[str, Any]) -> bool:
        """Whether the engine may run the action with this input inside its own step, on no worker.

        Only for actions that compute their result from their input alone: no I/O, no wait, no
        callback. A class opts in by defining this method itself; what it inherits does not count
        (see :func:`declares_inline`), so a subclass that adds I/O is never run inline by mistake.
        """
        return False


def declares_inline(action_class: type, action_input: dict[str, Any]) -> bool:
    """Whether ``action_class`` itself says it may run inline with ``action_input``."""
    if "runs_inline" not in vars(action_class):
        return False
    try:
        return bool(action_class.runs_inline(action_input))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an input the predicate cannot read runs on a worker
        return False


class ActionError(Exception):
    """Raised by an action to fail with a message; the task ends ERROR with it."""


@lru_cache(maxsize=1024)
def _signature(action_class: type) -> inspect.Signature:
    # Classes do not change once loaded; inspecting one costs more than the rest of an input check.
    return inspect.signature(action_class)


def parameters(action_class: type) -> list[inspect.Parameter]:
    return [
        p for p in _signature(action_class).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def signature_text(action_class: type) -> str:
    """The ``input`` string Mistral shows for an action, e.g. ``output, delay=0``."""
    parts = []
    for param in parameters(action_class):
        if param.default is inspect.Parameter.empty:
            parts.append(param.name)
        else:
            default = param.default
            shown = repr(default) if isinstance(default, str) else str(default)
            parts.append(f"{param.name}={shown}")
    return ", ".join(parts)


def check_input(name: str, action_class: type, given: dict[str, Any], class_name: str | None = None) -> None:
    """Raise :class:`InputError` if ``given`` does not match the action's parameters; ``class_name``
    is how the message names the class (default: its dotted path)."""
    params = parameters(action_class)
    accepts_any = any(
        p.kind == p.VAR_KEYWORD for p in _signature(action_class).parameters.values()
    )
    names = {p.name for p in params}
    missing = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in given]
    unexpected = [] if accepts_any else [key for key in given if key not in names]
    if missing or unexpected:
        text = f"Invalid input [name={name}, class={class_name or _dotted(action_class)}"
        text += f", missing={missing}" if missing else ""
        text += f", unexpected={unexpected}" if unexpected else ""
        raise InputError(text + "]")


def _dotted(action_class: type) -> str:
    return f"{action_class.__module__}.{action_class.__qualname__}"
