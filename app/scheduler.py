"""The scheduler process: fires durable timers and writes a liveness beat.

Run it with ``tramontane scheduler``, or inside a Celery worker (``--with-scheduler``, see
:mod:`app.workers.embedded_scheduler`). Several may run at once. The process that runs it hands it
its settings and the dispatcher its messages go through: this module knows nothing of the workers.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import partial
from types import FrameType
from typing import Any

import redis
from flask import Flask
from sqlalchemy import DateTime, bindparam, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.config import Settings
from app.engine import cron, retention, timers
from app.engine.dispatch import Dispatcher
from app.engine.runtime import COMPLETE_TASK, CONTINUE_TASK, TASK_TIMEOUT
from app.engine.service import Engine
from app.engine.sweeper import Sweeper
from app.engine.transactions import read_with_retries, with_retries
from app.extensions import db, session
from app.factory import create_app
from app.health import SCHEDULER_HEARTBEAT_KEY
from app.models import Timer, utc_now

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
SWEEP_SECONDS = 2.0
# Often enough for the health check's 15 s (SCHEDULER_STALE_SECONDS), rarely enough to cost nothing.
BEAT_SECONDS = 1.0
SCHEMA_POLL_SECONDS = 1.0

ENGINE_TIMER_KINDS = (CONTINUE_TASK, COMPLETE_TASK, TASK_TIMEOUT)


def scheduler_app(settings: Settings) -> Flask:
    # No dispatcher of its own: the scheduler loop hands its one dispatcher to each engine it builds.
    return create_app(settings, serve_api=False)


def run_scheduler(settings: Settings, dispatcher: Dispatcher, stop: threading.Event | None = None,
                  flask_app: Flask | None = None, each_pass: AbstractContextManager[Any] | None = None) -> None:
    """Fire timers and cron triggers and sweep until ``stop`` is set (by SIGTERM/SIGINT when not given).

    ``each_pass`` is entered around every pass of work, and left while the loop sleeps.
    """
    stop = stop or _stop_on_signals()
    each_pass = each_pass or nullcontext()
    owner = f"{socket.gethostname()}:{os.getpid()}"
    flask_app = flask_app or scheduler_app(settings)
    beat = redis.Redis.from_url(settings.broker_url, socket_timeout=5)
    log.info("scheduler %s started", owner)
    with flask_app.app_context():
        if not _wait_for_schema(stop):
            return
        sweeper = Sweeper(session(), dispatcher, settings.worker_heartbeat_seconds,
                          settings.lost_message_seconds, settings.lost_continuation_seconds)
        next_sweep = next_beat = 0.0
        policy = expiration_policy(settings)
        next_expiry = time.monotonic() + settings.expiration_interval_seconds if policy.enabled else float("inf")
        while not stop.is_set():
            with each_pass:
                timers_due, triggers_due = _due_work()
                fired = _fire_due(owner, dispatcher, settings.timer_claim_seconds) if timers_due else 0
                if triggers_due:
                    _fire_cron_triggers(dispatcher)
                if time.monotonic() >= next_sweep:
                    _sweep(sweeper)
                    next_sweep = time.monotonic() + SWEEP_SECONDS
                if time.monotonic() >= next_expiry:
                    _expire(policy, dispatcher)
                    next_expiry = time.monotonic() + settings.expiration_interval_seconds
                if time.monotonic() >= next_beat:
                    _beat(beat, owner)
                    next_beat = time.monotonic() + BEAT_SECONDS
            if not fired:
                stop.wait(POLL_SECONDS)
    log.info("scheduler %s stopped", owner)


def _wait_for_schema(stop: threading.Event) -> bool:
    """Until the database answers with the schema in place (a first boot runs the upgrade in a
    process of its own); said once, not at every pass. False when stopped meanwhile."""
    said = ""
    while not stop.is_set():
        try:
            if inspect(db.engine).has_table(Timer.__tablename__):
                if said:
                    log.info("the database schema is in place; scheduling")
                return True
            reason = "the database has no schema yet (`tramontane db upgrade` creates it)"
        except SQLAlchemyError as exc:
            reason = f"the database does not answer ({str(getattr(exc, 'orig', exc)).splitlines()[0]})"
        finally:
            db.session.remove()
        if reason != said:
            log.warning("scheduler waiting: %s", reason)
            said = reason
        stop.wait(SCHEMA_POLL_SECONDS)
    return False


# Built once: the scheduler asks it five times a second, and building it cost more than running it.
_NOW = bindparam("now", type_=DateTime())
_DUE_WORK = select(timers.due_exists(_NOW), cron.due_exists(_NOW))


def _due_work(now: datetime | None = None) -> tuple[bool, bool]:
    """Whether a timer and whether a cron trigger is due, in one read that takes no write lock: most
    passes find nothing, and on SQLite a write transaction would queue behind the workers' for nothing."""
    try:
        timers_due, triggers_due = read_with_retries(
            session(), lambda: session().execute(_DUE_WORK, {"now": now or utc_now()}).one())
    except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
        log.exception("could not look for due timers and cron triggers")
        return False, False
    return bool(timers_due), bool(triggers_due)


