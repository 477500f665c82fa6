"""Rehearsals: a YAML case (workflow, scripted results, steps, expectations) played by an EngineDriver.

The format is described in ``tests/engine/rehearsals/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from app.engine.errors import EngineError
from app.engine.service import Engine
from tests.engine.driver import EngineDriver, Script, names

CASE_KEYS = {"description", "known_issue", "workflow", "start", "input", "params", "results", "steps", "expect",
             "start_raises"}
Operation = Callable[[Engine], Any]


def run_case(driver: EngineDriver, case: dict[str, Any]) -> None:
    unknown = set(case) - CASE_KEYS
    assert not unknown, f"unknown keys in the case: {sorted(unknown)}"
    defined = driver.define(case["workflow"])
    name = case.get("start") or defined[0]
    driver.script = Script(case.get("results"))
    if "start_raises" in case:
        with pytest.raises(EngineError) as refused:
            driver.start(name, case.get("input"), case.get("params"))
        assert case["start_raises"] in str(refused.value)
        return
    driver.start(name, case.get("input"), case.get("params"))
    for step in case.get("steps") or []:
        perform(driver, step)
    driver.run()
    check(driver, case.get("expect") or {})
    assert driver.script.leftovers() == {}, "scripted results left unused"


# -- steps ---------------------------------------------------------------------------------------


def perform(driver: EngineDriver, step: str | dict[str, Any]) -> None:
    """One step, once the engine is idle (after the timers due before ``at``, when given)."""
    given = {step: True} if isinstance(step, str) else dict(step)
    at = given.pop("at", None)
    raises = given.pop("raises", None)
    (name,) = [key for key in given if key in OPERATIONS] or ["?"]
    assert name in OPERATIONS, f"a step names one of {sorted(OPERATIONS)}: {step!r}"
    allowed = OPTIONS.get(name, set())
    extra = set(given) - {name} - allowed
    assert not extra, f"step {name} takes {sorted(allowed)}, not {sorted(extra)}"
    if at is not None:
        driver.advance_to(float(at))
    else:
        driver.settle()
    operation = OPERATIONS[name](driver, given)
    if operation is None:
        return
    if raises is None:
        driver.call(operation)
        return
    with pytest.raises(EngineError) as refused:
        driver.call(operation)
    assert str(raises) in str(refused.value)


def _target(driver: EngineDriver, step: dict[str, Any]) -> str:
    """The root execution, or the latest execution of the workflow named by ``execution``."""
    if "execution" not in step:
        return driver.root_id
    found = [ex_id for ex_id in driver.execution_ids()
             if driver.execution(ex_id).workflow_name == step["execution"]]
    assert found, f"no execution of {step['execution']!r}"
    return found[-1]


def _state_change(state: str) -> Callable[[EngineDriver, dict[str, Any]], Operation]:
    def build(driver: EngineDriver, step: dict[str, Any]) -> Operation:
        value = step[next(key for key in step if key in OPERATIONS)]
        info = value if isinstance(value, str) else None
        target = _target(driver, step)
        return lambda engine: engine.update_execution(target, state, None, None, info)
    return build


def _update(driver: EngineDriver, step: dict[str, Any]) -> Operation:
    body = step["update"]
    target = _target(driver, step)
    return lambda engine: engine.update_execution(target, body.get("state"), body.get("description"),
                                                  body.get("env"), body.get("state_info"))


def _rerun(driver: EngineDriver, step: dict[str, Any]) -> Operation:
    task_id = driver.task(step["rerun"]).id
    return lambda engine: engine.update_task(task_id, "RUNNING", step.get("reset"), step.get("env"))


def _skip(driver: EngineDriver, step: dict[str, Any]) -> Operation:
    task_id = driver.task(step["skip"]).id
    return lambda engine: engine.update_task(task_id, "SKIPPED", None, None)


def _complete(driver: EngineDriver, step: dict[str, Any]) -> Operation:
    action_id = driver.action_of(step["complete"], step.get("item"), step.get("input")).id
    state, output = step.get("state", "SUCCESS"), step.get("output")
    return lambda engine: engine.complete_action(action_id, state, output)


def _advance(driver: EngineDriver, step: dict[str, Any]) -> None:
    driver.advance(float(step["advance"]))


def _run(driver: EngineDriver, step: dict[str, Any]) -> None:
    driver.run()


def _expect(driver: EngineDriver, step: dict[str, Any]) -> None:
    check(driver, step["expect"])


OPERATIONS: dict[str, Callable[[EngineDriver, dict[str, Any]], Operation | None]] = {
    "pause": _state_change("PAUSED"),
    "resume": _state_change("RUNNING"),
    "cancel": _state_change("CANCELLED"),
    "update": _update,
    "rerun": _rerun,
    "skip": _skip,
    "complete": _complete,
    "advance": _advance,
    "run": _run,
    "expect": _expect,
}
OPTIONS = {"rerun": {"reset", "env"}, "complete": {"output", "state", "item", "input"},
           **{name: {"execution"} for name in ("pause", "resume", "cancel", "update")}}


# -- expectations --------------------------------------------------------------------------------


def check(driver: EngineDriver, expected: dict[str, Any]) -> None:
    """Compare what the engine did with ``expected``, key by key (one assertion, a readable diff)."""
    unknown = set(expected) - set(OBSERVERS)
    assert not unknown, f"unknown expectations: {sorted(unknown)}"
    actual = masked({key: OBSERVERS[key](driver, value) for key, value in expected.items()})
    assert actual == expected


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TRACEBACK = re.compile(r"\s*Traceback \(most recent call last\):.*", re.DOTALL)


def masked(value: Any) -> Any:
    """``value`` with every id inside its texts shown as ``<id>`` and tracebacks cut off: failure
    messages name ids and carry the engine's traceback, as Mistral's do."""
    if isinstance(value, str):
        return _UUID.sub("<id>", _TRACEBACK.sub("", value))
    if isinstance(value, list):
        return [masked(item) for item in value]
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    return value


def _by_task(driver: EngineDriver) -> dict[str, Any]:
    """The last task of each name in the root execution."""
    return {task.name: task for task in driver.tasks()}


def _project(value: dict[str, Any] | None, keys: Any) -> dict[str, Any]:
    value = value or {}
    return {key: value.get(key) for key in keys}


def _actions(driver: EngineDriver, wanted: dict[str, Any]) -> dict[str, Any]:
    observed = {}
    for name, keys in wanted.items():
        actions = driver.actions(driver.task(name))
        columns = {
            "count": len(actions),
            "states": [a.state for a in actions],
            "accepted": [a.accepted for a in actions],
            "results": [(a.output or {}).get("result") for a in actions],
            "items": [a.item_index for a in actions],
        }
        observed[name] = {key: columns.get(key) for key in keys}
    return observed


def _children(driver: EngineDriver, wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for child in driver.children():
        rows.append({
            "workflow": child.workflow_name, "state": child.state, "state_info": child.state_info,
            "input": child.input, "output": child.output, "order": names(driver.tasks(child.id)),
        })
    if len(rows) != len(wanted):
        return rows
    return [{key: row[key] for key in want} for row, want in zip(rows, wanted, strict=True)]


def _waiting(driver: EngineDriver, _: Any) -> list[str]:
    return sorted(action.task_name or "" for action in driver.open_actions())


OBSERVERS: dict[str, Callable[[EngineDriver, Any], Any]] = {
    # the root execution
    "state": lambda d, _: d.execution().state,
    "state_info": lambda d, _: d.execution().state_info,
    "output": lambda d, _: d.execution().output,
    "context": lambda d, keys: _project(d.execution().context, keys),
    # its tasks
    "order": lambda d, _: names(d.tasks()),
    "states": lambda d, _: {name: task.state for name, task in _by_task(d).items()},
    "published": lambda d, _: {name: task.published for name, task in _by_task(d).items() if task.published},
    "result": lambda d, want: {name: d.task(name).result for name in want},
    "state_infos": lambda d, want: {name: d.task(name).state_info for name in want},
    "runtime_context": lambda d, want: {name: _project(d.task(name).runtime_context, keys)
                                        for name, keys in want.items()},
    "actions": _actions,
    "waiting": _waiting,
    # sub-workflows, timers, notifications
    "children": _children,
    "timers": lambda d, _: [str(fired) for fired in d.fired],
    "clock": lambda d, _: d.clock.seconds,
    "events": lambda d, _: [f"{body.get('event')} {body.get('name')}" for body in d.notified],
}
