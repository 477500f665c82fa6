"""How data moves between workflow, tasks and actions. Pure: specs and dicts in, dicts out."""

from __future__ import annotations

from typing import Any

from app.engine import expressions
from app.engine.errors import InputError
from app.engine.expression_functions import to_plain
from app.engine.expressions import ExecutionView
from app.engine.language.spec import REQUIRED, TaskSpec, WorkflowSpec


def merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Deep merge where ``right`` wins; neither argument is changed."""
    merged = dict(left)
    for key, value in right.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_dicts(merged[key], value)
        else:
            merged[key] = value
    return merged


def prepare_input(spec: WorkflowSpec, given: dict[str, Any] | None, class_name: str | None = None) -> dict[str, Any]:
    """Check ``given`` against the declared input and fill in defaults; ``class_name`` names the
    declaring kind in the error (a workflow by default)."""
    given = dict(given or {})
    declared = dict(spec.input)
    missing = [name for name, default in spec.input if default is REQUIRED and name not in given]
    unexpected = [name for name in given if name not in declared]
    if missing or unexpected:
        kind = "ReverseWorkflowSpec" if spec.type == "reverse" else "DirectWorkflowSpec"
        raise InputError(invalid_input_message(spec.name, class_name or kind, missing, unexpected))
    # A default is the spec's own value, shared by the executions of its version: each gets a copy.
    return {name: given[name] if name in given else to_plain(default) for name, default in spec.input}


def invalid_input_message(name: str, class_name: str, missing: list[str], unexpected: list[str]) -> str:
    """Mistral's wording: only the non-empty lists are named."""
    text = f"Invalid input [name={name}, class={class_name}"
    if missing:
        text += f", missing={missing}"
    if unexpected:
        text += f", unexpected={unexpected}"
    return text + "]"


def expression_data(
    wf_input: dict[str, Any], wf_context: dict[str, Any], in_context: dict[str, Any]
) -> dict[str, Any]:
    """The ``$`` of a task's expressions: branch data over global data over workflow input."""
    return {**wf_input, **wf_context, **in_context}


def evaluate_vars(spec: WorkflowSpec, wf_input: dict[str, Any], view: ExecutionView) -> dict[str, Any]:
    result = expressions.evaluate_recursively(spec.vars, dict(wf_input), view)
    return result if isinstance(result, dict) else {}


def task_input(task: TaskSpec, data: dict[str, Any], view: ExecutionView) -> dict[str, Any]:
    """Inline parameters merged with ``input`` (``input`` wins), expressions evaluated."""
    inline = expressions.evaluate_recursively(task.inline_input, data, view)
    explicit = expressions.evaluate_recursively(task.input, data, view) if task.input is not None else {}
    if not isinstance(explicit, dict):
        raise InputError(
            f"Wrong dynamic input for task: {task.name}. Dict type is expected. "
            f"Actual type: {type(explicit)}. Actual value: {explicit}"
        )
    return {**inline, **explicit}


def action_name(task: TaskSpec, data: dict[str, Any], view: ExecutionView) -> str:
    name = task.action or "std.noop"
    if expressions.has_expression(name):
        name = str(expressions.evaluate(name, data, view))
    return name


def publish(
    task: TaskSpec, state: str, clauses: dict[str, Any], data: dict[str, Any], view: ExecutionView
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Evaluate what a completed task publishes: (branch variables, global variables)."""
    own = {"SUCCESS": task.publish, "ERROR": task.publish_on_error, "SKIPPED": task.publish_on_skip}
    clause_key = {"SUCCESS": "on-success", "ERROR": "on-error", "SKIPPED": "on-skip"}.get(state)
    branch: dict[str, Any] = dict(own.get(state) or {})
    global_: dict[str, Any] = {}
    for key in ("on-complete", clause_key):
        clause = clauses.get(key) if key else None
        if clause is not None:
            branch.update(clause.publish or {})
            global_.update(clause.publish_global or {})
    return (
        expressions.evaluate_recursively(branch, data, view),
        expressions.evaluate_recursively(global_, data, view),
    )


def workflow_output(spec: WorkflowSpec, data: dict[str, Any], final_context: dict[str, Any],
                    view: ExecutionView) -> dict[str, Any]:
    if not spec.output:
        return final_context
    output = expressions.evaluate_recursively(spec.output, data, view)
    return output if isinstance(output, dict) else {"result": output}
