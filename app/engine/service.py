"""The engine service: the only code that changes execution state.

Each public function runs one transaction (retried on transient database errors): lock the
workflow execution row, load what the step needs, ask the controller, persist, commit, and only
then hand the resulting messages to the dispatcher.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from app.actions.base import Result
from app.engine import adhoc, control, dataflow, environments, launch, rerun
from app.engine.definitions import get_workflow
from app.engine.dispatch import ContinueAfterAction, Dispatcher, Message
from app.engine.errors import Conflict, EngineError, InputError, InvalidStateTransition, NotFound
from app.engine.runtime import COMPLETE_TASK, CONTINUE_TASK, TASK_TIMEOUT, Step, spec_of
from app.engine.states import COMPLETED, State, check_transition
from app.engine.transactions import lock_workflow, with_retries
from app.models import ActionExecution, TaskExecution, Timer, WorkflowExecution, new_id, utc_now

log = logging.getLogger(__name__)

COMPLETION_STATES = ("SUCCESS", "ERROR", "CANCELLED", "PAUSED", "RUNNING")
EXECUTION_CONTROL_STATES = ("RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED")


class Engine:
    def __init__(self, session: Session, dispatcher: Dispatcher) -> None:
        self.session = session
        self.dispatcher = dispatcher

    def _commit_and_send(self, unit: Any) -> Any:
        messages: list[Message] = []

        def attempt() -> Any:
            messages.clear()
            result, produced = unit()
            messages.extend(produced)
            return result

        result = with_retries(self.session, attempt)
        if messages:
            self.dispatcher.send(list(messages))
        return result

    # -- workflows -----------------------------------------------------------------------------

    def start_workflow(self, identifier: str, namespace: str = "", wf_input: dict[str, Any] | None = None,
                       params: dict[str, Any] | None = None, description: str = "",
                       execution_id: str | None = None) -> WorkflowExecution:
        """Create and start an execution; bad input raises before anything is stored."""
        if execution_id:
            existing = self.session.get(WorkflowExecution, execution_id)
            if existing is not None:
                return existing

        def unit() -> tuple[WorkflowExecution, list[Message]]:
            definition = get_workflow(self.session, identifier, namespace)
            given = dict(params or {})
            env = environments.resolve(self.session, given.get("env"), bool(given.get("evaluate_env", True)))
            wf_ex = WorkflowExecution(
                id=execution_id or new_id(),
                workflow_id=definition.id,
                workflow_name=definition.name,
                workflow_namespace=definition.namespace,
                description=description or "",
                spec=definition.spec,
                state=State.RUNNING.value,
                tags=list(definition.tags),
                params={**given, "namespace": definition.namespace, "env": env},
                context={},
                runtime_context={"workbook": definition.workbook_name} if definition.workbook_name else {},
                project_id=definition.project_id,
            )
            spec = spec_of(wf_ex)
            wf_ex.input = dataflow.prepare_input(spec, wf_input)
            step = Step(self.session, wf_ex)
            try:
                wf_ex.context = dataflow.evaluate_vars(spec, wf_ex.input, step.view())
            except EngineError as exc:
                raise InputError(f"Failed to evaluate workflow vars: {exc}") from exc
            self.session.add(wf_ex)
            step.start()
            return wf_ex, step.messages

        result: WorkflowExecution = self._commit_and_send(unit)
        return result

    # -- actions -------------------------------------------------------------------------------

    def on_action_result(self, action_execution_id: str, result: Result) -> None:
        """A worker reports the result of an action it ran (sync, or an async send that failed)."""
        state = _result_state(result)

        def unit() -> tuple[None, list[Message]]:
            action = self.session.get(ActionExecution, action_execution_id)
            if action is None:
                raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
            wf_ex = lock_workflow(self.session, action.workflow_execution_id or "")
            final_state, output = self._shaped_output(action, state, result.to_output())
            changed = self._set_action_result(action_execution_id, final_state, output)
            if not changed:
                log.warning("result of action %s ignored: it is already completed", action_execution_id)
                return None, []
            if wf_ex is None:
                return None, []
            return None, self._continue(wf_ex, action_execution_id)

        self._commit_and_send(unit)

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
        if state == State.ERROR and value is None:
            value = "Unknown error"
        output_dict = {"result": None if state == State.CANCELLED else value}

        def unit() -> tuple[ActionExecution, list[Message]]:
            action = self.session.get(ActionExecution, action_execution_id)
            if action is None:
                raise NotFound(f"ActionExecution not found [id={action_execution_id}]")
            final_state, shaped = self._shaped_output(action, state, output_dict)
            changed = action.state not in COMPLETED and self._set_action_result(
                action_execution_id, final_state, shaped)
            if not changed:
                self.session.refresh(action)
                raise Conflict(f"Action execution {action_execution_id} is already completed "
                               f"[state={action.state}]; the completion was refused.")
            self.session.refresh(action)
            messages: list[Message] = []
            if action.task_execution_id:
                messages.append(ContinueAfterAction(action_execution_id))
            return action, messages

        result: ActionExecution = self._commit_and_send(unit)
        return result

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
            check_transition(action.state, state, "action execution")
            action.state = state
            task = self.session.get(TaskExecution, action.task_execution_id) if action.task_execution_id else None
            if task is None or wf_ex is None:
                return action, []
            step = Step(self.session, wf_ex)
            if state == State.PAUSED:
                task.state = State.PAUSED.value
                control.pause(step)
            else:
                task.state = State.RUNNING.value
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
            return None, self._continue(wf_ex, action_execution_id)

        self._commit_and_send(unit)

    def _shaped_output(self, action: ActionExecution, state: str,
                       output: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Apply an ad-hoc action's ``output`` to a successful result (sync or async alike)."""
        outputs = (action.params or {}).get("output")
        if state != State.SUCCESS or not outputs:
            return state, output
        try:
            return state, {"result": adhoc.transform_output(outputs, output.get("result"), None)}
        except EngineError as exc:
            return State.ERROR.value, {"result": f"Failed to transform the output of {action.name}: {exc}"}

    def _set_action_result(self, action_execution_id: str, state: str, output: dict[str, Any]) -> bool:
        """Compare-and-set: only a RUNNING or PAUSED action can be completed, and only once."""
        outcome = self.session.execute(
            update(ActionExecution)
            .where(ActionExecution.id == action_execution_id,
                   ActionExecution.state.in_([State.RUNNING.value, State.PAUSED.value]))
            .values(state=state, output=output, accepted=True, updated_at=utc_now())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(outcome, "rowcount", 0))

    def _continue(self, wf_ex: WorkflowExecution, action_execution_id: str) -> list[Message]:
        action = self.session.get(ActionExecution, action_execution_id, populate_existing=True)
        if action is None or action.task_execution_id is None or action.state not in COMPLETED:
            return []
        task = self.session.get(TaskExecution, action.task_execution_id, populate_existing=True)
        if task is None or task.state in COMPLETED or not action.accepted:
            return []
        step = Step(self.session, wf_ex)
        if step.spec.tasks[task.name].with_items is not None:
            launch.item_completed(step, task)
        else:
            result = (action.output or {}).get("result")
            state_info = None
            if action.state == State.ERROR:
                state_info = result if isinstance(result, str) else json.dumps(result)
            step.complete_task(task, action.state, result, state_info=state_info)
        step.drain()
        return step.messages

    # -- sub-workflows -------------------------------------------------------------------------

    def continue_parent(self, child_execution_id: str) -> None:
        """A sub-workflow ended: complete the task that started it."""

        def unit() -> tuple[None, list[Message]]:
            child = self.session.get(WorkflowExecution, child_execution_id)
            if child is None or child.task_execution_id is None or child.state not in COMPLETED:
                return None, []
            task = self.session.get(TaskExecution, child.task_execution_id)
            if task is None:
                return None, []
            parent = lock_workflow(self.session, task.workflow_execution_id)
            self.session.refresh(task)
            if parent is None or task.state in COMPLETED:
                return None, []
            step = Step(self.session, parent)
            step.complete_task(task, child.state, child.output,
                               state_info=None if child.state == State.SUCCESS else child.state_info)
            step.drain()
            return None, step.messages

        self._commit_and_send(unit)

    # -- control -------------------------------------------------------------------------------

    def _with_locked_workflow(self, execution_id: str, action: Any) -> WorkflowExecution:
        def unit() -> tuple[WorkflowExecution, list[Message]]:
            wf_ex = lock_workflow(self.session, execution_id)
            if wf_ex is None:
                raise NotFound(f"WorkflowExecution not found [id={execution_id}]")
            step = Step(self.session, wf_ex)
            action(step)
            return wf_ex, step.messages

        result: WorkflowExecution = self._commit_and_send(unit)
        return result

    def update_execution(self, execution_id: str, state: str | None, description: str | None,
                         env: dict[str, Any] | None, state_info: str | None) -> WorkflowExecution:
        """``PUT /v2/executions/<id>``: pause, resume, stop, describe, or change the env."""
        if state is None and description is None and env is None:
            raise EngineError("The property state, description, or env is not provided for update.")
        if state is not None and description is not None:
            raise EngineError("The property description must be updated alone.")
        if env is not None and state not in (None, State.RUNNING):
            raise EngineError("The property env can only be updated with the state RUNNING or alone.")
        if state is not None and state not in EXECUTION_CONTROL_STATES:
            raise EngineError(f"Cannot change state to {state}. Allowed: {list(EXECUTION_CONTROL_STATES)}")

        def apply(step: Step) -> None:
            wf = step.wf_ex
            if description is not None:
                wf.description = description
            if env is not None:
                wf.params = {**wf.params, "env": {**(wf.params.get("env") or {}), **env}}
            if state is not None:
                _change_state(step, state, state_info)

        return self._with_locked_workflow(execution_id, apply)

    # -- tasks ---------------------------------------------------------------------------------

    def update_task(self, task_id: str, state: str | None, reset: bool | None,
                    env: dict[str, Any] | None) -> TaskExecution:
        """``PUT /v2/tasks/<id>``: rerun a failed task (``RUNNING``) or skip it (``SKIPPED``)."""
        if state not in (State.RUNNING, State.SKIPPED):
            raise EngineError("Invalid task state. Only updating task to RUNNING or SKIPPED is supported.")

        def unit() -> tuple[TaskExecution, list[Message]]:
            task = self.session.get(TaskExecution, task_id)
            if task is None:
                raise NotFound(f"TaskExecution not found [id={task_id}]")
            chain = self._lock_ancestry(task.workflow_execution_id)
            self.session.refresh(task)
            wf_ex = chain[-1][0]
            step = Step(self.session, wf_ex)
            if state == State.RUNNING:
                rerun.check_rerun(step, task, reset)
            if env:
                wf_ex.params = {**wf_ex.params, "env": {**(wf_ex.params.get("env") or {}), **env}}
            for workflow, parent_task in chain:
                if workflow.state in (State.ERROR, State.CANCELLED):
                    rerun.reopen(workflow, parent_task)
            if state == State.RUNNING:
                rerun.rerun(step, task, bool(reset))
            else:
                rerun.skip(step, task)
            return task, step.messages

        result: TaskExecution = self._commit_and_send(unit)
        return result

    def _lock_ancestry(self, workflow_execution_id: str) -> list[tuple[WorkflowExecution, TaskExecution | None]]:
        """Lock a workflow and its ancestors root first (the engine's lock order)."""
        ids: list[str] = []
        current: str | None = workflow_execution_id
        while current and len(ids) <= 50:
            ids.append(current)
            row = self.session.get(WorkflowExecution, current)
            parent_task = self.session.get(TaskExecution, row.task_execution_id) if row and row.task_execution_id else None
            current = parent_task.workflow_execution_id if parent_task else None
        chain: list[tuple[WorkflowExecution, TaskExecution | None]] = []
        for wf_id in reversed(ids):
            wf = lock_workflow(self.session, wf_id)
            if wf is None:
                raise NotFound(f"WorkflowExecution not found [id={wf_id}]")
            parent_task = self.session.get(TaskExecution, wf.task_execution_id) if wf.task_execution_id else None
            chain.append((wf, parent_task))
        return chain

    # -- timers --------------------------------------------------------------------------------

    def fire_timer(self, timer_id: str) -> None:
        """Fire a durable timer; deleting its row in the same transaction makes it fire once."""

        def unit() -> tuple[None, list[Message]]:
            timer = self.session.get(Timer, timer_id)
            if timer is None:
                return None, []
            task = self.session.get(TaskExecution, timer.target_id)
            wf_ex = lock_workflow(self.session, task.workflow_execution_id) if task else None
            deleted = self.session.execute(
                delete(Timer).where(Timer.id == timer_id).execution_options(synchronize_session=False)
            )
            if not getattr(deleted, "rowcount", 0) or task is None or wf_ex is None:
                return None, []
            self.session.refresh(task)
            step = Step(self.session, wf_ex)
            _fire(step, task, timer.kind, timer.payload)
            step.drain()
            return None, step.messages

        self._commit_and_send(unit)

