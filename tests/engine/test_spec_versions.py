"""A process parses a definition version's spec once, for every execution of that version; an
execution keeps running the version it started with after the definition changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.engine import specs
from app.engine.definitions import create_workflows, get_workflow
from app.engine.task_runtime import SPEC_VERSION
from app.engine.transactions import lock_workflow, with_retries
from app.extensions import db, session
from app.models import WorkflowExecution
from tests.engine.driver import EngineDriver, Script


def _definition(said: str) -> str:
    return f"""version: '2.0'
versioned:
  tasks:
    wait:
      action: std.noop
      on-success: [speak]
    speak:
      action: std.echo output="{said}"
      publish:
        said: <% task().result %>
  output:
    said: <% $.said %>
"""


@pytest.fixture()
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the workflows this process parsed from a stored spec."""
    seen: list[str] = []
    real = specs.parse_workflow

    def counted(name: str, *args: Any) -> Any:
        seen.append(name)
        return real(name, *args)

    monkeypatch.setattr(specs, "parse_workflow", counted)
    return seen


def _version(execution_id: str) -> str:
    found = session().scalar(select(WorkflowExecution.runtime_context).where(WorkflowExecution.id == execution_id))
    session().commit()
    return str((found or {}).get(SPEC_VERSION))


def _update(text: str) -> None:
    with_retries(session(), lambda: create_workflows(session(), text, update=True))


def _started_and_waiting(driver: EngineDriver) -> str:
    """An execution of ``versioned`` whose first task waits (as long as the test wants)."""
    driver.script = Script({"wait": {"async": True}})
    driver.define(_definition("hello"))
    execution_id = driver.start("versioned")
    driver.settle()
    return execution_id


def test_executions_of_one_version_share_one_parse_and_keep_their_version_after_an_update(
        driver: EngineDriver, parses: list[str]) -> None:
    # Every "wait" stays open until the test completes it, so the first two run across the update.
    driver.script = Script({"wait": [{"async": True}] * 3})
    driver.define(_definition("before"))
    first, second = driver.start("versioned"), driver.start("versioned")
    driver.settle()

    assert parses == ["versioned"]
    assert _version(first) == _version(second)

    _update(_definition("after"))
    third = driver.start("versioned")
    driver.settle()

    assert parses == ["versioned", "versioned"]
    assert _version(third) != _version(first)

    for _ in range(3):
        waiting = driver.action_of("wait").id
        driver.call(lambda engine, action_id=waiting: engine.complete_action(action_id, "SUCCESS", None))
        driver.settle()
    outputs = {execution_id: driver.execution(execution_id).output for execution_id in (first, second, third)}
    assert outputs == {first: {"said": "before"}, second: {"said": "before"}, third: {"said": "after"}}
    assert parses == ["versioned", "versioned"]


def test_a_process_that_did_not_start_an_execution_finds_its_spec_without_loading_the_snapshot(
        driver: EngineDriver, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    execution_id = _started_and_waiting(driver)
    started_with = specs.spec_of(driver.execution(execution_id))
    session().commit()
    # What a worker that never saw this execution does, with the version parsed by a start before.
    monkeypatch.setattr(specs, "_BY_EXECUTION", specs._Recent(512))  # a fresh process's cache

    locked = lock_workflow(session(), execution_id)
    assert locked is not None
    assert specs.spec_of(locked) is started_with
    assert "spec" in inspect(locked).unloaded
    session().rollback()
    assert parses == ["versioned"]


def test_an_execution_without_a_version_is_parsed_from_its_own_snapshot(
        driver: EngineDriver, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    execution_id = _started_and_waiting(driver)
    row = session().get(WorkflowExecution, execution_id)
    assert row is not None
    # As an execution started before versions were recorded.
    row.runtime_context = {key: value for key, value in row.runtime_context.items() if key != SPEC_VERSION}
    session().commit()
    monkeypatch.setattr(specs, "_BY_EXECUTION", specs._Recent(512))

    driver.call(lambda engine: engine.complete_action(driver.action_of("wait").id, "SUCCESS", None))
    driver.settle()

    assert driver.execution(execution_id).output == {"said": "hello"}
    assert parses == ["versioned", "versioned"]


def test_the_sub_workflows_of_one_definition_share_its_version(driver: EngineDriver, parses: list[str]) -> None:
    driver.define("""version: '2.0'
child:
  input: [x]
  tasks:
    double:
      action: std.echo output=<% $.x * 2 %>
      publish:
        y: <% task().result %>
  output:
    y: <% $.y %>
""")
    driver.define("""version: '2.0'
parent:
  tasks:
    each:
      with-items: x in <% [1, 2, 3] %>
      workflow: child x=<% $.x %>
      publish:
        ys: <% task().result.y %>
  output:
    ys: <% $.ys %>
""")
    parent = driver.start("parent")
    driver.run()

    assert driver.execution(parent).output == {"ys": [2, 4, 6]}
    children = driver.children()
    assert len(children) == 3
    assert len({child.runtime_context[SPEC_VERSION] for child in children}) == 1
    assert sorted(parses) == ["child", "parent"]


def test_what_an_expression_changes_of_a_spec_or_a_default_stays_in_its_own_execution(
        driver: EngineDriver) -> None:
    # Jinja's sandbox lets an expression change a dict or a list in place; the spec and its
    # defaults are shared by the executions of a version, so expressions only ever get copies.
    driver.define("""version: '2.0'
mutating:
  input:
    - seen: [1]
  tasks:
    poke:
      action: std.echo
      input:
        # What it finds first, then what it changes.
        output: "{{ task().spec.poked is defined }}-{{ execution().spec.poked is defined }}-{{ _.seen | length }}\
          {{ task().spec.update(dict(poked=true)) }}{{ execution().spec.update(dict(poked=true)) }}\
          {{ _.seen.append(2) }}"
      publish:
        said: <% task().result %>
  output:
    said: <% $.said %>
""")
    first, second = driver.start("mutating"), driver.start("mutating")
    driver.run()

    said = [driver.execution(execution_id).output for execution_id in (first, second)]
    assert said[0] == said[1]
    assert said[0]["said"].startswith("False-False-1")


def test_a_start_pairs_a_version_with_the_spec_of_that_version(driver: EngineDriver) -> None:
    driver.define(_definition("before"))
    found = get_workflow(session(), "versioned", without_text=True)
    before = specs.version_of(found)
    # Another request changes the definition after this one found it (its text not yet read).
    with Session(db.engine) as other:
        with_retries(other, lambda: create_workflows(other, _definition("after"), update=True))

    version, raw = specs.of_definition(found)
    session().rollback()

    said = raw["tasks"]["speak"]["action"]
    # Either version may be read, as the isolation level decides, but never one with the other's spec.
    if version != before:
        assert said == 'std.echo output="after"'
    else:
        assert said == 'std.echo output="before"'
