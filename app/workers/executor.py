"""Runs one action execution in a worker and reports its result to the engine: claim, run, report.

A message may arrive twice or after its action was completed: the row decides what to do. While an
action runs, the process's heartbeat (registered by the task's signals, see
:mod:`app.workers.heartbeat`) tells the database its worker is alive.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from functools import partial
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy.orm import Session

from app import metrics
from app.actions import egress, invocation, registry
from app.actions.base import ActionContext, ExecutionContext, OutboundLog, Result
from app.auth import capability
from app.config import Settings
from app.engine.action_service import log_deleted_while_running
from app.engine.claims import DELIVERED, SENDING, ActionRun
from app.engine.driver_statements import DriverStatement
from app.engine.errors import NotFound
from app.engine.service import Engine
from app.engine.states import State
from app.engine.transactions import first_row_alone, with_retries
from app.models import ActionExecution, utc_now

log = logging.getLogger(__name__)


NOT_SAFE_TO_RERUN = ("Request to run an action was redelivered, but it cannot be re-run safely: its "
                     "worker stopped responding while running it and the task's safe-rerun is false.")


_worker_id: tuple[int, str] | None = None


def worker_id() -> str:
    # Per process: each prefork pool child claims for itself; the threads of a threads pool share
    # one id, and the process's heartbeat covers every action they run. Kept: every claim asks, and
    # asking the system for the host name lets another thread take the interpreter lock.
    global _worker_id
    pid = os.getpid()
    if _worker_id is None or _worker_id[0] != pid:
        _worker_id = (pid, f"{socket.gethostname()}:{pid}")
    return _worker_id[1]


class Beats(Protocol):
    """The process's action heartbeat (app.workers.heartbeat): each ``add`` is undone by a ``discard``."""

    def add(self, action_execution_id: str) -> None: ...

    def discard(self, action_execution_id: str) -> None: ...


def run_action(session: Session, engine: Engine, settings: Settings, action_execution_id: str,
               heartbeat: Beats | None = None) -> Result | None:
    """Run the action if the row says so; returns what was reported for it (None: nothing yet).
    ``heartbeat``: kept beating for the action until its result is recorded."""
    # The usual case, a RUNNING action nobody claimed yet, takes one statement (its own transaction).
    run = _claim_unclaimed(session, action_execution_id)
    decision = "run"
    if run is None:
        decision, run = with_retries(session, lambda: _take(session, settings, action_execution_id))
    if decision == "fail":
        failure = Result(error=NOT_SAFE_TO_RERUN)
        engine.on_action_result(action_execution_id, failure)
        return failure
    if run is None:
        return None
    if not run.is_sync:
        # Recorded before the request leaves: if this process dies while sending, no one sends it
        # again or fails it, and the third party's callback finds it waiting.
        with_retries(session, lambda: _hand_over(session, run.id, worker_id(), SENDING))
    started = time.monotonic()
    outbound = OutboundLog()
    result, is_sync = _execute(run, settings, outbound)
    _count(run.name, result, is_sync, time.monotonic() - started)
    # What an async action sent is written by the transaction that records the send's outcome.
    sent = None if is_sync else outbound.sent
    if is_sync or result.is_error() or result.cancel:
        return _report(engine, run, result, sent, heartbeat)
    with_retries(session, lambda: _hand_over(session, run.id, SENDING, DELIVERED, sent))
    return None


def _report(engine: Engine, run: ActionRun, result: Result, sent: dict[str, Any] | None,
            heartbeat: Beats | None = None) -> Result | None:
    try:
        if sent is not None:
            engine.on_action_result(run.id, result, sent_request=sent, run=run)
        elif heartbeat is None:
            engine.report_result(run, result)
        else:
            # Beaten until recorded: another thread of this process may record it after this task
            # has ended (app.engine.arrivals).
            heartbeat.add(run.id)
            engine.report_result(run, result, recorded=partial(heartbeat.discard, run.id))
    except NotFound:
        log_deleted_while_running(run)
        return None
    return result


def _count(name: str, result: Result, is_sync: bool, seconds: float) -> None:
    recorder = metrics.recorder()
    if recorder is None:
        return
    outcome = "error" if result.is_error() else "cancel" if result.cancel else "success" if is_sync else "sent"
    recorder.count("tramontane_actions", name, outcome)
    recorder.observe("tramontane_action_duration_seconds", seconds, name)


def _take(session: Session, settings: Settings, action_execution_id: str) -> tuple[str, ActionRun | None]:
    """What to do with an action the claim of an unclaimed one missed: a claimed one is re-run only
    if its worker died and the task allows it."""
    action = session.get(ActionExecution, action_execution_id)
    if action is None or action.state != State.RUNNING:
        log.info("action execution %s is %s; message dropped", action_execution_id,
                 action.state if action else "unknown")
        return "drop", None
    if action.worker_id is not None:
        if action.worker_id in (DELIVERED, SENDING) or _is_alive(action, settings):
            log.info("action execution %s is being run by %s; message dropped", action.id, action.worker_id)
            return "drop", None
        if not (action.params or {}).get("safe_rerun"):
            return "fail", None
        log.warning("re-running action execution %s: its worker %s died", action.id, action.worker_id)
    run = _claim(session, action.id, action.worker_id)
    return ("run", run) if run is not None else ("drop", None)


