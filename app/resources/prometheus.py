"""``GET /metrics``: the Prometheus text of the service (see :mod:`app.metrics`); protected like the
API when authentication is on."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import redis
from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from app import metrics
from app.engine.claims import DELIVERED, SENDING
from app.extensions import db, session
from app.health import status_client
from app.models import ActionExecution, Timer, WorkflowExecution, utc_now
from app.resources.common import settings

if TYPE_CHECKING:
    from prometheus_client.core import Metric

blueprint = Blueprint("metrics", __name__)
OVERDUE_SECONDS = 30
_gauges = metrics.Cache()
GAUGE_LABELS: dict[str, tuple[str, ...]] = {}


def _database_gauges() -> dict[str, tuple[str, list[tuple[tuple[str, ...], float]]]]:
    now = utc_now()
    waiting = (ActionExecution.state == "RUNNING", ActionExecution.worker_id.in_([DELIVERED, SENDING]))
    count, oldest = session().execute(
        select(func.count(), func.min(ActionExecution.created_at)).where(*waiting)).one()
    due = session().scalar(select(func.count()).where(Timer.due_at <= now)) or 0
    overdue = session().scalar(
        select(func.count()).where(Timer.due_at <= now - timedelta(seconds=OVERDUE_SECONDS))) or 0
    running = session().scalar(select(func.count()).where(WorkflowExecution.state == "RUNNING")) or 0
    db.session.rollback()
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return {
        "tramontane_actions_waiting_for_callback": ("Async actions sent and waiting for their completion",
                                                    [((), float(count))]),
        "tramontane_oldest_waiting_action_age_seconds": ("Age of the oldest action waiting for its completion",
                                                         [((), max(age, 0.0))]),
        "tramontane_timers_due": ("Timers due now", [((), float(due))]),
        "tramontane_timers_overdue": (f"Timers due for more than {OVERDUE_SECONDS} s (is a scheduler running?)",
                                      [((), float(overdue))]),
        "tramontane_executions_running": ("Executions running", [((), float(running))]),
    }


class _Scrape:
    """One scrape's families, as prometheus-client's registry collects them."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Any:
        return iter(self.families)


@blueprint.get("/metrics")
def scrape() -> ResponseReturnValue:
    # Loaded by the first scrape (about 10 MiB with what it imports), not by every API process.
    from prometheus_client import CollectorRegistry, generate_latest

    try:
        shared = metrics.read_shared(status_client(settings().broker_url))
    except redis.RedisError:
        shared = {}  # the gauges still tell what the database knows
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape(list(metrics.families(shared, _gauges.get(_database_gauges), GAUGE_LABELS))))
    return Response(generate_latest(registry), mimetype="text/plain", headers={"Cache-Control": "no-store"})
