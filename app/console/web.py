"""The console's plumbing: its routes, headers and templates (the session and CSRF: ``app.console.session``).

The console is not a Flask blueprint: the API registers one catch-all route that imports this
package on the first ``/console`` request (a process that never serves the console never loads
it), so the console keeps its own werkzeug routing map, built as its view modules are imported.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flask import Response, g, request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, MapAdapter, RequestRedirect, Rule

from app.console.present import FILTERS
from app.console.session import (
    COOKIE,
    CSRF_FIELD,
    console_session,
    csrf_field,
    csrf_ok,
    logged_in,
    open_session,
    save_session,
    settings,
    take_flashes,
)
from app.engine.errors import EngineError
from app.extensions import db

log = logging.getLogger(__name__)
PREFIX = "/console"
HERE = Path(__file__).resolve().parent
# Pages a visitor may see without a session when authentication is on.
PUBLIC_ENDPOINTS = {"login", "static"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

View = Callable[..., Any]
url_map = Map(strict_slashes=True, merge_slashes=False)
views: dict[str, View] = {}
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "svg"]),
                        trim_blocks=True, lstrip_blocks=True)


def route(rule: str, methods: tuple[str, ...] = ("GET",), endpoint: str | None = None) -> Callable[[View], View]:
    """Register a console page at ``/console<rule>``; the endpoint is the function's name."""
    def register(view: View) -> View:
        name = endpoint or view.__name__
        if name in views:
            raise RuntimeError(f"two console views named {name!r}")
        url_map.add(Rule(PREFIX + rule, endpoint=name, methods=list(methods)))
        views[name] = view
        return view
    return register


class Refused(EngineError):
    """A console request refused before any view runs (a form without its CSRF token)."""

    http_status = 403


def url(endpoint: str, **values: Any) -> str:
    adapter: MapAdapter = g.console_adapter
    return adapter.build(endpoint, {k: v for k, v in values.items() if v is not None and v != ""})


def static_url(name: str) -> str:
    return url("static", name=name)


NAV = (("executions", "Executions"), ("inbox", "Waiting for a callback"), ("workflows", "Workflows"),
       ("cron_triggers", "Cron triggers"), ("environments", "Environments"))


def nav_items() -> list[tuple[str, str, bool]]:
    """(url, label, current) for every section whose page exists."""
    current = getattr(g, "console_section", None) or getattr(g, "console_endpoint", None)
    return [(url(name), label, name == current) for name, label in NAV if name in views]


templates.filters.update(FILTERS)
templates.globals.update(url=url, static_url=static_url, csrf_field=csrf_field, nav_items=nav_items,
                         session=console_session, take_flashes=take_flashes, logged_in=logged_in,
                         auth_enabled=lambda: settings().auth_enabled)


def render(template: str, status: int = 200, section: str | None = None, **context: Any) -> Response:
    """A page (or fragment) from ``templates/``; ``section`` marks the navigation entry as current."""
    if section:
        g.console_section = section
    return Response(templates.get_template(template).render(**context), status=status,
                    mimetype="text/html")


def redirect_to(endpoint: str, **values: Any) -> Response:
    return see_other(url(endpoint, **values))


def see_other(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


def local_path(target: str, under: str = PREFIX + "/") -> str:
    """``target`` if it is a path of this site under ``under``, else "": a link given in a request
    (a login's ``next``, a form's way back) must not send anyone elsewhere, nor climb out by dot
    segments, nor carry control characters into a Location header."""
    if any(ord(char) < 0x20 or char in "\\\x7f" for char in target):
        return ""
    # Browsers resolve dot segments, escaped ones too, before they follow a Location.
    path = unquote(target.partition("?")[0])
    if not path.startswith(under) or posixpath.normpath(path) != path.rstrip("/"):
        return ""
    return target


def form_text(name: str, default: str = "") -> str:
    return (request.form.get(name) or default).strip()


def dispatch() -> Response:
    """Route one ``/console`` request: session, login and CSRF checks, the view, the headers."""
    adapter = url_map.bind_to_environ(request.environ)
    g.console_adapter = adapter
    if _arrived_from_elsewhere():
        return _finish(render("console/continue.html", title="Tramontane"), keep_cookie=True)
    open_session()
    try:
        endpoint, args = adapter.match()
        g.console_endpoint = endpoint
        response = _run(endpoint, dict(args))
    except RequestRedirect as moved:
        response = Response(status=308, headers={"Location": moved.new_url})
    except NotFound:
        response = render("console/error.html", status=404, title="Not found",
                          message="There is no console page at this address.")
    except MethodNotAllowed:
        response = render("console/error.html", status=405, title="Not allowed",
                          message=f"This page does not take {request.method} requests.")
    return _finish(response)


def _arrived_from_elsewhere() -> bool:
    """A link from another site: the browser holds back the SameSite=Strict cookie, so answering
    would show the login page (and replace the session). A page that reloads itself from this site
    gets the cookie sent; it sets none."""
    return (request.method == "GET" and COOKIE not in request.cookies
            and request.headers.get("Sec-Fetch-Site") == "cross-site")


def _run(endpoint: str, args: dict[str, Any]) -> Response:
    if request.method == "POST" and not csrf_ok():
        return render("console/error.html", status=403, title="Form refused",
                      message="The form was sent without its security token (or with a stale one). "
                              "Reload the page and send it again.")
    if endpoint not in PUBLIC_ENDPOINTS and not logged_in():
        if request.method == "GET" and not request.args.get("fragment"):
            return see_other(url("login", next=request.full_path.rstrip("?")))
        return render("console/error.html", status=401, title="Logged out",
                      message="Your console session has ended: log in again.")
    try:
        result = views[endpoint](**args)
    except EngineError as exc:
        db.session.rollback()
        return render("console/error.html", status=exc.http_status, title=_error_title(exc.http_status),
                      message=str(exc))
    except HTTPException as exc:
        # Werkzeug's own refusals (a static file that is not there) are answers, not bugs.
        db.session.rollback()
        status = exc.code or 400
        return render("console/error.html", status=status, title=_error_title(status),
                      message="There is no console page at this address." if status == 404 else str(exc.description))
    except Exception as exc:
        # A bug: logged with its traceback, answered as a page rather than the API's JSON.
        log.exception("console page %s failed", request.path)
        db.session.rollback()
        return render("console/error.html", status=500, title="Internal error",
                      message=f"The page failed ({exc.__class__.__name__}); the service's log has the details.")
    return result if isinstance(result, Response) else Response(result, mimetype="text/html")


def _error_title(status: int) -> str:
    return {401: "Logged out", 403: "Refused", 404: "Not found", 409: "Conflict"}.get(status, "Refused")


def _finish(response: Response, keep_cookie: bool = False) -> Response:
    if not keep_cookie:
        save_session(response)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype in ("text/html", "application/json"):
        # Pages show live state and may hold data a shared cache must not keep.
        response.headers["Cache-Control"] = "no-store"
    return response


def confirmation(question: str, back: str) -> Response | None:
    """Without ``confirmed=1`` (set by the page's script once the user agreed), a page that asks
    ``question`` and sends the same form again; None when confirmed."""
    if request.form.get("confirmed") == "1":
        return None
    fields = [(key, value) for key, value in request.form.items(multi=True) if key not in (CSRF_FIELD, "confirmed")]
    return render("console/confirm.html", title="Confirm", question=question, fields=fields,
                  action=request.path, back=back)
