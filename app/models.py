"""Database rows: definitions, executions, timers.

JSON columns hold plain dicts and lists. Timestamps are naive UTC; the API shows them to the second,
as Mistral does, while the database keeps microseconds so that ordering by time is stable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.ids import random_uuid


def new_id() -> str:
    return str(random_uuid())


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


Row = TypeVar("Row")


def built(cls: type[Row], **values: Any) -> Row:
    """A new ``cls`` holding ``values``, as its constructor makes it, but with the values put straight
    into its attributes: the constructor's change event per attribute records a history that nothing
    reads for a row not yet written (the engine makes its rows by the dozen in a step)."""
    unknown = values.keys() - _column_keys(cls)
    if unknown:
        # What the constructor would refuse; a name put in the dict would otherwise never be written.
        raise TypeError(f"{sorted(unknown)} are not columns of {cls.__name__}")
    row: Row = cls._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    row.__dict__.update(values)
    return row


_COLUMN_KEYS: dict[type, frozenset[str]] = {}


def _column_keys(cls: type) -> frozenset[str]:
    keys = _COLUMN_KEYS.get(cls)
    if keys is None:
        keys = _COLUMN_KEYS[cls] = frozenset(cls.__mapper__.columns.keys())  # type: ignore[attr-defined]
    return keys


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, nullable=False)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=None, onupdate=utc_now)


class WorkflowDefinition(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "workflow_definitions"
    __table_args__ = (UniqueConstraint("name", "namespace", name="uq_workflow_name_namespace"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    namespace: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    scope: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")
    checksum: Mapped[str] = mapped_column(String(64), nullable=False)
    workbook_name: Mapped[str | None] = mapped_column(String(255))


class WorkflowExecution(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "workflow_executions"
    __table_args__ = (
        Index("ix_wf_ex_state", "state"),
        Index("ix_wf_ex_parent_task", "task_execution_id"),
        Index("ix_wf_ex_root", "root_execution_id"),
        # The expiration policy looks for finished executions by their last change.
        Index("ix_wf_ex_state_updated", "state", "updated_at"),
        # Partial: sub-workflows not yet reported to their parent task, the sweeper's other question
        # (its condition is the migration's, see ix_action_ex_unprocessed).
        Index("ix_wf_ex_unreported", "state", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workflow_id: Mapped[str | None] = mapped_column(String(36))
    workflow_name: Mapped[str] = mapped_column(String(255), nullable=False)
    workflow_namespace: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    state_info: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    input: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # Global data of the workflow: vars, global publishes, execution id.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    runtime_context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    task_execution_id: Mapped[str | None] = mapped_column(String(36))
    root_execution_id: Mapped[str | None] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")
    # A sub-workflow's end was applied to its parent task (so the sweeper need not re-send it).
    reported_to_parent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                     server_default=false())


class TaskExecution(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "task_executions"
    __table_args__ = (
        Index("ix_task_ex_wf_state", "workflow_execution_id", "state"),
        Index("ix_task_ex_wf_name", "workflow_execution_id", "name"),
        UniqueConstraint("unique_key", name="uq_task_unique_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workflow_execution_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("workflow_executions.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(10), nullable=False, default="ACTION")
    workflow_name: Mapped[str] = mapped_column(String(255), nullable=False)
    workflow_namespace: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    workflow_id: Mapped[str | None] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    state_info: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    in_context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    published: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    runtime_context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # Names of the tasks (and engine commands) its transitions fired; None until processed.
    next_tasks: Mapped[list[str] | None] = mapped_column(JSON)
    # False for a completed task that started nothing: its outbound context feeds the output.
    has_next: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    processed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error_handled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    unique_key: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    # Declared so that a flush inserts parents before children; never loaded by the engine.
    workflow_execution: Mapped[WorkflowExecution] = relationship(lazy="raise", passive_deletes=True)


class ActionExecution(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "action_executions"
    __table_args__ = (
        Index("ix_action_ex_task", "task_execution_id", "state", "item_index"),
        Index("ix_action_ex_state", "state"),
        # A deleted execution tree takes its actions with it (app.engine.deletion).
        Index("ix_action_ex_workflow", "workflow_execution_id"),
        # The actions waiting for a callback, oldest first, across executions (app.engine.waiting).
        Index("ix_action_ex_waiting", "is_sync", "state", "created_at", "id"),
        # Partial: completed actions whose continuation has not run yet, the sweeper's question,
        # answered without reading the finished ones however many are kept. Its condition is the
        # migration's (f2a4c6e8b0d1): stated here per dialect, it would load the module of every
        # database's dialect into every process (2.4 MiB each). The schema is built by the
        # migrations only; create_all() would make this index a full one.
        Index("ix_action_ex_unprocessed", "state", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    task_execution_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("task_executions.id", ondelete="CASCADE")
    )
    workflow_execution_id: Mapped[str | None] = mapped_column(String(36))
    workflow_name: Mapped[str | None] = mapped_column(String(255))
    workflow_namespace: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    task_name: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    state_info: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    input: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    is_sync: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    accepted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # True once its completion has been applied to its task: a repeated continuation is a no-op.
    processed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Position in a with-items task; None otherwise.
    item_index: Mapped[int | None] = mapped_column(Integer)
    # Set by the worker that runs it; lets a redelivered message tell a live run from a dead one.
    worker_id: Mapped[str | None] = mapped_column(String(255))
    last_heartbeat: Mapped[datetime | None] = mapped_column(DateTime)
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")
    # An async action's outbound request as it left (method, url, headers with secrets masked, sent_at).
    sent_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    task_execution: Mapped[TaskExecution | None] = relationship(lazy="raise", passive_deletes=True)


class Timer(db.Model):  # type: ignore[name-defined]
    """A durable delayed job, fired by the scheduler process."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timer_due", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    target_id: Mapped[str] = mapped_column(String(36), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, nullable=False)


class Workbook(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "workbooks"
    __table_args__ = (UniqueConstraint("name", "namespace", name="uq_workbook_name_namespace"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    namespace: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    scope: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")


class ActionDefinition(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """An ad-hoc action: a base action with preset input and an output transformation."""

    __tablename__ = "action_definitions"
    __table_args__ = (UniqueConstraint("name", "namespace", name="uq_action_name_namespace"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    namespace: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    input: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    scope: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    workbook_name: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")


class Environment(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    scope: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")


class CronTrigger(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "cron_triggers"
    __table_args__ = (Index("ix_cron_next", "next_execution_time"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    pattern: Mapped[str | None] = mapped_column(String(100))
    workflow_name: Mapped[str] = mapped_column(String(255), nullable=False)
    workflow_id: Mapped[str | None] = mapped_column(String(36))
    workflow_namespace: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    workflow_input: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    workflow_params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    first_execution_time: Mapped[datetime | None] = mapped_column(DateTime)
    next_execution_time: Mapped[datetime | None] = mapped_column(DateTime)
    remaining_executions: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    project_id: Mapped[str] = mapped_column(String(80), nullable=False, default="<default-project>")


class ApiToken(db.Model):  # type: ignore[name-defined]
    """An API token; only its SHA-256 is stored, so the database never holds a usable token."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # None: the token never expires.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
