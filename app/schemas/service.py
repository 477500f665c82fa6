"""The service's own answers: errors, versions, health, validation results (documentation only: the
routes that send them build them themselves)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


def _text(what: str) -> fields.String:
    return fields.String(required=True, metadata={"description": what})


class ErrorSchema(Schema):
    """Every error: HTTP status = the error's class; 4xx are the client's fault, 5xx the server's.
    The text endpoints (POST/PUT of workflows, workbooks, actions) answer only ``faultstring``, as Mistral's."""

    faultcode = fields.String(metadata={"enum": ["Client", "Server"]})
    faultstring = _text("What went wrong; for a definition, one `path: message` line per problem.")
    debuginfo = fields.String(allow_none=True, metadata={"description": "Always null."})
    errors = fields.List(fields.String(), metadata={
        "description": "Each problem as `path: message` (definition and request validation errors only)."})


class VersionLinkSchema(Schema):
    href = _text("URL of the version's root.")
    target = _text("Version name.")
    rel = _text("Link relation.")


class VersionSchema(Schema):
    id = _text("Version id, `v2.0`.")
    status = _text("`CURRENT`.")
    links = fields.List(fields.Nested(VersionLinkSchema), required=True)


class VersionsSchema(Schema):
    versions = fields.List(fields.Nested(VersionSchema), required=True)
    docs = _text("URL of the browsable API page, `/v2/docs` (an addition to Mistral's answer).")


class V2RootSchema(Schema):
    uri = _text("URL of `/v2`.")


class HealthCheckSchema(Schema):
    class Meta:
        unknown = INCLUDE

    ok = fields.Boolean(required=True)
    error = fields.String(metadata={"description": "Why the check failed."})


class LiveWorkerSchema(Schema):
    name = fields.String(required=True, metadata={"description": "The Celery worker's name."})
    pool = fields.String(allow_none=True, metadata={"description": "Its execution pool (`WORKER_POOL`)."})
    concurrency = fields.Integer(allow_none=True, metadata={"description": "Actions it runs at once."})
    last_beat_seconds_ago = fields.Float(required=True)


class WorkersCheckSchema(HealthCheckSchema):
    live = fields.List(fields.Nested(LiveWorkerSchema), metadata={
        "description": "Workers that beat within three heartbeat intervals."})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "degraded"]})
    database = fields.Nested(HealthCheckSchema, required=True)
    broker = fields.Nested(HealthCheckSchema, required=True)
    scheduler = fields.Nested(HealthCheckSchema, required=True)
    workers = fields.Nested(WorkersCheckSchema, required=True)
    overdue_timers = fields.Integer(metadata={"description": "Timers past due (when the database answers)."})


class ValidationResultSchema(Schema):
    valid = fields.Boolean(required=True)
    error = fields.String(metadata={"description": "The problems, one `path: message` line each (invalid only)."})
    errors = fields.List(fields.String(), metadata={"description": "Each problem (invalid only)."})
