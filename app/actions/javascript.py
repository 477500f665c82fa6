"""``std.js`` / ``std.javascript``: evaluates a script in an embedded V8 (the ``mini-racer`` package).

The engine is an optional extra, since it ships a large native library most deployments never use.
"""

from __future__ import annotations

import json
from typing import Any

from app.actions.base import Action, ActionContext, ActionError

ENGINE_MISSING = "std.javascript needs the JavaScript engine: pip install 'tramontane[javascript]'"
# A runaway script must fail its task, not hold a worker slot forever.
SCRIPT_TIMEOUT_SECONDS = 60.0
SCRIPT_MAX_MEMORY_BYTES = 256 * 1024 * 1024


def load_engine() -> Any:
    """The engine class; the import seam the tests replace to simulate a missing extra."""
    from py_mini_racer import MiniRacer

    return MiniRacer


def program(script: str, context: Any) -> str:
    # The result goes through JSON.stringify inside a one-element array, so that `undefined` and
    # functions become null and only plain JSON values cross back into Python.
    return (
        f"var $ = {json.dumps(context)};\n"
        f"function f() {{\n{script}\n}}\n"
        "JSON.stringify([f()]);"
    )


class JavaScriptAction(Action):
    """Runs ``script`` as the body of a function, with ``$`` bound to ``context``; returns its value."""

    def __init__(self, script: str, context: Any = None) -> None:
        self.script = script
        self.context = context

    def run(self, context: ActionContext) -> Any:
        try:
            engine_class = load_engine()
        except ImportError as exc:
            raise ActionError(ENGINE_MISSING) from exc
        # Closed at once: each V8 isolate holds native memory and an event-loop thread.
        with engine_class() as engine:
            try:
                text = engine.eval(program(self.script, self.context), timeout_sec=SCRIPT_TIMEOUT_SECONDS,
                                   max_memory=SCRIPT_MAX_MEMORY_BYTES)
            except Exception as exc:  # noqa: BLE001 - the engine's errors have no common importable base
                raise ActionError(f"JavaScript error: {exc}") from exc
        return json.loads(text)[0]
