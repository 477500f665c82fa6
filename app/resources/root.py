"""``GET /``, ``GET /v2`` and ``GET /health``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from app import auth
from app.engine.timers import overdue_count
from app.extensions import db, session
from app.health import redis_status
from app.resources.common import settings
from app.resources.security import presented_token

blueprint = Blueprint("root", __name__)


@blueprint.get("/")
def versions() -> ResponseReturnValue:
    base = settings().public_url
    return jsonify({"versions": [{
        "id": "v2.0", "status": "CURRENT",
        "links": [{"href": f"{base}/v2", "target": "v2", "rel": "self"}],
    }], "docs": f"{base}/v2/docs"})


@blueprint.get("/v2")
@blueprint.get("/v2/")
def v2_root() -> ResponseReturnValue:
    return jsonify({"uri": f"{settings().public_url}/v2"})


@blueprint.get("/health")
def health() -> ResponseReturnValue:
    broker, scheduler, workers = redis_status(settings())
    database = _database_status()
    checks: dict[str, Any] = {"database": database, "broker": broker, "scheduler": scheduler, "workers": workers}
    healthy = database["ok"] and broker["ok"]
    if database["ok"]:
        checks["overdue_timers"] = overdue_count(session())
        db.session.rollback()
    status = "ok" if healthy else "degraded"
    if settings().auth_enabled and auth.find_valid(session(), presented_token()) is None:
        # A load balancer needs only the status; worker names, hosts and errors are for operators.
        db.session.rollback()
        return jsonify({"status": status}), 200 if healthy else 503
    return jsonify({"status": status, **checks}), 200 if healthy else 503


def _database_status() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        db.session.rollback()
        return {"ok": False, "error": str(exc)}
