"""The console's plumbing: its routes, its session cookie, CSRF, headers and templates.

The console is not a Flask blueprint: the API registers one catch-all route that imports this
package on the first ``/console`` request (a process that never serves the console never loads
it), so the console keeps its own werkzeug routing map, built as its view modules are imported.

The session is a signed cookie (no server-side store): with authentication on it names the API
token the user logged in with, and the token is checked again on every request, so revoking it
ends every session made with it. It always carries the CSRF token that every form posts back.
"""

from __future__ import annotations

import hmac
import logging
import posixpath
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, MapAdapter, RequestRedirect, Rule

from app.config import Settings
from app.console.present import FILTERS
from app.engine.errors import EngineError
from app.extensions import db
from app.models import ApiToken, utc_now

log = logging.getLogger(__name__)
PREFIX = "/console"
HERE = Path(__file__).resolve().parent
COOKIE = "tramontane_console"
# A console session ends this long after login (or after the token's own expiry, if sooner).
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf_token"
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


@dataclass
class ConsoleSession:
    csrf: str
    token_id: str | None = None
    user: str | None = None
    started: float = field(default_factory=time.time)
    flash: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"csrf": self.csrf, "token_id": self.token_id, "user": self.user, "started": self.started,
                "flash": self.flash}


def settings() -> Settings:
    value: Settings = current_app.config["TRAMONTANE"]
    return value


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt="tramontane-console-session")


def _load_session() -> ConsoleSession:
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer().loads(raw, max_age=SESSION_SECONDS)
            state = ConsoleSession(csrf=data["csrf"], token_id=data.get("token_id"), user=data.get("user"),
                                   started=float(data.get("started") or 0),
                                   flash=[tuple(f) for f in data.get("flash") or []])
            # The cookie is signed again whenever it changes: the login's own time bounds the session.
            if state.token_id and time.time() - state.started > SESSION_SECONDS:
                state.token_id = state.user = None
                state.changed = True
            return state
        except (BadSignature, KeyError, TypeError, ValueError):
            pass
    return ConsoleSession(csrf=secrets.token_urlsafe(32), changed=True)


def console_session() -> ConsoleSession:
    state: ConsoleSession = g.console_session
    return state


def _token_alive(token_id: str | None) -> ApiToken | None:
    row = db.session.get(ApiToken, token_id) if token_id else None
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utc_now():
        return None
    return row


def logged_in() -> bool:
    """With authentication off everyone is; with it on, a session whose token is still live."""
    return not settings().auth_enabled or getattr(g, "console_user_token", None) is not None


def log_in(row: ApiToken) -> None:
    state = console_session()
    # A new session identity and CSRF token at login, so nothing planted before it survives.
    state.csrf, state.token_id, state.user, state.started = secrets.token_urlsafe(32), row.id, row.name, time.time()
    state.changed = True


def log_out() -> None:
    state = console_session()
    state.csrf, state.token_id, state.user = secrets.token_urlsafe(32), None, None
    state.changed = True


def flash(kind: str, text: str) -> None:
    """A message shown once on the next page (kind: ``ok`` or ``error``)."""
    state = console_session()
    state.flash.append((kind, text[:1500]))
    state.changed = True


def take_flashes() -> list[tuple[str, str]]:
    state = console_session()
    messages, state.flash = state.flash, []
    if messages:
        state.changed = True
    return messages


def url(endpoint: str, **values: Any) -> str:
    adapter: MapAdapter = g.console_adapter
    return adapter.build(endpoint, {k: v for k, v in values.items() if v is not None and v != ""})


def static_url(name: str) -> str:
    return url("static", name=name)


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, console_session().csrf)


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
    g.console_session = _load_session()
    state = console_session()
    token = _token_alive(state.token_id) if settings().auth_enabled else None
    g.console_user_token = token
    if state.token_id and token is None:
        log_out()
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
    if request.method == "POST" and not _csrf_ok():
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


def _csrf_ok() -> bool:
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    return bool(sent) and hmac.compare_digest(sent, console_session().csrf)


def _finish(response: Response, keep_cookie: bool = False) -> Response:
    state = None if keep_cookie else console_session()
    if state is not None and state.changed:
        secure = request.is_secure or settings().public_url.startswith("https://")
        response.set_cookie(COOKIE, _serializer().dumps(state.to_dict()), max_age=SESSION_SECONDS,
                            path=PREFIX, secure=secure, httponly=True, samesite="Strict")
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
