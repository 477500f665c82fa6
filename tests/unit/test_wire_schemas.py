"""The response schemas' compiled dump answers what marshmallow's own dump through the same fields does.

Every response schema of app/schemas/responses.py is dumped on sample objects (rows as the database
gives them: nulls, empty values, the engine's bookkeeping) whole and cut by ``only`` and ``exclude``.
"""

from __future__ import annotations

import inspect
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from app.engine.task_runtime import PRIVATE
from app.resources.actions import BuiltinAction
from app.resources.reports import ReportBody, TaskNode, WorkflowNode
from app.schemas import ExecutionReportSchema, SchemaCache, WireSchema, responses
from app.schemas.wire import TIME_FORMAT, time_text

CREATED = datetime(2026, 3, 1, 12, 30, 45, 123456)
UPDATED = datetime(2026, 3, 1, 12, 31, 2)

EXECUTION = dict(
    id="e1", workflow_id="w1", workflow_name="wf", workflow_namespace="", description="", tags=["a"],
    params={"env": {"x": 1}, "namespace": "", "depth": 1, "item": 2}, task_execution_id=None,
    root_execution_id=None, state="RUNNING", state_info=None, input={"n": 1}, output=None,
    context={"shown": 1, "declared": 2}, spec={"vars": {"declared": 0}}, project_id="p",
    created_at=CREATED, updated_at=None)
TASK = dict(
    id="t1", name="one", type="ACTION", workflow_name="wf", workflow_namespace="", workflow_id="w1",
    workflow_execution_id="e1", tags=[], state="SUCCESS", state_info=None, project_id="p",
    runtime_context={"index": 0, PRIVATE: {"published_global": {"g": 1}}}, published={}, processed=True,
    created_at=CREATED, updated_at=UPDATED, started_at=CREATED, finished_at=None, result=None)
ACTION_EXECUTION = dict(
    id="a1", name="std.noop", workflow_name=None, workflow_namespace="", task_execution_id=None, state="SUCCESS",
    state_info=None, tags=[], description="", project_id="p", accepted=True, input={"x": [1, 2]},
    output={"result": "ok"}, created_at=CREATED, updated_at=UPDATED,
    sent_request={"method": "POST", "url": "http://x", "headers": {"A": "***"}, "sent_at": "2026-03-01 12:30:45"})
WORKFLOW = dict(
    id="w1", name="wf", namespace="", definition="---", checksum="", tags=[], scope="private", project_id="p",
    spec={"input": ["a", {"b": 2}], "output": {"r": 1}}, created_at=CREATED, updated_at=None)
SAMPLES: dict[type[WireSchema], list[dict[str, Any]]] = {
    responses.ExecutionSchema: [EXECUTION, {**EXECUTION, "output": {"r": 1}, "updated_at": UPDATED}],
    responses.ExecutionDetailSchema: [EXECUTION],
    responses.TaskSchema: [TASK, {**TASK, "runtime_context": {}, "published": {"p": 1}, "result": [1]}],
    responses.ActionExecutionSchema: [ACTION_EXECUTION, {**ACTION_EXECUTION, "output": None, "sent_request": None,
                                                         "tags": ["t"], "accepted": False}],
    responses.ActionStartedSchema: [ACTION_EXECUTION],
    responses.ActionUnsavedSchema: [ACTION_EXECUTION, {**ACTION_EXECUTION, "description": "why"}],
    responses.WorkflowSchema: [WORKFLOW, {**WORKFLOW, "checksum": "abc", "spec": {}}],
    responses.WorkflowSavedSchema: [WORKFLOW],
    responses.WorkbookSchema: [dict(id="b1", name="wb", namespace="", definition="---", tags=["x"], scope="private",
                                    project_id="p", created_at=CREATED, updated_at=None)],
    responses.ActionSchema: [vars(BuiltinAction.of("std.noop", type("Noop", (), {"run": lambda self: None})))
                             | {"id": "std.noop"}],
    responses.AdhocActionSchema: [dict(id="d1", name="my.act", input="", description="", tags=[], definition="--",
                                       scope="private", project_id="p", namespace="", created_at=CREATED,
                                       updated_at=UPDATED)],
    responses.EnvironmentResponseSchema: [dict(id="v1", name="env", description="", variables={"k": "v"},
                                               scope="private", project_id="p", created_at=CREATED, updated_at=None)],
    responses.CronTriggerResponseSchema: [dict(
        id="c1", name="cron", pattern=None, workflow_name="wf", workflow_id=None, workflow_input={},
        workflow_params={"env": {}}, first_execution_time=UPDATED, next_execution_time=None,
        remaining_executions=None, scope="private", project_id="p", created_at=CREATED, updated_at=UPDATED)],
}
SAMPLES[responses.AdhocActionSavedSchema] = SAMPLES[responses.AdhocActionSchema]


