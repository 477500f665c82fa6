"""The web console at ``/console/``: server-rendered pages over the same engine operations as the API.

Imported on the first ``/console`` request only (see ``app.api``): importing this package loads
every console page, its templates' helpers and Pygments.

A page module registers its views with ``app.console.web.route`` (``@route("/path", methods=...)``;
the endpoint is the function's name, linked with ``url(endpoint, **values)``), renders templates
of ``templates/console/`` that extend ``console/base.html`` with ``web.render(name, section=...)``,
puts ``{{ csrf_field() }}`` in every form, and is listed in ``PAGES`` below. A navigation entry
(``web.NAV``) shows once its endpoint exists.
"""

from __future__ import annotations

from flask import Response

from app.console import cron_triggers, environments, execution, executions, inbox, session_views, workflows
from app.console.web import dispatch as _dispatch

# The page modules register their routes as they are imported.
PAGES = (session_views, executions, execution, inbox, workflows, cron_triggers, environments)


def dispatch() -> Response:
    return _dispatch()
