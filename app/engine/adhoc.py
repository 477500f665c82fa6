"""Resolving an action name to something a worker can run: a registered action, or an ad-hoc
action (possibly built on another ad-hoc action) unfolded down to its registered base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.actions import registry
from app.actions.base import Action, check_input
from app.engine import dataflow, expressions
from app.engine.catalog import find_action
from app.engine.errors import ActionInstantiationError, EngineError, ExpressionError
from app.engine.expressions import ExecutionView
from app.engine.language.documents import parse_action
from app.engine.language.parser import Problems
from app.engine.language.spec import ActionSpec, WorkflowSpec

MAX_NESTING = 10
# How Mistral's messages name the kind of an ad-hoc action.
ADHOC_CLASS = "mistral.actions.adhoc.AdHocAction"


@dataclass(frozen=True)
class ResolvedAction:
    name: str
    action_class: type[Action]
    base_name: str
    base_input: dict[str, Any]
    # The input as the task gave it, before the ad-hoc layers turned it into the base's input.
    given: dict[str, Any] = field(default_factory=dict)
    # Output expressions of the ad-hoc layers, innermost first.
    outputs: list[Any] = field(default_factory=list)

    @property
    def is_adhoc(self) -> bool:
        return self.name != self.base_name

    def params(self) -> dict[str, Any]:
        if not self.is_adhoc:
            return {}
        return {"base": self.base_name, "base_input": self.base_input, "output": self.outputs}


def _lookup(session: Session, name: str, namespace: str, workbook: str | None) -> tuple[ActionSpec, str] | None:
    """The ad-hoc action's spec and definition text."""
    candidates = [f"{workbook}.{name}", name] if workbook else [name]
    for candidate in candidates:
        row = find_action(session, candidate, namespace)
        if row is not None:
            spec = parse_action(row.name, {k: v for k, v in row.spec.items() if k != "name"}, row.name,
                                Problems())
            if spec is not None:
                return spec, row.definition
    return None


def resolve(session: Session, name: str, given: dict[str, Any], namespace: str, workbook: str | None,
            view: ExecutionView) -> ResolvedAction:
    """Unfold ``name`` with input ``given`` into its registered base action and that action's input."""
    outputs: list[Any] = []
    current, current_input = name, dict(given)
    # What the action execution shows as its input: the outer ad-hoc layer's, defaults filled in.
    shown = dict(given)
    for _ in range(MAX_NESTING):
        action_class = registry.find(current)
        if action_class is not None:
            check_input(current, action_class, current_input, registry.class_path(current, action_class))
            return ResolvedAction(name, action_class, current, current_input, shown,
                                  list(reversed(outputs)))
        found = _lookup(session, current, namespace, workbook)
        if found is None:
            raise EngineError(f"Failed to find action [action_name={current}, namespace={namespace}]")
        spec, definition = found
        declared = WorkflowSpec(name=spec.name, input=spec.input)
        prepared = dataflow.prepare_input(declared, current_input, ADHOC_CLASS)
        if current == name:
            shown = dict(prepared)
        try:
            current_input = expressions.evaluate_recursively(spec.base_input, prepared, view)
        except ExpressionError as exc:
            raise ActionInstantiationError(
                f"Failed to instantiate an action [action_desc=AdHoc action [name={spec.name}, "
                f"definition={definition}]]"
            ) from exc
        outputs.append(spec.output)
        current = spec.base
    raise EngineError(f"Ad-hoc action {name} is nested more than {MAX_NESTING} levels deep")


def transform_output(outputs: list[Any], value: Any, view: ExecutionView | None) -> Any:
    """Apply the ad-hoc ``output`` expressions, innermost first, with ``$`` = the result so far."""
    for output in outputs or []:
        if output is not None:
            value = expressions.evaluate_recursively(output, value, view)
    return value
