"""The workflow graph of the console: a definition's tasks and transitions, laid out and drawn as SVG.

:func:`from_definition` (a definition's text), :func:`from_stored_spec` (an execution's spec
snapshot) and :func:`from_spec` build a :class:`WorkflowGraph` from the engine's own parser;
:func:`render_svg` draws it (layout in :mod:`app.console.graph_layout`, edge routing in
:mod:`app.console.graph_edges`, drawing in :mod:`app.console.graph_svg`) and
:func:`render_timeline` draws an execution's timeline (:mod:`app.console.timeline`).

Every node has an id of its own: ``task:<name>`` for a task, ``cmd:<source>:<n>`` for an engine
command (``fail``, ``succeed``, ``pause``, ``noop``) reached from a task, drawn once per task so
that a common ``on-error: fail`` draws no long edges across the graph, and ``dyn:<source>:<n>``
for a transition whose target is an expression (known only at run time).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from app.actions import registry
from app.actions.base import Action
from app.console.graph_model import EDGE_KINDS, Edge, Node, WorkflowGraph, task_id
from app.console.graph_svg import render_svg
from app.console.timeline import render_timeline
from app.engine.errors import DSLError, NotFound
from app.engine.language.documents import parse_workbook
from app.engine.language.parser import Problems, parse_workflow, parse_workflows
from app.engine.language.spec import ActionSpec, OnClause, TaskSpec, WorkflowSpec

__all__ = [
    "EDGE_KINDS", "Edge", "Node", "WorkflowGraph", "from_definition", "from_spec", "from_stored_spec",
    "latest_next_tasks", "latest_states", "render_svg", "render_timeline", "states_payload", "task_id",
]

# A workbook has a top-level name and workflows (or actions); a workflow list has neither as text.
_WORKBOOK_KEY = re.compile(r"^(workflows|actions)\s*:", re.M)
_WORKBOOK_NAME = re.compile(r"^name[ \t]*:[ \t]*\S", re.M)
_EXPRESSION = re.compile(r"^\s*(<%.*%>|\{\{.*\}\})\s*$", re.S)
_FINISHED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "SKIPPED"})

AsyncCheck = Callable[[str], bool]


def from_definition(definition_text: str, workflow_name: str | None = None,
                    is_async: AsyncCheck | None = None) -> WorkflowGraph:
    """The graph of one workflow of a workflow list or workbook (the first one if no name is given).

    In a workbook, ``workflow_name`` may be the full ``book.flow`` name or the short one. Raises
    :class:`DSLError` for an invalid definition and :class:`NotFound` for an unknown name.
    ``is_async`` tells whether an action name is asynchronous; by default the registered action
    classes and the workbook's own ad-hoc actions answer.
    """
    adhoc: dict[str, ActionSpec] = {}
    if _looks_like_workbook(definition_text):
        book = parse_workbook(definition_text)
        specs = list(book.workflows)
        adhoc = {action.name: action for action in book.actions}
        adhoc.update({action.name.split(".", 1)[1]: action for action in book.actions})
        prefix = f"{book.name}."
    else:
        specs = parse_workflows(definition_text)
        prefix = ""
    if not specs:
        raise NotFound("The definition holds no workflow to draw")
    spec = _pick(specs, workflow_name, prefix)
    return from_spec(spec, is_async or _registry_check(adhoc))


def from_stored_spec(spec: Mapping[str, Any], workflow_name: str,
                     is_async: AsyncCheck | None = None) -> WorkflowGraph:
    """The graph of an execution's spec snapshot (``WorkflowExecution.spec``)."""
    raw = dict(spec)
    problems = Problems()
    parsed = parse_workflow(str(raw.get("name") or workflow_name), raw, workflow_name, problems)
    if parsed is None or problems:
        raise DSLError(problems or [f"{workflow_name}: the stored spec is not a workflow"])
    return from_spec(parsed, is_async)


def from_spec(spec: WorkflowSpec, is_async: AsyncCheck | None = None) -> WorkflowGraph:
    check = is_async or _registry_check({})
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    starts = set(spec.start_tasks()) if spec.type == "direct" else _reverse_starts(spec)
    for task in spec.tasks.values():
        nodes[task_id(task.name)] = _task_node(task, task.name in starts, check)
    for task in spec.tasks.values():
        if spec.type == "reverse":
            edges.extend(_requires_edges(spec, task))
        else:
            edges.extend(_transition_edges(spec, task, nodes))
    return WorkflowGraph(spec.name, spec.type, nodes, tuple(edges), spec.description)


