"""Cron triggers (``/v2/cron_triggers``): start a workflow on a schedule.

Patterns follow croniter: five fields as in cron, or six where the sixth, LAST field is seconds
(croniter's convention, not Quartz's seconds-first one). So ``* * * * * */2`` fires every two
seconds, while ``*/2 * * * * *`` fires every second of every even minute. croniter's aliases
(``@hourly``, ``@daily``, ...) work too; its seven-field form (with a year) is refused. All times are
naive UTC, like every timestamp in the database.

The scheduler process calls :func:`fire_due`. Two schedulers may run at once (a deploy overlap) and
must never start one occurrence twice:

- the execution's id is derived from (trigger id, occurrence time), so a second start of the same
  occurrence finds that execution already there, or loses the insert race on the primary key;
- the trigger then moves on with a compare-and-set on ``next_execution_time``, so exactly one
  scheduler advances it and counts ``remaining_executions`` down.

Starting before advancing means that a scheduler dying between the two leaves the occurrence due:
the next pass finds its execution, starts nothing, and only advances the trigger.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from croniter import croniter
from sqlalchemy import ColumnElement, Exists, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.engine import dataflow
from app.engine.definitions import UUID_PATTERN, get_workflow
from app.engine.errors import Conflict, EngineError, NotFound
from app.engine.language.parser import Problems, parse_workflow
from app.engine.language.spec import WorkflowSpec
from app.engine.service import Engine
from app.engine.transactions import with_retries
from app.models import CronTrigger, WorkflowDefinition, WorkflowExecution, utc_now

log = logging.getLogger(__name__)

# Mistral's format is the first; the second (seconds) lets a trigger fire within the minute.
FIRST_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
BATCH = 100
# Namespace of the execution ids derived from (trigger, occurrence); any fixed UUID would do.
_OCCURRENCE_IDS = uuid.UUID("6f1c2a52-3d0e-4a8e-9b59-0c1b5e1f7a10")


@dataclass(frozen=True)
class NewTrigger:
    """What ``POST /v2/cron_triggers`` asks for."""

    name: str
    workflow: str  # a workflow id or name
    namespace: str = ""
    workflow_input: dict[str, Any] = field(default_factory=dict)
    workflow_params: dict[str, Any] = field(default_factory=dict)
    pattern: str | None = None
    first_execution_time: str | None = None
    remaining_executions: int | None = None
    scope: str = "private"


# -- schedule ----------------------------------------------------------------------------------


def parse_first_time(text: str | None) -> datetime | None:
    if not text:
        return None
    for time_format in FIRST_TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), time_format)
        except ValueError:
            continue
    raise EngineError(f"first_execution_time must look like 'YYYY-MM-DD HH:MM' (UTC), not {text!r}")


def next_time(pattern: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that matches ``pattern``."""
    value: datetime = croniter(pattern, after).get_next(datetime)
    return value


def check_pattern(pattern: str, now: datetime) -> None:
    if not pattern.startswith("@") and len(pattern.split()) not in (5, 6):
        raise EngineError(f"The specified pattern is not valid: {pattern}")
    try:
        next_time(pattern, now)  # also catches patterns that never match, e.g. 30 February
    except (ValueError, KeyError) as exc:
        raise EngineError(f"The specified pattern is not valid: {pattern}") from exc


def check_schedule(pattern: str | None, first_time: datetime | None, count: int | None,
                   now: datetime) -> None:
    """Mistral's rules, except that the first time need only lie in the future: Mistral asks for a
    minute ahead because its times have no seconds."""
    if not pattern and first_time is None:
        raise EngineError("Pattern or first_execution_time must be specified.")
    if first_time is not None and first_time <= now:
        # Mistral's words (its times have no seconds, ours may: any future time is accepted).
        raise EngineError("first_execution_time must be at least 1 minute in the future.")
    if count is not None and count < 1:
        raise EngineError(f"Invalid input for field/attribute remaining_executions. Value: '{count}'. "
                          "Value should be greater or equal to 1")
    if not pattern and count is not None and count > 1:
        raise EngineError("Pattern must be provided if count is superior to 1.")
    if pattern:
        check_pattern(pattern, now)


# -- create, read, delete ----------------------------------------------------------------------


def find(session: Session, identifier: str) -> CronTrigger | None:
    row = session.scalars(select(CronTrigger).where(CronTrigger.name == identifier)).first()
    if row is None and UUID_PATTERN.match(identifier):
        row = session.get(CronTrigger, identifier)
    return row


def get(session: Session, identifier: str) -> CronTrigger:
    row = find(session, identifier)
    if row is None:
        raise NotFound(f"Cron trigger not found [identifier={identifier}]")
    return row


def delete_trigger(session: Session, identifier: str) -> None:
    session.delete(get(session, identifier))


def _duplicate(name: str) -> Conflict:
    return Conflict(f"Duplicate entry for cron trigger ['name', 'project_id']: {name}, None")


def workflow_spec(definition: WorkflowDefinition) -> WorkflowSpec:
    raw = dict(definition.spec)
    problems = Problems()
    spec = parse_workflow(raw.get("name") or definition.name, raw, definition.name, problems)
    if spec is None or problems:
        raise EngineError("Stored workflow spec is invalid: " + "; ".join(problems))
    return spec


