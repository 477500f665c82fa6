"""What the step's helpers may ask of the step that runs them.

:class:`app.engine.runtime.Step` owns the loop of one engine step: it follows completed tasks,
starts the ones that come next and ends the workflow. Its helpers (``launch``, ``control``,
``rerun``, ``subworkflows``, ``workflow_items``) start work, pause, resume, rerun and count items;
when they need the loop (begin a task, complete one, follow what completed) they call back through
this protocol. ``runtime`` imports the helpers and the helpers import only this, so the modules
depend one way; ``Step`` is checked against the protocol wherever it is passed to a helper.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.engine.commands import Command
from app.engine.dispatch import Message
from app.engine.errors import EngineError
from app.engine.expressions import ExecutionView
from app.engine.language.spec import WorkflowSpec
from app.engine.policies import Policies
from app.engine.store import Row, Store
from app.models import ActionExecution, TaskExecution, WorkflowExecution


class StepOps(Protocol):
    store: Store
    spec: WorkflowSpec
    wf_ex: WorkflowExecution
    messages: list[Message]
    # A with-items task's item values, evaluated once per step (task id -> values).
    item_values: dict[str, list[dict[str, Any]]]

    # -- data ----------------------------------------------------------------------------------
    def data(self, context: dict[str, Any]) -> dict[str, Any]: ...

    def view(self, task: TaskExecution | None = None) -> ExecutionView: ...

    def policies(self, task: TaskExecution, extra: dict[str, Any] | None = None) -> Policies: ...

    # -- rows ----------------------------------------------------------------------------------
    def set_state(self, row: Row, state: str, state_info: Any = ...) -> None: ...

    def created(self, row: Row) -> None: ...

    def send_action(self, task: TaskExecution, action: ActionExecution) -> None:
        """Start a RUNNING action: on a worker, or inline when it is glue (see app.engine.inline)."""
        ...

    def sub(self, wf_ex: WorkflowExecution) -> StepOps:
        """The step of a child workflow in the same transaction."""
        ...

    # -- the loop ------------------------------------------------------------------------------
    def start(self) -> None: ...

    def begin(self, task: TaskExecution) -> None: ...

    def complete_task(self, task: TaskExecution, state: str, result: Any,
                      state_info: str | None = None) -> None: ...

    def force_fail(self, task: TaskExecution, message: str, result: Any = ...) -> None: ...

    def fail_completion(self, task: TaskExecution, error: EngineError, result: Any = ...) -> None: ...

    def stop(self, state: str, message: str | None) -> None: ...

    def requeue(self, task: TaskExecution) -> None: ...

    def run_commands(self, commands: list[Command] | tuple[Command, ...]) -> None: ...

    def drain(self) -> None: ...
