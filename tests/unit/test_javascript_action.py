"""std.js / std.javascript with the embedded engine (mini-racer, a dev dependency) and without it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from app.actions import javascript, registry
from app.actions.base import ActionContext, ActionError, ExecutionContext
from app.actions.javascript import ENGINE_MISSING, JavaScriptAction

CONTEXT = ActionContext(ExecutionContext(action_execution_id="ae-1"))


def test_script_runs_as_a_function_body_with_dollar_bound_to_context() -> None:
    action = JavaScriptAction(
        script="return {sum: $.a + $.b, names: $.items.map(function (i) { return i.name; })};",
        context={"a": 1, "b": 2, "items": [{"name": "x"}, {"name": "y"}]},
    )
    assert action.run(CONTEXT) == {"sum": 3, "names": ["x", "y"]}


def test_plain_values_undefined_and_no_context() -> None:
    assert JavaScriptAction(script="return 'it is ' + (6 * 7);").run(CONTEXT) == "it is 42"
    assert JavaScriptAction(script="var unused = 1;").run(CONTEXT) is None
    assert JavaScriptAction(script="return $;").run(CONTEXT) is None
    assert JavaScriptAction(script="return [1.5, true, null];", context=[]).run(CONTEXT) == [1.5, True, None]


def test_scripts_run_side_by_side_on_threads_as_the_worker_runs_actions() -> None:
    def run(n: int) -> int:
        action = JavaScriptAction(script="var t = 0; for (var i = 0; i < 20000; i++) { t += $.n; } return t;",
                                  context={"n": n})
        return int(action.run(CONTEXT))

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(20)))
    assert results == [20000 * n for n in range(20)]


def test_script_error_is_an_action_error() -> None:
    with pytest.raises(ActionError, match="JavaScript error: .*boom"):
        JavaScriptAction(script="throw new Error('boom');").run(CONTEXT)
    with pytest.raises(ActionError, match="JavaScript error"):
        JavaScriptAction(script="return (;").run(CONTEXT)


def test_missing_engine_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_engine() -> None:
        raise ImportError("No module named 'py_mini_racer'")

    monkeypatch.setattr(javascript, "load_engine", no_engine)
    with pytest.raises(ActionError) as caught:
        JavaScriptAction(script="return 1;").run(CONTEXT)
    assert str(caught.value) == ENGINE_MISSING
    assert "pip install 'tramontane[javascript]'" in ENGINE_MISSING


def test_both_names_are_registered() -> None:
    assert registry.find("std.js") is JavaScriptAction
    assert registry.find("std.javascript") is JavaScriptAction


# After a timeout mini-racer may post one late callback to its closed event loop; harmless noise.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_runaway_script_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(javascript, "SCRIPT_TIMEOUT_SECONDS", 0.3)
    with pytest.raises(ActionError, match="JavaScript error"):
        JavaScriptAction(script="while (true) {}").run(CONTEXT)
