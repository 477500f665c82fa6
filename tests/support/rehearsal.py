"""Rehearsals: run a direct workflow through the pure controller with scripted action results.

No broker, no database: tasks run one at a time in the order the controller starts them, and each
takes its result from the script (``{task: [result, {"error": ...}, ...]}``, one entry per run).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.engine import controller, dataflow
from app.engine.commands import RunTask, StopWorkflow
from app.engine.language.parser import parse_workflows
from app.engine.language.spec import WorkflowSpec


@dataclass
class Run:
    name: str
    state: str
    result: Any
    in_context: dict[str, Any]
    published: dict[str, Any] = field(default_factory=dict)
    has_next: bool = False
    error_handled: bool = False


@dataclass
class Trace:
    state: str = "RUNNING"
    state_info: str | None = None
    runs: list[Run] = field(default_factory=list)
    output: Any = None


class RehearsalView:
    def __init__(self, trace: Trace, current: Run | None, wf_input: dict[str, Any],
                 wf_context: dict[str, Any]) -> None:
        self._trace, self._current = trace, current
        self._input, self._context = wf_input, wf_context

    def task(self, name: str | None = None) -> dict[str, Any] | None:
        if name is None or (self._current and self._current.name == name):
            run = self._current
        else:
            run = next((r for r in reversed(self._trace.runs) if r.name == name), None)
        if run is None:
            return None
        return {"name": run.name, "state": run.state, "result": run.result, "published": run.published}

    def tasks(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return [{"name": r.name, "state": r.state} for r in self._trace.runs]

    def execution(self) -> dict[str, Any]:
        return {"id": "rehearsal", "input": self._input}

    def env(self) -> dict[str, Any]:
        return {}

    def global_var(self, name: str) -> Any:
        return self._context.get(name)


class Rehearsal:
    def __init__(self, definition: str, wf_input: dict[str, Any] | None,
                 script: dict[str, list[Any]]) -> None:
        self.spec: WorkflowSpec = parse_workflows(definition)[0]
        self.input = dataflow.prepare_input(self.spec, wf_input)
        self.trace = Trace()
        self.context = dataflow.evaluate_vars(self.spec, self.input, self._view(None))
        self.script = {name: deque(results) for name, results in script.items()}
        self.joins: dict[str, list[dict[str, Any]]] = {}

    def _view(self, run: Run | None) -> RehearsalView:
        return RehearsalView(self.trace, run, self.input, getattr(self, "context", {}))

    def run(self) -> Trace:
        queue = deque(controller.start_commands(self.spec, {}))
        while queue and self.trace.state == "RUNNING":
            command = queue.popleft()
            if isinstance(command, StopWorkflow):
                self.trace.state, self.trace.state_info = command.state, command.message
                break
            queue.extend(self._run_task(command))
        if self.trace.state == "RUNNING":
            self._finish()
        return self.trace

    def _run_task(self, command: RunTask) -> list[Any]:
        task = self.spec.tasks[command.task_name]
        if task.is_join:
            arrivals = self.joins.setdefault(task.name, [])
            arrivals.append(command.in_context)
            needed = len(self.spec.inbound(task.name)) if task.join == "all" else int(task.join or 1)
            if len(arrivals) != needed:
                return []
            in_context: dict[str, Any] = {}
            for context in arrivals:
                in_context = dataflow.merge_dicts(in_context, context)
        else:
            in_context = command.in_context
        scripted = self.script.get(task.name, deque()).popleft() if self.script.get(task.name) else None
        failed = isinstance(scripted, dict) and "error" in scripted
        run = Run(task.name, "ERROR" if failed else "SUCCESS",
                  scripted["error"] if failed else scripted, in_context)
        self.trace.runs.append(run)
        data = dataflow.expression_data(self.input, self.context, in_context)
        branch, global_ = dataflow.publish(task, run.state, self.spec.clauses(task), data, self._view(run))
        run.published = branch
        self.context = {**self.context, **global_}
        outbound = {**in_context, **branch}
        outcome = controller.after_task(self.spec, task, run.state,
                                        dataflow.expression_data(self.input, self.context, outbound),
                                        outbound, self._view(run))
        run.has_next = any(isinstance(c, RunTask) for c in outcome.commands)
        run.error_handled = outcome.error_handled
        return list(outcome.commands)

    def _finish(self) -> None:
        failed = sorted({r.name for r in self.trace.runs if r.state == "ERROR" and not r.error_handled})
        if failed:
            self.trace.state = "ERROR"
            self.trace.state_info = "Failure caused by error in tasks: " + ", ".join(failed)
            return
        final: dict[str, Any] = {}
        for run in self.trace.runs:
            if not run.has_next:
                final = dataflow.merge_dicts(final, {**run.in_context, **run.published})
        data = dataflow.expression_data(self.input, self.context, final)
        self.trace.state = "SUCCESS"
        self.trace.output = dataflow.workflow_output(self.spec, data, final, self._view(None))
