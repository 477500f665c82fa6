"""The REST API v2: one blueprint per resource, and one place mapping errors to HTTP."""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from app import metrics, openapi
from app.engine.errors import DSLError, EngineError
from app.ids import random_uuid
from app.resources import (
    action_executions,
    actions,
    cron_triggers,
    docs,
    environments,
    executions,
    prometheus,
    reports,
    root,
    security,
    sub_executions,
    tasks,
    unsupported,
    workbooks,
    workflows,
)

log = logging.getLogger(__name__)
access_log = logging.getLogger("app.access")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def register_api(app: Flask) -> None:
    for module in (root, workflows, workbooks, actions, environments, executions, tasks, action_executions,
                   cron_triggers, reports, sub_executions):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(security.blueprint)
    app.register_blueprint(unsupported.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(docs.blueprint)
    app.register_blueprint(prometheus.blueprint)
    app.before_request(_start_request)
    app.after_request(_access_log)
    app.before_request(_refuse_nul_characters)
    app.before_request(_refuse_xml)
    app.before_request(security.require_authentication)
    app.after_request(_security_headers)
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(ValidationError, _validation_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RecursionError, _too_deep)
    app.register_error_handler(Exception, _unexpected_error)
    app.add_url_rule("/console", "console", _console, methods=["GET", "POST"], strict_slashes=False)
    app.add_url_rule("/console/<path:path>", "console", _console, methods=["GET", "POST"])


def _console(path: str = "") -> ResponseReturnValue:
    """The web console, imported on its first request: a process that never serves it never loads it."""
    from app.console import dispatch

    return dispatch()


def _start_request() -> None:
    given = request.headers.get("X-Request-ID", "")
    # A caller's id is honoured when it is a short token (it ends up in every log line).
    g.request_id = given if REQUEST_ID.fullmatch(given) else random_uuid().hex
    g.request_started = time.monotonic()


def _access_log(response: Response) -> Response:
    request_id = getattr(g, "request_id", None) or random_uuid().hex
    response.headers["X-Request-ID"] = request_id
    duration = round((time.monotonic() - getattr(g, "request_started", time.monotonic())) * 1000, 1)
    access_log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, duration, extra={
        "request_id": request_id, "method": request.method, "path": request.path,
        "status": response.status_code, "duration_ms": duration})
    recorder = metrics.recorder()
    if recorder is not None:
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        recorder.observe("tramontane_api_request_duration_seconds", duration / 1000, request.method, route)
        if request.method in ("PUT", "POST") and security.COMPLETION.match(request.path):
            status = response.status_code
            recorder.count("tramontane_callbacks", str(status) if status in (200, 409) else f"{status // 100}xx")
    return response


def _security_headers(response: Response) -> Response:
    # No browser may guess a type other than the declared one (a JSON body rendered as HTML), and no
    # cache keeps API data, which may hold secrets and is stale the moment the engine moves on.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "application/json":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _refuse_nul_characters() -> None:
    # Decoded strictly: a silently replaced byte would store a definition other than the one sent.
    raw = request.get_data()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EngineError(f"The request body is not valid UTF-8: byte 0x{raw[exc.start]:02x} at position "
                          f"{exc.start} cannot be decoded.") from exc
    # No database stores NUL in text (PostgreSQL refuses it): say so instead of failing later.
    texts = [request.path, *request.args.keys(), *request.args.values(), body]
    if any("\x00" in text for text in texts) or "\\u0000" in body:
        raise EngineError("NUL characters are not accepted in paths, parameters or bodies.")


# Definitions travel as text to handlers outside Mistral's WSME layer, whose errors carry only a faultstring.
TEXT_DEFINITION_BLUEPRINTS = ("workflows", "workbooks", "actions")


def fault(status: int, message: str, **extra: object) -> ResponseReturnValue:
    body: dict[str, object] = {"faultcode": "Client" if status < 500 else "Server", "faultstring": message,
                               "debuginfo": None, **extra}
    if request.method in ("POST", "PUT") and request.blueprint in TEXT_DEFINITION_BLUEPRINTS:
        body = {"faultstring": message, **extra}
    return jsonify(body), status


def _refuse_xml() -> ResponseReturnValue | None:
    """Mistral refuses XML bodies with 415 (and names why in Server-Error-Message, which its client reads)."""
    mimetype = request.mimetype or ""
    if mimetype in ("text/xml", "application/xml") or mimetype.endswith("+xml"):
        message = "XML request bodies are not supported."
        response = jsonify({"faultcode": "Client", "faultstring": message, "debuginfo": None})
        response.headers["Server-Error-Message"] = message
        return response, 415
    return None


def _engine_error(exc: EngineError) -> ResponseReturnValue:
    if exc.http_status == 401:
        response = jsonify({"faultcode": "Client", "faultstring": str(exc), "debuginfo": None})
        # The client reads this header first when it builds its error.
        response.headers["Server-Error-Message"] = str(exc)
        return response, 401
    if isinstance(exc, DSLError):
        return fault(exc.http_status, str(exc), errors=exc.problems)
    return fault(exc.http_status, str(exc))


def _validation_error(exc: ValidationError) -> ResponseReturnValue:
    messages = exc.normalized_messages()
    if isinstance(messages, dict):
        problems = [f"{field}: {'; '.join(map(str, errs)) if isinstance(errs, list) else errs}"
                    for field, errs in messages.items()]
    else:
        problems = [str(messages)]
    return fault(400, "Invalid request: " + "; ".join(problems), errors=problems)


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return fault(exc.code or 500, exc.description or exc.name)


def _too_deep(exc: RecursionError) -> ResponseReturnValue:
    # Reading a YAML definition or a JSON body recurses once per level of nesting.
    log.info("request %s %s refused: nested too deeply to read", request.method, request.path)
    return fault(400, "The request is nested too deeply to be read (lists or mappings inside one another "
                      "hundreds of levels deep); no workflow needs that.")


def _unexpected_error(exc: Exception) -> ResponseReturnValue:
    log.exception("unexpected error")
    return fault(500, f"Internal error: {exc.__class__.__name__}")
