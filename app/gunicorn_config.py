"""gunicorn settings for the web process: ``gunicorn -c python:app.gunicorn_config ...``.

The bind address is known only here (the Procfile passes it on the command line), so this is where
an API about to serve the network without authentication is stopped.
"""

from __future__ import annotations

import os
from typing import Any

from app.exposure import unauthenticated_exposure


def on_starting(server: Any) -> None:
    error, warning = unauthenticated_exposure(server.cfg.bind, os.environ)
    if error:
        # gunicorn prints a RuntimeError raised here as one line and exits with status 1.
        raise RuntimeError(error)
    if warning:
        server.log.warning(warning)
