"""``GET /v2/executions/<id>/report``: an execution tree with task statistics.

The report's route walks the tree (app/resources/reports.py) into nodes that hold each row and the
children it keeps; these schemas dump the nodes.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from app.schemas.requests import EXECUTION_STATES
from app.schemas.responses import TASK_STATES, TIMESTAMP_PATTERN
from app.schemas.wire import Child, Children, Count, Flag, Stored, Text, Timestamp, WireSchema


def _timestamp(what: str, attribute: str, nullable: bool = False) -> Timestamp:
    return Timestamp(required=True, allow_none=nullable, attribute=attribute, metadata={
        "pattern": TIMESTAMP_PATTERN,
        "description": f"{what}, UTC, as `YYYY-MM-DD HH:MM:SS`" + (" (null when not set)." if nullable else "."),
    })


def _text(what: str, attribute: str, nullable: bool = False) -> Text:
    return Text(required=True, allow_none=nullable, attribute=attribute, metadata={"description": what})


def _state(states: tuple[str, ...], attribute: str) -> Text:
    return Text(required=True, attribute=attribute, metadata={"enum": list(states)})


class ReportStatisticsSchema(Schema):
    total_tasks_count = fields.Integer(required=True)
    running_tasks_count = fields.Integer(required=True)
    success_tasks_count = fields.Integer(required=True)
    error_tasks_count = fields.Integer(required=True)
    idle_tasks_count = fields.Integer(required=True)
    paused_tasks_count = fields.Integer(required=True)
    estimated_time = fields.Integer(required=True, metadata={
        "description": "Seconds left, from up to 20 earlier successful runs (-1: no history, 0: not running)."})


class ReportActionSchema(WireSchema):
    """An action execution's row."""

    id = _text("Action execution id.", "id")
    name = _text("Action name.", "name")
    created_at = _timestamp("Creation time", "created_at")
    updated_at = _timestamp("Last update time", "updated_at", nullable=True)
    state = _state(TASK_STATES, "state")
    state_info = _text("State information.", "state_info", nullable=True)
    accepted = Flag(required=True)
    last_heartbeat = _timestamp("Last worker heartbeat", "last_heartbeat", nullable=True)


class ReportTaskSchema(WireSchema):
    """A task node: its row and what the report keeps below it."""

    id = _text("Task execution id.", "row.id")
    name = _text("Task name.", "row.name")
    created_at = _timestamp("Creation time", "row.created_at")
    updated_at = _timestamp("Last update time", "row.updated_at", nullable=True)
    state = _state(TASK_STATES, "row.state")
    state_info = _text("State information.", "row.state_info", nullable=True)
    retry_count = Count(omittable=True, metadata={"description": "Retries so far (when the task has a retry policy)."})
    action_executions = Children(ReportActionSchema, required=True)
    workflow_executions = Children(lambda: ReportWorkflowSchema, required=True)


class ReportWorkflowSchema(WireSchema):
    """A workflow execution node: its row and its tasks (unless it is deeper than ``max_depth``)."""

    id = _text("Execution id.", "row.id")
    name = _text("Workflow name.", "row.workflow_name")
    created_at = _timestamp("Creation time", "row.created_at")
    updated_at = _timestamp("Last update time", "row.updated_at", nullable=True)
    state = _state(EXECUTION_STATES, "row.state")
    state_info = _text("State information.", "row.state_info", nullable=True)
    task_executions = Children(ReportTaskSchema, omittable=True, metadata={
        "description": "Its tasks (absent for a sub-workflow deeper than `max_depth`)."})


class ExecutionReportSchema(WireSchema):
    statistics = Stored(ReportStatisticsSchema, required=True)
    root_workflow_execution = Child(ReportWorkflowSchema, omittable=True, metadata={
        "description": "The execution tree (absent with `statistics_only=true`)."})
