"""The action registry imports an action's module when the action is first looked up: an API
process that validated and started std.noop workflows has not loaded requests or the email package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import sys
from app.actions import registry

def loaded(*names):
    return [name for name in names if name in sys.modules]

assert registry.find("std.noop") is not None and registry.find("async_noop") is not None
print("after std", loaded("requests", "smtplib", "app.actions.http", "app.actions.email"))
assert registry.find("std.http").__name__ == "HTTPAction"
assert registry.class_path("std.http", registry.find("std.http")) == "mistral.actions.std_actions.HTTPAction"
print("after http", loaded("requests", "app.actions.http", "app.actions.email"))
listing = registry.all_actions()
print("listed", "std.email" in listing and "bench.noop" in listing, loaded("smtplib"))
"""


def test_an_action_module_is_imported_on_first_lookup() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "after std []" in lines
    assert "after http ['requests', 'app.actions.http']" in lines
    assert "listed True ['smtplib']" in lines


def test_a_registered_class_replaces_a_builtin_without_taking_mistrals_name() -> None:
    from app.actions import registry
    from app.actions.std import NoopAction

    class Replacement(NoopAction):
        pass

    registry.register("std.noop", Replacement)
    try:
        assert registry.find("std.noop") is Replacement
        assert registry.class_path("std.noop", Replacement).endswith("Replacement")
    finally:
        registry._ADDED.pop("std.noop")
    assert registry.find("std.noop") is NoopAction
    assert registry.class_path("std.noop", NoopAction) == "mistral.actions.std_actions.NoOpAction"
