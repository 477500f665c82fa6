"""The console's use of the graph module: a definition's graph and an execution's, as SVG."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from app.console import graph
from app.engine.errors import EngineError
from app.models import ActionExecution, TaskExecution, WorkflowExecution


def definition_svg(text: str, name: str) -> Markup:
    try:
        drawn = graph.from_definition(text, name)
    except EngineError as exc:
        return Markup("<p class=\"flash error\">The graph cannot be drawn: {}</p>").format(exc)
    return graph.render_svg(drawn)


def execution_svg(wf_ex: WorkflowExecution, states: dict[str, str], link: Callable[[str], str],
                  states_url: str | None) -> Markup:
    """The graph of the spec the execution started with (the definition may have changed since);
    with ``states_url`` the page polls it for the tasks' states while the execution runs."""
    try:
        drawn = graph.from_stored_spec(wf_ex.spec, wf_ex.workflow_name)
    except EngineError as exc:
        return Markup("<p class=\"flash error\">The graph cannot be drawn: {}</p>").format(exc)
    return graph.render_svg(drawn, task_states=states, link_for_task=link, states_url=states_url)


def timeline(tasks: list[TaskExecution], actions: list[ActionExecution]) -> Markup:
    fields = ("id", "name", "state", "created_at", "updated_at")
    task_rows = [{**{key: getattr(task, key) for key in fields}, "started_at": task.started_at,
                  "finished_at": task.finished_at} for task in tasks]
    action_rows = [{**{key: getattr(action, key) for key in fields}, "task_execution_id": action.task_execution_id,
                    "item_index": action.item_index} for action in actions]
    return graph.render_timeline(task_rows, action_rows)
