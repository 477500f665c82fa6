"""The real engine in-process: a collecting dispatcher, scripted action results, a virtual clock.

No broker, no worker, no scheduler, no sleep. Each message the engine sends after a commit is
handled here by calling what a worker would call (``Engine.on_action_result``,
``continue_after_action``, ``continue_parent``, ``run_inline``). Timers are the engine's own rows: their ``due_at``
is written on a virtual clock (far in the future, so a scheduler sharing the database never fires
them), and when no message is pending the earliest one fires through ``Engine.fire_timer``.

An action's result comes from the script of its task (see :class:`Script`); a task with nothing
scripted runs its action for real, as a worker would (``executor.run_action``), or inside the
engine's step when it is glue (``std.noop``, ``std.echo`` ...: see ``app.engine.inline``).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, or_, select

from app.actions.base import Result
from app.config import Settings
from app.engine import timers
from app.engine.definitions import create_workflows
from app.engine.dispatch import (
    ActionDone,
    CollectingDispatcher,
    ContinueAfterAction,
    ContinueParent,
    Message,
    Notify,
    RunAction,
    RunInline,
)
from app.engine.service import Engine
from app.engine.states import State
from app.engine.transactions import with_retries
from app.extensions import session
from app.models import ActionExecution, TaskExecution, Timer, WorkflowDefinition, WorkflowExecution
from app.workers import executor

# Virtual time 0. Far in the future: a live scheduler polling the same database finds nothing due.
EPOCH = datetime(2200, 1, 1)
MAX_EVENTS = 20_000
INSTRUCTIONS = ("error", "async", "run", "cancel", "result")


@dataclass(frozen=True)
class Fired:
    kind: str
    task: str
    at: float

    def __str__(self) -> str:
        return f"{self.kind} {self.task} @{self.at:g}"


class Script:
    """Scripted action results, per task name, consumed in the order the actions are sent to run.

    ``{task: [entry, ...]}``, or ``{task: {items: {index: [entry, ...]}}}`` per with-items item.
    An entry is a value (the action succeeds with it), or a mapping with one of these keys:
    ``error`` (fails with that error), ``async: true`` (stays RUNNING until a step completes it),
    ``run: true`` (runs the action for real), ``cancel: true``, ``result`` (succeeds with that
    value, for a value that is itself such a mapping).
    """

    def __init__(self, results: dict[str, Any] | None) -> None:
        self._by_task: dict[str, deque[Any]] = {}
        self._by_item: dict[tuple[str, int], deque[Any]] = {}
        for name, entries in (results or {}).items():
            if isinstance(entries, dict) and set(entries) == {"items"}:
                for index, item_entries in entries["items"].items():
                    self._by_item[(name, int(index))] = deque(_as_list(item_entries))
            else:
                self._by_task[name] = deque(_as_list(entries))

    def has(self, task_name: str | None, item_index: int | None) -> bool:
        """Whether a result is scripted for the next run of this task (or item)."""
        queue = self._by_item.get((task_name or "", item_index or 0)) if item_index is not None else None
        return bool(queue or self._by_task.get(task_name or ""))

    def take(self, task_name: str | None, item_index: int | None) -> tuple[bool, Any]:
        """(True, the next entry) or (False, None) when nothing is scripted."""
        queue = self._by_item.get((task_name or "", item_index or 0)) if item_index is not None else None
        if not queue:
            queue = self._by_task.get(task_name or "")
        if queue:
            return True, queue.popleft()
        return False, None

    def leftovers(self) -> dict[str, list[Any]]:
        left = {name: list(queue) for name, queue in self._by_task.items() if queue}
        left.update({f"{name}[{index}]": list(queue) for (name, index), queue in self._by_item.items() if queue})
        return left


def _as_list(entries: Any) -> list[Any]:
    return list(entries) if isinstance(entries, list) else [entries]


def instruction(entry: Any) -> str | None:
    """The instruction of a scripted entry, or None for a plain value."""
    if isinstance(entry, dict) and len(entry) == 1:
        (key,) = entry
        if key in INSTRUCTIONS:
            return str(key)
    return None


class VirtualClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.seconds)

    def at(self, moment: datetime) -> float:
        return round((moment - EPOCH).total_seconds(), 6)


class EngineDriver:
    """Start workflows through the real engine and play every message, result and timer in-process."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch,
                 results: dict[str, Any] | None = None) -> None:
        # ``script`` may be replaced before the workflow starts.
        self.settings = settings
        self.dispatcher = CollectingDispatcher()
        self.script = Script(results)
        self.clock = VirtualClock()
        # Timers are scheduled on the virtual clock; nothing else of the engine reads it.
        monkeypatch.setattr(timers, "utc_now", self.clock.now)
        self.fired: list[Fired] = []
        self.notified: list[dict[str, Any]] = []
        self.dropped: list[str] = []
        self.root_ids: list[str] = []
        self.definitions: list[str] = []
        self._pending: deque[Message] = deque()
        self._order = itertools.count()
        self._seen_timers: dict[str, int] = {}
        self._events = 0

    @property
    def engine(self) -> Engine:
        engine = Engine(session(), self.dispatcher)
        # A scripted result stands for a worker's report: such an action goes to a "worker" (this
        # driver) even when the engine could run it inline; unscripted glue runs inline.
        engine.keep_on_workers = lambda action: self.script.has(action.task_name, action.item_index)
        return engine

    @property
    def root_id(self) -> str:
        return self.root_ids[-1]

    # -- setting up ----------------------------------------------------------------------------

    def define(self, text: str) -> list[str]:
        """Store the workflows of ``text`` (as ``POST /v2/workflows`` does); returns their names."""
        names = with_retries(session(), lambda: [row.name for row in create_workflows(session(), text)])
        self.definitions += names
        return names

    def start(self, name: str, wf_input: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> str:
        execution = self.engine.start_workflow(name, "", wf_input, params)
        self.root_ids.append(execution.id)
        self._collect()
        return execution.id

    # -- the loop ------------------------------------------------------------------------------

    def call(self, operation: Callable[[Engine], Any]) -> Any:
        """Call the engine as the API would (one operation), then collect what it sent."""
        try:
            return operation(self.engine)
        finally:
            self._collect()

    def settle(self) -> None:
        """Handle every pending message, and those they cause, without moving the clock."""
        while self._pending:
            self._count_event()
            self._handle(self._pending.popleft())
            self._collect()

    def handle_next(self) -> Message:
        """Handle the oldest pending message only (what one worker does), and return it."""
        self._count_event()
        message = self._pending.popleft()
        self._handle(message)
        self._collect()
        return message

    @property
    def pending(self) -> list[Message]:
        return list(self._pending)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, firing every timer due meanwhile."""
        self.advance_to(self.clock.seconds + seconds)

    def advance_to(self, moment: float) -> None:
        self.settle()
        while (timer := self._next_timer()) is not None and self.clock.at(timer.due_at) <= moment:
            self._fire(timer)
        self.clock.seconds = max(self.clock.seconds, moment)

    def run(self) -> None:
        """Go on until nothing is pending and no timer is left: what the scheduler would do in time."""
        self.settle()
        while (timer := self._next_timer()) is not None:
            self._fire(timer)

    def _count_event(self) -> None:
        self._events += 1
        if self._events > MAX_EVENTS:
            raise AssertionError(f"more than {MAX_EVENTS} messages and timers: the workflow does not end")

    def _collect(self) -> None:
        self._pending.extend(self.dispatcher.sent)
        self.dispatcher.sent.clear()
        for timer_id in session().scalars(select(Timer.id).where(Timer.target_id.in_(self._task_ids()))):
            self._seen_timers.setdefault(timer_id, next(self._order))
        session().commit()

    def _next_timer(self) -> Any:
        """The (id, due_at, kind, target_id) of the earliest timer of these executions, or None."""
        rows = session().execute(select(Timer.id, Timer.due_at, Timer.kind, Timer.target_id)
                                 .where(Timer.id.in_(list(self._seen_timers)))).all()
        session().commit()
        if not rows:
            return None
        return min(rows, key=lambda row: (row.due_at, self._seen_timers[row.id]))

    def _fire(self, timer: Any) -> None:
        self._count_event()
        self.clock.seconds = max(self.clock.seconds, self.clock.at(timer.due_at))
        task = session().get(TaskExecution, timer.target_id)
        self.fired.append(Fired(timer.kind, task.name if task else "?", self.clock.seconds))
        session().commit()
        self.call(lambda engine: engine.fire_timer(timer.id))
        self.settle()

    def _handle(self, message: Message) -> None:
        if isinstance(message, RunAction):
            self._run_action(message.action_execution_id)
        elif isinstance(message, RunInline):
            self.engine.run_inline(message.workflow_execution_id, list(message.action_execution_ids))
        elif isinstance(message, ContinueAfterAction):
            self.engine.continue_after_action(message.action_execution_id)
        elif isinstance(message, ContinueParent):
            self.engine.continue_parent(message.workflow_execution_id)
        elif isinstance(message, Notify):
            self.notified.append(message.body)
        elif not isinstance(message, ActionDone):
            raise AssertionError(f"unexpected message {message!r}")

    def _run_action(self, action_id: str) -> None:
        action = session().get(ActionExecution, action_id, populate_existing=True)
        runnable = action is not None and action.state == State.RUNNING and action.worker_id is None
        task_name, item_index = (action.task_name, action.item_index) if action is not None else (None, None)
        session().commit()
        if not runnable:
            # A worker drops such a message too: the row says the action is no longer to run.
            self.dropped.append(action_id)
            return
        found, entry = self.script.take(task_name, item_index)
        kind = instruction(entry) if found else "run"
        if kind == "run":
            executor.run_action(session(), self.engine, self.settings, action_id)
        elif kind == "async":
            return
        elif kind == "error":
            self.engine.on_action_result(action_id, Result(error=entry["error"]))
        elif kind == "cancel":
            self.engine.on_action_result(action_id, Result(cancel=True))
        else:
            value = entry["result"] if kind == "result" else entry
            self.engine.on_action_result(action_id, Result(data=value))

    # -- what the tests look at ----------------------------------------------------------------

    def execution_ids(self) -> list[str]:
        """Every execution this driver started, and their sub-workflows, in creation order."""
        if not self.root_ids:
            return []
        rows = session().execute(select(WorkflowExecution.id).where(or_(
            WorkflowExecution.id.in_(self.root_ids), WorkflowExecution.root_execution_id.in_(self.root_ids),
        )).order_by(WorkflowExecution.created_at, WorkflowExecution.id)).scalars().all()
        return list(rows)

    def _task_ids(self) -> Any:
        return select(TaskExecution.id).where(TaskExecution.workflow_execution_id.in_(self.execution_ids()))

    def execution(self, execution_id: str | None = None) -> WorkflowExecution:
        row = session().get(WorkflowExecution, execution_id or self.root_id, populate_existing=True)
        assert row is not None
        return row

    def children(self) -> list[WorkflowExecution]:
        return [self.execution(ex_id) for ex_id in self.execution_ids() if ex_id not in self.root_ids]

    def tasks(self, execution_id: str | None = None) -> list[TaskExecution]:
        """The tasks of one execution (the last started by default), in creation order."""
        return list(session().scalars(
            select(TaskExecution).where(TaskExecution.workflow_execution_id == (execution_id or self.root_id))
            .order_by(TaskExecution.created_at, TaskExecution.id)
            .execution_options(populate_existing=True)
        ).all())

    def task(self, name: str) -> TaskExecution:
        """The latest task called ``name``, in the root execution first, then in its sub-workflows."""
        for execution_id in [self.root_id, *(e for e in self.execution_ids() if e not in self.root_ids)]:
            found = [task for task in self.tasks(execution_id) if task.name == name]
            if found:
                return found[-1]
        raise AssertionError(f"no task {name!r} ran")

    def actions(self, task: TaskExecution) -> list[ActionExecution]:
        return list(session().scalars(
            select(ActionExecution).where(ActionExecution.task_execution_id == task.id)
            .order_by(ActionExecution.created_at, ActionExecution.id)
            .execution_options(populate_existing=True)
        ).all())

    def open_actions(self) -> list[ActionExecution]:
        """Actions RUNNING or PAUSED (async ones waiting for their result), oldest first."""
        return list(session().scalars(
            select(ActionExecution).where(ActionExecution.workflow_execution_id.in_(self.execution_ids()),
                                          ActionExecution.state.in_([State.RUNNING.value, State.PAUSED.value]))
            .order_by(ActionExecution.created_at, ActionExecution.id)
            .execution_options(populate_existing=True)
        ).all())

    def action_of(self, task_name: str, item: int | None = None,
                  execution_input: dict[str, Any] | None = None) -> ActionExecution:
        """The oldest RUNNING (or PAUSED) action of a task called ``task_name``, else its latest action."""
        rows = list(session().scalars(
            select(ActionExecution).where(ActionExecution.workflow_execution_id.in_(self.execution_ids()),
                                          ActionExecution.task_name == task_name)
            .order_by(ActionExecution.created_at, ActionExecution.id)
            .execution_options(populate_existing=True)
        ).all())
        if item is not None:
            rows = [action for action in rows if action.item_index == item]
        if execution_input is not None:
            rows = [action for action in rows
                    if _matches(self.execution(action.workflow_execution_id).input, execution_input)]
        open_rows = [action for action in rows if action.state in (State.RUNNING.value, State.PAUSED.value)]
        if open_rows or rows:
            return (open_rows or rows[-1:])[0]
        raise AssertionError(f"no action of task {task_name!r} (item {item}, input {execution_input})")

    # -- cleaning up ---------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Delete every row this driver made: the database may be shared with the rest of the suite."""
        session().rollback()
        with_retries(session(), self._delete_rows)

    def _delete_rows(self) -> None:
        ids = self.execution_ids()
        if ids:
            task_ids = list(session().scalars(self._task_ids()))
            for statement in (
                delete(Timer).where(Timer.target_id.in_(task_ids)),
                delete(ActionExecution).where(ActionExecution.workflow_execution_id.in_(ids)),
                delete(TaskExecution).where(TaskExecution.workflow_execution_id.in_(ids)),
                delete(WorkflowExecution).where(WorkflowExecution.id.in_(ids)),
            ):
                session().execute(statement.execution_options(synchronize_session=False))
        if self.definitions:
            session().execute(delete(WorkflowDefinition).where(
                WorkflowDefinition.name.in_(self.definitions), WorkflowDefinition.namespace == ""))


def _matches(values: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(values.get(key) == value for key, value in wanted.items())


def names(rows: Iterable[TaskExecution]) -> list[str]:
    return [row.name for row in rows]
