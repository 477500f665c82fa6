"""Read-only views of an execution for expression functions (``task()``, ``execution()``, ...).

Each call reads only the rows it needs, so expressions never load the whole execution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.engine.expression_functions import to_plain
from app.engine.store import Store
from app.models import TaskExecution, WorkflowExecution


def format_time(value: Any) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def task_as_dict(task: TaskExecution, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return TaskSnapshot(task, spec).as_dict()


class TaskSnapshot:
    """A task as it is when the snapshot is taken, made into ``task()``'s dict only if an expression
    asks for it: a step takes one for every expression it evaluates about a task, and most never
    call ``task()``; copying the spec and formatting the times cost more than the rest of it."""

    __slots__ = ("name", "_values", "_spec", "_dict")

    def __init__(self, task: TaskExecution, spec: dict[str, Any] | None = None) -> None:
        self.name = task.name
        self._values = (task.id, task.state, task.state_info, task.result, task.published, task.type,
                        task.workflow_execution_id, task.created_at, task.updated_at)
        self._spec = spec
        self._dict: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self._dict is None:
            task_id, state, state_info, result, published, kind, workflow_id, created_at, updated_at = self._values
            self._dict = {
                "id": task_id,
                "name": self.name,
                "spec": to_plain(self._spec) if self._spec else {},
                "state": state,
                "state_info": state_info,
                "result": result,
                "published": published,
                "type": kind,
                "workflow_execution_id": workflow_id,
                "created_at": format_time(created_at),
                "updated_at": format_time(updated_at),
            }
        return self._dict


# executions() reads at most this many rows: a workflow must not be able to load the whole table.
MAX_EXECUTIONS = 10_000


def execution_as_dict(wf: WorkflowExecution) -> dict[str, Any]:
    return {
        "id": wf.id,
        "name": wf.workflow_name,
        "workflow_name": wf.workflow_name,
        "workflow_id": wf.workflow_id,
        "workflow_namespace": wf.workflow_namespace,
        "description": wf.description,
        "state": wf.state,
        "state_info": wf.state_info,
        "input": wf.input,
        "output": wf.output,
        "params": wf.params,
        "task_execution_id": wf.task_execution_id,
        "root_execution_id": wf.root_execution_id,
        "created_at": format_time(wf.created_at),
        "updated_at": format_time(wf.updated_at),
    }


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("T", " ").rstrip("Z"))


class StoreExecutionView:
    """An :class:`app.engine.expressions.ExecutionView` that reads through the engine's store."""

    def __init__(self, store: Store, wf_ex: WorkflowExecution,
                 current_task: TaskSnapshot | None = None) -> None:
        self._store = store
        self._wf_ex = wf_ex
        self._current_task = current_task
        self._env: dict[str, Any] | None = None

    def _task_spec(self, name: str) -> dict[str, Any]:
        tasks = self._wf_ex.spec.get("tasks") or {}
        spec = tasks.get(name)
        return spec if isinstance(spec, dict) else {}

    def task(self, name: str | None = None) -> dict[str, Any] | None:
        current = self._current_task
        if name is None or (current is not None and current.name == name):
            return current.as_dict() if current is not None else None
        row = self._store.latest_task(self._wf_ex.id, name)
        return task_as_dict(row, self._task_spec(name)) if row is not None else None

    def tasks(self, workflow_execution_id: str | None = None, recursive: bool = False,
              state: str | None = None, flat: bool = False) -> list[dict[str, Any]]:
        rows = self._store.tasks(workflow_execution_id or self._wf_ex.id, states=[state] if state else None)
        return [task_as_dict(row, self._task_spec(row.name)) for row in rows]

    def executions(self, id: str | None = None, root_execution_id: str | None = None,  # noqa: A002
                   state: str | None = None, from_time: Any = None, to_time: Any = None) -> list[dict[str, Any]]:
        """Workflow executions of this project, filtered as Mistral's ``executions()`` filters them."""
        rows = self._store.executions(
            self._wf_ex.project_id, id=id, root_execution_id=root_execution_id, state=state,
            from_time=_time(from_time) if from_time is not None else None,
            to_time=_time(to_time) if to_time is not None else None, limit=MAX_EXECUTIONS)
        return [execution_as_dict(row) for row in rows]

    def execution(self) -> dict[str, Any]:
        wf = self._wf_ex
        return {
            "id": wf.id,
            "name": wf.workflow_name,
            "spec": to_plain(wf.spec),
            "input": wf.input,
            "params": wf.params,
            "created_at": format_time(wf.created_at),
            "updated_at": format_time(wf.updated_at),
            "root_execution_id": wf.root_execution_id,
        }

    def env(self) -> dict[str, Any]:
        """The env of the root execution: as in Mistral, a sub-workflow sees its root's env."""
        if self._env is None:
            params = self._wf_ex.params or {}
            if self._wf_ex.root_execution_id:
                params = self._store.workflow_params(self._wf_ex.root_execution_id)
            env = params.get("env")
            self._env = env if isinstance(env, dict) else {}
        return self._env

    def global_var(self, name: str) -> Any:
        return (self._wf_ex.context or {}).get(name)
