"""One engine step inside one transaction: complete tasks, ask the controller, start what follows.

A :class:`Step` works on one locked workflow execution. It never commits; it collects the messages
to send once the caller has committed.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.actions import registry
from app.actions.base import check_input
from app.engine import controller, dataflow, expressions
from app.engine.commands import RunTask, StopWorkflow
from app.engine.dispatch import Message, RunAction
from app.engine.errors import EngineError
from app.engine.language.parser import Problems, parse_workflow
from app.engine.language.spec import WorkflowSpec
from app.engine.states import COMPLETED, State
from app.engine.views import DatabaseExecutionView, task_as_dict
from app.models import ActionExecution, TaskExecution, WorkflowExecution, new_id, utc_now

_SPEC_CACHE: OrderedDict[str, WorkflowSpec] = OrderedDict()
_SPEC_CACHE_SIZE = 512


def spec_of(wf_ex: WorkflowExecution) -> WorkflowSpec:
    """The parsed spec snapshot of an execution, parsed once per process."""
    spec = _SPEC_CACHE.get(wf_ex.id)
    if spec is None:
        raw = dict(wf_ex.spec)
        problems = Problems()
        parsed = parse_workflow(raw.get("name") or wf_ex.workflow_name, raw, wf_ex.workflow_name, problems)
        if parsed is None or problems:
            raise EngineError("Stored workflow spec is invalid: " + "; ".join(problems))
        spec = parsed
        _SPEC_CACHE[wf_ex.id] = spec
        if len(_SPEC_CACHE) > _SPEC_CACHE_SIZE:
            _SPEC_CACHE.popitem(last=False)
    return spec


class Step:
    def __init__(self, session: Session, wf_ex: WorkflowExecution) -> None:
        self.session = session
        self.wf_ex = wf_ex
        self.spec = spec_of(wf_ex)
        self.messages: list[Message] = []
        self._to_process: deque[TaskExecution] = deque()

    # -- views and data ------------------------------------------------------------------------

    def view(self, task: TaskExecution | None = None) -> DatabaseExecutionView:
        current = None
        if task is not None:
            current = task_as_dict(task, self.spec.tasks[task.name].raw)
        return DatabaseExecutionView(self.session, self.wf_ex, current)

    def data(self, context: dict[str, Any]) -> dict[str, Any]:
        return dataflow.expression_data(self.wf_ex.input, self.wf_ex.context, context)

    # -- starting ------------------------------------------------------------------------------

    def start(self) -> None:
        for command in controller.start_commands(self.spec, {}):
            if isinstance(command, RunTask):
                self.run_task(command)
        self.drain()

    def run_task(self, command: RunTask) -> None:
        task_spec = self.spec.tasks[command.task_name]
        if task_spec.is_join:
            self._join_arrival(command.task_name, command.in_context, source=None)
            return
        task = self._new_task(command.task_name, State.RUNNING.value, command.in_context)
        self._start_action(task)

    def _new_task(self, name: str, state: str, in_context: dict[str, Any],
                  unique_key: str | None = None) -> TaskExecution:
        task_spec = self.spec.tasks[name]
        task = TaskExecution(
            id=new_id(),
            workflow_execution_id=self.wf_ex.id,
            name=task_spec.name,
            type=task_spec.kind,
            workflow_name=self.wf_ex.workflow_name,
            workflow_namespace=self.wf_ex.workflow_namespace,
            workflow_id=self.wf_ex.workflow_id,
            state=state,
            tags=list(task_spec.tags),
            in_context=in_context,
            published={},
            runtime_context={},
            unique_key=unique_key,
            started_at=utc_now() if state == State.RUNNING else None,
            project_id=self.wf_ex.project_id,
        )
        self.session.add(task)
        return task

    # -- joins ---------------------------------------------------------------------------------

    def _join_arrival(self, name: str, context: dict[str, Any] | None, source: str | None) -> None:
        """An inbound task fired into join task ``name`` (``context`` given) or cannot (``source``)."""
        key = f"join-{self.wf_ex.id}-{name}"
        task = self.session.scalars(select(TaskExecution).where(TaskExecution.unique_key == key)).first()
        if task is None:
            task = self._new_task(name, State.WAITING.value, {}, unique_key=key)
            task.runtime_context = {"join": {"fired": 0, "missed": []}}
        elif task.state != State.WAITING:
            return
        join = dict(task.runtime_context.get("join") or {"fired": 0, "missed": []})
        if context is not None:
            join["fired"] += 1
            task.in_context = dataflow.merge_dicts(task.in_context, context)
        elif source is not None and source not in join["missed"]:
            join["missed"] = [*join["missed"], source]
        task.runtime_context = {**task.runtime_context, "join": join}
        self._decide_join(task, join)

    def _decide_join(self, task: TaskExecution, join: dict[str, Any]) -> None:
        task_spec = self.spec.tasks[task.name]
        inbound = len(self.spec.inbound(task.name))
        decision = controller.join_decision(task_spec.join or "all", inbound, join["fired"],
                                            len(join["missed"]))
        if decision == "run":
            task.state = State.RUNNING.value
            task.state_info = None
            task.started_at = utc_now()
            self._start_action(task)
        elif decision == "error":
            self.complete_task(task, State.ERROR.value, None,
                               state_info=f"Failed by tasks: {sorted(join['missed'])}")

    def _resolve_stuck_joins(self) -> bool:
        """Joins still WAITING when nothing else can run will never run: fail them."""
        waiting = self.session.scalars(select(TaskExecution).where(
            TaskExecution.workflow_execution_id == self.wf_ex.id,
            TaskExecution.state == State.WAITING.value,
        )).all()
        for task in waiting:
            join = dict(task.runtime_context.get("join") or {"fired": 0, "missed": []})
            arrived = set(join["missed"])
            join["missed"] = sorted(arrived | (set(self.spec.inbound(task.name)) - arrived))
            task.runtime_context = {**task.runtime_context, "join": join}
            self.complete_task(task, State.ERROR.value, None,
                               state_info=f"Failed by tasks: {join['missed']}")
        return bool(waiting)

    def _start_action(self, task: TaskExecution) -> None:
        task_spec = self.spec.tasks[task.name]
        view = self.view(task)
        data = self.data(task.in_context)
        try:
            name = dataflow.action_name(task_spec, data, view)
            action_class = registry.find(name)
            if action_class is None:
                raise EngineError(f"Failed to find action [action_name={name}, namespace="
                                  f"{self.wf_ex.workflow_namespace}]")
            action_input = dataflow.task_input(task_spec, data, view)
            check_input(name, action_class, action_input)
            is_sync = bool(action_class(**action_input).is_sync())
            queue = expressions.evaluate_recursively(task_spec.target, data, view)
        except Exception as exc:  # noqa: BLE001 - any failure to prepare the action fails the task
            self.complete_task(task, State.ERROR.value, None, state_info=str(exc))
            return
        action = ActionExecution(
            id=new_id(),
            task_execution_id=task.id,
            workflow_execution_id=self.wf_ex.id,
            workflow_name=self.wf_ex.workflow_name,
            workflow_namespace=self.wf_ex.workflow_namespace,
            task_name=task.name,
            name=name,
            state=State.RUNNING.value,
            input=action_input,
            is_sync=is_sync,
            accepted=False,
            project_id=self.wf_ex.project_id,
        )
        self.session.add(action)
        self.messages.append(RunAction(action.id, name, str(queue) if queue else None))

    # -- completing ----------------------------------------------------------------------------

    def complete_task(self, task: TaskExecution, state: str, result: Any,
                      state_info: str | None = None) -> None:
        """Record the end of ``task``; its transitions are followed by :meth:`drain`."""
        task_spec = self.spec.tasks[task.name]
        task.result = result
        task.state_info = state_info
        if state in (State.SUCCESS, State.ERROR):
            state = self._publish(task, state)
        task.state = state
        task.finished_at = utc_now()
        if task_spec.keep_result is False:
            task.result = None
        self._to_process.append(task)

    def _publish(self, task: TaskExecution, state: str) -> str:
        task_spec = self.spec.tasks[task.name]
        task.state = state
        clauses = self.spec.clauses(task_spec)
        try:
            branch, global_ = dataflow.publish(
                task_spec, state, clauses, self.data(task.in_context), self.view(task)
            )
        except EngineError as exc:
            task.state_info = f"Failed to publish variables: {exc}"
            return State.ERROR.value
        task.published = branch
        if global_:
            self.wf_ex.context = {**self.wf_ex.context, **global_}
        return state

    def drain(self) -> None:
        """Follow the transitions of every completed task, and of the tasks they complete."""
        while True:
            while self._to_process:
                task = self._to_process.popleft()
                if self.wf_ex.state == State.RUNNING:
                    self._follow(task)
            if self.wf_ex.state != State.RUNNING or not self._check_completion():
                return

    def _check_completion(self) -> bool:
        """End the workflow if nothing is left to run; True if stuck joins were failed instead."""
        counts = dict(self.session.execute(
            select(TaskExecution.state, func.count()).where(
                TaskExecution.workflow_execution_id == self.wf_ex.id,
                TaskExecution.state.not_in([s.value for s in COMPLETED]),
            ).group_by(TaskExecution.state)
        ).all())
        if any(state != State.WAITING for state in counts):
            return False
        if counts:
            return self._resolve_stuck_joins()
        self._finish()
        return False

    def _follow(self, task: TaskExecution) -> None:
        task_spec = self.spec.tasks[task.name]
        outbound = {**task.in_context, **task.published}
        try:
            outcome = controller.after_task(
                self.spec, task_spec, task.state, self.data(outbound), outbound, self.view(task), task.id
            )
        except EngineError as exc:
            self.stop(State.ERROR.value, f"Failed to evaluate transitions of task '{task.name}': {exc}")
            return
        task.next_tasks = list(outcome.fired)
        task.has_next = any(isinstance(c, RunTask) for c in outcome.commands)
        task.error_handled = outcome.error_handled
        task.processed = True
        for join_name in controller.join_targets_missed(self.spec, task_spec, outcome.fired):
            self._join_arrival(join_name, None, source=task.name)
        for command in outcome.commands:
            if isinstance(command, StopWorkflow):
                self.stop(command.state, command.message)
                return
            self.run_task(command)

    def _finish(self) -> None:
        failed = self._task_names(State.ERROR.value, error_handled=False)
        if failed:
            self.stop(State.ERROR.value, "Failure caused by error in tasks: " + ", ".join(failed))
            return
        cancelled = self._task_names(State.CANCELLED.value)
        if cancelled:
            self.stop(State.CANCELLED.value, "Cancelled tasks: " + ", ".join(cancelled))
            return
        self.stop(State.SUCCESS.value, None)

    def _task_names(self, state: str, error_handled: bool | None = None) -> list[str]:
        query = select(TaskExecution.name).where(
            TaskExecution.workflow_execution_id == self.wf_ex.id, TaskExecution.state == state
        )
        if error_handled is not None:
            query = query.where(TaskExecution.error_handled == error_handled)
        return sorted(set(self.session.scalars(query)))

    # -- ending --------------------------------------------------------------------------------

    def final_context(self) -> dict[str, Any]:
        rows = self.session.execute(
            select(TaskExecution.in_context, TaskExecution.published).where(
                TaskExecution.workflow_execution_id == self.wf_ex.id,
                TaskExecution.processed.is_(True),
                TaskExecution.has_next.is_(False),
            ).order_by(TaskExecution.created_at)
        ).all()
        context: dict[str, Any] = {}
        for in_context, published in rows:
            context = dataflow.merge_dicts(context, {**in_context, **published})
        return context

    def stop(self, state: str, message: str | None) -> None:
        """End (or pause) the workflow with ``state``."""
        wf = self.wf_ex
        wf.state = state
        wf.state_info = message
        if state == State.PAUSED:
            return
        if state == State.SUCCESS:
            context = self.final_context()
            try:
                wf.output = dataflow.workflow_output(self.spec, self.data(context), context, self.view())
            except EngineError as exc:
                wf.state = State.ERROR.value
                wf.state_info = f"Failed to evaluate expression in output: {exc}"
                wf.output = {"result": wf.state_info}
            return
        output: dict[str, Any] = {"result": message}
        if state == State.ERROR and self.spec.output_on_error:
            try:
                extra = expressions.evaluate_recursively(
                    self.spec.output_on_error, self.data(self.final_context()), self.view()
                )
                output.update(extra if isinstance(extra, dict) else {"output": extra})
            except EngineError as exc:
                wf.state_info = f"Failed to evaluate expression in output-on-error! {exc}"
                output = {"result": wf.state_info}
        wf.output = output
