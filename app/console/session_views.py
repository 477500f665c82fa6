"""Logging in with an API token, logging out, and the console's static files."""

from __future__ import annotations

from functools import cache
from typing import cast

from flask import Response, request, send_from_directory
from pygments.formatters import HtmlFormatter

from app import auth
from app.console.session import log_in, log_out, logged_in, settings
from app.console.web import HERE, form_text, local_path, redirect_to, render, route, see_other, url
from app.extensions import session


@route("/login", methods=("GET", "POST"))
def login() -> Response:
    target = local_path(request.values.get("next", ""))
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
