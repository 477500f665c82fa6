"""What a workflow graph is made of: nodes (tasks, engine commands, run-time targets) and edges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EDGE_KINDS = ("on-success", "on-error", "on-complete", "on-skip", "requires")
# The clauses a task's end state follows (a skipped task with no on-skip follows on-success).
FOLLOWED = {"SUCCESS": {"on-success", "on-complete"}, "ERROR": {"on-error", "on-complete"}, "SKIPPED": {"on-skip"}}


@dataclass(frozen=True)
class Node:
    """A box of the graph: a task, an engine command or a target known only at run time."""

    id: str
    kind: str  # "task", "command" or "dynamic"
    label: str
    task: str | None = None
    detail: str = ""
    action: str | None = None
    subworkflow: str | None = None
    join: str | None = None  # "all", "one" or a number, as written
    with_items: bool = False
    is_async: bool = False
    is_start: bool = False
    description: str = ""

    @property
    def markers(self) -> tuple[str, ...]:
        """Short words shown on the box for what changes how the task runs."""
        marks = []
        if self.join is not None:
            marks.append(f"join: {self.join}")
        if self.with_items:
            marks.append("with-items")
        if self.subworkflow is not None:
            marks.append("sub-workflow")
        if self.is_async:
            marks.append("async")
        return tuple(marks)


@dataclass(frozen=True)
class Edge:
    """A transition (``on-*``) or a dependency (``requires``, drawn from the required task)."""

    source: str
    target: str
    kind: str
    condition: str | None = None
    from_defaults: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def short_kind(self) -> str:
        return self.kind.removeprefix("on-")


@dataclass(frozen=True)
class WorkflowGraph:
    name: str
    type: str
    nodes: dict[str, Node]
    edges: tuple[Edge, ...]
    description: str = ""

    def task_node(self, task_name: str) -> Node:
        return self.nodes[task_id(task_name)]

    @property
    def task_names(self) -> list[str]:
        return [node.task for node in self.nodes.values() if node.task is not None]

    def edges_from(self, node_id: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.source == node_id]


def task_id(task_name: str) -> str:
    return f"task:{task_name}"


def fired(kinds: Iterable[str], state: str | None, has_skip: bool) -> bool:
    """Whether a transition of one of ``kinds`` whose target the task named among its next tasks
    was the one taken, given the task's end state."""
    followed = FOLLOWED.get(state or "")
    if followed is None:
        return True
    if state == "SKIPPED" and not has_skip:
        followed = {"on-success"}
    return bool(followed & set(kinds))
