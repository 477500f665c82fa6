"""Schemathesis against the service's own OpenAPI document, in-process (WSGI), on the test database.

Every documented operation gets at most 25 requests: one explicit example where the test seeds objects for
its path parameters, then generated ones (valid and invalid), with a fixed seed, no stateful phase and no
coverage phase (DECISIONS.md: at most 25 examples per operation, at most 5 minutes per database).
Each response must not be a 5xx, must have a documented status and content type, and its body must match
the documented schema. What the fuzzer creates is removed afterwards.

The run goes through schemathesis's engine (what its CLI runs) rather than its pytest plugin:
``schemathesis.pytest.from_fixture`` reads ``Item._nodeid``, which pytest 9.2 no longer has.

A real service bug that blocks this test is not skipped: its operation goes in ``KNOWN_SERVICE_BUGS``
(with the databases it fails on) until it is fixed, and everything else is still fuzzed.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import schemathesis.engine
from flask import Flask
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import StopReason, events
from sqlalchemy import delete, select

from app.engine.transactions import with_retries
from app.extensions import db

MAX_EXAMPLES = 25
SEED = 20261127
TIME_BUDGET_SECONDS = 300
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
DATABASE = "postgresql" if os.environ.get("TEST_DATABASE_URL", "").startswith("postgres") else "sqlite"

# "METHOD /path" of an operation that a real, reported service bug keeps from passing -> (databases it fails
# on, the bug). The operation is left out of the fuzz run there, and only there. Remove an entry once its
# bug is fixed.
KNOWN_SERVICE_BUGS: dict[str, tuple[set[str], str]] = {}

WORKFLOW = """
version: '2.0'
fuzz_wf:
  input:
    - name: World
  tasks:
    only:
      action: std.echo output=<% $.name %>
"""
WORKBOOK = """
version: '2.0'
name: fuzz_wb
workflows:
  fuzz_wb_flow:
    tasks:
      only:
        action: std.noop
"""
ACTION = """
version: '2.0'
fuzz_action:
  base: std.echo
  base-input:
    output: <% $.text %>
  input:
    - text
"""


@dataclasses.dataclass
class Seeded:
    execution_id: str
    task_id: str
    action_execution_id: str
    cron_trigger_id: str


def _snapshot() -> dict[str, set[Any]]:
    """The ids of every row of every table that has an ``id``."""
    return {table.name: set(db.session.scalars(select(table.c.id)))
            for table in db.metadata.sorted_tables if "id" in table.c}


def _remove_rows_added_since(before: dict[str, set[Any]]) -> None:
    # A write unit: on SQLite a deferred read that then writes fails when another process wrote.
    def remove() -> None:
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in before:
                continue
            added = set(db.session.scalars(select(table.c.id))) - before[table.name]
            if added:
                db.session.execute(delete(table).where(table.c.id.in_(added)))

    with_retries(db.session(), remove)


def _seed(app: Flask) -> Seeded:
    """One object of each kind, so that the explicit examples reach real objects."""
    with app.test_client() as client:
        def ok(response: Any) -> Any:
            assert response.status_code in (200, 201), response.get_data(as_text=True)
            return response.get_json()

        ok(client.post("/v2/workflows", data=WORKFLOW, content_type="text/plain"))
        ok(client.post("/v2/workbooks", data=WORKBOOK, content_type="text/plain"))
        ok(client.post("/v2/actions", data=ACTION, content_type="text/plain"))
        ok(client.post("/v2/environments", json={"name": "fuzz_env", "variables": {"k": "v"}}))
        execution = ok(client.post("/v2/executions", json={"workflow_name": "fuzz_wf", "input": {"name": "x"}}))
        task = ok(client.get(f"/v2/executions/{execution['id']}/tasks"))["tasks"][0]
        action = ok(client.get(f"/v2/tasks/{task['id']}/action_executions"))["action_executions"][0]
        trigger = ok(client.post("/v2/cron_triggers", json={
            "name": "fuzz_cron", "workflow_name": "fuzz_wf", "pattern": "0 0 1 1 *"}))
    return Seeded(execution["id"], task["id"], action["id"], trigger["id"])


def _examples(seeded: Seeded) -> dict[str, dict[str, str]]:
    """Path parameter values naming real objects, by path."""
    return {
        "/v2/workflows/{identifier}": {"identifier": "fuzz_wf"},
        "/v2/workbooks/{name}": {"name": "fuzz_wb"},
        "/v2/actions/{identifier}": {"identifier": "fuzz_action"},
        "/v2/actions/{name}/": {"name": "std.echo"},
        "/v2/actions/{name}/{namespace}": {"name": "fuzz_action", "namespace": "x"},
        "/v2/environments/{name}": {"name": "fuzz_env"},
        "/v2/executions/{execution_id}": {"execution_id": seeded.execution_id},
        "/v2/executions/{execution_id}/tasks": {"execution_id": seeded.execution_id},
        "/v2/executions/{execution_id}/executions": {"execution_id": seeded.execution_id},
        "/v2/executions/{execution_id}/report": {"execution_id": seeded.execution_id},
        "/v2/tasks/{task_id}": {"task_id": seeded.task_id},
        "/v2/tasks/{task_id}/action_executions": {"task_id": seeded.task_id},
        "/v2/tasks/{task_id}/executions": {"task_id": seeded.task_id},
        "/v2/tasks/{task_id}/workflow_executions": {"task_id": seeded.task_id},
        "/v2/action_executions/{action_execution_id}": {"action_execution_id": seeded.action_execution_id},
        "/v2/action-executions/{action_execution_id}": {"action_execution_id": seeded.action_execution_id},
        "/v2/cron_triggers/{identifier}": {"identifier": seeded.cron_trigger_id},
    }


def _with_examples(document: dict[str, Any], examples: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A copy of the document whose path parameters have the seeded objects as examples (test-only:
    the served document knows nothing of them)."""
    document = copy.deepcopy(document)
    for path, values in examples.items():
        for operation in document["paths"].get(path, {}).values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in values:
                    parameter["example"] = values[parameter["name"]]
    return document


