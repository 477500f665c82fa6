"""Glue that needs no executor: actions that only compute from their input, completed in the step.

A task with no action (``std.noop``) and the actions that declare it for their input
(:meth:`app.actions.base.Action.runs_inline`: ``std.noop``, ``std.echo`` without ``delay``,
``std.fail``, ``std.test_dict``) are run by the engine inside the step of a worker's continuation
that reaches them: no Celery task, no claim, no second transaction. Their action execution rows
are written as a worker's would be.

A step runs at most :data:`LIMIT` of them; the glue it reaches beyond that, and the glue a step
that may not run any reaches (a web request, a timer), goes to a worker in one :class:`RunInline`
message per workflow, whose step runs the next :data:`LIMIT` and hands the rest on again. So a
with-items task of glue runs its items 50 to a step, each step a transaction of bounded size. A
task with a ``target``, or with a policy that needs a timer or a pause (wait-before, wait-after,
retry with a delay, timeout, pause-before), always takes the executor path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.actions import registry
from app.actions.base import ActionContext, ExecutionContext, Result, declares_inline
from app.actions.invocation import invoke
from app.engine import adhoc, failures
from app.engine.dispatch import Message, RunInline
from app.engine.errors import EngineError
from app.engine.language.spec import TaskSpec, WorkflowSpec
from app.engine.policies import Policies
from app.engine.states import State
from app.models import ActionExecution, TaskExecution

LIMIT = 50
# Policies that hold a task back on a timer (or a pause): such a task goes to a worker.
_TIMED_POLICIES = ("wait-before", "wait-after", "timeout", "pause-before")


class Glue:
    """The glue runs of one engine transaction, shared by the steps of the sub-workflows it starts.

    ``here``: whether this transaction may complete glue itself (a worker's continuation), or only
    hands it on (a web request, a timer). ``left``: how many more glue runs the budget allows.
    ``keep_on_workers``: actions to send to workers even though they could run inline.
    """

    def __init__(self, here: bool = False, limit: int = LIMIT,
                 keep_on_workers: Callable[[ActionExecution], bool] | None = None) -> None:
        self.here = here
        self.left = limit
        self.keep_on_workers = keep_on_workers
        # Task id -> whether its runs may be glue in this transaction (decided at its first run).
        self._tasks: dict[str, bool] = {}
        # Workflow execution id -> the message carrying the glue handed on.
        self._handed_on: dict[str, RunInline] = {}

    def accepts(self, spec: WorkflowSpec, task: TaskExecution, action: ActionExecution,
                policies: Callable[[], Policies]) -> bool:
        """Whether ``action`` of ``task`` is glue this transaction runs or hands on as glue."""
        if not is_glue(action) or (self.keep_on_workers is not None and self.keep_on_workers(action)):
            return False
        allowed = self._tasks.get(task.id)
        if allowed is None:
            task_spec = spec.tasks[task.name]
            allowed = not _needs_executor(spec, task_spec, policies)
            self._tasks[task.id] = allowed
        return allowed

    def take(self) -> bool:
        """Count one glue run against the budget; True when this transaction runs it itself."""
        if self.left <= 0:
            return False
        self.left -= 1
        return self.here

    def hand_on(self, action: ActionExecution, messages: list[Message]) -> None:
        """Leave ``action`` (committed RUNNING) to a worker's continuation step."""
        self.hand_on_id(action.workflow_execution_id or "", action.id, messages)

    def hand_on_id(self, workflow_id: str, action_id: str, messages: list[Message]) -> None:
        message = self._handed_on.get(workflow_id)
        if message is None:
            message = self._handed_on[workflow_id] = RunInline(workflow_id)
            messages.append(message)
        message.action_execution_ids.append(action_id)


def is_glue(action: ActionExecution) -> bool:
    """Whether the action's class declares it may run inline with this input (and no target)."""
    params = action.params or {}
    if params.get("target"):
        return False
    base_name = params.get("base") or action.name
    action_class = registry.find(base_name)
    return action_class is not None and declares_inline(action_class, dict(params.get("base_input", action.input)))


def _needs_executor(spec: WorkflowSpec, task_spec: TaskSpec, policies: Callable[[], Policies]) -> bool:
    if any(spec.policy(task_spec, key) not in (None, False, 0) for key in _TIMED_POLICIES):
        return True
    if spec.policy(task_spec, "retry") is None:
        return False
    try:
        retry = policies().retry()
    except EngineError:
        return True
    return retry is not None and bool(retry.delay)


def run(action: ActionExecution) -> tuple[str, dict[str, Any]]:
    """Run a glue action in this process; its (state, output) as a worker would report them."""
    params = action.params or {}
    base_name = params.get("base") or action.name
    action_class = registry.find(base_name)
    if action_class is None:
        result = Result(error=f"Failed to find action [action_name={base_name}]")
    else:
        context = ActionContext(ExecutionContext(
            action_execution_id=action.id, workflow_name=action.workflow_name,
            workflow_execution_id=action.workflow_execution_id, task_execution_id=action.task_execution_id,
            task_name=action.task_name,
        ))
        result, _ = invoke(action_class, dict(params.get("base_input", action.input)), context, action.name,
                           base_name)
    state = (State.CANCELLED if result.cancel else State.ERROR if result.is_error() else State.SUCCESS).value
    return shaped_output(action, state, result.to_output())


def shaped_output(action: ActionExecution, state: str, output: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Apply an ad-hoc action's ``output`` to a successful result (sync, async or inline alike)."""
    outputs = (action.params or {}).get("output")
    if state != State.SUCCESS or not outputs:
        return state, output
    try:
        return state, {"result": adhoc.transform_output(outputs, output.get("result"), None)}
    except EngineError as exc:
        return State.ERROR.value, {"result": failures.action_failure(exc, action.name, action.task_name)}
