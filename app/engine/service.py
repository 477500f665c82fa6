"""The engine service: the only code that changes execution state.

Each public function runs one transaction (retried on transient database errors): lock the
workflow execution row, load what the step needs, ask the controller, persist, commit, and only
then hand the resulting messages to the dispatcher.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import (
    control,
    dataflow,
    deletion,
    environments,
    limits,
    notifications,
    rerun,
    specs,
    start_params,
    workflow_items,
)
from app.engine.action_service import ActionService
from app.engine.bookkeeping import runtime
from app.engine.definitions import get_workflow
from app.engine.dispatch import ContinueParent, Message
from app.engine.errors import EngineError, InputError, NotAllowed, NotFound
from app.engine.runtime import COMPLETE_TASK, CONTINUE_TASK, TASK_TIMEOUT, Step
from app.engine.states import COMPLETED, State, check_workflow_transition
from app.engine.task_runtime import PendingCompletion, WorkflowRuntime
from app.engine.transactions import lock_workflow
from app.models import TaskExecution, Timer, WorkflowExecution, built, new_id

log = logging.getLogger(__name__)

EXECUTION_CONTROL_STATES = ("RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED")


# What a start's step may change in place of the values read before its transaction.
_MUTABLE_START = ("input", "params", "context")


class Engine(ActionService):
    """Every operation that changes execution state; each one is one transaction."""

    # -- workflows -----------------------------------------------------------------------------

    def start_workflow(self, identifier: str, namespace: str = "", wf_input: dict[str, Any] | None = None,
                       params: dict[str, Any] | None = None, description: str = "",
                       execution_id: str | None = None) -> WorkflowExecution:
        """Create and start an execution; bad input raises before anything is stored."""
        if execution_id:
            existing = self.session.get(WorkflowExecution, execution_id)
            if existing is not None:
                return existing

        # Everything a start reads and checks happens before its write transaction, which on SQLite
        # holds the one writer lock of the database: concurrent starts and steps wait for it less.
        try:
            # Without its text and spec: the spec comes from this process's parse of the version.
            definition = get_workflow(self.session, identifier, namespace, without_text=True)
            spec_version, spec_snapshot = specs.of_definition(definition)
            given = dict(params or {})
            start_params.check(given)
            notifications.validate(given.get("notify"))
            env = environments.resolve(self.session, given.get("env"), bool(given.get("evaluate_env", True)))
            fields: dict[str, Any] = {
                "id": execution_id or new_id(), "workflow_id": definition.id, "workflow_name": definition.name,
                "workflow_namespace": definition.namespace, "description": description or "",
                "spec": spec_snapshot, "spec_version": spec_version, "tags": list(definition.tags),
                "params": {**given, "namespace": definition.namespace, "env": env},
                "project_id": definition.project_id, "workbook": definition.workbook_name, "context": {},
            }
            prepared = self._new_execution(fields)
            spec = specs.spec_of(prepared)
            fields["input"] = dataflow.prepare_input(spec, wf_input)
            limits.check_field("input", fields["input"])
            limits.check_field("params", fields["params"])
            prepared.input = fields["input"]
            try:
                fields["context"] = dataflow.evaluate_vars(spec, fields["input"], self._step(prepared).view())
            except EngineError as exc:
                # The start is refused with the expression's own error, as in Mistral.
                raise InputError(str(exc)) from exc
        except BaseException:
            self.session.rollback()
            raise
        # The reads' transaction ends here; the write transaction begins afresh.
        self.session.commit()

        def unit() -> tuple[WorkflowExecution, list[Message]]:
            # Made again at each attempt: a retried transaction starts from what was read.
            wf_ex = self._new_execution({**fields, **copy.deepcopy({key: fields[key] for key in _MUTABLE_START})})
            step = self._step(wf_ex)
            self.session.add(wf_ex)
            step.start()
            return wf_ex, step.messages

        try:
            result: WorkflowExecution = self._commit_and_send(unit)
            _as_started(result)
        except IntegrityError:
            # Another request created the same id between the check above and this commit: answer
            # with that execution, as a request arriving after it would get.
            raced = self.session.get(WorkflowExecution, execution_id) if execution_id else None
            if raced is None:
                raise
            return raced
        return result

    @staticmethod
    def _new_execution(fields: dict[str, Any]) -> WorkflowExecution:
        values = dict(fields)
        workbook = values.pop("workbook")
        spec_version = values.pop("spec_version")
        return built(
            WorkflowExecution, **values, state=State.RUNNING.value,
            runtime_context=WorkflowRuntime(workbook=workbook, spec_version=spec_version).to_row(),
        )

    # -- sub-workflows -------------------------------------------------------------------------

    def continue_parent(self, child_execution_id: str) -> None:
        """A sub-workflow ended, paused or resumed: complete, pause or resume the task that started it."""

        def unit() -> tuple[None, list[Message]]:
            child = self.session.get(WorkflowExecution, child_execution_id)
            if child is not None and child.task_execution_id and child.state in (State.PAUSED, State.RUNNING):
                return None, self._follow_child_pause(child)
            if (child is None or child.task_execution_id is None or child.state not in COMPLETED
                    or child.reported_to_parent):
                return None, []
            task = self.session.get(TaskExecution, child.task_execution_id)
            if task is None:
                return None, []
            parent = lock_workflow(self.session, task.workflow_execution_id)
            self.session.refresh(task)
            self.session.refresh(child)
            if parent is None or task.state in COMPLETED or child.reported_to_parent:
                return None, []
            # A worker's continuation: the glue it reaches completes here (see app.engine.inline).
            step = self._step(parent, runs_glue=True)
            _report_end(step, task, child)
            return None, step.messages

        self._commit_and_send(unit)

    def _follow_child_pause(self, child: WorkflowExecution) -> list[Message]:
        """As in Mistral: a paused child pauses its task and its parent; a resumed one resumes its task,
        and the parent once no other child of it is paused."""
        task = self.session.get(TaskExecution, child.task_execution_id)
        if task is None:
            return []
        parent = lock_workflow(self.session, task.workflow_execution_id)
        self.session.refresh(task)
        self.session.refresh(child)
        if parent is None or task.state in COMPLETED:
            return []
        step = self._step(parent)
        if child.state == State.PAUSED and task.state != State.PAUSED:
            step.set_state(task, State.PAUSED.value)
            control.pause(step)
        elif child.state == State.RUNNING and task.state == State.PAUSED:
            step.set_state(task, State.RUNNING.value)
            others = self.session.scalar(select(TaskExecution.id).where(
                TaskExecution.workflow_execution_id == parent.id, TaskExecution.state == State.PAUSED.value,
            ).limit(1))
            if others is None and parent.state == State.PAUSED:
                control.resume(step)
        return step.messages

    # -- deletion ------------------------------------------------------------------------------

    def delete_execution(self, execution_id: str, force: bool = False) -> None:
        """``DELETE /v2/executions/<id>``: the execution goes with every sub-workflow below it, their
        tasks, action executions and timers.

        Only a finished execution, unless ``force``: then whatever of the tree still runs is
        cancelled first, under the workflow locks (ancestors first, as always), so the change is
        logged and notified like any cancel. A parent task still waiting for this execution takes
        its end as it would a cancel's, rather than waiting for an execution that is gone. A worker
        that later reports a result for one of its actions is refused with NotFound.
        """

        self._commit_and_send(lambda: (None, self._delete_tree_of(execution_id, force)))

    def delete_executions(self, choose: Callable[[], list[str]]) -> list[str]:
        """Delete the executions ``choose`` picks (the expiration policy's, ``tramontane purge``'s),
        each as :meth:`delete_execution` deletes one, in one transaction; returns their ids.

        ``choose`` runs inside the transaction, so the rows it locks stay locked until the commit.
        Top-level executions whose whole tree has ended (all the expiration policy picks) go with
        one set of statements: for them the deletion of one is those statements alone.
        """

        def unit() -> tuple[list[str], list[Message]]:
            ids = choose()
            together = deletion.ended_trees(self.session, ids)
            alone = set(ids).difference(together)
            messages: list[Message] = []
            for execution_id in [execution_id for execution_id in ids if execution_id in alone]:
                messages += self._delete_tree_of(execution_id, force=False)
            if together:
                deletion.delete_tree(self.session, deletion.trees(together))
            return ids, messages

        deleted: list[str] = self._commit_and_send(unit)
        return deleted

    def _delete_tree_of(self, execution_id: str, force: bool) -> list[Message]:
        chain = self._lock_ancestry(execution_id)
        wf_ex, parent_task = chain[-1]
        if wf_ex.state not in COMPLETED and not force:
            raise NotAllowed("Only completed executions can be deleted. Use --force to override this. "
                             f"Execution {wf_ex.id} is in {wf_ex.state} state")
        tree = deletion.tree(self.session, wf_ex)
        messages: list[Message] = []
        waited_for = (parent_task is not None and parent_task.state not in COMPLETED
                      and not wf_ex.reported_to_parent)
        # A tree that has all ended needs no step (nor its spec, which an older release may have
        # written in a form this one no longer parses): it only goes.
        if waited_for or deletion.unfinished(self.session, tree):
            step = self._step(wf_ex)
            control.cancel_tree(step, f"Execution {wf_ex.id} was deleted with force")
            if waited_for and parent_task is not None:
                _report_end(step.sub(chain[-2][0]), parent_task, wf_ex)
            messages = step.messages
        gone = set(self.session.scalars(tree))
        deletion.delete_tree(self.session, tree)
        # The ends of the deleted executions were applied here, or concern no one any more.
        return [message for message in messages
                if not (isinstance(message, ContinueParent) and message.workflow_execution_id in gone)]

    # -- control -------------------------------------------------------------------------------

    def _with_locked_workflow(self, execution_id: str, action: Any) -> WorkflowExecution:
        def unit() -> tuple[WorkflowExecution, list[Message]]:
            wf_ex = lock_workflow(self.session, execution_id)
            if wf_ex is None:
                raise NotFound(f"WorkflowExecution not found [id={execution_id}]")
            step = self._step(wf_ex)
            action(step)
            left[:] = [wf_ex.state, wf_ex.state_info, wf_ex.output]
            return wf_ex, step.messages

        left: list[Any] = []
        result: WorkflowExecution = self._commit_and_send(unit)
        _as_left(result, *left)
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
            step = self._step(wf_ex)
            if state == State.RUNNING:
                rerun.check_rerun(step, task, reset)
            if env:
                wf_ex.params = {**wf_ex.params, "env": {**(wf_ex.params.get("env") or {}), **env}}
            for workflow, parent_task in chain:
                if workflow.state in (State.ERROR, State.CANCELLED):
                    rerun.reopen(step, workflow, parent_task)
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
            parent_id = row.task_execution_id if row else None
            parent_task = self.session.get(TaskExecution, parent_id) if parent_id else None
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
            step = self._step(wf_ex)
            _fire(step, task, timer.kind, timer.payload)
            step.drain()
            return None, step.messages

        self._commit_and_send(unit)

def _report_end(step: Step, task: TaskExecution, child: WorkflowExecution) -> None:
    """Apply a sub-workflow's end to the task that started it (``step`` is the parent's), once."""
    child.reported_to_parent = True
    if step.spec.tasks[task.name].with_items is not None:
        workflow_items.child_ended(step, task, child)
    else:
        step.complete_task(task, child.state, child.output,
                           state_info=None if child.state == State.SUCCESS else child.state_info)
    step.drain()


def _as_left(wf_ex: WorkflowExecution, state: str, state_info: str | None, output: Any) -> None:
    """Show ``wf_ex`` as this request left it: a worker may already have moved it on (a resumed
    task failing at once, say), and the answer is about the request, as Mistral's is."""
    for key, value in (("state", state), ("state_info", state_info), ("output", output)):
        set_committed_value(wf_ex, key, value)


