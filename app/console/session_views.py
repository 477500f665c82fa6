"""Logging in with an API token, logging out, and the console's static files."""

from __future__ import annotations

import posixpath
from functools import cache
from typing import cast
from urllib.parse import unquote

from flask import Response, request, send_from_directory
from pygments.formatters import HtmlFormatter

from app import auth
from app.console.web import (
    HERE,
    form_text,
    log_in,
    log_out,
    logged_in,
    redirect_to,
    render,
    route,
    see_other,
    settings,
    url,
)
from app.extensions import session


@route("/login", methods=("GET", "POST"))
def login() -> Response:
    target = _safe_next(request.values.get("next", ""))
    if not settings().auth_enabled or (request.method == "GET" and logged_in()):
        return see_other(target or _home())
    error = None
    if request.method == "POST":
        row = auth.find_valid(session(), form_text("token"))
        if row is not None:
            log_in(row)
            return see_other(target or _home())
        error = "This token is not valid (unknown, revoked or expired)."
    return render("console/login.html", status=401 if error else 200, error=error, next=target)


def _home() -> str:
    return url("executions")


def _safe_next(target: str) -> str:
    """Only a console path of this site: a login link must not send anyone elsewhere, nor out of the
    console by dot segments, nor carry control characters into the Location header."""
    if any(ord(char) < 0x20 or char in "\\\x7f" for char in target):
        return ""
    # Browsers resolve dot segments, escaped ones too, before they follow a Location.
    path = unquote(target.partition("?")[0])
    if not path.startswith("/console/") or posixpath.normpath(path) != path.rstrip("/"):
        return ""
    return target


@route("/logout", methods=("POST",))
def logout() -> Response:
    log_out()
    return redirect_to("login") if settings().auth_enabled else redirect_to("executions")


@route("/static/<path:name>")
def static(name: str) -> Response:
    if name == "highlight.css":
        response = Response(_highlight_css(), mimetype="text/css")
    else:
        response = cast(Response, send_from_directory(HERE / "static", name))
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@cache
def _highlight_css() -> str:
    # The colours of Pygments' highlighting, from the package itself rather than a copied file.
    return str(HtmlFormatter(style="friendly").get_style_defs(".hl"))