def _result_state(result: Result) -> str:
    if result.cancel:
        return State.CANCELLED.value
    return State.ERROR.value if result.is_error() else State.SUCCESS.value


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


def _change_state(step: Step, state: str, state_info: str | None) -> None:
    wf = step.wf_ex
    if state == State.PAUSED:
        if wf.state in COMPLETED:
            raise InvalidStateTransition(f"Can't change workflow execution state from {wf.state} to PAUSED.")
        control.pause(step)
    elif state == State.RUNNING:
        control.resume(step)
    elif wf.state in COMPLETED:
        return
    elif state == State.CANCELLED:
        control.cancel(step, state_info)
    else:
        step.stop(state, state_info)


def _fire(step: Step, task: TaskExecution, kind: str, payload: dict[str, Any]) -> None:
    if kind == CONTINUE_TASK and task.state == State.DELAYED:
        if step.wf_ex.state == State.RUNNING:
            step.begin(task)
        else:
            task.state, task.state_info = State.IDLE.value, "Delay ended while the workflow was not running"
    elif kind == COMPLETE_TASK and task.state == State.DELAYED:
        pending = task.runtime_context.get("pending_completion") or {}
        step.complete_task(task, pending.get("state", State.SUCCESS.value), pending.get("result"),
                           pending.get("state_info"))
    elif kind == TASK_TIMEOUT and task.state not in COMPLETED:
        timeout = payload.get("timeout")
        step.session.execute(
            update(ActionExecution)
            .where(ActionExecution.task_execution_id == task.id,
                   ActionExecution.state.in_([State.RUNNING.value, State.PAUSED.value, State.IDLE.value]))
            .values(state=State.ERROR.value, output={"result": f"Timed out after {timeout} seconds"},
                    updated_at=utc_now())
            .execution_options(synchronize_session=False)
        )
        step.set_runtime(task, timed_out=True)
        step.complete_task(task, State.ERROR.value, None,
                           state_info=f"Task timed out [timeout(s)={_seconds(timeout)}].")


def _seconds(value: Any) -> str:
    number = float(value or 0)
    return str(int(number)) if number.is_integer() else str(number)