def _as_started(wf_ex: WorkflowExecution) -> None:
    """Show ``wf_ex`` as its start left it, before its first tasks ran.

    Mistral answers a start before any task runs, so the answer always says RUNNING, even when a
    first task fails (or the workflow ends) a moment later; clients read the outcome afterwards.
    Only this in-memory copy is changed: the database holds what really happened.
    """
    for key, value in (("state", State.RUNNING.value), ("state_info", None), ("output", {})):
        set_committed_value(wf_ex, key, value)


def _change_state(step: Step, state: str, state_info: str | None) -> None:
    wf = step.wf_ex
    if state == State.RUNNING:
        # Resuming a workflow that is not paused does nothing, as in Mistral.
        control.resume(step)
        return
    if state != State.PAUSED and wf.state in COMPLETED:
        # Nor does stopping one that has ended.
        return
    check_workflow_transition(wf.state, state, wf.workflow_name, wf.id)
    if state == State.PAUSED:
        control.pause(step)
    elif state == State.CANCELLED:
        control.cancel(step, state_info)
    else:
        step.stop(state, state_info)


def _fire(step: Step, task: TaskExecution, kind: str, payload: dict[str, Any]) -> None:
    if kind == CONTINUE_TASK and task.state == State.DELAYED:
        if step.wf_ex.state == State.RUNNING:
            step.begin(task)
        else:
            step.set_state(task, State.IDLE.value, "Delay ended while the workflow was not running")
    elif kind == COMPLETE_TASK and task.state == State.DELAYED:
        pending = runtime(task).pending_completion or PendingCompletion(State.SUCCESS.value)
        step.complete_task(task, pending.state, pending.result, pending.state_info)
    elif kind == TASK_TIMEOUT and task.state not in COMPLETED:
        timeout = payload.get("timeout")
        timed_out = step.store.fail_open_actions(task.id, {"result": f"Timed out after {timeout} seconds"})
        for action in timed_out:
            step.changes.changed_elsewhere(action, action.state, State.ERROR.value)
        if not timed_out and step.store.has_answered_result(task.id):
            # Nothing was still running: the action was completed (and the completion answered)
            # before the deadline, and its continuation, already on its way, completes the task.
            return
        step.complete_task(task, State.ERROR.value, [],
                           state_info=f"Task timed out [timeout(s)={_seconds(timeout)}].")


def _seconds(value: Any) -> str:
    number = float(value or 0)
    return str(int(number)) if number.is_integer() else str(number)