def latest_states(tasks: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each task name's state in its latest run (a cycle or a rerun runs a task several times).

    ``tasks`` are task executions as dicts (``name``, ``state``, ``created_at``), in any order.
    """
    latest: dict[str, tuple[str, int, str]] = {}
    for index, task in enumerate(tasks):
        name, state = task.get("name"), task.get("state")
        if not isinstance(name, str) or not isinstance(state, str):
            continue
        key = (str(task.get("created_at") or ""), index, state)
        if name not in latest or key[:2] >= latest[name][:2]:
            latest[name] = key
    return {name: value[2] for name, value in latest.items()}


def latest_next_tasks(tasks: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each task name's ``next_tasks`` (what its transitions started) in its latest run."""
    latest: dict[str, tuple[str, int, list[str]]] = {}
    for index, task in enumerate(tasks):
        name, fired = task.get("name"), task.get("next_tasks")
        if not isinstance(name, str):
            continue
        key = (str(task.get("created_at") or ""), index)
        if name not in latest or key >= latest[name][:2]:
            latest[name] = (*key, [str(t) for t in fired] if isinstance(fired, list) else [])
    return {name: value[2] for name, value in latest.items()}


def states_payload(task_states: Mapping[str, str], execution_state: str | None = None,
                   next_tasks: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """What the graph's script polls for: ``{"tasks": {name: state}, "next_tasks": {name: [...]},
    "state": ..., "live": bool, "done": bool}``.

    ``done`` (the execution ended; ``live`` is its opposite) stops the polling.
    """
    done = execution_state in _FINISHED
    return {"tasks": dict(task_states), "next_tasks": {k: list(v) for k, v in (next_tasks or {}).items()},
            "state": execution_state, "live": not done, "done": done}


def _looks_like_workbook(text: str) -> bool:
    return bool(_WORKBOOK_KEY.search(text)) and bool(_WORKBOOK_NAME.search(text))


def _pick(specs: list[WorkflowSpec], name: str | None, prefix: str) -> WorkflowSpec:
    if name is None:
        return specs[0]
    for candidate in (name, prefix + name):
        for spec in specs:
            if spec.name == candidate:
                return spec
    known = ", ".join(spec.name for spec in specs)
    raise NotFound(f"Workflow {name!r} is not in this definition (it has: {known})")


def _task_node(task: TaskSpec, is_start: bool, is_async: AsyncCheck) -> Node:
    join: str | None = None
    if task.join is not None:
        written = task.raw.get("join")
        join = written if isinstance(written, str) else str(task.join)
    if task.workflow:
        detail = f"workflow {task.workflow}"
    elif task.action:
        detail = task.action
    else:
        detail = "std.noop"
    action = task.action if not task.workflow else None
    asynchronous = action is not None and not _is_expression(action) and _safe_check(is_async, action)
    return Node(
        id=task_id(task.name), kind="task", label=task.name, task=task.name, detail=detail,
        action=action, subworkflow=task.workflow, join=join, with_items=task.with_items is not None,
        is_async=asynchronous,
        is_start=is_start, description=task.description,
    )


def _transition_edges(spec: WorkflowSpec, task: TaskSpec, nodes: dict[str, Node]) -> list[Edge]:
    source = task_id(task.name)
    own = {"on-success": task.on_success, "on-error": task.on_error, "on-complete": task.on_complete}
    clauses: list[tuple[str, OnClause, bool]] = [
        (kind, clause, own[kind].is_empty and not clause.is_empty)
        for kind, clause in spec.clauses(task).items()
    ]
    if task.on_skip is not None:
        clauses.insert(2, ("on-skip", task.on_skip, False))
    edges = []
    extra = 0
    for kind, clause, from_defaults in clauses:
        for transition in clause.transitions:
            condition = None if transition.condition is None else str(transition.condition)
            if transition.is_engine_command or _is_expression(transition.target):
                extra += 1
                dynamic = not transition.is_engine_command
                target = f"{'dyn' if dynamic else 'cmd'}:{task.name}:{extra}"
                nodes[target] = Node(id=target, kind="dynamic" if dynamic else "command",
                                     label=transition.target.strip(), detail=_params_text(transition.params))
            else:
                target = task_id(transition.target)
            edges.append(Edge(source, target, kind, condition, from_defaults, dict(transition.params)))
    return edges


def _requires_edges(spec: WorkflowSpec, task: TaskSpec) -> list[Edge]:
    required = list(dict.fromkeys((*task.requires, *spec.default_requires)))
    defaults = set(spec.default_requires) - set(task.requires)
    return [Edge(task_id(name), task_id(task.name), "requires", from_defaults=name in defaults)
            for name in required if name != task.name and name in spec.tasks]


def _reverse_starts(spec: WorkflowSpec) -> set[str]:
    """In a reverse workflow, the tasks that need nothing run first."""
    return {name for name, task in spec.tasks.items()
            if not [r for r in (*task.requires, *spec.default_requires) if r != name]}


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())


def _is_expression(text: str) -> bool:
    return bool(_EXPRESSION.match(text))


def _safe_check(check: AsyncCheck, name: str) -> bool:
    try:
        return bool(check(name))
    except Exception:  # noqa: BLE001 - a marker on a drawing is no reason to fail the page
        return False


def _registry_check(adhoc: Mapping[str, ActionSpec]) -> AsyncCheck:
    """Whether an action is asynchronous, from its class (following ad-hoc actions to their base)."""
    def check(name: str) -> bool:
        seen: set[str] = set()
        while name in adhoc and name not in seen:
            seen.add(name)
            name = adhoc[name].base
        return _class_is_async(name)
    return check


def _class_is_async(name: str) -> bool:
    action_class = registry.find(name)
    if action_class is None or action_class.is_sync is Action.is_sync:
        return False
    # Asynchrony is a property of the class here, so an instance made without its parameters answers.
    instance = action_class.__new__(action_class)
    return not instance.is_sync()
