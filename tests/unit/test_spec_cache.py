"""An execution's spec snapshot is parsed once per process for all executions of the same content.

The API parses a new execution's spec at its start and a worker at its first step; executions of
one definition share the parsed spec, and a changed definition gets its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import runtime
from app.engine.errors import EngineError
from app.models import WorkflowExecution, new_id


def chain(*names: str) -> dict[str, Any]:
    tasks: dict[str, Any] = {name: {"action": "std.noop"} for name in names}
    for name, following in zip(names, names[1:], strict=False):
        tasks[name]["on-success"] = following
    return {"name": "wf", "type": "direct", "tasks": tasks}


def execution(spec: dict[str, Any], workflow_name: str = "wf") -> WorkflowExecution:
    return WorkflowExecution(id=new_id(), workflow_name=workflow_name, spec=spec)


def test_executions_of_the_same_spec_share_one_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    parses = []
    parse = runtime.parse_workflow

    def counting(*args: Any) -> Any:
        parses.append(args[0])
        return parse(*args)

    monkeypatch.setattr(runtime, "parse_workflow", counting)
    spec = chain("first-" + new_id(), "second")
    first, second = execution(spec), execution(dict(spec))
    assert runtime.spec_of(first) is runtime.spec_of(second)
    assert len(parses) == 1
    changed = runtime.spec_of(execution(chain("first-" + new_id(), "second", "third")))
    assert list(changed.tasks)[-1] == "third"
    assert len(parses) == 2


def test_the_same_spec_under_another_workflow_name_is_parsed_for_it() -> None:
    spec = {"type": "direct", "tasks": {"only-" + new_id(): {"action": "std.noop"}}}
    assert runtime.spec_of(execution(spec, "one")).name == "one"
    assert runtime.spec_of(execution(spec, "other")).name == "other"


def test_an_invalid_stored_spec_is_refused_every_time() -> None:
    broken = {"name": "wf", "type": "direct", "tasks": {"t": {"action": "std.noop", "on-success": 42}}}
    for _ in range(2):
        with pytest.raises(EngineError, match="Stored workflow spec is invalid"):
            runtime.spec_of(execution(broken))
