"""Celery settings. There is no result backend.

Redis only carries work that the database can re-create, so no message is trusted blindly:
every task re-reads its row and checks its state first.

The module's names are the settings every deployment shares; :func:`from_settings` gives the ones
that come from the process's :class:`~app.config.Settings` (the broker, the pool). Importing it reads
no environment.
"""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.workers.redis_broker import transport_for

broker_connection_retry_on_startup = True
broker_transport_options = {"visibility_timeout": 3600}
result_backend = None
task_ignore_result = True
task_serializer = "json"
accept_content = ["json"]
result_serializer = "json"
timezone = "UTC"
enable_utc = True
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_default_queue = "tramontane"
# Flower shows a task from the worker's task events (received, started, succeeded or failed; the
# received one carries the shadow name, the arguments' repr and the ids). Producers send no
# "task-sent" event: Flower does not need it, and it made every message sent cost a second publish
# (about a quarter of a send's CPU; docs/benchmarks.md, finding 18).
worker_send_task_events = True
task_send_sent_event = False
worker_hijack_root_logger = False


def from_settings(settings: Settings) -> dict[str, Any]:
    """The Celery settings that a deployment chooses: the broker (``REDIS_URL``) and the pool."""
    chosen = {
        "broker_url": settings.broker_url,
        # WORKER_POOL is the one way to choose the pool: Celery lets this setting override `--pool prefork`.
        "worker_pool": settings.worker_pool,
    }
    transport = transport_for(settings.broker_url)
    if transport is not None:
        # kombu's Redis transport, reusing one client per channel (app.workers.redis_broker).
        chosen["broker_transport"] = transport
    return chosen