def _cases() -> list[tuple[type[WireSchema], dict[str, Any]]]:
    return [(schema, sample) for schema, samples in SAMPLES.items() for sample in samples]


def test_every_response_schema_has_samples() -> None:
    declared = {cls for _, cls in inspect.getmembers(responses, inspect.isclass)
                if issubclass(cls, WireSchema) and cls is not WireSchema}
    assert declared == set(SAMPLES)


@pytest.mark.parametrize(("schema", "sample"), _cases(), ids=lambda value: getattr(value, "__name__", ""))
def test_the_compiled_dump_is_marshmallows_dump(schema: type[WireSchema], sample: dict[str, Any]) -> None:
    row = SimpleNamespace(**sample)
    names = list(schema._declared_fields)
    for only, exclude in ((None, ()), (names[:1] + names[-3:], ()), (None, names[1:4]), (names[::2], names[2:3])):
        instance = schema(only=only, exclude=exclude)
        fast, reference = instance.dump(row), instance.dump_marshmallow(row)
        assert json.dumps(fast) == json.dumps(reference), (only, exclude)
        assert instance.dump([row, row], many=True) == [reference, reference]


def test_json_fields_are_json_text_and_bookkeeping_stays_out() -> None:
    execution = responses.ExecutionDetailSchema().dump(SimpleNamespace(**EXECUTION))
    assert json.loads(execution["params"]) == {"env": {"x": 1}, "namespace": ""}
    assert execution["output"] == "{}"
    assert execution["updated_at"] == execution["created_at"] == "2026-03-01 12:30:45"
    assert json.loads(execution["published_global"]) == {"shown": 1}
    task = responses.TaskSchema().dump(SimpleNamespace(**TASK))
    assert task["published"] is None  # it only published globally, as Mistral shows it
    assert task["result"] == "null"
    assert json.loads(task["published_global"]) == {"g": 1}
    assert json.loads(task["runtime_context"]) == {"index": 0}


def test_an_omittable_value_that_is_missing_leaves_its_key_out() -> None:
    row = SimpleNamespace(**{**TASK, "runtime_context": {}})
    schema = responses.TaskSchema()
    assert "published_global" not in schema.dump(row)
    assert "published_global" not in schema.dump_marshmallow(row)


def test_the_cache_keeps_the_declared_order_and_ignores_unknown_names() -> None:
    cache = SchemaCache(responses.WorkbookSchema)
    row = SimpleNamespace(**SAMPLES[responses.WorkbookSchema][0])
    assert list(cache.dump(row, only=["scope", "bogus", "id", "name"])) == ["id", "name", "scope"]
    assert cache.get(["scope", "id"]) is cache.get(["id", "scope"])
    selections = list(itertools.combinations(cache.names, 3))
    assert len(selections) > SchemaCache.MAX_SELECTIONS
    for selection in selections:
        assert list(cache.dump(row, only=selection)) == list(selection)
    assert len(cache._instances) == SchemaCache.MAX_SELECTIONS
    assert "updated_at" not in cache.dump(row, exclude=["updated_at"])


@pytest.mark.parametrize("value", [
    CREATED, UPDATED, datetime(1999, 12, 31, 23, 59, 59, 999999), datetime(2026, 1, 1),
    datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=2))),
])
def test_the_fast_time_text_is_strftimes(value: datetime) -> None:
    assert time_text(value) == value.strftime(TIME_FORMAT)
    assert time_text(None) is None


def test_a_report_tree_dumps_as_marshmallow_dumps_it() -> None:
    action = SimpleNamespace(id="a1", name="std.noop", created_at=CREATED, updated_at=None, state="SUCCESS",
                             state_info=None, accepted=True, last_heartbeat=UPDATED)
    child = WorkflowNode(SimpleNamespace(**EXECUTION))  # deeper than max_depth: no task_executions
    task = TaskNode(SimpleNamespace(**TASK), [action], [child], retry_count=2)
    plain = TaskNode(SimpleNamespace(**TASK), [], [])
    root = WorkflowNode(SimpleNamespace(**EXECUTION), [task, plain])
    statistics = {"total_tasks_count": 2, "estimated_time": -1}
    schema = ExecutionReportSchema()
    dumped = schema.dump(ReportBody(statistics, root))
    assert json.dumps(dumped) == json.dumps(schema.dump_marshmallow(ReportBody(statistics, root)))
    shown_task, shown_plain = dumped["root_workflow_execution"]["task_executions"]
    assert shown_task["retry_count"] == 2 and "retry_count" not in shown_plain
    assert shown_task["action_executions"][0]["last_heartbeat"] == "2026-03-01 12:31:02"
    assert shown_task["workflow_executions"] == [{"id": "e1", "name": "wf", "created_at": "2026-03-01 12:30:45",
                                                  "updated_at": None, "state": "RUNNING", "state_info": None}]
    assert schema.dump(ReportBody(statistics)) == {"statistics": statistics}