def _is_alive(action: ActionExecution, settings: Settings) -> bool:
    if action.last_heartbeat is None:
        return False
    silence = (utc_now() - action.last_heartbeat).total_seconds()
    return silence < 3 * settings.worker_heartbeat_seconds


_ACTIONS = ActionExecution.__table__
_RUN_COLUMNS = [_ACTIONS.c[name] for name in (
    "id", "name", "input", "params", "workflow_name", "workflow_execution_id", "task_execution_id",
    "task_name", "is_sync", "item_index")]


def _claim_statement(unclaimed: bool) -> DriverStatement:
    # Built once, and handed to the driver as text: every task runs it.
    now = bindparam("now", type_=_ACTIONS.c.updated_at.type)
    if unclaimed:
        # Or claimed by this very claim: the same statement run again after its connection was lost
        # (it may have committed) finds its own claim by the claimant and the claim's own time. (A
        # heartbeat in between moves that time, as Mistral's heartbeats move an action's: the
        # message is then dropped, and the sweeper deals with the action as with a dead worker's.)
        owner = or_(_ACTIONS.c.worker_id.is_(None),
                    and_(_ACTIONS.c.worker_id == bindparam("claimant"), _ACTIONS.c.updated_at == now))
    else:
        owner = _ACTIONS.c.worker_id == bindparam("previous_worker")
    # updated_at moves too: Mistral shows a running action updated as its run starts.
    return DriverStatement(
        update(_ACTIONS)
        .where(_ACTIONS.c.id == bindparam("action_id"), _ACTIONS.c.state == State.RUNNING.value, owner)
        .values(worker_id=bindparam("claimant"), last_heartbeat=now, updated_at=now)
        .returning(*_RUN_COLUMNS))


_CLAIM_UNCLAIMED = _claim_statement(unclaimed=True)
_CLAIM_FROM = _claim_statement(unclaimed=False)


def _claim_unclaimed(session: Session, action_execution_id: str) -> ActionRun | None:
    """Take a RUNNING action nobody claimed and read what running it needs.

    A claim whose connection was lost may have committed: run again with the same parameters, it
    finds its own claim (see ``_claim_statement``) and the action runs once.
    """
    return _as_run(first_row_alone(session, _CLAIM_UNCLAIMED, _claim_parameters(action_execution_id)))


def _claim(session: Session, action_execution_id: str, previous_worker: str | None) -> ActionRun | None:
    """Take a RUNNING action from ``previous_worker`` (None: unclaimed), in the caller's transaction."""
    parameters = _claim_parameters(action_execution_id)
    if previous_worker is not None:
        parameters["previous_worker"] = previous_worker
    claim = _CLAIM_UNCLAIMED if previous_worker is None else _CLAIM_FROM
    return _as_run(claim.first(session.connection(), parameters))


def _claim_parameters(action_execution_id: str) -> dict[str, Any]:
    return {"action_id": action_execution_id, "claimant": worker_id(), "now": utc_now()}


def _as_run(row: Any) -> ActionRun | None:
    if row is None:
        return None
    action_id, name, action_input, params, *rest = row
    return ActionRun(action_id, name, dict(action_input), dict(params or {}), *rest)


def _hand_over(session: Session, action_execution_id: str, holder: str, to: str,
               sent_request: dict[str, Any] | None = None) -> None:
    # A callback may have completed the action already: the record of its request still belongs to it.
    values: dict[str, Any] = {"worker_id": to, "updated_at": utc_now()}
    if sent_request is not None:
        values["sent_request"] = sent_request
    session.execute(
        update(ActionExecution)
        .where(ActionExecution.id == action_execution_id, ActionExecution.worker_id == holder)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def callback_url(settings: Settings, action_execution_id: str) -> str:
    """The absolute completion URL; with authentication on it carries the action's capability."""
    url = f"{settings.public_url}/v2/action_executions/{action_execution_id}"
    if settings.auth_enabled:
        url += f"?token={capability(settings.secret_key, action_execution_id)}"
    return url


def _execute(action: ActionRun, settings: Settings, outbound: OutboundLog | None = None) -> tuple[Result, bool]:
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
        callback_full_url=callback_url(settings, action.id),
        callback_token=capability(settings.secret_key, action.id) if settings.auth_enabled else None,
    ), egress=egress.policy_from_settings(settings), outbound=outbound)
    return invocation.invoke(action_class, base_input, context, action.name, base_name)
