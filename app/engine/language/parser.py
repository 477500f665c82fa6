"""Turn a YAML document into specs, collecting every problem with its path.

Nothing here raises on the first problem: each check appends ``"path: message"`` to a list and
:func:`parse_workflows` raises one :class:`DSLError` carrying them all.
"""

from __future__ import annotations

import re
from typing import Any

from app.engine import expressions
from app.engine.errors import DSLError
from app.engine.language.inline import InlineSyntaxError, split_command
from app.engine.language.spec import (
    ENGINE_COMMANDS,
    POLICY_KEYS,
    REQUIRED,
    OnClause,
    TaskSpec,
    Transition,
    WithItems,
    WorkflowSpec,
)
from app.engine.language.yaml_loader import load_yaml

META_KEYS = {"name", "version", "description", "tags"}
WORKFLOW_KEYS = META_KEYS | {
    "type", "input", "output", "output-on-error", "vars", "task-defaults", "tasks",
}
CLAUSE_KEYS = ("on-success", "on-error", "on-complete", "on-skip")
TASK_KEYS = META_KEYS | set(POLICY_KEYS) | set(CLAUSE_KEYS) | {
    "action", "workflow", "input", "publish", "publish-on-error", "publish-on-skip", "with-items",
    "keep-result", "target", "join", "requires",
}
TASK_DEFAULT_KEYS = set(POLICY_KEYS) | {"on-success", "on-error", "on-complete", "on-skip", "requires"}
WITH_ITEMS = re.compile(r"\s*([\w\-]+)\s+in\s+(\[.*\]|<%.*%>|\{\{.*\}\}|\$\..*|\S+)\s*$", re.S)
SUPPORTED_VERSIONS = ("2.0",)


class Problems(list[str]):
    def add(self, path: str, message: str) -> None:
        self.append(f"{path}: {message}")


def parse_workflows(text: str) -> list[WorkflowSpec]:
    """Parse a workflow list document (``version`` plus one or more workflows)."""
    document = load_yaml(text)
    problems = Problems()
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise DSLError(["<root>: the definition must be a mapping of workflow names to workflows"])
    check_version(document, problems, strict=False)
    specs = []
    names = [key for key in document if key != "version"]
    if not names:
        problems.add("<root>", "no workflow is defined")
    for name in names:
        spec = parse_workflow(str(name), document[name], str(name), problems)
        if spec is not None:
            specs.append(spec)
    if problems:
        raise DSLError(problems)
    return specs


def check_version(document: dict[str, Any], problems: Problems, strict: bool = True) -> None:
    """Workbooks must say '2.0'; workflow and action lists, like Mistral's, only need some version."""
    version = document.get("version")
    if version is None or version == "" or isinstance(version, bool):
        problems.add("version", "is required and must be '2.0'")
    elif strict and str(version) not in SUPPORTED_VERSIONS:
        problems.add("version", f"Unsupported DSL version: {version}")
    elif not strict and not isinstance(version, (str, int, float)):
        problems.add("version", f"Unsupported DSL version: {version}")


def parse_workflow(name: str, raw: Any, path: str, problems: Problems) -> WorkflowSpec | None:
    if not isinstance(raw, dict):
        problems.add(path, "a workflow must be a mapping")
        return None
    if " " in name:
        problems.add(path, "a workflow name must not contain spaces")
    check_keys(raw, WORKFLOW_KEYS, path, problems)
    wf_type = raw.get("type", "direct")
    if wf_type not in ("direct", "reverse"):
        problems.add(f"{path}.type", f"must be 'direct' or 'reverse', not {wf_type!r}")
    defaults = raw.get("task-defaults") or {}
    if not isinstance(defaults, dict):
        problems.add(f"{path}.task-defaults", "must be a mapping")
        defaults = {}
    check_keys(defaults, TASK_DEFAULT_KEYS, f"{path}.task-defaults", problems)
    tasks_raw = raw.get("tasks")
    if not isinstance(tasks_raw, dict) or not tasks_raw:
        problems.add(f"{path}.tasks", "is required and must be a non-empty mapping")
        tasks_raw = {}
    tasks = {
        str(task_name): _parse_task(str(task_name), task_raw, f"{path}.tasks.{task_name}", problems)
        for task_name, task_raw in tasks_raw.items()
    }
    spec = WorkflowSpec(
        name=name,
        type=wf_type,
        input=parse_input_decl(raw.get("input"), f"{path}.input", problems),
        vars=to_mapping(raw.get("vars"), f"{path}.vars", problems),
        output=raw.get("output"),
        output_on_error=raw.get("output-on-error"),
        tasks=tasks,
        default_on_success=_parse_clause(defaults.get("on-success"), f"{path}.task-defaults.on-success",
                                         problems),
        default_on_error=_parse_clause(defaults.get("on-error"), f"{path}.task-defaults.on-error", problems),
        default_on_complete=_parse_clause(defaults.get("on-complete"), f"{path}.task-defaults.on-complete",
                                          problems),
        default_requires=_name_list(defaults.get("requires"), f"{path}.task-defaults.requires", problems),
        default_policies=_policies(defaults, f"{path}.task-defaults", problems),
        tags=string_list(raw.get("tags"), f"{path}.tags", problems),
        description=str(raw.get("description") or ""),
        raw=raw,
    )
    _check_expressions(raw, path, problems)
    _check_graph(spec, path, problems)
    return spec


