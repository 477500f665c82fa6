"""The language, the expressions and the controller import with no service package available."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PURE_MODULES = [
    "app.engine.language.parser", "app.engine.language.documents", "app.engine.language.inline",
    "app.engine.expressions", "app.engine.controller", "app.engine.commands", "app.engine.states",
    "app.engine.dataflow", "app.engine.policies", "app.engine.items", "app.engine.decisions",
    "app.engine.task_runtime",
]
# The step machinery reads and writes through the store port (app.engine.store), never a session.
STEP_MODULES = ["runtime", "launch", "joins", "control", "rerun", "subworkflows", "workflow_items", "views",
                "bookkeeping", "stepping", "decisions"]
FORBIDDEN = ["flask", "celery", "sqlalchemy", "requests", "redis", "kombu", "flask_sqlalchemy"]

PROGRAM = f"""
import sys
for name in {FORBIDDEN!r}:
    sys.modules[name] = None
import importlib
for module in {PURE_MODULES!r}:
    importlib.import_module(module)
from app.engine.language.parser import parse_workflows
from app.engine import controller
(spec,) = parse_workflows("version: '2.0'\\nwf:\\n  tasks:\\n    a:\\n      on-success: [b]\\n    b: {{}}\\n")
print(controller.start_commands(spec, {{}})[0].task_name)
"""


def test_pure_engine_imports_without_service_packages() -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "a"


def test_pure_modules_read_no_environment() -> None:
    root = Path(__file__).resolve().parents[2]
    for module in PURE_MODULES:
        source = (root / (module.replace(".", "/") + ".py")).read_text()
        assert "os.environ" not in source and "getenv" not in source, module


def test_the_step_machinery_imports_no_sqlalchemy_and_touches_no_session() -> None:
    root = Path(__file__).resolve().parents[2] / "app" / "engine"
    for module in STEP_MODULES:
        tree = ast.parse((root / f"{module}.py").read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not [name for name in imported if name.split(".")[0] == "sqlalchemy"], module
        # runtime is imported by no helper: the helpers call the step back through stepping.StepOps.
        assert module == "runtime" or "app.engine.runtime" not in imported, module
        names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert "session" not in names and "TYPE_CHECKING" not in names, module
