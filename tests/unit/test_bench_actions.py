"""The benchmark's plugin (plugins/tramontane-bench-actions) registers as a user's plugin does."""

from __future__ import annotations

import pytest
from tramontane_bench_actions.actions import FailAction

from app.actions import registry
from app.actions.base import ActionContext, ActionError, ExecutionContext

CONTEXT = ActionContext(ExecutionContext(action_execution_id="a1"))


def test_the_plugin_actions_are_found_through_the_entry_point_group() -> None:
    noop, fail = registry.find("bench.noop"), registry.find("bench.fail")
    assert noop is not None and fail is not None
    # Entry points, not built-ins: they take the path of every user action.
    assert "bench.noop" not in registry.BUILTIN and "bench.fail" not in registry.BUILTIN
    assert noop.__module__ == "tramontane_bench_actions.actions"


def test_noop_returns_null_and_fail_raises_its_message() -> None:
    noop, fail = registry.find("bench.noop"), registry.find("bench.fail")
    assert noop is not None and fail is not None
    assert noop().run(CONTEXT) is None
    with pytest.raises(ActionError, match="bench.fail failed"):
        fail().run(CONTEXT)
    with pytest.raises(ActionError, match="^boom$"):
        FailAction(message="boom").run(CONTEXT)
