"""Completing actions: a worker reports a result, or a third party completes an async action.

Both end in the same continuation: the task completes and the workflow goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from app.actions import registry
from app.actions.base import Result
from app.engine import adhoc, catalog, control, inline, limits, notifications, state_log, step_writes
from app.engine.arrivals import Arrivals
from app.engine.claims import DELIVERED, INLINE, SENDING, ActionRun
from app.engine.dispatch import ActionDone, ContinueAfterAction, Dispatcher, Message, RunAction
from app.engine.driver_statements import DriverStatement
from app.engine.errors import Conflict, EngineError, InvalidStateTransition, NotAllowed, NotFound
from app.engine.row_loading import RowLoader, read_rows
from app.engine.runtime import Step
from app.engine.state_log import StateChanges
from app.engine.states import COMPLETED, Kind, State, check_transition
from app.engine.store import SqlStore
from app.engine.transactions import (
    TASK_ROWS,
    lock_workflow,
    lock_workflow_with_task,
    lock_workflow_with_task_completing,
    with_retries,
)
from app.models import ActionExecution, TaskExecution, WorkflowExecution, built, new_id, utc_now

log = logging.getLogger(__name__)
# An item's ending rarely reads its task's data, which can be large (each item's context, the results).
_WITHOUT_TASK_DATA = [defer(TaskExecution.in_context), defer(TaskExecution.published), defer(TaskExecution.result)]

_ACTIONS = ActionExecution.__table__


# Each inline step runs them: glue actions taken with a compare-and-set that returns them whole, and
# their tasks. Built once for each number of ids (at most a step's glue budget), handed to the
# driver as text.
_ACTION_ROWS = RowLoader(ActionExecution)


@lru_cache(maxsize=64)
def _take_inline(count: int) -> DriverStatement:
    return DriverStatement(
        update(_ACTIONS)
        .where(_ACTIONS.c.id.in_([bindparam(f"id{index}") for index in range(count)]),
               _ACTIONS.c.state == State.RUNNING.value, _ACTIONS.c.worker_id.is_(None))
        .values(worker_id=INLINE, updated_at=bindparam("now", type_=_ACTIONS.c.updated_at.type))
        .returning(*_ACTION_ROWS.columns))


@lru_cache(maxsize=64)
def _tasks_by_id(count: int) -> DriverStatement:
    tasks = TaskExecution.__table__
    return DriverStatement(
        select(*TASK_ROWS.columns).where(tasks.c.id.in_([bindparam(f"id{index}") for index in range(count)])))


def _ids(ids: Sequence[str | None]) -> dict[str, Any]:
    return {f"id{index}": value for index, value in enumerate(ids)}

COMPLETION_STATES = ("SUCCESS", "ERROR", "CANCELLED", "PAUSED", "RUNNING")


@dataclass(frozen=True)
class _Reported:
    """A worker's result of an action it claimed and ran (a sync action's, or an async action's
    whose request never left); ``recorded`` is told once it is (or failed to be)."""

    run: ActionRun
    result: Result
    recorded: Callable[[], None] | None = None

    def told(self) -> None:
        if self.recorded is not None:
            self.recorded()


# One per process: the results its threads report, by workflow execution (app.engine.arrivals).
_REPORTED: Arrivals[_Reported] = Arrivals()


class _OneAtATime(Exception):
    """A batch of results that transactions of their own record better: one of its actions is no
    longer running, or its workflow or task is gone (each one's own transaction says what to do)."""


def log_deleted_while_running(run: ActionRun) -> None:
    """A result that finds its action gone: its execution was deleted (with force) while it ran."""
    log.info("action execution %s (%s) was deleted while it ran; its result is dropped", run.id, run.name)


def _handed_over_failed(reported: _Reported, exc: Exception) -> None:
    if isinstance(exc, NotFound):
        log_deleted_while_running(reported.run)
    else:
        log.error("recording the result of action execution %s (%s) failed", reported.run.id, reported.run.name,
                  exc_info=exc)


class ActionService:
    def __init__(self, session: Session, dispatcher: Dispatcher, worker_heartbeat_seconds: float = 5.0) -> None:
        self.session = session
        self.store = SqlStore(session)
        # The state changes of the transaction being run (see state_log); told after its commit.
        self.changes = StateChanges()
        self.dispatcher = dispatcher
        # A worker silent for three beats is taken for dead (as the sweeper does).
        self.worker_silence = timedelta(seconds=3 * worker_heartbeat_seconds)

    # Actions to run on workers even when they could run inline (a seam for tests whose workers
    # answer with scripted results); None: every glue action may.
    keep_on_workers: Callable[[ActionExecution], bool] | None = None

    def _step(self, wf_ex: WorkflowExecution, runs_glue: bool = False) -> Step:
        """A step over ``wf_ex``; ``runs_glue`` only for a worker's continuation (never a web request)."""
        return Step(self.store, wf_ex, changes=self.changes,
                    glue=inline.Glue(here=runs_glue, keep_on_workers=self.keep_on_workers))

    def _commit_and_send(self, unit: Any) -> Any:
        messages: list[Message] = []
        changes: list[state_log.StateChange] = []

        def attempt() -> Any:
            messages.clear()
            self.changes.clear()
            result, produced = unit()
            self.store.write()
            messages.extend(produced)
            # As the unit leaves its rows: the commit may expire them.
            changes[:] = self.changes.settle()
            return result

        try:
            with step_writes.writing(self.session):
                result = with_retries(self.session, attempt)
        finally:
            self.changes.clear()
        # Nothing of a failed unit is told.
        state_log.emit(changes)
        messages.extend(notifications.messages(changes))
        if messages:
            try:
                self.dispatcher.send(list(messages))
            except Exception as exc:  # noqa: BLE001 - whatever the broker raises, the change is committed
                # Committed means answered: the sweeper re-sends each of these from the database
                # (an unclaimed action, a continuation not run, a child's end not reported).
                log.warning("committed, but sending %d message(s) failed; the sweeper will re-send: %s",
                            len(messages), exc)
        return result

    # -- actions -------------------------------------------------------------------------------

    def on_action_result(self, action_execution_id: str, result: Result,
                         sent_request: dict[str, Any] | None = None, run: ActionRun | None = None) -> None:
        """A worker reports the result of an action it ran (sync, or an async send that failed, with
        the request it sent if one left); ``run`` is what its claim read of the row, if it claimed it."""
        state = _result_state(result)

        def unit() -> tuple[None, list[Message]]:
            # What the claim read does not change while the action runs: no need to read it again.
            action = _as_row(run) if run is not None else self.session.get(ActionExecution, action_execution_id)
            if action is None:
                raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
            final_state, output = self._shaped_output(action, state, result.to_output())
            # The continuation runs in this transaction, so the result is applied as it is recorded.
            wf_ex, task, previous = self._lock_and_record(action, final_state, output, sent_request)
            if previous is None:
                if run is not None and self.session.get(ActionExecution, action_execution_id) is None:
                    raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
                log.warning("result of action %s ignored: it is already completed", action_execution_id)
                return None, []
            self._completed(action, previous, final_state, output)
            if wf_ex is None:
                return None, [ActionDone(action_execution_id)]
            return None, self._continue(wf_ex, action, claim=False, task=task)

        self._commit_and_send(unit)

    def report_result(self, run: ActionRun, result: Result, recorded: Callable[[], None] | None = None) -> None:
        """A worker's result of an action it claimed and ran, recorded with its continuation;
        ``recorded`` is called once it is (or failed to be), by whichever thread recorded it.

        While one thread of this process records results of a workflow, the results the others
        report for it are handed to that thread and recorded together (app.engine.arrivals): this
        may return before the result is recorded.
        """
        reported = _Reported(run, result, recorded)
        if run.workflow_execution_id is None or run.task_execution_id is None:
            self._record_one(reported)
            return
        _REPORTED.record(run.workflow_execution_id, reported, self._record_batch, self._record_one,
                         _handed_over_failed)

    def _record_one(self, reported: _Reported) -> None:
        try:
            self.on_action_result(reported.run.id, reported.result, run=reported.run)
        finally:
            reported.told()

    def _record_batch(self, batch: Sequence[_Reported]) -> None:
        try:
            self._record_reported(batch)
        except _OneAtATime as exc:
            log.info("recording %d action results together: %s; recording them one at a time", len(batch), exc)
            raise
        except Exception:
            log.warning("recording %d action results together failed; recording them one at a time", len(batch),
                        exc_info=True)
            raise
        for reported in batch:
            reported.told()

    def _record_reported(self, batch: Sequence[_Reported]) -> None:
        """Results of one workflow's actions in one transaction: one lock, then each result applied
        in turn as its own step would apply it, in one step (the workflow's end is asked about once
        no task of the batch is left running), and one write.

        They are applied in the order of their actions' ids, the order in which the heartbeat's
        statement meets the same rows: neither waits for a row the other holds while holding one
        the other waits for."""
        ordered = sorted(batch, key=lambda reported: reported.run.id)

        def unit() -> tuple[None, list[Message]]:
            actions = [_as_row(reported.run) for reported in ordered]
            outcomes = [self._shaped_output(action, _result_state(reported.result), reported.result.to_output())
                        for action, reported in zip(actions, ordered, strict=True)]
            wf_ex, task, previous = self._lock_and_record(actions[0], *outcomes[0], None)
            if wf_ex is None or task is None:
                raise _OneAtATime("the workflow or the task is gone")
            tasks = {task.id: task}
            others = list({action.task_execution_id or "" for action in actions} - {task.id})
            if others:
                tasks.update((row.id, row) for row in (TASK_ROWS.load(self.session, found) for found in read_rows(
                    self.session, _tasks_by_id(len(others)), _ids(others))))
            step = self._step(wf_ex, runs_glue=True)
            step.expect_completions(tasks.values())
            for index, (action, (state, output)) in enumerate(zip(actions, outcomes, strict=True)):
                if index:
                    previous = self._set_action_result(action.id, state, output, processed=True)
                if previous is None:
                    raise _OneAtATime(f"action execution {action.id} is no longer running")
                self._completed(action, previous, state, output)
                its_task = tasks.get(action.task_execution_id or "")
                if its_task is not None and its_task.state not in COMPLETED:
                    step.action_ended(its_task, action)
                    step.drain()
            return None, step.messages

        self._commit_and_send(unit)

    def _completed(self, action: ActionExecution, previous: str, state: str, output: dict[str, Any]) -> None:
        """Tell the state change of an action a compare-and-set completed, and record on its row what
        that statement wrote, without another read or write."""
        self.changes.changed_elsewhere(action, previous, state)
        for key, value in (("state", state), ("output", output), ("accepted", True), ("processed", True)):
            set_committed_value(action, key, value)

    def _lock_and_record(self, action: ActionExecution, state: str, output: dict[str, Any],
                         sent_request: dict[str, Any] | None,
                         ) -> tuple[WorkflowExecution | None, TaskExecution | None, str | None]:
        """:meth:`_lock_for` and :meth:`_set_action_result`: the workflow, the task, and the state the
        action was completed from (None: it was not). On PostgreSQL a task's RUNNING action is
        completed by the statement that takes the lock: one round trip fewer while it is held."""
        if (sent_request is None and action.task_execution_id is not None
                and self.session.get_bind().dialect.name == "postgresql"):
            locked = lock_workflow_with_task_completing(
                self.session, action.workflow_execution_id or "", action.task_execution_id,
                action.item_index is not None, action.id, state, output, utc_now())
            if locked is not None:
                workflow, its_task, completed = locked
                if completed:
                    return workflow, its_task, State.RUNNING.value
                # Not completed: a paused async action, one completed or timed out already, or one
                # resumed (PAUSED -> RUNNING) by the transaction the lock waited for, which the
                # statement's snapshot, taken before the wait, did not see. The usual
                # compare-and-set, in statements of their own, tells which.
                return workflow, its_task, self._set_action_result(action.id, state, output, processed=True)
        wf_ex, task = self._lock_for(action)
        return wf_ex, task, self._set_action_result(action.id, state, output, processed=True,
                                                    sent_request=sent_request)

    def _lock_for(self, action: ActionExecution) -> tuple[WorkflowExecution | None, TaskExecution | None]:
        """Lock the action's workflow, loading its task with it; one item of a with-items task ending
        rarely reads the workflow's or the task's data."""
        without_data = action.item_index is not None
        if action.task_execution_id is None:
            return lock_workflow(self.session, action.workflow_execution_id or "", without_data), None
        return lock_workflow_with_task(self.session, action.workflow_execution_id or "",
                                       action.task_execution_id, without_data)

    def run_action(self, name: str, action_input: dict[str, Any], params: dict[str, Any], namespace: str = "",
                   description: str = "") -> ActionExecution:
        """Run an action outside any workflow (``POST /v2/action_executions``)."""
        def unit() -> tuple[ActionExecution, list[Message]]:
            if catalog.find_action(self.session, name, namespace) is None and registry.find(name) is None:
                # Mistral's run-action words it without the namespace its workflows name.
                raise EngineError(f"Failed to find action [action_name={name}]")
            resolved = adhoc.resolve(self.session, name, action_input, namespace, None, NO_EXECUTION)
            is_sync = _is_sync_action(resolved)
            if params.get("run_sync") and not is_sync:
                raise EngineError("Action does not support synchronous execution.")
            target = params.get("target")
            action = ActionExecution(
                id=new_id(), name=name, workflow_namespace=namespace, description=description or "",
                state=State.RUNNING.value, input=resolved.given,
                params={**resolved.params(), **{k: v for k, v in params.items() if k != "base"}},
                is_sync=is_sync, accepted=False,
            )
            self.session.add(action)
            self.changes.created(action)
            return action, [RunAction(action.id, name, str(target) if target else None)]

        result: ActionExecution = self._commit_and_send(unit)
        return result

    def take_unsaved_result(self, action_execution_id: str) -> ActionExecution:
        """A synchronous run whose result is not saved ended: its action execution goes, and the
        row is returned as it was (detached) for the answer, the last anyone sees of it."""
        result: ActionExecution = self._commit_and_send(lambda: (self._delete_ad_hoc(action_execution_id), []))
        return result

    def delete_action_execution(self, action_execution_id: str) -> None:
        """``DELETE /v2/action_executions/<id>``: only a completed action run outside workflows."""
        self._commit_and_send(lambda: (self._delete_ad_hoc(action_execution_id), []))

    def _delete_ad_hoc(self, action_execution_id: str) -> ActionExecution:
        action = self.session.get(ActionExecution, action_execution_id, populate_existing=True)
        if action is None:
            raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
        if action.task_execution_id is not None:
            raise NotAllowed("Only ad-hoc action execution can be deleted.")
        if action.state not in COMPLETED:
            raise NotAllowed("Only completed action execution can be deleted.")
        # Kept loaded for the caller; the statement cannot be undone by a flush of this object.
        self.session.expunge(action)
        self.session.execute(delete(ActionExecution).where(ActionExecution.id == action_execution_id)
                             .execution_options(synchronize_session=False))
        return action

    def complete_action(self, action_execution_id: str, state: str, output: Any) -> ActionExecution:
        """A third party (or a human) completes an action through the API.

        One short transaction records the result with a compare-and-set; the workflow goes on in a
        worker.
        """
        if state not in COMPLETION_STATES:
            raise EngineError(f"Error. Expected one of {list(COMPLETION_STATES)}, actual: {state}")
        if state in ("PAUSED", "RUNNING"):
            return self._pause_or_resume_action(action_execution_id, state)
        value = decode_output(output)
        limits.check_field("output", value)
        if state == State.ERROR and value is None:
            value = "Unknown error"
        output_dict = {"result": None if state == State.CANCELLED else value}

        def unit() -> tuple[ActionExecution, list[Message]]:
            action = self.session.get(ActionExecution, action_execution_id)
            if action is None:
                raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
            self._refuse_while_a_worker_runs_it(action)
            final_state, shaped = self._shaped_output(action, state, output_dict)
            changed = action.state not in COMPLETED and self._set_action_result(
                action_execution_id, final_state, shaped) is not None
            if not changed:
                self.session.refresh(action)
                raise Conflict(f"Action execution {action_execution_id} is already completed "
                               f"[state={action.state}]; the completion was refused.")
            self.changes.changed_elsewhere(action, action.state, final_state)
            self.session.refresh(action)
            messages: list[Message] = []
            if action.task_execution_id:
                messages.append(ContinueAfterAction(action_execution_id))
            else:
                messages.append(ActionDone(action_execution_id))
            return action, messages

        result: ActionExecution = self._commit_and_send(unit)
        return result

    def _refuse_while_a_worker_runs_it(self, action: ActionExecution) -> None:
        """A synchronous action's result comes from the live worker running it, not from the API.

        Mistral accepts such a completion and later ignores the worker's result; here the caller is
        told at once. Once the worker is dead (three missed beats), the API may complete it.
        """
        if not action.is_sync or action.state != State.RUNNING or action.worker_id in (None, DELIVERED, SENDING):
            return
        if action.last_heartbeat is not None and utc_now() - action.last_heartbeat < self.worker_silence:
            raise Conflict(f"Action execution {action.id} is a synchronous action that worker "
                           f"{action.worker_id} is running; its result will come from that worker.")

    def _pause_or_resume_action(self, action_execution_id: str, state: str) -> ActionExecution:
        """An async action paused (or resumed) by its third party pauses (resumes) task and workflow."""

        def unit() -> tuple[ActionExecution, list[Message]]:
            action = self.session.get(ActionExecution, action_execution_id)
            if action is None:
                raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
            wf_ex = lock_workflow(self.session, action.workflow_execution_id or "")
            self.session.refresh(action)
            if action.state in COMPLETED:
                raise Conflict(f"Action execution {action_execution_id} is already completed "
                               f"[state={action.state}]; the update was refused.")
            if state == State.PAUSED and action.is_sync:
                raise InvalidStateTransition("Only an asynchronous action can be paused.")
            check_transition(Kind.ACTION, action.state, state)
            # Compare-and-set: a callback may have completed the action since it was read (it does
            # not take the workflow lock), and its answered result must not be overwritten.
            changed = self.session.execute(
                update(ActionExecution)
                .where(ActionExecution.id == action_execution_id, ActionExecution.state == action.state)
                .values(state=state, updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            if not getattr(changed, "rowcount", 0):
                raise Conflict(f"Action execution {action_execution_id} was completed meanwhile; "
                               f"the update to {state} was refused.")
            self.changes.changed_elsewhere(action, action.state, state)
            set_committed_value(action, "state", state)
            task = self.session.get(TaskExecution, action.task_execution_id) if action.task_execution_id else None
            if task is None or wf_ex is None:
                return action, []
            step = self._step(wf_ex)
            if state == State.PAUSED:
                step.set_state(task, State.PAUSED.value)
                control.pause(step)
            else:
                step.set_state(task, State.RUNNING.value)
                control.resume(step)
            return action, step.messages

        result: ActionExecution = self._commit_and_send(unit)
        return result

    def continue_after_action(self, action_execution_id: str) -> None:
        """Worker side of :meth:`complete_action`: complete the task and follow its transitions."""

        def unit() -> tuple[None, list[Message]]:
            action = self.session.get(ActionExecution, action_execution_id)
            if action is None or action.workflow_execution_id is None:
                return None, []
            wf_ex = lock_workflow(self.session, action.workflow_execution_id)
            if wf_ex is None:
                return None, []
            self.session.refresh(action)
            return None, self._continue(wf_ex, action)

        self._commit_and_send(unit)

    def _shaped_output(self, action: ActionExecution, state: str,
                       output: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return inline.shaped_output(action, state, output)

    def _set_action_result(self, action_execution_id: str, state: str, output: dict[str, Any],
                           processed: bool = False, sent_request: dict[str, Any] | None = None) -> str | None:
        """Compare-and-set: only a RUNNING or PAUSED action can be completed, and only once.

        Returns the state it was completed from (None: it was not). RUNNING is tried first, in one
        statement that also tells the previous state; PAUSED (only an async action) after.
        """
        values: dict[str, Any] = {"state": state, "output": output, "accepted": True, "processed": processed,
                                  "updated_at": utc_now()}
        if sent_request is not None:
            values["sent_request"] = sent_request
        # Through the driver (step_writes.update_row): on the hot path of every action's result,
        # SQLAlchemy's per-execution work on a compiled statement cost more than the statement.
        for previous in (State.RUNNING.value, State.PAUSED.value):
            if step_writes.update_row(self.session, _ACTIONS, values, {"id": action_execution_id, "state": previous}):
                return previous
        return None

    def _continue(self, wf_ex: WorkflowExecution, action: ActionExecution, claim: bool = True,
                  task: TaskExecution | None = None) -> list[Message]:
        """Apply a completed action to its task; ``claim`` marks it processed, so it applies once.
        ``task``: the action's task, when the caller loaded it with the workflow's lock."""
        if action.task_execution_id is None or action.state not in COMPLETED:
            return []
        if claim:
            if action.processed or not action.accepted:
                return []
            action.processed = True
        if task is None:
            task = self.session.get(TaskExecution, action.task_execution_id, populate_existing=True,
                                    options=_WITHOUT_TASK_DATA if action.item_index is not None else [])
        if task is None or task.state in COMPLETED:
            return []
        # A worker's continuation: the glue it reaches completes here (see app.engine.inline).
        step = self._step(wf_ex, runs_glue=True)
        step.action_ended(task, action)
        step.drain()
        return step.messages

    def run_inline(self, workflow_execution_id: str, action_execution_ids: list[str]) -> None:
        """Worker side of a :class:`RunInline` message: complete the glue actions a step handed on.

        Each is taken with a compare-and-set, so one that a worker claimed meanwhile (the sweeper
        re-sends the message of an unclaimed action) or that the API completed is left alone. What
        is over this step's budget goes on in the next message.
        """

        def unit() -> tuple[None, list[Message]]:
            wf_ex = lock_workflow(self.session, workflow_execution_id)
            if wf_ex is None:
                return None, []
            step = self._step(wf_ex, runs_glue=True)
            now, later = action_execution_ids[:step.glue.left], action_execution_ids[step.glue.left:]
            taken = [_ACTION_ROWS.load(self.session, found) for found in read_rows(
                self.session, _take_inline(len(now)), {**_ids(now), "now": utc_now()})] if now else []
            actions = {row.id: row for row in taken}
            task_ids = list({action.task_execution_id for action in taken})
            tasks = {row.id: row for row in (TASK_ROWS.load(self.session, found, refresh=False) for found in read_rows(
                self.session, _tasks_by_id(len(task_ids)), _ids(task_ids)))} if taken else {}
            for action in (actions[action_id] for action_id in now if action_id in actions):
                task = tasks.get(action.task_execution_id or "")
                if task is not None:
                    step.run_glue(task, action)
            for action_id in later:
                step.glue.hand_on_id(workflow_execution_id, action_id, step.messages)
            step.drain()
            return None, step.messages

        self._commit_and_send(unit)


def _result_state(result: Result) -> str:
    if result.cancel:
        return State.CANCELLED.value
    return State.ERROR.value if result.is_error() else State.SUCCESS.value


def _as_row(run: ActionRun) -> ActionExecution:
    """The claimed action as a row outside the session: what the step reads of it, never written."""
    return built(ActionExecution, id=run.id, name=run.name, input=run.input, params=run.params,
                 state=State.RUNNING.value, workflow_name=run.workflow_name,
                 workflow_execution_id=run.workflow_execution_id, task_execution_id=run.task_execution_id,
                 task_name=run.task_name, is_sync=run.is_sync, item_index=run.item_index, accepted=False,
                 processed=False)


def decode_output(output: Any) -> Any:
    """A string holding a JSON object or array is decoded; any other value is kept as it is."""
    if isinstance(output, str):
        stripped = output.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(stripped)
            except ValueError:
                return output
    return output


def _is_sync_action(resolved: adhoc.ResolvedAction) -> bool:
    try:
        return bool(resolved.action_class(**resolved.base_input).is_sync())
    except Exception as exc:  # noqa: BLE001 - a constructor's failure is a bad request
        raise EngineError(f"Failed to create action {resolved.name}: {exc}") from exc


class _NoExecution:
    """The expression view of an action run outside any workflow: only an empty env."""

    def task(self, name: str | None = None) -> None:
        return None

    def tasks(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return []

    def execution(self) -> dict[str, Any]:
        return {}

    def env(self) -> dict[str, Any]:
        return {}

    def global_var(self, name: str) -> Any:
        return None


NO_EXECUTION = _NoExecution()
