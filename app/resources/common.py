"""What every resource module shares: the engine, request parsing, the time format of reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app, request

from app.config import Settings
from app.engine import limits
from app.engine.dispatch import Dispatcher
from app.engine.errors import EngineError, NotAllowed
from app.engine.service import Engine
from app.engine.transactions import with_retries
from app.extensions import session
from app.resources.bodies import refuse_other_content_types

T = TypeVar("T")


def settings() -> Settings:
    value: Settings = current_app.config["TRAMONTANE"]
    return value


def engine() -> Engine:
    dispatcher: Dispatcher | None = current_app.extensions.get("tramontane.dispatcher")
    if dispatcher is None:
        raise RuntimeError("no dispatcher is configured for this application")
    return Engine(session(), dispatcher, settings().worker_heartbeat_seconds)


def time_text(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def json_body() -> dict[str, Any]:
    refuse_other_content_types()
    body = request.get_json(silent=True)
    if body is None:
        raise EngineError("The request body must be a JSON object.")
    if not isinstance(body, dict):
        raise EngineError("The request body must be a JSON object.")
    return body


def text_body() -> str:
    text = request.get_data(as_text=True)
    limits.check_definition(text)
    return text


SCOPES = ("private", "public")


def namespace_arg() -> str:
    return request.args.get("namespace") or ""


def scope_arg() -> str:
    scope = request.args.get("scope") or "private"
    if scope not in SCOPES:
        raise EngineError(f"Scope must be one of the following: {{'private', 'public'}}; actual: {scope}")
    return check_scope(scope)


def check_scope(scope: str) -> str:
    """Making something public takes an administrator in Mistral, and there is none here: refused alike."""
    if scope == "public":
        raise NotAllowed("Operation forbidden (insufficient permissions)")
    return scope


def write(unit: Callable[[], T]) -> T:
    """Run a change in a write transaction of its own (retried on transient errors) and commit."""
    return with_retries(session(), unit)
