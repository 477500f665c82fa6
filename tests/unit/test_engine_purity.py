"""The language, the expressions and the controller import with no service package available."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PURE_MODULES = [
    "app.engine.language.parser", "app.engine.language.documents", "app.engine.language.inline",
    "app.engine.expressions", "app.engine.controller", "app.engine.commands", "app.engine.states",
    "app.engine.dataflow", "app.engine.policies", "app.engine.items",
]
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
