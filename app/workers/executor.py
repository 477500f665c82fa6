"""Runs one action execution in a worker and reports its result to the engine.

A message may arrive twice or after its action was completed: the row decides what to do.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.actions import egress, registry
from app.actions.base import ActionContext, ExecutionContext, Result
from app.config import Settings
from app.engine.service import Engine
from app.engine.states import State
from app.models import ActionExecution, utc_now

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def run_action(session: Session, engine: Engine, settings: Settings, action_execution_id: str) -> None:
    action = session.get(ActionExecution, action_execution_id)
    if action is None:
        log.warning("action execution %s does not exist; message dropped", action_execution_id)
        return
    if action.state != State.RUNNING or not _claim(session, action_execution_id):
        log.info("action execution %s is %s or already taken; message dropped",
                 action_execution_id, action.state)
        session.rollback()
        return
    session.commit()
    result, is_sync = _execute(action, settings)
    if is_sync or result.is_error() or result.cancel:
        engine.on_action_result(action_execution_id, result)


def _claim(session: Session, action_execution_id: str) -> bool:
    claimed = session.execute(
        update(ActionExecution)
        .where(ActionExecution.id == action_execution_id,
               ActionExecution.state == State.RUNNING.value,
               ActionExecution.worker_id.is_(None))
        .values(worker_id=WORKER_ID, last_heartbeat=utc_now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0))


def _execute(action: ActionExecution, settings: Settings) -> tuple[Result, bool]:
    # An ad-hoc action runs its registered base with the input its layers computed.
    base_name = (action.params or {}).get("base") or action.name
    base_input = (action.params or {}).get("base_input", action.input)
    action_class = registry.find(base_name)
    if action_class is None:
        return Result(error=f"Failed to find action [action_name={base_name}]"), True
    context = ActionContext(ExecutionContext(
        action_execution_id=action.id,
        workflow_name=action.workflow_name,
        workflow_execution_id=action.workflow_execution_id,
        task_execution_id=action.task_execution_id,
        task_name=action.task_name,
        callback_base_url=settings.public_url,
        callback_full_url=f"{settings.public_url}/v2/action_executions/{action.id}",
    ), egress=egress.policy_from_settings(settings))
    is_sync = True
    try:
        instance = action_class(**base_input)
        is_sync = bool(instance.is_sync())
        value = instance.run(context)
    except Exception as exc:  # noqa: BLE001 - an action's failure is its result
        log.info("action %s (%s) raised %r", action.name, action.id, exc)
        return Result(error=f"The action raised an exception [action={action.name}, "
                            f"action_ex_id={action.id}, msg='{exc}']"), is_sync
    result = value if isinstance(value, Result) else Result(data=value)
    return Result(_jsonable(result.data), _jsonable(result.error), result.cancel), is_sync


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))
