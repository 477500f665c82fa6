"""One log format for every process: plain text by default, one JSON object per line with
``LOG_FORMAT=json``; ``LOG_LEVEL`` sets the level.

Lines about one execution carry its ids as fields (``extra={"execution_id": ...}``), so a log
store can answer "what happened to execution X" whichever process wrote the line.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

FORMATS = ("text", "json")
# Fields a line may carry besides its message; every process uses these names.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "execution_id", "task_id",
          "action_execution_id", "workflow_name", "task_name", "state", "previous_state")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_MARK = "_tramontane_handler"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName if record.processName != "MainProcess" else os.getpid(),
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """The message, then the ids it is about: ``... [execution_id=... task_id=...]``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{name}={getattr(record, name)}" for name in FIELDS
                  if getattr(record, name, None) is not None and name not in ("method", "path", "status")]
        return f"{text} [{' '.join(fields)}]" if fields else text


def log_format(env: dict[str, str] | None = None) -> str:
    value = ((env if env is not None else os.environ).get("LOG_FORMAT") or "text").strip().lower()
    if value not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else TextFormatter()


def configure(level: str | int = "INFO", kind: str = "text") -> None:
    """Give the root logger one handler of ours (again and again: the last call wins)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    setattr(handler, _MARK, True)
    handler.setFormatter(formatter(kind))
    root.addHandler(handler)
    root.setLevel(level)
    # Python's warnings (Celery's running-as-root one, deprecations) become lines of the format too.
    logging.captureWarnings(True)


def configured() -> bool:
    """Whether configure() has given the root logger its handler (in this process)."""
    return any(getattr(handler, _MARK, False) for handler in logging.getLogger().handlers)


def gunicorn_logconfig(level: str, kind: str) -> dict[str, Any]:
    """gunicorn's own loggers (start-up, workers) in the same format."""
    factory = "app.logs.JsonFormatter" if kind == "json" else "app.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tramontane": {"()": factory}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "tramontane"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            # The application writes one access line per request (app.access, with its request id
            # and duration); gunicorn's own would say the same again.
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
        # gunicorn merges its defaults in, whose root logger has a handler of its own: the root
        # logger is the application's (configure), or every line would show twice.
        "root": {"handlers": [], "level": level},
    }
