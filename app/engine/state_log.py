"""State changes of executions, tasks and action executions: checked and recorded by the step that
makes them, told once the transaction committed.

Every state write goes through :class:`StateChanges`: :meth:`~StateChanges.transition` writes a
row's state, :meth:`~StateChanges.created` takes a new row's first state, and
:meth:`~StateChanges.changed_elsewhere` a state a compare-and-set statement wrote. Each checks the
change against the table of the row's kind (:mod:`app.engine.states`) and raises
:class:`~app.engine.errors.IllegalTransition` (logged at ERROR with the row's ids) for one the table
does not allow, so the transaction that tried it is rolled back; and each keeps the change, so the
changes of one transaction are known without watching the ORM. The engine service settles them just
before the commit (:meth:`StateChanges.settle`) and, once committed, logs them (:func:`emit`: an
execution's at INFO, a task's or an action's at DEBUG, each line carrying the ids and names as
fields, see :mod:`app.logs`), tells the subscribers (the metrics) and turns them into webhook
messages (:mod:`app.engine.notifications`). A rolled-back transaction tells nothing.

Each write that changes a row's state is one change, as Mistral tells each of its state updates;
a task made in the transaction is told once, as new in the state the transaction leaves it in (a
task made and delayed, or paused before it starts, is told as started when it does start).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.engine import states
from app.engine.errors import IllegalTransition
from app.models import ActionExecution, TaskExecution, WorkflowExecution

log = logging.getLogger("app.engine.states")
Row = WorkflowExecution | TaskExecution | ActionExecution
KEEP: Any = object()


@dataclass(frozen=True)
class StateChange:
    kind: str                   # "workflow", "task" or "action"
    previous: str | None        # None: the row is new
    state: str
    fields: dict[str, Any]      # ids and names, as the log line carries them
    summary: dict[str, Any] = field(default_factory=dict)   # what a webhook is told of the row
    notify: tuple[dict[str, Any], ...] = ()                  # the execution's params.notify

    @property
    def message(self) -> str:
        names = self.fields
        if self.kind == "workflow":
            what = f"execution {names['workflow_name']} {names['execution_id']}"
        elif self.kind == "task":
            what = f"task {names['workflow_name']}.{names['task_name']} {names['task_id']}"
        else:
            what = f"action {names['action_name']} {names['action_execution_id']}"
        return f"{what}: {self.previous or 'new'} -> {self.state}"


class StateChanges:
    """The state changes one transaction makes, in the order they were made.

    Each write that changes a row's state is one change, as Mistral tells each of its state
    updates; but a task made in this transaction is told once, as new in the state the transaction
    leaves it in (a task made and delayed at once is told as started when its delay ends).
    """

    def __init__(self) -> None:
        # Tasks made in this transaction: (the row, its notifiers, when it was last written).
        self._new_tasks: dict[str, tuple[TaskExecution, tuple[dict[str, Any], ...], int]] = {}
        self._made: list[tuple[int, StateChange]] = []
        self._writes = itertools.count()

    def clear(self) -> None:
        self._new_tasks.clear()
        self._made.clear()

    def created(self, row: Row, notify: list[dict[str, Any]] | None = None) -> None:
        """``row`` is new in this transaction (in its first state)."""
        _check(row, None, row.state)
        if isinstance(row, TaskExecution):
            self._new_tasks[row.id] = (row, tuple(notify or ()), next(self._writes))
        else:
            self._made.append((next(self._writes), _change(row, None, row.state, ())))

    def transition(self, row: Row, state: str, state_info: Any = KEEP,
                   notify: list[dict[str, Any]] | None = None) -> None:
        """Write ``state`` (and ``state_info`` when given) on ``row``, once its table allows it."""
        previous = row.state
        _check(row, previous, state)
        row.state = state
        if state_info is not KEEP:
            row.state_info = state_info
        new = self._new_tasks.get(row.id) if isinstance(row, TaskExecution) else None
        if new is not None:
            # Told once the transaction is done with it; its end comes after what it triggered.
            self._new_tasks[row.id] = (new[0], new[1], next(self._writes))
        elif previous != state:
            self._made.append((next(self._writes), _change(row, previous, state, tuple(notify or ()))))

    def tell_created(self, row: TaskExecution) -> None:
        """Tell a task made in this transaction now, in the state it has, and each later write on
        its own: a glue task that ends in the transaction that made it is told as one a worker ran."""
        new = self._new_tasks.pop(row.id, None)
        if new is not None:
            # At its place among this transaction's writes: its last write so far.
            self._made.append((new[2], _change(row, None, row.state, new[1])))

    def changed_elsewhere(self, row: Row, previous: str, state: str) -> None:
        """A change written by a statement rather than through a row (a compare-and-set).

        Checked after the statement: a change the table does not allow rolls the transaction back.
        """
        _check(row, previous, state)
        self._made.append((next(self._writes), _change(row, previous, state, ())))

    def settle(self) -> list[StateChange]:
        """The changes as the transaction leaves its rows; called just before the commit."""
        changes = list(self._made)
        for row, notify, order in self._new_tasks.values():
            changes.append((order, _change(row, None, row.state, notify)))
        return [change for _, change in sorted(changes, key=lambda item: item[0])]


def _check(row: Row, previous: str | None, state: str) -> None:
    """Raise :class:`IllegalTransition` (logged with the row's ids) unless the row's table allows the
    change; ``previous`` None for a new row."""
    kind = _STATE_KINDS[type(row)]
    if previous is None:
        allowed = states.is_valid_first_state(kind, state)
    else:
        # A task's completion stays open to revision until the engine has followed it.
        followed = bool(row.processed) if isinstance(row, TaskExecution) else True
        allowed = states.is_valid_transition(kind, previous, state, followed)
    if allowed:
        return
    change = _change(row, previous, state, ())
    message = f"illegal state transition of {change.message}"
    log.error(message, extra=change.fields)
    raise IllegalTransition(message, change.fields)


_STATE_KINDS = {WorkflowExecution: states.Kind.WORKFLOW, TaskExecution: states.Kind.TASK,
                ActionExecution: states.Kind.ACTION}


def _kind(row: Row) -> str:
    if isinstance(row, WorkflowExecution):
        return "workflow"
    return "task" if isinstance(row, TaskExecution) else "action"


def _change(row: Row, previous: str | None, state: str, notify: tuple[dict[str, Any], ...]) -> StateChange:
    fields: dict[str, Any]
    if isinstance(row, WorkflowExecution):
        fields = {"execution_id": row.id, "workflow_name": row.workflow_name}
        summary = {"name": row.workflow_name, "task_execution_id": row.task_execution_id,
                   "root_execution_id": row.root_execution_id, "description": row.description}
        notify = notify or tuple((row.params or {}).get("notify") or ())
    elif isinstance(row, TaskExecution):
        fields = {"execution_id": row.workflow_execution_id, "task_id": row.id,
                  "workflow_name": row.workflow_name, "task_name": row.name}
        summary = {"name": row.name, "type": row.type, "workflow_execution_id": row.workflow_execution_id}
    else:
        fields = {"execution_id": row.workflow_execution_id, "task_id": row.task_execution_id,
                  "action_execution_id": row.id, "workflow_name": row.workflow_name,
                  "task_name": row.task_name, "action_name": row.name}
        return StateChange("action", previous, state, {**fields, "previous_state": previous, "state": state})
    summary = {"id": row.id, "state": state, "state_info": row.state_info, "workflow_name": row.workflow_name,
               "workflow_namespace": row.workflow_namespace, "workflow_id": row.workflow_id,
               "project_id": row.project_id, **summary}
    return StateChange(_kind(row), previous, state, {**fields, "previous_state": previous, "state": state},
                       summary, notify)


# Told of every committed change of an execution or a task (the metrics count them); registered at
# process start.
_subscribers: list[Callable[[dict[str, Any]], None]] = []


def subscribe(callback: Callable[[dict[str, Any]], None]) -> None:
    if callback not in _subscribers:
        _subscribers.append(callback)


def emit(changes: list[StateChange]) -> None:
    """Log what the committed transaction changed, and tell the subscribers."""
    if not changes:
        return
    details = log.isEnabledFor(logging.DEBUG)
    for change in changes:
        if change.kind == "workflow":
            log.info(change.message, extra=change.fields)
        elif details:
            log.debug(change.message, extra=change.fields)
    for callback in _subscribers:
        for change in changes:
            if change.kind != "action":
                callback(change.fields)
