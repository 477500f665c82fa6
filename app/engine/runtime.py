"""One engine step inside one transaction: complete tasks, ask the controller, start what follows.

A :class:`Step` works on one locked workflow execution. It never commits; it collects the messages
to send once the caller has committed. Starting the work of a task (actions, with-items,
sub-workflows) lives in :mod:`app.engine.launch`, joins in :mod:`app.engine.joins`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from app.engine import controller, dataflow, decisions, expressions, failures, inline, joins, launch, limits
from app.engine.bookkeeping import runtime, save, updating, updating_workflow
from app.engine.claims import INLINE
from app.engine.commands import Command, RunTask, StopWorkflow
from app.engine.dispatch import ContinueParent, Message, RunAction
from app.engine.errors import EngineError
from app.engine.policies import Policies
from app.engine.specs import spec_of
from app.engine.state_log import KEEP, StateChanges
from app.engine.states import COMPLETED, State
from app.engine.store import Outbound, Store, TaskFilter
from app.engine.task_runtime import PendingCompletion, TaskRuntime
from app.engine.views import StoreExecutionView, TaskSnapshot
from app.models import ActionExecution, TaskExecution, WorkflowExecution, built, new_id, utc_now

# Listed rather than negated, so the (workflow, state) index answers the count.
OPEN_STATES = [s.value for s in State if s not in COMPLETED]
# Open, and not a join waiting for its inbound tasks: while one exists the workflow goes on.
RUNNING_STATES = [state for state in OPEN_STATES if state != State.WAITING]
# What a workflow's end depends on, asked at once: tasks still running, joins waiting, tasks
# failed and not handled, tasks cancelled.
END_QUESTIONS = (TaskFilter(tuple(RUNNING_STATES)), TaskFilter((State.WAITING.value,)),
                 TaskFilter((State.ERROR.value,), error_handled=False), TaskFilter((State.CANCELLED.value,)))
CONTINUE_TASK = "continue_task"
COMPLETE_TASK = "complete_task"
TASK_TIMEOUT = "task_timeout"


class Step:
    def __init__(self, store: Store, wf_ex: WorkflowExecution,
                 messages: list[Message] | None = None, changes: StateChanges | None = None,
                 glue: inline.Glue | None = None) -> None:
        self.store = store
        self.wf_ex = wf_ex
        self.spec = spec_of(wf_ex)
        self.messages: list[Message] = messages if messages is not None else []
        # Every state this step writes, told once the caller committed (see state_log).
        self.changes = changes if changes is not None else StateChanges()
        self._to_process: deque[TaskExecution] = deque()
        # Tasks this step opened or applied an action's end to: while one of them is open (a new
        # task, a with-items task with items left, a retry) the workflow cannot be complete, so the
        # query for running tasks is skipped.
        self._known_tasks: dict[str, TaskExecution] = {}
        # Glue actions this step runs itself, in the order it reached them (see app.engine.inline).
        self.glue = glue if glue is not None else inline.Glue()
        self.item_values: dict[str, list[dict[str, Any]]] = {}
        self._glue_runs: deque[tuple[TaskExecution, ActionExecution]] = deque()

    # -- views and data ------------------------------------------------------------------------

    def view(self, task: TaskExecution | None = None) -> StoreExecutionView:
        current = None
        if task is not None:
            current = TaskSnapshot(task, self.spec.tasks[task.name].raw)
        return StoreExecutionView(self.store, self.wf_ex, current)

    def sub(self, wf_ex: WorkflowExecution) -> Step:
        """A step over another workflow (a child) in the same transaction, sending with this one."""
        return Step(self.store, wf_ex, self.messages, self.changes, self.glue)

    def set_state(self, row: WorkflowExecution | TaskExecution | ActionExecution, state: str,
                  state_info: Any = KEEP) -> None:
        """Every state the step writes goes through here: checked against the row's table, logged and
        notified (see :meth:`StateChanges.transition`)."""
        notify = None
        if isinstance(row, TaskExecution):
            if row.workflow_execution_id == self.wf_ex.id:
                notify = self.wf_ex.params.get("notify")
            else:
                notify = self.store.workflow_params(row.workflow_execution_id).get("notify")
        self.changes.transition(row, state, state_info, notify)

    def created(self, row: WorkflowExecution | TaskExecution | ActionExecution) -> None:
        self.store.add(row)
        self.changes.created(row, self.wf_ex.params.get("notify") if isinstance(row, TaskExecution) else None)

    def data(self, context: dict[str, Any]) -> dict[str, Any]:
        return dataflow.expression_data(self.wf_ex.input, self.wf_ex.context, context)

    def policies(self, task: TaskExecution, extra: dict[str, Any] | None = None) -> Policies:
        data = self.data({**task.in_context, **task.published, **(extra or {})})
        return Policies(self.spec, self.spec.tasks[task.name], data, self.view(task))

    # -- starting ------------------------------------------------------------------------------

    def start(self) -> None:
        self.changes.created(self.wf_ex)
        if self.spec.type == "reverse":
            self.run_commands(controller.reverse_start(self.spec, self.wf_ex.params.get("task_name")))
        else:
            self.run_commands(controller.start_commands(self.spec, {}))
        self.drain()

    def run_commands(self, commands: list[Command] | tuple[Command, ...]) -> None:
        for index, command in enumerate(commands):
            if isinstance(command, StopWorkflow):
                self.stop(command.state, command.message)
                if command.state == State.PAUSED:
                    self.save_backlog(list(commands[index + 1:]))
                return
            self.run_task(command)

    def save_backlog(self, commands: list[Command]) -> None:
        with updating_workflow(self.wf_ex) as record:
            record.backlog = [{"task_name": c.task_name, "in_context": c.in_context, "triggered_by": c.triggered_by}
                              for c in commands if isinstance(c, RunTask)]

    def run_task(self, command: RunTask) -> None:
        task_spec = self.spec.tasks[command.task_name]
        if task_spec.is_join:
            self.join_arrival(command.task_name, command.in_context, source=command.source,
                              trigger=command.triggered_by)
            return
        task = self.new_task(command.task_name, State.RUNNING.value, command.in_context)
        if isinstance(command.triggered_by, dict):
            with updating(task) as record:
                record.triggered_by = [command.triggered_by]
        self.begin(task)

    def join_arrival(self, name: str, context: dict[str, Any] | None, source: str | None,
                     trigger: dict[str, Any] | None = None) -> None:
        """An inbound task fired into join ``name`` (``context`` given) or never will (None)."""
        key = joins.key(self.wf_ex.id, name)
        task = self.store.join_task(key)
        if task is None:
            task = self.new_task(name, State.WAITING.value, {}, unique_key=key)
            joins.opened(task)
        verdict = joins.arrive(self.store, self.spec, task, context, source, trigger)
        if verdict.run:
            task.started_at = utc_now()
            self.begin(task)
        elif verdict.failure is not None:
            self.complete_task(task, State.ERROR.value, [], state_info=verdict.failure)

    def new_task(self, name: str, state: str, in_context: dict[str, Any],
                 unique_key: str | None = None) -> TaskExecution:
        task_spec = self.spec.tasks[name]
        now = utc_now()
        task = built(
            TaskExecution,
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
            # Mistral's result of a task no run has completed yet.
            result=[],
            runtime_context=TaskRuntime().to_row(),
            unique_key=unique_key,
            # Stamped as made, not as written: a step writes many tasks in one statement, whose
            # times could tie and lose the order they were made in.
            created_at=now,
            started_at=now if state == State.RUNNING else None,
            project_id=self.wf_ex.project_id,
        )
        self.created(task)
        self._known_tasks[task.id] = task
        return task

    def begin(self, task: TaskExecution) -> None:
        """Apply the before-start policies, then start the task's work."""
        record = runtime(task)
        try:
            policies = self.policies(task)
            policies.validate()
            record.concurrency = policies.concurrency() or record.concurrency
            plan = decisions.before_start(record, policies.pause_before(), int(policies.seconds("timeout")),
                                          int(policies.seconds("wait-before")))
            if plan.pause:
                record.pause_before_done = True
                save(task, record)
                self.set_state(task, State.IDLE.value, "Set by 'pause-before' policy")
                self.stop(State.PAUSED.value, None)
                return
            if plan.timeout:
                record.timeout_scheduled = True
                self.store.schedule_timer(TASK_TIMEOUT, task.id, plan.timeout, {"timeout": plan.timeout})
            if plan.wait:
                record.wait_before_done = record.wait_before_shown = True
                save(task, record)
                self.delay(task, plan.wait, f"Delayed by 'wait-before' policy [delay={_number(plan.wait)}]")
                return
            save(task, record)
        except EngineError as exc:
            # A policy value that cannot be used fails the workflow as a task that cannot start does
            # (showing the concurrency if that one could be read).
            save(task, record)
            self.force_fail(task, failures.run_failure(exc, self.wf_ex.workflow_name, task.name), result=[])
            return
        self.set_state(task, State.RUNNING.value, None)
        launch.start_work(self, task)

    def send_action(self, task: TaskExecution, action: ActionExecution) -> None:
        """Start a RUNNING action: glue runs in this transaction (or goes on in a continuation
        message), anything else goes to a worker."""
        if not self.glue.accepts(self.spec, task, action, lambda: self.policies(task)):
            self.messages.append(RunAction(action.id, action.name, (action.params or {}).get("target"),
                                           action.workflow_name, action.task_name))
        elif self.glue.take():
            self._glue_runs.append((task, action))
        else:
            self.glue.hand_on(action, self.messages)

    def run_glue(self, task: TaskExecution, action: ActionExecution) -> None:
        """Run a glue action an earlier step handed on (:meth:`drain` runs it); it counts against
        this step's budget, which the caller made sure has room."""
        self.glue.take()
        self._glue_runs.append((task, action))

    def _run_next_glue(self) -> None:
        task, action = self._glue_runs.popleft()
        # Told as launched before its end, as a task whose action a worker runs is.
        self.changes.tell_created(task)
        state, output = inline.run(action)
        self.set_state(action, state)
        action.output, action.accepted, action.processed, action.worker_id = output, True, True, INLINE
        # Made and ended in one transaction, the rows would get no update time of their own; the
        # heartbeat says when it ran, as a worker's claim does.
        action.updated_at = action.last_heartbeat = task.updated_at = utc_now()
        self.action_ended(task, action)

    def expect_completions(self, tasks: Iterable[TaskExecution]) -> None:
        """Tasks whose actions' results this step applies in turn: until they are applied they are
        running, so :meth:`drain` does not ask about the workflow's end in between."""
        for task in tasks:
            self._known_tasks[task.id] = task

    def action_ended(self, task: TaskExecution, action: ActionExecution) -> None:
        """Apply the result of a completed action to its task (not completed yet)."""
        if task.state in COMPLETED:
            return
        self._known_tasks[task.id] = task
        if self.spec.tasks[task.name].with_items is not None:
            launch.item_completed(self, task)
            return
        result = (action.output or {}).get("result")
        if failures.is_action_failure(action.state, result, action.name, task.name):
            # The action's result could not be made: the workflow fails with it, unhandled.
            self.force_fail(task, str(result), result=[])
        else:
            # Python's rendering of a non-text error, as Mistral shows it: {'code': 1}.
            state_info = str(result) if action.state == State.ERROR else None
            self.complete_task(task, action.state, result, state_info=state_info)

    def delay(self, task: TaskExecution, seconds: float, reason: str, kind: str = CONTINUE_TASK) -> None:
        self.set_state(task, State.DELAYED.value, reason)
        self.store.schedule_timer(kind, task.id, seconds)

    # -- completing ----------------------------------------------------------------------------

    def complete_task(self, task: TaskExecution, state: str, result: Any,
                      state_info: str | None = None) -> None:
        """Record the end of ``task`` after its after-completion policies; :meth:`drain` follows it."""
        task.result = result
        self.set_state(task, state, state_info)
        task_spec = self.spec.tasks[task.name]
        if task.state in (State.SUCCESS, State.ERROR, State.SKIPPED):
            # As in Mistral, a run publishes as it ended, before fail-on or retry look at the task.
            problem = self._publish(task)
            if problem is not None:
                self.fail_completion(task, problem)
                return
        if state in (State.SUCCESS, State.ERROR) and not self._after_policies(task):
            return
        task.finished_at = utc_now()
        if task_spec.keep_result is False:
            task.result = None
            # Published already: the results themselves are not kept, on the actions either.
            self.store.update_actions(task.id, {"output": {}})
        self._to_process.append(task)

    def _after_policies(self, task: TaskExecution) -> bool:
        """wait-after, fail-on and retry; False when the task is not complete after all."""
        record = runtime(task)
        try:
            policies = self.policies(task)
            wait = policies.seconds("wait-after")
            if decisions.waits_after(record, wait):
                record.wait_after_done = record.wait_after_shown = True
                record.pending_completion = PendingCompletion(task.state, task.result, task.state_info)
                save(task, record)
                self.delay(task, wait, f"Delayed by 'wait-after' policy [delay={_number(wait)}]",
                           kind=COMPLETE_TASK)
                return False
            if task.state == State.SUCCESS and policies.fails_on():
                self.set_state(task, State.ERROR.value, "Failed by 'fail-on' policy")
            retry = policies.retry()
        except EngineError as exc:
            self.fail_completion(task, exc)
            return False
        if retry is None or not retry.count or task.state not in (State.SUCCESS, State.ERROR):
            return True
        try:
            again = self._should_retry(task, record, retry, policies)
        except EngineError as exc:
            self.fail_completion(task, exc)
            return False
        # Mistral shows the policy's context once it has looked at a completion.
        record.retry_shown = True
        if again:
            record.retried()
        save(task, record)
        if not again:
            return True
        self._retry(task, retry.delay)
        return False

    def fail_completion(self, task: TaskExecution, error: EngineError, result: Any = ...) -> None:
        """A completed run whose publish or policies cannot be evaluated fails the workflow at once."""
        self.force_fail(task, failures.completion_failure(error, self.wf_ex.workflow_name, task.name,
                                                          self.last_run_name(task)), result=result)

    def _should_retry(self, task: TaskExecution, record: TaskRuntime, retry: Any, policies: Policies) -> bool:
        # Mistral evaluates both conditions whatever the state and the count: their errors always show.
        breaks = retry.break_on is not None and policies.condition(retry.break_on)
        continues = policies.condition(retry.continue_on) if retry.continue_on is not None else None
        return decisions.should_retry(task.state, record, retry.count, breaks, continues)

    def _retry(self, task: TaskExecution, delay: float) -> None:
        """Run the task again, its record already counting the retry."""
        self.store.update_actions(task.id, {"accepted": False})
        task.result = []
        if delay:
            self.delay(task, delay, f"Delayed by 'retry' policy [delay={_number(delay)}]")
        else:
            self.set_state(task, State.RUNNING.value, None)
            launch.start_work(self, task)

    def _publish(self, task: TaskExecution) -> EngineError | None:
        """Publish what the task's state asks for; the error when that cannot be evaluated."""
        task_spec = self.spec.tasks[task.name]
        clauses = self.spec.clauses(task_spec)
        try:
            branch, global_ = dataflow.publish(
                task_spec, task.state, clauses, self.data(task.in_context), self.view(task)
            )
        except EngineError as exc:
            return exc
        try:
            limits.check_field("published", {**branch, **global_})
        except EngineError as exc:
            self.set_state(task, State.ERROR.value, str(exc))
            return None
        task.published = branch
        if global_:
            self.wf_ex.context = {**self.wf_ex.context, **global_}
            # Kept on the task too, out of its runtime context: GET /v2/tasks/<id> reports what each
            # task published globally.
            with updating(task) as record:
                record.published_global = global_
        return None

    def force_fail(self, task: TaskExecution, message: str, result: Any = ...) -> None:
        """Fail ``task`` and the whole workflow at once, its on-error and on-complete not consulted.

        For failures of the workflow's own making (a task that cannot start, a publish or a
        transition that cannot be evaluated) rather than of an action: no handler can fix those.
        """
        self.set_state(task, State.ERROR.value, message)
        if result is not ...:
            task.result = result
        task.finished_at = utc_now()
        task.processed, task.has_next, task.error_handled = True, False, False
        self.stop(State.ERROR.value, message)

    def last_run_name(self, task: TaskExecution) -> str:
        """The name of the task's latest action (or sub-workflow) run, as failure messages give it."""
        name = self.store.last_run_name(task.id)
        task_spec = self.spec.tasks[task.name]
        return str(name or task_spec.action or task_spec.workflow or "std.noop")

    def requeue(self, task: TaskExecution) -> None:
        """Follow a task that completed while the workflow was not running."""
        self._to_process.append(task)

    def drain(self) -> None:
        """Follow the transitions of every completed task, and of the tasks they complete."""
        while True:
            while self._to_process:
                task = self._to_process.popleft()
                if self.wf_ex.state == State.RUNNING:
                    self._follow(task)
            if self._glue_runs:
                # One at a time, each followed before the next: as a worker takes their messages.
                self._run_next_glue()
                continue
            if self.wf_ex.state != State.RUNNING:
                return
            if any(t.state in RUNNING_STATES for t in self._known_tasks.values()):
                return
            if self.spec.type == "reverse":
                # Its output comes from its succeeded tasks, not its ends (see final_context).
                answers, ends = self.store.has_tasks(self.wf_ex.id, END_QUESTIONS), None
            else:
                # The ends' contexts come with the answers when nothing runs or waits: the output's read.
                answers, ends = self.store.answers_and_ends(self.wf_ex.id, END_QUESTIONS, open_filters=2)
            running, waiting, failed, cancelled = answers
            if running:
                return
            if not waiting:
                self._finish(failed, cancelled, ends)
                return
            for join, failure in joins.stuck(self.store, self.spec, self.wf_ex.id):
                self.complete_task(join, State.ERROR.value, [], state_info=failure)

    def _follow(self, task: TaskExecution) -> None:
        task_spec = self.spec.tasks[task.name]
        outbound = {**task.in_context, **task.published}
        try:
            if self.spec.type == "reverse":
                outcome = controller.Outcome(commands=tuple(self._reverse_next(task, outbound)))
            else:
                outcome = controller.after_task(self.spec, task_spec, task.state, self.data(outbound),
                                                outbound, self.view(task), task.id)
        except EngineError as exc:
            self.force_fail(task, failures.completion_failure(exc, self.wf_ex.workflow_name, task.name,
                                                              self.last_run_name(task)))
            return
        task.next_tasks = list(outcome.fired)
        task.has_next = any(isinstance(c, RunTask) for c in outcome.commands)
        task.error_handled = outcome.error_handled
        task.processed = True
        for join_name in controller.join_targets_missed(self.spec, task_spec, outcome.fired):
            self.join_arrival(join_name, None, source=task.name,
                              trigger={"task_id": task.id, "event": "not triggered"})
        self.run_commands(outcome.commands)
        if outcome.backlog and self.wf_ex.state == State.PAUSED:
            self.save_backlog(list(outcome.backlog))

    def _reverse_next(self, task: TaskExecution, outbound: dict[str, Any]) -> list[Command]:
        if task.state != State.SUCCESS:
            return []
        succeeded = self.store.task_names(self.wf_ex.id, State.SUCCESS.value)
        started = self.store.task_names(self.wf_ex.id)
        return controller.reverse_next(self.spec, self.wf_ex.params.get("task_name"), succeeded, started,
                                       self._outbound_of_succeeded())

    def _outbound_of_succeeded(self) -> dict[str, Any]:
        context: dict[str, Any] = {}
        for in_context, published in self.store.outbound(self.wf_ex.id, succeeded_only=True):
            context = dataflow.merge_dicts(context, {**in_context, **published})
        return context

    # -- ending --------------------------------------------------------------------------------

    def _finish(self, any_failed: bool, any_cancelled: bool, ends: list[Outbound] | None = None) -> None:
        failed = self.store.tasks(self.wf_ex.id, states=[State.ERROR.value], error_handled=False) if any_failed else []
        cancelled = list(self.store.task_names(self.wf_ex.id, State.CANCELLED.value)) \
            if any_cancelled and not failed else []
        state, message = decisions.workflow_end(len(failed), cancelled)
        self.stop(state, failures.tasks_failure(self.store, failed) if failed else message, ends)

    def final_context(self, ends: list[Outbound] | None = None) -> dict[str, Any]:
        """What the workflow's last tasks hand to its output; ``ends``: their outbound, already read."""
        if self.spec.type == "reverse":
            return self._outbound_of_succeeded()
        context: dict[str, Any] = {}
        for in_context, published in ends if ends is not None else self.store.outbound(self.wf_ex.id, ends_only=True):
            context = dataflow.merge_dicts(context, {**in_context, **published})
        return context

    def stop(self, state: str, message: str | None, ends: list[Outbound] | None = None) -> None:
        """End (or pause) the workflow with ``state``; ``ends``: see :meth:`final_context`."""
        wf = self.wf_ex
        if wf.state in COMPLETED:
            # As in Mistral, an ended workflow stays as it ended until a rerun (a task that fails
            # after a cancel fails alone).
            return
        # Read before the state changes: a read after it would write the change in a statement of
        # its own, and the output in another.
        context = self.final_context(ends) if state in (State.SUCCESS, State.ERROR) else None
        if state == State.SUCCESS:
            # As in Mistral, the output is evaluated before the workflow succeeds: an output that
            # cannot be evaluated fails it instead.
            try:
                wf.output = dataflow.workflow_output(self.spec, self.data(context or {}), context or {},
                                                     self.view())
            except EngineError as exc:
                state, message = State.ERROR.value, failures.output_failure(exc, wf.id, wf.workflow_name)
        self.set_state(wf, state, message)
        if state == State.PAUSED:
            if wf.task_execution_id:
                # A sub-workflow that pauses pauses its parent (see Engine.continue_parent).
                self.messages.append(ContinueParent(wf.id))
            return
        if state != State.SUCCESS:
            wf.output = self._failure_output(state, message, context)
        if wf.task_execution_id:
            self.messages.append(ContinueParent(wf.id))

    def _failure_output(self, state: str, message: str | None,
                        context: dict[str, Any] | None = None) -> dict[str, Any]:
        """``result`` (the message) over what the failed workflow gives back: its output-on-error,
        or else the context its last tasks published (``context``, when already read)."""
        output: dict[str, Any] = {"result": message}
        if state != State.ERROR:
            return output
        if context is None:
            context = self.final_context()
        if not self.spec.output_on_error:
            return dataflow.merge_dicts(output, context)
        try:
            extra = expressions.evaluate_recursively(self.spec.output_on_error, self.data(context), self.view())
        except EngineError as exc:
            self.wf_ex.state_info = failures.output_on_error_failure(self.spec.output_on_error, exc, message)
            return {"result": self.wf_ex.state_info}
        extra = extra or context
        return dataflow.merge_dicts(output, extra if isinstance(extra, dict) else {"output": extra})


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