def _known_bugs() -> set[str]:
    return {label for label, (databases, _) in KNOWN_SERVICE_BUGS.items() if DATABASE in databases}


def _config() -> SchemathesisConfig:
    # No "max-time": with one, schemathesis keeps cycling the fuzzing phase until it runs out.
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        # The examples phase adds at most one request per operation (the seeded example, no values taken
        # from earlier responses), so the fuzzing phase draws one fewer: at most 25 in all.
        "generation": {"max-examples": MAX_EXAMPLES - 1, "database": "none"},
        "phases": {
            "examples": {"enabled": True, "extra-data-sources": {"responses": False}},
            "fuzzing": {"enabled": True},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "operations": [{
            # A synchronous run-action waits for a worker, and this in-process app has none: its documented
            # 504 (gave up waiting) is the expected answer here, not a server error.
            "include-operation-id": "post_v2_action_executions",
            "checks": {"not_a_server_error": {"expected-statuses": ["1XX", "2XX", "3XX", "4XX", 504]}},
        }, {
            # Event triggers, code sources, dynamic actions, members: a deliberate, documented 501 (DECISIONS.md),
            # whatever the input, so a few requests each are enough.
            "include-tag": "unsupported",
            "generation": {"max-examples": 3},
            "checks": {"not_a_server_error": {"expected-statuses": ["1XX", "2XX", "3XX", "4XX", 501]}},
        }],
    })


class ServerErrors(logging.Handler):
    """Keeps the tracebacks the API logs for its 5xx answers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.tracebacks: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            self.tracebacks.setdefault(text.strip().splitlines()[-1], text)


@pytest.fixture()
def fuzz_target(flask_app: Flask) -> Iterator[Any]:
    """The served document (plus the seeded examples), loaded for the app in-process."""
    original = flask_app.config["TRAMONTANE"]
    # A synchronous run-action the fuzzer may start has no worker here: do not wait a minute for it.
    flask_app.config["TRAMONTANE"] = dataclasses.replace(original, run_sync_timeout=0.5)
    with flask_app.app_context():
        before = _snapshot()
    try:
        seeded = _seed(flask_app)
        with flask_app.test_client() as client:
            served = client.get("/v2/openapi.json").get_json()
        schema = schemathesis.openapi.from_dict(_with_examples(served, _examples(seeded)), config=_config())
        schema.app = flask_app
        schema.location = "/v2/openapi.json"
        known = _known_bugs()
        if known:
            schema = schema.exclude(func=lambda ctx: f"{ctx.operation.method.upper()} {ctx.operation.path}" in known)
        yield schema
    finally:
        flask_app.config["TRAMONTANE"] = original
        with flask_app.app_context():
            db.session.rollback()
            _remove_rows_added_since(before)


def _describe(label: str, check: Any) -> str:
    failure = check.failure_info.failure
    return f"{label}: {check.name}: {failure.title}\n{failure.message}\n{check.failure_info.code_sample}"


def test_the_service_conforms_to_its_openapi_document(fuzz_target: Any) -> None:
    server_errors = ServerErrors()
    api_log = logging.getLogger("app.api")
    # Alembic's fileConfig (run by the database upgrade in conftest) disables the loggers that exist then.
    was_disabled, api_log.disabled = api_log.disabled, False
    api_log.addHandler(server_errors)
    problems: list[str] = []
    tested: set[str] = set()
    finished: events.EngineFinished | None = None
    started = time.monotonic()
    try:
        for event in schemathesis.engine.from_schema(fuzz_target).execute():
            if isinstance(event, events.ScenarioFinished):
                tested.add(event.recorder.label)
                for checks in event.recorder.checks.values():
                    problems += [_describe(event.recorder.label, check) for check in checks
                                 if check.failure_info is not None]
            elif isinstance(event, events.NonFatalError):
                problems.append(f"{event.label}: error: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                raise event.exception
            elif isinstance(event, events.EngineFinished):
                finished = event
    finally:
        api_log.removeHandler(server_errors)
        api_log.disabled = was_disabled
    elapsed = time.monotonic() - started
    assert finished is not None
    assert finished.stop_reason == StopReason.COMPLETED, f"stopped early: {finished.stop_reason}"
    assert elapsed < TIME_BUDGET_SECONDS, f"the fuzz run took {elapsed:.0f} s"
    assert len(tested) >= 40, sorted(tested)
    report = "\n\n".join(dict.fromkeys(problems))
    if server_errors.tracebacks:
        report += "\n\nServer tracebacks:\n" + "\n".join(server_errors.tracebacks.values())
    assert not problems, f"{len(problems)} failures:\n\n{report}"
