"""Execution notifications (Mistral's ``params.notify``): webhooks told of workflow and task events.

``params.notify`` of an execution is a list of ``{"type": "webhook", "url": ..., "headers": {...},
"event_types": [...]}``; sub-workflows inherit it. The engine's step records the state changes it
makes (:mod:`app.engine.state_log`); once the transaction committed, the engine service turns
those of executions and tasks whose workflow asks for notifications into :class:`Notify` messages
(:func:`messages`), so a rolled-back step notifies nothing.
"""

from __future__ import annotations

from typing import Any

from app.engine.dispatch import Notify
from app.engine.errors import InputError
from app.engine.state_log import StateChange
from app.engine.states import State

WORKFLOW_EVENTS = {
    State.SUCCESS.value: "WORKFLOW_SUCCEEDED", State.ERROR.value: "WORKFLOW_FAILED",
    State.CANCELLED.value: "WORKFLOW_CANCELLED", State.PAUSED.value: "WORKFLOW_PAUSED",
}
TASK_EVENTS = {
    State.SUCCESS.value: "TASK_SUCCEEDED", State.ERROR.value: "TASK_FAILED",
    State.CANCELLED.value: "TASK_CANCELLED", State.PAUSED.value: "TASK_PAUSED",
    State.SKIPPED.value: "TASK_SKIPPED",
}
EVENT_TYPES = frozenset(
    {"WORKFLOW_LAUNCHED", "WORKFLOW_RESUMED", "WORKFLOW_RERUN", *WORKFLOW_EVENTS.values(),
     "TASK_LAUNCHED", "TASK_RESUMED", "TASK_RERUN", *TASK_EVENTS.values()}
)


def validate(notify: Any) -> None:
    """Check the ``params.notify`` of a new execution; raises :class:`InputError`."""
    if notify is None:
        return
    if not isinstance(notify, list):
        raise InputError("params.notify must be a list of notifiers")
    for index, notifier in enumerate(notify):
        where = f"params.notify[{index}]"
        if not isinstance(notifier, dict) or notifier.get("type") != "webhook":
            raise InputError(f"{where}: only notifiers of type 'webhook' are supported")
        url = notifier.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InputError(f"{where}.url must be an http or https URL")
        headers = notifier.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise InputError(f"{where}.headers must map header names to strings")
        kinds = notifier.get("event_types", [])
        if not isinstance(kinds, list) or not set(kinds) <= EVENT_TYPES:
            raise InputError(f"{where}.event_types must be a list of {sorted(EVENT_TYPES)}")


def _events(kind: str, before: str | None, after: str) -> list[str]:
    prefix = "WORKFLOW" if kind == "workflow" else "TASK"
    if after == State.RUNNING:
        if before is None or before in (State.IDLE, State.WAITING, State.DELAYED):
            return [f"{prefix}_LAUNCHED"]
        if before == State.PAUSED:
            return [f"{prefix}_RESUMED"]
        if before in (State.ERROR, State.CANCELLED):
            return [f"{prefix}_RERUN"]
        return []
    if after == before:
        return []
    final = (WORKFLOW_EVENTS if kind == "workflow" else TASK_EVENTS).get(after)
    if final is None:
        return []
    # Created and ended between two flushes (a with-items task over an empty list): both are told.
    return [f"{prefix}_LAUNCHED", final] if before is None else [final]


def messages(changes: list[StateChange]) -> list[Notify]:
    """The webhook messages of a committed transaction's state changes, in the order they were made."""
    pending: list[Notify] = []
    for change in changes:
        if not change.notify or change.kind == "action":
            continue
        for event_type in _events(change.kind, change.previous, change.state):
            body = {**change.summary, "event": event_type}
            for notifier in change.notify:
                wanted = notifier.get("event_types") or []
                if not wanted or event_type in wanted:
                    pending.append(Notify(str(notifier["url"]), dict(notifier.get("headers") or {}), body))
    return pending
