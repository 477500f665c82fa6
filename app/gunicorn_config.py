"""gunicorn settings for the web process: ``gunicorn -c python:app.gunicorn_config ...``.

The bind address is known only here (the Procfile passes it on the command line), so this is where
an API about to serve the network without authentication is stopped.
"""

from __future__ import annotations

import os
from typing import Any

from app import logs
from app.exposure import unauthenticated_exposure

# gunicorn's own lines (start-up, workers, signals) in the format of every other process.
logconfig_dict = logs.gunicorn_logconfig((os.environ.get("LOG_LEVEL") or "INFO").upper(), logs.log_format())


def on_starting(server: Any) -> None:
    error, warning = unauthenticated_exposure(server.cfg.bind, os.environ)
    if error:
        if logs.log_format() == "json":
            # One JSON line like every other, where gunicorn would print the RuntimeError as text.
            server.log.error(error)
            raise SystemExit(1)
        # gunicorn prints a RuntimeError raised here as one line and exits with status 1.
        raise RuntimeError(error)
    if warning:
        server.log.warning(warning)
