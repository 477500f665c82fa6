"""Immutable specs built from a validated definition. Pure data, no behaviour beyond lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

ENGINE_COMMANDS = frozenset({"noop", "fail", "succeed", "pause"})
POLICY_KEYS = (
    "retry", "wait-before", "wait-after", "timeout", "pause-before", "concurrency", "fail-on",
    "safe-rerun",
)


class _Required:
    """Marker for a workflow input without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Transition:
    """One item of an on-* clause: a task name or engine command, maybe with a condition."""

    target: str
    condition: Any = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_engine_command(self) -> bool:
        return self.target in ENGINE_COMMANDS


@dataclass(frozen=True)
class OnClause:
    transitions: tuple[Transition, ...] = ()
    publish: dict[str, Any] | None = None
    publish_global: dict[str, Any] | None = None

    @property
    def is_empty(self) -> bool:
        return not self.transitions


@dataclass(frozen=True)
class WithItems:
    """``with-items``: variable names and the expressions (or literal lists) they iterate."""

    variables: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    action: str | None = None
    workflow: str | None = None
    inline_input: dict[str, Any] = field(default_factory=dict)
    input: Any = None
    publish: dict[str, Any] = field(default_factory=dict)
    publish_on_error: dict[str, Any] = field(default_factory=dict)
    publish_on_skip: dict[str, Any] = field(default_factory=dict)
    with_items: WithItems | None = None
    join: int | str | None = None
    on_success: OnClause = field(default_factory=OnClause)
    on_error: OnClause = field(default_factory=OnClause)
    on_complete: OnClause = field(default_factory=OnClause)
    on_skip: OnClause | None = None
    requires: tuple[str, ...] = ()
    policies: dict[str, Any] = field(default_factory=dict)
    keep_result: Any = True
    target: Any = None
    tags: tuple[str, ...] = ()
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_join(self) -> bool:
        return self.join is not None

    @property
    def kind(self) -> str:
        return "WORKFLOW" if self.workflow else "ACTION"


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    type: str = "direct"
    input: tuple[tuple[str, Any], ...] = ()
    vars: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    output_on_error: Any = None
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    default_on_success: OnClause = field(default_factory=OnClause)
    default_on_error: OnClause = field(default_factory=OnClause)
    default_on_complete: OnClause = field(default_factory=OnClause)
    default_requires: tuple[str, ...] = ()
    default_policies: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def task(self, name: str) -> TaskSpec:
        return self.tasks[name]

    def input_names(self) -> list[str]:
        return [name for name, _ in self.input]

    def policy(self, task: TaskSpec, key: str) -> Any:
        if key in task.policies:
            return task.policies[key]
        return self.default_policies.get(key)

    def clauses(self, task: TaskSpec) -> dict[str, OnClause]:
        """The task's on-* clauses, falling back to task-defaults without the task itself."""
        result = {}
        pairs = (
            ("on-success", task.on_success, self.default_on_success),
            ("on-error", task.on_error, self.default_on_error),
            ("on-complete", task.on_complete, self.default_on_complete),
        )
        for key, own, default in pairs:
            if own.is_empty and not default.is_empty:
                kept = tuple(t for t in default.transitions if t.target != task.name)
                own = OnClause(kept, own.publish, own.publish_global)
            result[key] = own
        return result

    @cached_property
    def _inbound_map(self) -> dict[str, list[str]]:
        inbound: dict[str, list[str]] = {}
        for name, task in self.tasks.items():
            # on-skip counts too: a task only a skip leads to is not a start task.
            clauses = [*self.clauses(task).values(), *([task.on_skip] if task.on_skip is not None else [])]
            for clause in clauses:
                for transition in clause.transitions:
                    sources = inbound.setdefault(transition.target, [])
                    if name not in sources:
                        sources.append(name)
        return inbound

    def inbound(self, task_name: str) -> list[str]:
        """Names of the tasks with a transition to ``task_name``."""
        return self._inbound_map.get(task_name, [])

    def start_tasks(self) -> list[str]:
        return [name for name in self.tasks if name not in self._inbound_map]


@dataclass(frozen=True)
class ActionSpec:
    """An ad-hoc action: ``base`` run with ``base-input``; ``output`` reshapes the base's result."""

    name: str
    base: str
    base_input: dict[str, Any] = field(default_factory=dict)
    input: tuple[tuple[str, Any], ...] = ()
    output: Any = None
    description: str = ""
    tags: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkbookSpec:
    name: str
    workflows: tuple[WorkflowSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()
