"""Every console page and form through the Flask test client, on executions the real engine ran."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.config import Settings
from app.console import execution, executions
from app.engine import definitions
from app.extensions import session
from app.models import CronTrigger, Environment, TaskExecution, WorkflowDefinition, WorkflowExecution
from app.resources.common import write
from tests.console.conftest import csrf_of
from tests.engine.driver import EngineDriver


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


FLOW = """
version: '2.0'
{name}:
  description: two steps, the second fails
  input:
    - who
    - greeting: Hello
    - api_token: null
  tasks:
    first:
      action: std.echo output="<% $.greeting %>, <% $.who %>"
      publish:
        message: <% task().result %>
      on-success: second
    second:
      action: std.fail
  output:
    message: <% $.message %>
"""


@pytest.fixture()
def driver(console_app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineDriver]:
    with console_app.app_context():
        started = EngineDriver(settings, monkeypatch, results={"second": {"error": "the second step broke"}})
        try:
            yield started
        finally:
            started.cleanup()


@pytest.fixture()
def failed(driver: EngineDriver, console_app: Flask) -> tuple[str, str]:
    """A failed execution: (its id, its workflow's name)."""
    name = _name("console_flow")
    driver.define(FLOW.format(name=name))
    execution_id = driver.start(name, {"who": "World", "api_token": "s3cret-value"})
    driver.run()
    assert driver.execution(execution_id).state == "ERROR"
    return execution_id, name


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def test_executions_list_filters_and_rows(console: FlaskClient, failed: tuple[str, str]) -> None:
    execution_id, name = failed
    page = console.get(f"/console/executions?workflow={name}")
    assert page.status_code == 200
    assert execution_id in _text(page) and "ERROR" in _text(page)
    assert execution_id not in _text(console.get(f"/console/executions?workflow={name}&state=SUCCESS"))
    assert execution_id in _text(console.get(f"/console/executions?workflow={name}&state=ERROR"))
    assert execution_id not in _text(console.get(f"/console/executions?workflow={name}&q=no-such-description"))
    assert execution_id not in _text(console.get(f"/console/executions?workflow={name}&since=2999-01-01T00:00"))
    assert execution_id in _text(console.get(f"/console/executions?workflow={name}&until=2999-01-01T00:00"))
    bad = console.get("/console/executions?since=yesterday")
    assert bad.status_code == 200 and "is not a date and time" in _text(bad)
    rows = console.get(f"/console/executions/rows?workflow={name}")
    assert rows.status_code == 200 and execution_id in _text(rows) and "<html" not in _text(rows)


def test_execution_page_shows_failure_first_graph_and_masks_secrets(console: FlaskClient,
                                                                   failed: tuple[str, str]) -> None:
    execution_id, _ = failed
    page = _text(console.get(f"/console/executions/{execution_id}"))
    assert page.index("Why it failed") < page.index("Graph") < page.index("Input")
    assert "the second step broke" in page
    assert 'data-task="first"' in page and 'data-task="second"' in page
    assert "s3cret-value" not in page
    assert "Rerun second" in page and "Skip second" in page
    states = console.get(f"/console/executions/{execution_id}/states").get_json()
    assert states["tasks"] == {"first": "SUCCESS", "second": "ERROR"}
    assert states["done"] is True and states["state"] == "ERROR"


def test_task_panel_shows_published_result_and_actions(console: FlaskClient, failed: tuple[str, str]) -> None:
    execution_id, _ = failed
    fragment = _text(console.get(f"/console/executions/{execution_id}/tasks/first?fragment=1"))
    assert "<html" not in fragment
    assert "Hello, World" in fragment and "message" in fragment and "std.echo" in fragment
    assert "Retries" in fragment
    whole = console.get(f"/console/executions/{execution_id}/tasks/second")
    assert whole.status_code == 200 and "<html" in _text(whole) and "the second step broke" in _text(whole)


def test_rerun_a_failed_task_asks_then_answers(console: FlaskClient, failed: tuple[str, str],
                                               console_app: Flask) -> None:
    execution_id, _ = failed
    with console_app.app_context():
        task = session().query(TaskExecution).filter_by(workflow_execution_id=execution_id, name="second").one()
        task_id = task.id
    csrf = csrf_of(console, f"/console/executions/{execution_id}")
    asked = console.post(f"/console/tasks/{task_id}/rerun", data={"csrf_token": csrf, "reset": "1"})
    assert asked.status_code == 200 and "Rerun the task 'second'" in _text(asked)
    bad_env = console.post(f"/console/tasks/{task_id}/rerun", data={"csrf_token": csrf, "env": "{nope",
                                                                    "confirmed": "1"})
    assert bad_env.status_code == 303
    assert "not valid JSON" in _text(console.get(bad_env.headers["Location"]))
    done = console.post(f"/console/tasks/{task_id}/rerun",
                        data={"csrf_token": csrf, "reset": "1", "env": '{"retry": true}', "confirmed": "1"})
    assert done.status_code == 303
    page = _text(console.get(done.headers["Location"]))
    assert "runs again" in page
    with console_app.app_context():
        assert session().get(TaskExecution, task_id).state == "RUNNING"  # type: ignore[union-attr]
    # A second rerun of a task no longer failed is refused, and the page says why.
    again = console.post(f"/console/tasks/{task_id}/rerun", data={"csrf_token": csrf, "confirmed": "1"})
    assert "Rerun refused (" in _text(console.get(again.headers["Location"]))


def test_pause_resume_cancel_answers(console: FlaskClient, failed: tuple[str, str]) -> None:
    execution_id, _ = failed
    csrf = csrf_of(console, f"/console/executions/{execution_id}")
    asked = console.post(f"/console/executions/{execution_id}/pause", data={"csrf_token": csrf})
    assert "Pause this execution?" in _text(asked)
    refused = console.post(f"/console/executions/{execution_id}/pause", data={"csrf_token": csrf, "confirmed": "1"})
    assert refused.status_code == 303
    assert "Pause refused (" in _text(console.get(refused.headers["Location"]))
    unknown = console.post(f"/console/executions/{execution_id}/explode", data={"csrf_token": csrf})
    assert unknown.status_code == 400


def test_workflows_list_page_and_start_form(console: FlaskClient, failed: tuple[str, str],
                                            console_app: Flask) -> None:
    _, name = failed
    assert name in _text(console.get(f"/console/workflows?q={name}"))
    with console_app.app_context():
        workflow_id = definitions.find_by_name(session(), name).id  # type: ignore[union-attr]
    page = console.get(f"/console/workflows/{workflow_id}")
    text = _text(page)
    assert page.status_code == 200
    assert 'class="hl"' in text and 'data-task="second"' in text
    assert 'for="input-0"' in text and "(required)" in text and 'default "Hello"' in text
    csrf = csrf_of(console, f"/console/workflows/{workflow_id}")
    missing = console.post(f"/console/workflows/{workflow_id}/start", data={"csrf_token": csrf, "input-0": "",
                                                                          "input-1": ""})
    assert missing.status_code == 400 and "is required" in _text(missing)
    not_json = console.post(f"/console/workflows/{workflow_id}/start", data={"csrf_token": csrf,
                                                                           "input-0": "World"})
    assert not_json.status_code == 400 and "not valid JSON" in _text(not_json)
    started = console.post(f"/console/workflows/{workflow_id}/start",
                           data={"csrf_token": csrf, "input-0": '"World"', "input-1": "", "description": "from test"})
    assert started.status_code == 303
    match = re.search(r"/console/executions/([0-9a-f-]{36})", started.headers["Location"])
    assert match
    execution = _text(console.get(started.headers["Location"]))
    assert "from test" in execution and "started" in execution
    with console_app.app_context():
        row = session().get(WorkflowExecution, match.group(1))
        assert row is not None and row.input["who"] == "World" and row.input["greeting"] == "Hello"
        write(lambda: session().delete(row))


def test_upload_validates_with_paths_and_saves(console: FlaskClient, console_app: Flask) -> None:
    name = _name("console_upload")
    csrf = csrf_of(console, "/console/workflows/new")
    broken = f"version: '2.0'\n{name}:\n  tasks:\n    a:\n      action: std.noop\n      on-success: [nowhere]\n"
    checked = console.post("/console/workflows/new", data={"csrf_token": csrf, "definition": broken,
                                                           "action": "validate"})
    assert checked.status_code == 400
    assert "<code>" in _text(checked) and "nowhere" in _text(checked)
    good = f"version: '2.0'\n{name}:\n  tasks:\n    a:\n      action: std.noop\n"
    valid = console.post("/console/workflows/new", data={"csrf_token": csrf, "definition": good,
                                                         "action": "validate"})
    assert valid.status_code == 200 and "The definition is valid." in _text(valid)
    saved = console.post("/console/workflows/new", data={"csrf_token": csrf, "definition": good,
                                                         "action": "create"})
    assert saved.status_code == 303
    assert f"Created: {name}" in _text(console.get(saved.headers["Location"]))
    twice = console.post("/console/workflows/new", data={"csrf_token": csrf, "definition": good, "action": "create"})
    replaced = console.post("/console/workflows/new", data={
        "csrf_token": csrf, "action": "create", "update": "1", "definition": "ignored when a file is sent",
        "file": (BytesIO(good.replace("std.noop", "std.echo output=1").encode()), "flow.yaml")},
        content_type="multipart/form-data")
    assert replaced.status_code == 303
    assert f"Updated: {name}" in _text(console.get(replaced.headers["Location"]))
    assert twice.status_code == 409 and "Duplicate entry" in _text(twice)
    with console_app.app_context():
        write(lambda: definitions.delete_workflow(session(), name))


def test_environments_create_and_delete(console: FlaskClient, console_app: Flask) -> None:
    name = _name("console_env")
    csrf = csrf_of(console, "/console/environments")
    bad = console.post("/console/environments", data={"csrf_token": csrf, "name": name, "variables": "[1]"})
    assert bad.status_code == 400 and "must be a JSON object" in _text(bad)
    # The API's own limits, in its words.
    long = console.post("/console/environments", data={"csrf_token": csrf, "name": "e" * 256, "variables": "{}"})
    assert long.status_code == 400 and "Invalid input for field/attribute name" in _text(long)
    made = console.post("/console/environments", data={"csrf_token": csrf, "name": name,
                                                       "variables": '{"api_token": "hidden-value", "url": "x"}'})
    assert made.status_code == 303
    listed = _text(console.get("/console/environments"))
    assert name in listed and "hidden-value" not in listed
    assert console.post("/console/environments", data={"csrf_token": csrf, "name": name}).status_code == 409
    asked = console.post(f"/console/environments/{name}/delete", data={"csrf_token": csrf})
    assert "Delete the environment" in _text(asked)
    gone = console.post(f"/console/environments/{name}/delete", data={"csrf_token": csrf, "confirmed": "1"})
    assert gone.status_code == 303
    with console_app.app_context():
        assert session().query(Environment).filter_by(name=name).first() is None


def test_cron_triggers_create_and_delete(console: FlaskClient, console_app: Flask) -> None:
    workflow, trigger = _name("console_cron_flow"), _name("console_cron")
    with console_app.app_context():
        write(lambda: definitions.create_workflows(
            session(), f"version: '2.0'\n{workflow}:\n  input: [x]\n  tasks:\n    a:\n      action: std.noop\n"))
    csrf = csrf_of(console, "/console/cron-triggers")
    bad = console.post("/console/cron-triggers", data={"csrf_token": csrf, "name": trigger, "workflow": workflow,
                                                       "pattern": "not a pattern", "workflow_input": '{"x": 1}'})
    assert bad.status_code == 400 and "pattern is not valid" in _text(bad)
    for field, value in (("name", "t" * 256), ("pattern", "* " * 60)):
        long = console.post("/console/cron-triggers", data={
            "csrf_token": csrf, "name": trigger, "workflow": workflow, "pattern": "0 3 * * *",
            "workflow_input": '{"x": 1}', field: value})
        assert long.status_code == 400 and f"Invalid input for field/attribute {field}" in _text(long), field
    made = console.post("/console/cron-triggers", data={"csrf_token": csrf, "name": trigger, "workflow": workflow,
                                                        "pattern": "0 3 * * *", "workflow_input": '{"x": 1}',
                                                        "remaining_executions": "2"})
    assert made.status_code == 303
    listed = _text(console.get("/console/cron-triggers"))
    assert trigger in listed and "0 3 * * *" in listed
    gone = console.post(f"/console/cron-triggers/{trigger}/delete", data={"csrf_token": csrf, "confirmed": "1"})
    assert gone.status_code == 303
    with console_app.app_context():
        assert session().query(CronTrigger).filter_by(name=trigger).first() is None
        write(lambda: definitions.delete_workflow(session(), workflow))
        assert session().query(WorkflowDefinition).filter_by(name=workflow).first() is None


PARENT = """
version: '2.0'
{parent}:
  tasks:
    call:
      workflow: {child}
      input:
        headers:
          Authorization: Bearer very-secret
          Accept: application/json
{child}:
  input:
    - headers
  tasks:
    inner:
      action: std.echo output=<% $.headers %>
"""


def test_sub_workflow_links_and_breadcrumb(console: FlaskClient, driver: EngineDriver) -> None:
    parent, child = _name("console_parent"), _name("console_child")
    driver.define(PARENT.format(parent=parent, child=child))
    execution_id = driver.start(parent)
    driver.run()
    child_id = driver.children()[0].id
    panel = _text(console.get(f"/console/executions/{execution_id}/tasks/call?fragment=1"))
    assert f"/console/executions/{child_id}" in panel
    page = _text(console.get(f"/console/executions/{child_id}"))
    trail = page[page.index('aria-label="Breadcrumb"'):page.index("</nav>", page.index('aria-label="Breadcrumb"'))]
    assert f"/console/executions/{execution_id}" in trail and "(call)" in trail
    # Credentials passed down never show, neither in the input nor in an action's input or result.
    assert "very-secret" not in page
    assert "very-secret" not in _text(console.get(f"/console/executions/{child_id}/tasks/inner"))
    assert "application/json" in _text(console.get(f"/console/executions/{child_id}/tasks/inner"))


def test_executions_list_pages(console: FlaskClient, driver: EngineDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _name("console_paged")
    driver.define(f"version: '2.0'\n{name}:\n  tasks:\n    a:\n      action: std.noop\n")
    ids = [driver.start(name) for _ in range(3)]
    driver.run()
    monkeypatch.setattr(executions, "PAGE_SIZE", 2)
    first = _text(console.get(f"/console/executions?workflow={name}"))
    assert "Older →" in first and "← Newer" not in first
    second = _text(console.get(f"/console/executions?workflow={name}&page=2"))
    assert "← Newer" in second and "Older →" not in second
    shown = [i for i in ids if i in first] + [i for i in ids if i in second]
    assert sorted(shown) == sorted(ids)


def test_pause_resume_and_cancel_a_running_execution(console: FlaskClient, driver: EngineDriver,
                                                     console_app: Flask) -> None:
    name = _name("console_waiting")
    driver.define(f"version: '2.0'\n{name}:\n  tasks:\n    wait:\n      action: std.async_noop\n")
    driver.script = type(driver.script)({"wait": {"async": True}})
    execution_id = driver.start(name)
    driver.settle()
    page = _text(console.get(f"/console/executions/{execution_id}"))
    assert "RUNNING" in page and ">Pause<" in page and ">Cancel<" in page and ">Resume<" not in page
    assert "data-states-url" in page  # a running execution's graph follows its states
    csrf = csrf_of(console, f"/console/executions/{execution_id}")
    for operation, state in (("pause", "PAUSED"), ("resume", "RUNNING"), ("cancel", "CANCELLED")):
        answer = console.post(f"/console/executions/{execution_id}/{operation}",
                              data={"csrf_token": csrf, "confirmed": "1"})
        assert answer.status_code == 303
        shown = _text(console.get(answer.headers["Location"]))
        assert f"the execution is now {state}" in shown, operation
    assert "data-states-url" not in shown


def test_task_panel_shows_the_first_actions_of_many(console: FlaskClient, driver: EngineDriver,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    name = _name("console_items")
    driver.define(f"version: '2.0'\n{name}:\n  tasks:\n    each:\n      with-items: x in <% [1, 2, 3] %>\n"
                  f"      action: std.echo output=<% $.x %>\n")
    execution_id = driver.start(name)
    driver.run()
    page = _text(console.get(f"/console/executions/{execution_id}"))
    assert "3 of 3 items" in page
    monkeypatch.setattr(execution, "ACTIONS_SHOWN", 2)
    panel = _text(console.get(f"/console/executions/{execution_id}/tasks/each?fragment=1"))
    assert "Only the first 2 action executions are shown" in panel
    assert "Items</dt><dd>3 of 3 ended" in panel


HTTP_FLOW = """
version: '2.0'
{name}:
  tasks:
    call:
      action: std.http url="http://hooks.example/call?token=abc123&x=1" auth="robot:pa55word"
"""


def test_credentials_in_an_error_message_and_in_an_action_input_are_masked(
        console: FlaskClient, console_app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTTP action's error quotes the URL it called; std.http's ``auth`` holds a password."""
    failure = "404 from {'url': 'http://hooks.example/call?token=abc123&x=1', 'status': 404}"
    with console_app.app_context():
        driver = EngineDriver(settings, monkeypatch, results={"call": {"error": failure}})
        try:
            name = _name("console_http")
            driver.define(HTTP_FLOW.format(name=name))
            execution_id = driver.start(name)
            driver.run()
            page = _text(console.get(f"/console/executions/{execution_id}"))
            task = _text(console.get(f"/console/executions/{execution_id}/tasks/call"))
        finally:
            driver.cleanup()
    for shown in (page, task):
        assert "abc123" not in shown and "pa55word" not in shown
    assert "http://hooks.example/call?token=***&x=1" in page
    assert '"auth": "***"' in re.sub(r"<[^>]+>", "", task)


def test_a_json_field_takes_only_json(console: FlaskClient, failed: tuple[str, str], console_app: Flask) -> None:
    """Python reads NaN and Infinity as numbers; no JSON client could read them back."""
    _, name = failed
    with console_app.app_context():
        workflow_id = session().scalars(select(WorkflowDefinition.id).where(WorkflowDefinition.name == name)).one()
    for typed in ("NaN", "1e999999", "-Infinity"):
        answer = console.post(f"/console/workflows/{workflow_id}/start",
                              data={"csrf_token": csrf_of(console, "/console/environments"), "input-0": typed})
        assert answer.status_code == 400, typed
        assert "The input 'who' is not valid JSON" in _text(answer)
    nan = console.post(f"/console/workflows/{workflow_id}/start",
                       data={"csrf_token": csrf_of(console, "/console/environments"), "input-0": "NaN"})
    assert "NaN is not a JSON value" in _text(nan)


def test_a_time_given_with_its_offset_is_read_in_utc(console: FlaskClient, console_app: Flask,
                                                     failed: tuple[str, str]) -> None:
    execution_id, name = failed
    with console_app.app_context():
        started = session().get(WorkflowExecution, execution_id).created_at  # type: ignore[union-attr]

    def listed(until: datetime, offset_hours: int) -> bool:
        zone = timezone(timedelta(hours=offset_hours))
        text = until.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="seconds")
        return execution_id in _text(console.get("/console/executions", query_string={"workflow": name,
                                                                                      "until": text}))

    # Half an hour before its start, written in UTC+2, and half an hour after it, written in UTC-2: the
    # local clock reads the other side of the start in each case.
    assert not listed(started - timedelta(minutes=30), 2)
    assert listed(started + timedelta(minutes=30), -2)


def test_a_page_number_too_large_is_said_not_failed(console: FlaskClient) -> None:
    for query in ("page=99999999999999999999999", "page=abc"):
        answer = console.get(f"/console/executions?{query}")
        assert answer.status_code == 200, query
        assert "There is no page" in _text(answer) or "is not a whole number" in _text(answer)
        assert console.get(f"/console/executions/rows?{query}").status_code == 200


REVERSE = """
version: '2.0'
{name}:
  type: reverse
  tasks:
    fetch:
      action: std.noop
    build:
      action: std.noop
      requires: [fetch]
"""


def test_a_reverse_workflow_starts_from_the_form_with_its_target_task(console: FlaskClient,
                                                                       console_app: Flask) -> None:
    name = _name("console_reverse")
    with console_app.app_context():
        workflow_id = write(lambda: definitions.create_workflows(session(), REVERSE.format(name=name)))[0].id
    page = _text(console.get(f"/console/workflows/{workflow_id}"))
    assert '<select id="wf-task-name" name="task_name" required>' in page
    assert "<option>build</option>" in page and "<option>fetch</option>" in page
    csrf = csrf_of(console, f"/console/workflows/{workflow_id}")
    bad_params = console.post(f"/console/workflows/{workflow_id}/start",
                              data={"csrf_token": csrf, "task_name": "build", "params": "[1]"})
    assert bad_params.status_code == 400 and "The params must be a JSON object" in _text(bad_params)
    started = console.post(f"/console/workflows/{workflow_id}/start", data={
        "csrf_token": csrf, "task_name": "build", "params": '{"env": {"ignored": true}}', "env": '{"kept": 1}'})
    assert started.status_code == 303, _text(started)
    execution_id = started.headers["Location"].rsplit("/", 1)[1]
    with console_app.app_context():
        row = session().get(WorkflowExecution, execution_id)
        assert row is not None and row.params["task_name"] == "build" and row.params["env"] == {"kept": 1}
    assert f'href="/console/workflows/{workflow_id}"' in _text(console.get(f"/console/executions/{execution_id}"))
    with console_app.app_context():
        write(lambda: definitions.delete_workflow(session(), name))
    # Its definition deleted, the execution still shows its graph, and no link to a page that is gone.
    orphan = _text(console.get(f"/console/executions/{execution_id}"))
    assert "(deleted since)" in orphan and f"/console/workflows/{workflow_id}" not in orphan
    assert 'data-task="build"' in orphan and "requires" in orphan
    with console_app.app_context():
        write(lambda: session().delete(session().get(WorkflowExecution, execution_id)))


def test_a_cron_trigger_starts_the_workflow_of_the_namespace_chosen(console: FlaskClient,
                                                                     console_app: Flask) -> None:
    workflow, trigger, namespace = _name("console_cron_ns"), _name("console_cron"), _name("ns")
    text = f"version: '2.0'\n{workflow}:\n  tasks:\n    a:\n      action: std.noop\n"
    with console_app.app_context():
        write(lambda: definitions.create_workflows(session(), text))
        chosen = write(lambda: definitions.create_workflows(session(), text, namespace))[0].id
    page = _text(console.get("/console/cron-triggers"))
    assert f'<option value="{chosen}">{workflow} (namespace {namespace})</option>' in page
    made = console.post("/console/cron-triggers", data={"csrf_token": csrf_of(console, "/console/cron-triggers"),
                                                        "name": trigger, "workflow": chosen, "pattern": "0 3 * * *"})
    assert made.status_code == 303, _text(made)
    with console_app.app_context():
        row = session().query(CronTrigger).filter_by(name=trigger).one()
        assert (row.workflow_id, row.workflow_namespace) == (chosen, namespace)
        write(lambda: session().delete(session().query(CronTrigger).filter_by(name=trigger).one()))
        write(lambda: definitions.delete_workflow(session(), workflow, namespace))
        write(lambda: definitions.delete_workflow(session(), workflow))