def check_keys(raw: dict[str, Any], allowed: set[str], path: str, problems: Problems) -> None:
    for key in raw:
        if key not in allowed:
            problems.add(f"{path}.{key}", "unknown key")


def to_mapping(value: Any, path: str, problems: Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(path, "must be a mapping")
        return {}
    return value


def string_list(value: Any, path: str, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        problems.add(path, "must be a list of strings")
        return ()
    return tuple(value)


def _name_list(value: Any, path: str, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    problems.add(path, "must be a task name or a list of task names")
    return ()


def parse_input_decl(value: Any, path: str, problems: Problems) -> tuple[tuple[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.add(path, "must be a list of names or {name: default} mappings")
        return ()
    declared: list[tuple[str, Any]] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            declared.append((item, REQUIRED))
        elif isinstance(item, dict) and len(item) == 1:
            (key, default), = item.items()
            declared.append((str(key), default))
        else:
            problems.add(f"{path}[{index}]", "must be a name or a {name: default} mapping")
    names = [name for name, _ in declared]
    for name in {n for n in names if names.count(n) > 1}:
        problems.add(path, f"input {name!r} is declared more than once")
    return tuple(declared)


def _parse_task(name: str, raw: Any, path: str, problems: Problems) -> TaskSpec:
    if not isinstance(raw, dict):
        problems.add(path, "a task must be a mapping")
        return TaskSpec(name=name)
    check_keys(raw, TASK_KEYS, path, problems)
    if "action" in raw and "workflow" in raw:
        problems.add(path, "'action' and 'workflow' cannot be used together")
    command = raw.get("workflow") or raw.get("action")
    target_name: str | None = None
    inline: dict[str, Any] = {}
    if command is not None:
        key = "workflow" if "workflow" in raw else "action"
        if not isinstance(command, str) or not command.strip():
            problems.add(f"{path}.{key}", "must be a non-empty string")
        else:
            try:
                target_name, inline = split_command(command)
            except InlineSyntaxError as exc:
                problems.add(f"{path}.{key}", f"bad inline parameters: {exc}")
    task_input = raw.get("input")
    if task_input is not None and not isinstance(task_input, (dict, str)):
        problems.add(f"{path}.input", "must be a mapping or an expression")
    return TaskSpec(
        name=name,
        action=target_name if "workflow" not in raw else None,
        workflow=target_name if "workflow" in raw else None,
        inline_input=inline,
        input=task_input,
        publish=to_mapping(raw.get("publish"), f"{path}.publish", problems),
        publish_on_error=to_mapping(raw.get("publish-on-error"), f"{path}.publish-on-error", problems),
        publish_on_skip=to_mapping(raw.get("publish-on-skip"), f"{path}.publish-on-skip", problems),
        with_items=_parse_with_items(raw.get("with-items"), f"{path}.with-items", problems),
        join=_parse_join(raw.get("join"), f"{path}.join", problems),
        on_success=_parse_clause(raw.get("on-success"), f"{path}.on-success", problems),
        on_error=_parse_clause(raw.get("on-error"), f"{path}.on-error", problems),
        on_complete=_parse_clause(raw.get("on-complete"), f"{path}.on-complete", problems),
        on_skip=_parse_clause(raw["on-skip"], f"{path}.on-skip", problems) if "on-skip" in raw else None,
        requires=_name_list(raw.get("requires"), f"{path}.requires", problems),
        policies=_policies(raw, path, problems),
        keep_result=raw.get("keep-result", True),
        target=raw.get("target"),
        tags=string_list(raw.get("tags"), f"{path}.tags", problems),
        description=str(raw.get("description") or ""),
        raw=raw,
    )


def _policies(raw: dict[str, Any], path: str, problems: Problems) -> dict[str, Any]:
    policies = {key: raw[key] for key in POLICY_KEYS if key in raw}
    _check_policy_literals(policies, path, problems)
    return policies


def _parse_join(value: Any, path: str, problems: Problems) -> int | str | None:
    if value is None:
        return None
    if value in ("all", "one"):
        return "all" if value == "all" else 1
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    problems.add(path, "must be 'all', 'one' or a positive integer")
    return None


def _parse_with_items(value: Any, path: str, problems: Problems) -> WithItems | None:
    if value is None:
        return None
    entries = value if isinstance(value, list) else [value]
    variables = []
    for entry in entries:
        match = WITH_ITEMS.match(entry) if isinstance(entry, str) else None
        if not match:
            problems.add(path, f"{entry!r} must look like 'var in <% $.list %>' or 'var in [1, 2]'")
            continue
        source: Any = match.group(2)
        if source.startswith("["):
            try:
                source = load_yaml(source)
            except DSLError:
                problems.add(path, f"{entry!r} has a list that cannot be parsed")
                continue
        variables.append((match.group(1), source))
    return WithItems(tuple(variables)) if variables else None


def _parse_clause(value: Any, path: str, problems: Problems) -> OnClause:
    if value is None:
        return OnClause()
    if isinstance(value, dict) and ("publish" in value or "next" in value):
        extra = set(value) - {"publish", "next"}
        for key in extra:
            problems.add(f"{path}.{key}", "unknown key (expected 'publish' and 'next')")
        publish = to_mapping(value.get("publish"), f"{path}.publish", problems)
        check_keys(publish, {"branch", "global", "atomic"}, f"{path}.publish", problems)
        nxt = _parse_clause(value.get("next"), f"{path}.next", problems)
        return OnClause(nxt.transitions, publish.get("branch"), publish.get("global"))
    items = value if isinstance(value, list) else [value]
    transitions = []
    for index, item in enumerate(items):
        transition = _parse_transition(item, f"{path}[{index}]", problems)
        if transition is not None:
            transitions.append(transition)
    return OnClause(tuple(transitions))


def _parse_transition(item: Any, path: str, problems: Problems) -> Transition | None:
    condition = None
    if isinstance(item, dict) and len(item) == 1:
        (item, condition), = item.items()
    if not isinstance(item, str) or not item.strip():
        problems.add(path, "must be a task name, 'task: <% condition %>' or an engine command")
        return None
    try:
        target, params = split_command(item)
    except InlineSyntaxError as exc:
        problems.add(path, f"bad parameters: {exc}")
        return None
    if params and target not in ENGINE_COMMANDS:
        problems.add(path, f"only engine commands take parameters, not {target!r}")
    return Transition(target=target, condition=condition, params=params)


# Mistral's policy schema: each value is an expression or a literal of the kind below.
_INTEGER_POLICIES = ("wait-before", "wait-after", "timeout", "concurrency")
_BOOLEAN_POLICIES = ("pause-before", "fail-on")
_WHOLE_EXPRESSION = re.compile(r"^(<%.*?%>|\{\{.*?\}\})\s*$", re.S)


def _check_policy_literals(policies: dict[str, Any], path: str, problems: Problems) -> None:
    """Refuse at upload, as Mistral does, a policy written as a literal of the wrong kind (a negative
    count, a text that is no expression); expressions are checked when the task starts."""
    for key in _INTEGER_POLICIES:
        if key in policies:
            _check_count(policies[key], f"{path}.{key}", problems)
    for key in _BOOLEAN_POLICIES:
        value = policies.get(key)
        if key in policies and not isinstance(value, bool) and not _is_expression(value):
            problems.add(f"{path}.{key}", f"{value!r} is not a boolean or an expression")
    retry = policies.get("retry")
    if isinstance(retry, dict):
        for key in ("count", "delay"):
            if key in retry:
                _check_count(retry[key], f"{path}.retry.{key}", problems)
    elif "retry" in policies and not (isinstance(retry, str) and retry.strip()):
        problems.add(f"{path}.retry", f"{retry!r} is not a mapping or an expression")


def _check_count(value: Any, path: str, problems: Problems) -> None:
    if _is_expression(value):
        return
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < 0:
        problems.add(path, f"{value!r} is not an integer of at least 0 or an expression")


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and bool(_WHOLE_EXPRESSION.match(value))


def _check_expressions(value: Any, path: str, problems: Problems) -> None:
    if isinstance(value, str):
        for problem in expressions.validate(value):
            problems.add(path, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_expressions(item, f"{path}.{key}", problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_expressions(item, f"{path}[{index}]", problems)


def _check_graph(spec: WorkflowSpec, path: str, problems: Problems) -> None:
    if spec.type == "reverse":
        for task in spec.tasks.values():
            for required in (*task.requires, *spec.default_requires):
                if required not in spec.tasks:
                    problems.add(f"{path}.tasks.{task.name}.requires", f"Task '{required}' not found.")
        return
    for task in spec.tasks.values():
        for key, clause in spec.clauses(task).items():
            for transition in clause.transitions:
                if transition.target not in spec.tasks and not transition.is_engine_command:
                    problems.add(f"{path}.tasks.{task.name}.{key}", f"Task '{transition.target}' not found.")
        if task.is_join:
            inbound = len(spec.inbound(task.name))
            if inbound == 0:
                problems.add(f"{path}.tasks.{task.name}.join", "No inbound tasks for task with 'join'")
            elif isinstance(task.join, int) and task.join > inbound:
                problems.add(f"{path}.tasks.{task.name}.join",
                             f"Not enough inbound tasks for task with 'join: {task.join}' (found {inbound})")
    if spec.tasks and not spec.start_tasks():
        problems.add(f"{path}.tasks", "Failed to find start tasks in direct workflow")