def create(session: Session, new: NewTrigger, now: datetime | None = None) -> CronTrigger:
    """Validate and store a trigger; the caller commits."""
    now = now or utc_now()
    first_time = parse_first_time(new.first_execution_time)
    check_schedule(new.pattern, first_time, new.remaining_executions, now)
    if find(session, new.name) is not None:
        raise _duplicate(new.name)
    definition = get_workflow(session, new.workflow, new.namespace)
    # Bad input fails now rather than at every occurrence; the input is stored as given.
    dataflow.prepare_input(workflow_spec(definition), new.workflow_input)
    count = new.remaining_executions
    if first_time is not None and not new.pattern and count is None:
        count = 1
    row = CronTrigger(
        name=new.name, pattern=new.pattern or None, workflow_name=definition.name,
        workflow_id=definition.id, workflow_namespace=definition.namespace,
        workflow_input=dict(new.workflow_input), workflow_params=dict(new.workflow_params),
        first_execution_time=first_time,
        next_execution_time=first_time or next_time(str(new.pattern), now),
        remaining_executions=count, scope=new.scope, project_id=definition.project_id,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another request created the same name since the check above (PostgreSQL).
        session.rollback()
        raise _duplicate(new.name) from exc
    return row


# -- firing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One due firing of a trigger, copied out of the row: commits expire ORM objects."""

    trigger_id: str
    trigger_name: str
    due: datetime
    pattern: str | None
    remaining: int | None
    workflow_name: str
    namespace: str
    workflow_input: dict[str, Any]
    workflow_params: dict[str, Any]

    @classmethod
    def of(cls, row: CronTrigger, due: datetime) -> Occurrence:
        return cls(row.id, row.name, due, row.pattern, row.remaining_executions, row.workflow_name,
                   row.workflow_namespace, dict(row.workflow_input), dict(row.workflow_params))

    @property
    def execution_id(self) -> str:
        return str(uuid.uuid5(_OCCURRENCE_IDS, f"{self.trigger_id}@{self.due.isoformat()}"))

    def description(self) -> str:
        # Mistral's wording and shape, so tools that parse it keep working.
        return json.dumps({
            "description": f"Workflow execution created by cron trigger '({self.trigger_id})'.",
            "triggered_by": {"type": "cron_trigger", "id": self.trigger_id, "name": self.trigger_name},
        })


def due_exists(now: datetime | ColumnElement[datetime]) -> Exists:
    """Whether a trigger is due, as an EXISTS to ask together with other questions."""
    return exists().where(CronTrigger.next_execution_time <= now)


def fire_due(session: Session, engine: Engine, now: datetime | None = None, limit: int = BATCH) -> int:
    """Start one execution for every due trigger. Returns how many triggers this call advanced.

    A trigger that missed several occurrences (the scheduler was down) starts one execution and
    moves to its next time after ``now``.
    """
    now = now or utc_now()
    due = list(session.scalars(
        select(CronTrigger.id).where(CronTrigger.next_execution_time <= now)
        .order_by(CronTrigger.next_execution_time).limit(limit)
    ))
    # End the read transaction: on SQLite its snapshot would hide another scheduler's progress.
    session.commit()
    advanced = 0
    for trigger_id in due:
        try:
            advanced += _fire(session, engine, trigger_id, now)
        except Exception:  # noqa: BLE001 - one broken trigger must not stop the others
            log.exception("cron trigger %s could not fire; it stays due", trigger_id)
            session.rollback()
    return advanced


def _fire(session: Session, engine: Engine, trigger_id: str, now: datetime) -> int:
    row = session.get(CronTrigger, trigger_id, populate_existing=True)
    due = row.next_execution_time if row is not None else None
    occurrence = Occurrence.of(row, due) if row is not None and due is not None and due <= now else None
    session.commit()
    if occurrence is None:
        return 0  # deleted, or already advanced by another scheduler
    _start(engine, occurrence)
    return int(with_retries(session, partial(_advance, session, occurrence, now)))


def _start(engine: Engine, occurrence: Occurrence) -> None:
    try:
        engine.start_workflow(occurrence.workflow_name, occurrence.namespace, occurrence.workflow_input,
                              occurrence.workflow_params, occurrence.description(),
                              execution_id=occurrence.execution_id)
    except EngineError as exc:
        # The workflow was deleted or now wants other input: this occurrence cannot run, and
        # retrying would fail the same way, so the trigger still moves on.
        log.error("cron trigger %s (%s) could not start %s: %s", occurrence.trigger_name,
                  occurrence.trigger_id, occurrence.workflow_name, exc)
    except IntegrityError:
        if engine.session.get(WorkflowExecution, occurrence.execution_id) is None:
            raise
        log.info("cron trigger %s: another scheduler started occurrence %s", occurrence.trigger_name,
                 occurrence.due)


def _advance(session: Session, occurrence: Occurrence, now: datetime) -> bool:
    """Compare-and-set: move the trigger past ``occurrence`` unless another scheduler already did."""
    claim = (CronTrigger.id == occurrence.trigger_id, CronTrigger.next_execution_time == occurrence.due)
    remaining = None if occurrence.remaining is None else occurrence.remaining - 1
    if not occurrence.pattern or (remaining is not None and remaining <= 0):
        statement: Any = delete(CronTrigger).where(*claim)
    else:
        statement = update(CronTrigger).where(*claim).values(
            next_execution_time=next_time(occurrence.pattern, max(now, occurrence.due)),
            remaining_executions=remaining, updated_at=utc_now(),
        )
    outcome = session.execute(statement.execution_options(synchronize_session=False))
    return bool(getattr(outcome, "rowcount", 0))
