"""Execution notifications (Mistral's ``params.notify``): webhooks told of workflow and task events.

``params.notify`` of an execution is a list of ``{"type": "webhook", "url": ..., "headers": {...},
"event_types": [...]}``; sub-workflows inherit it. The engine never looks for events itself: every
flush of a session records the state changes of executions and tasks whose workflow asks for
notifications (``_before_flush``), and the engine service turns them into :class:`Notify` messages
sent after the commit, so a rolled-back step notifies nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.engine.dispatch import Notify
from app.engine.errors import InputError
from app.engine.states import State
from app.models import TaskExecution, WorkflowExecution

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
_PENDING = "tramontane.notifications"
_NOTIFY_OF = "tramontane.notify_of"


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


def _state_change(session: Session, row: Any) -> tuple[str | None, str] | None:
    if row in session.new:
        return None, row.state
    history = inspect(row).attrs.state.history
    if not history.has_changes():
        return None
    return (history.deleted[0] if history.deleted else None), row.state


def _notifiers(session: Session, row: WorkflowExecution | TaskExecution,
               new_workflows: dict[str, WorkflowExecution]) -> list[dict[str, Any]]:
    wf_ex = row if isinstance(row, WorkflowExecution) else new_workflows.get(row.workflow_execution_id)
    if wf_ex is None:
        wf_ex = session.identity_map.get(
            inspect(WorkflowExecution).identity_key_from_primary_key([row.workflow_execution_id]))
    if wf_ex is not None and "params" in inspect(wf_ex).dict:
        return list((wf_ex.params or {}).get("notify") or [])
    # The identity map holds rows weakly: the step that loaded the workflow may be gone by the time
    # the commit flushes its tasks. Read the (unchanging) notify list once per transaction.
    known: dict[str, list[dict[str, Any]]] = session.info.setdefault(_NOTIFY_OF, {})
    workflow_id = row.id if isinstance(row, WorkflowExecution) else row.workflow_execution_id
    if workflow_id not in known:
        with session.no_autoflush:
            params = session.scalar(select(WorkflowExecution.params).where(WorkflowExecution.id == workflow_id))
        known[workflow_id] = list((params or {}).get("notify") or [])
    return known[workflow_id]


def _summary(row: WorkflowExecution | TaskExecution, event_type: str) -> dict[str, Any]:
    common = {"id": row.id, "state": row.state, "state_info": row.state_info,
              "workflow_name": row.workflow_name, "workflow_namespace": row.workflow_namespace,
              "workflow_id": row.workflow_id, "project_id": row.project_id, "event": event_type}
    if isinstance(row, WorkflowExecution):
        return {**common, "name": row.workflow_name, "task_execution_id": row.task_execution_id,
                "root_execution_id": row.root_execution_id, "description": row.description}
    return {**common, "name": row.name, "type": row.type, "workflow_execution_id": row.workflow_execution_id}


def _queue(pending: list[Notify], notifiers: list[dict[str, Any]], body: dict[str, Any]) -> None:
    for notifier in notifiers:
        wanted = notifier.get("event_types") or []
        if not wanted or body["event"] in wanted:
            pending.append(Notify(str(notifier["url"]), dict(notifier.get("headers") or {}), body))


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    pending: list[Notify] | None = session.info.get(_PENDING)
    if pending is None:
        return
    # A workflow created in this transaction is not in the identity map yet, and neither are its tasks.
    new_workflows = {row.id: row for row in session.new if isinstance(row, WorkflowExecution)}
    # Rows already stored first: a task's end comes before the launch of the task it triggers.
    for row in [*session.dirty, *session.new]:
        if not isinstance(row, (WorkflowExecution, TaskExecution)):
            continue
        notifiers = _notifiers(session, row, new_workflows)
        if not notifiers:
            continue
        change = _state_change(session, row)
        if change is None:
            continue
        kind = "workflow" if isinstance(row, WorkflowExecution) else "task"
        for event_type in _events(kind, *change):
            _queue(pending, notifiers, _summary(row, event_type))


def record_bulk_change(session: Session, wf_ex: WorkflowExecution, tasks: list[TaskExecution], state: str) -> None:
    """Tasks about to change state through a bulk UPDATE, which no flush sees."""
    pending: list[Notify] | None = session.info.get(_PENDING)
    notifiers = (wf_ex.params or {}).get("notify") or []
    if pending is None or not notifiers:
        return
    for task in tasks:
        for event_type in _events("task", task.state, state):
            _queue(pending, notifiers, {**_summary(task, event_type), "state": state})


def start_recording(session: Session) -> None:
    """Record the events of the transaction about to run (a retried one starts over)."""
    session.info[_PENDING] = []
    session.info[_NOTIFY_OF] = {}


def take_recorded(session: Session) -> list[Notify]:
    session.info.pop(_NOTIFY_OF, None)
    pending: list[Notify] = session.info.pop(_PENDING, None) or []
    return pending


event.listen(Session, "before_flush", _before_flush)