def _fire_due(owner: str, dispatcher: Dispatcher, claim_seconds: float) -> int:
    try:
        claimed = with_retries(session(), lambda: timers.claim_due(session(), owner,
                                                                   claim_seconds=claim_seconds))
    except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
        log.exception("could not claim timers")
        db.session.rollback()
        return 0
    engine = Engine(session(), dispatcher)
    for timer_id, kind in claimed:
        try:
            if kind in ENGINE_TIMER_KINDS:
                engine.fire_timer(timer_id)
            else:
                log.error("no handler for timer kind %r; timer %s dropped", kind, timer_id)
            with_retries(session(), partial(timers.finish, session(), timer_id, owner))
        except Exception:  # noqa: BLE001 - the claim expires and the timer fires again
            log.exception("timer %s (%s) failed", timer_id, kind)
            db.session.rollback()
    return len(claimed)


def _fire_cron_triggers(dispatcher: Dispatcher) -> None:
    try:
        cron.fire_due(session(), Engine(session(), dispatcher))
    except Exception:  # noqa: BLE001 - the next pass tries again
        log.exception("cron triggers failed")
        db.session.rollback()


def _sweep(sweeper: Sweeper) -> None:
    try:
        sweeper.sweep()
    except Exception:  # noqa: BLE001 - the next sweep tries again
        log.exception("sweep failed")
        db.session.rollback()
    recorder = metrics.recorder()
    if sweeper.resent and recorder is not None:
        recorder.add(("tramontane_sweeper_resent", (kind,), count) for kind, count in sweeper.resent.items())
    sweeper.resent.clear()


def expiration_policy(settings: Settings) -> retention.Retention:
    states = tuple(s for s in retention.FINISHED if s not in settings.expiration_keep_states)
    return retention.Retention(settings.expiration_older_than, settings.expiration_max_finished, states,
                               settings.expiration_batch)


def _expire(policy: retention.Retention, dispatcher: Dispatcher) -> None:
    """One bounded batch per pass: a backlog of old executions is worked off over several passes."""
    try:
        purged = retention.purge_batch(Engine(session(), dispatcher), policy)
    except Exception:  # noqa: BLE001 - the next pass tries again
        log.exception("expiring old executions failed")
        db.session.rollback()
        return
    if purged:
        log.info("expired %d finished executions (with their sub-workflows)", len(purged))


def _beat(client: redis.Redis, owner: str) -> None:
    try:
        client.set(SCHEDULER_HEARTBEAT_KEY, f"{owner} {time.time():.0f}", ex=30)
    except redis.RedisError as exc:
        log.warning("could not write the scheduler heartbeat: %s", exc)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop
