"""The console's session: a signed cookie (no server-side store), its lifetime, login and CSRF.

With authentication on the session names the API token the user logged in with, and the token is
checked again on every request, so revoking it ends every session made with it. It always carries
the CSRF token that every form posts back. A request's session lives in ``flask.g`` from
``open_session`` (before the view) to ``save_session`` (on its response).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup

from app.config import Settings
from app.extensions import db
from app.models import ApiToken, utc_now

COOKIE = "tramontane_console"
# The cookie's path: browsers send it to the console only, never to /v2.
COOKIE_PATH = "/console"
# A console session ends this long after login (or after the token's own expiry, if sooner).
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf_token"


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


def open_session() -> None:
    """Read the request's session; one whose token was revoked or expired is logged out."""
    g.console_session = _load_session()
    state = console_session()
    token = _token_alive(state.token_id) if settings().auth_enabled else None
    g.console_user_token = token
    if state.token_id and token is None:
        log_out()


def save_session(response: Response) -> None:
    """Sign the session into the response's cookie, if it changed."""
    state = console_session()
    if state.changed:
        secure = request.is_secure or settings().public_url.startswith("https://")
        response.set_cookie(COOKIE, _serializer().dumps(state.to_dict()), max_age=SESSION_SECONDS,
                            path=COOKIE_PATH, secure=secure, httponly=True, samesite="Strict")


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, console_session().csrf)



def csrf_ok() -> bool:
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    return bool(sent) and hmac.compare_digest(sent, console_session().csrf)
