"""The web console at ``/console/``: server-rendered pages over the same engine operations as the API.

Imported on the first ``/console`` request only (see ``app.api``): importing this package loads
every console page, its templates' helpers and Pygments.
"""

from __future__ import annotations

from flask import Response

from app.console import environments, execution, executions, session_views
from app.console.web import dispatch as _dispatch

# The page modules register their routes as they are imported.
PAGES = (session_views, executions, execution, environments)


def dispatch() -> Response:
    return _dispatch()
