"""Every state write of an execution, a task or an action goes through the transition gate.

The engine tier watches every flush for a state the gate did not pass (tests/engine/state_writes.py);
this reads the source for what a flush does not show: an assignment to ``.state`` outside the gate,
and a compare-and-set statement that writes ``state`` outside the few that report to the gate.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
GATE = "engine/state_log.py"
ROWS = {"WorkflowExecution", "TaskExecution", "ActionExecution"}
# Objects with a ``state`` that is not a row's (the console's list filters).
NOT_ROWS = {("console/executions.py", "Filters")}
# The compare-and-set statements that write a state; each reports it through
# StateChanges.changed_elsewhere, which checks it against the action table. (The action's
# completion goes to the driver through step_writes.update_row, from _set_action_result; on
# PostgreSQL a task's action is completed by the statement that locks its workflow, built in
# transactions and reported by on_action_result as _set_action_result's is.)
COMPARE_AND_SET = {
    ("engine/action_service.py", "_set_action_result"),
    ("engine/transactions.py", "_lock_and_complete_statement"),
    ("engine/action_service.py", "_pause_or_resume_action"),
    ("engine/store.py", "fail_open_actions"),
}


@functools.cache
def modules() -> list[tuple[str, ast.Module]]:
    return [(path.relative_to(APP).as_posix(), ast.parse(path.read_text())) for path in sorted(APP.rglob("*.py"))
            if not path.relative_to(APP).as_posix().startswith("migrations/")]


def scopes(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """The module's classes, functions and methods, with their names (what is nested in them is theirs)."""
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        if isinstance(node, ast.ClassDef):
            yield from ((child.name, child) for child in node.body
                        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))


def assigns_state(node: ast.AST) -> bool:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    flat = [t for target in targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
    return any(isinstance(t, ast.Attribute) and t.attr == "state" for t in flat)


def table_aliases(tree: ast.Module) -> set[str]:
    """Module-level names bound to a row's table (``_ACTIONS = ActionExecution.__table__``)."""
    return {target.id for node in tree.body if isinstance(node, ast.Assign) and is_row_table(node.value)
            for target in node.targets if isinstance(target, ast.Name)}


def is_row_table(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "__table__"
            and isinstance(node.value, ast.Name) and node.value.id in ROWS)


def updates_a_row_table(node: ast.AST, aliases: set[str]) -> bool:
    """An ``update()`` of a row's class, of its table, or of a module-level name for its table; or an
    ``update_row()`` (``step_writes``: an UPDATE handed to the driver) of such a table."""
    if not isinstance(node, ast.Call):
        return False
    name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) \
        else None
    return (name in ("update", "update_row")
            and any((isinstance(arg, ast.Name) and arg.id in ROWS | aliases) or is_row_table(arg)
                    for arg in node.args))


def names_state(node: ast.AST) -> bool:
    """A ``state=`` keyword or a ``"state"`` key anywhere under ``node``."""
    return any((isinstance(n, ast.keyword) and n.arg == "state")
               or (isinstance(n, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "state" for k in n.keys))
               for n in ast.walk(node))


def test_no_module_but_the_gate_assigns_a_state() -> None:
    found = []
    for relative, tree in modules():
        if relative == GATE:
            continue
        allowed = {id(node) for name, scope in scopes(tree) if (relative, name) in NOT_ROWS
                   for node in ast.walk(scope)}
        found += [f"{relative}:{node.lineno}" for node in ast.walk(tree)
                  if assigns_state(node) and id(node) not in allowed]
    assert found == []


def test_only_the_known_compare_and_set_statements_write_a_state() -> None:
    found = set()
    for relative, tree in modules():
        aliases = table_aliases(tree)
        for name, scope in scopes(tree):
            if isinstance(scope, ast.ClassDef):
                continue
            if any(updates_a_row_table(node, aliases) for node in ast.walk(scope)) and names_state(scope):
                found.add((relative, name))
    assert found == COMPARE_AND_SET


def test_the_gate_is_the_one_place_that_assigns_a_state() -> None:
    tree = ast.parse((APP / GATE).read_text())
    assert [name for name, scope in scopes(tree) if isinstance(scope, ast.FunctionDef)
            and any(assigns_state(node) for node in ast.walk(scope))] == ["transition"]
