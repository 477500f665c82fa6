"""``GET /v2/executions/<id>/report``: an execution tree with task statistics."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.schemas.requests import EXECUTION_STATES
from app.schemas.responses import TASK_STATES, TIMESTAMP_PATTERN


def _timestamp(what: str, nullable: bool = False) -> fields.String:
    return fields.String(required=True, allow_none=nullable, metadata={
        "pattern": TIMESTAMP_PATTERN,
        "description": f"{what}, UTC, as `YYYY-MM-DD HH:MM:SS`" + (" (null when not set)." if nullable else "."),
    })


def _text(what: str, nullable: bool = False) -> fields.String:
    return fields.String(required=True, allow_none=nullable, metadata={"description": what})


class ReportStatisticsSchema(Schema):
    total_tasks_count = fields.Integer(required=True)
    running_tasks_count = fields.Integer(required=True)
    success_tasks_count = fields.Integer(required=True)
    error_tasks_count = fields.Integer(required=True)
    idle_tasks_count = fields.Integer(required=True)
    paused_tasks_count = fields.Integer(required=True)
    estimated_time = fields.Integer(required=True, metadata={
        "description": "Seconds left, from up to 20 earlier successful runs (-1: no history, 0: not running)."})


class ReportActionSchema(Schema):
    id = _text("Action execution id.")
    name = _text("Action name.")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(TASK_STATES)})
    state_info = _text("State information.", nullable=True)
    accepted = fields.Boolean(required=True)
    last_heartbeat = _timestamp("Last worker heartbeat", nullable=True)


class ReportTaskSchema(Schema):
    id = _text("Task execution id.")
    name = _text("Task name.")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(TASK_STATES)})
    state_info = _text("State information.", nullable=True)
    retry_count = fields.Integer(metadata={"description": "Retries so far (when the task has a retry policy)."})
    action_executions = fields.List(fields.Nested(ReportActionSchema), required=True)
    workflow_executions = fields.List(fields.Nested(lambda: ReportWorkflowSchema()), required=True)


class ReportWorkflowSchema(Schema):
    id = _text("Execution id.")
    name = _text("Workflow name.")
    created_at = _timestamp("Creation time")
    updated_at = _timestamp("Last update time", nullable=True)
    state = fields.String(required=True, metadata={"enum": list(EXECUTION_STATES)})
    state_info = _text("State information.", nullable=True)
    task_executions = fields.List(fields.Nested(ReportTaskSchema), metadata={
        "description": "Its tasks (absent for a sub-workflow deeper than `max_depth`)."})


class ExecutionReportSchema(Schema):
    statistics = fields.Nested(ReportStatisticsSchema, required=True)
    root_workflow_execution = fields.Nested(ReportWorkflowSchema, metadata={
        "description": "The execution tree (absent with `statistics_only=true`)."})
