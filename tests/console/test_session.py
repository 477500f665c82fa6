"""Login, logout, the session cookie, CSRF and the security headers of the console."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import auth
from app.console import session as sessions
from app.console import web
from app.engine import environments
from app.engine.transactions import with_retries
from app.extensions import session
from app.resources.common import write
from tests.console.conftest import csrf_of


def _token(app: Flask, name: str, lifetime: timedelta | None = None) -> str:
    # A write unit, as `tramontane token create` does it: on SQLite a read that then writes, begun
    # deferred, fails at once ("database is locked") when another process wrote in between.
    with app.app_context():
        return with_retries(session(), lambda: auth.create_token(session(), name, lifetime))


def _revoke(app: Flask, name: str) -> None:
    with app.app_context():
        with_retries(session(), lambda: auth.revoke_token(session(), name))


def _cookie_header(response: object) -> str:
    headers = [v for k, v in response.headers.items() if k == "Set-Cookie"]  # type: ignore[attr-defined]
    assert headers, "no cookie set"
    return headers[-1]


def test_auth_off_needs_no_login(console: FlaskClient) -> None:
    page = console.get("/console/executions")
    assert page.status_code == 200
    assert "Log out" not in page.get_data(as_text=True)
    assert console.get("/console/login").status_code == 303


def test_auth_on_redirects_to_login_and_keeps_the_target(secured: FlaskClient) -> None:
    page = secured.get("/console/executions?state=ERROR")
    assert page.status_code == 303
    assert page.headers["Location"].startswith("/console/login?next=")
    assert "state%3DERROR" in page.headers["Location"] or "state=ERROR" in page.headers["Location"]
    assert secured.get("/console/executions/rows?fragment=1").status_code == 401


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(secured: FlaskClient, secured_app: Flask) -> None:
    token = _token(secured_app, "console-login")
    csrf = csrf_of(secured, "/console/login")
    wrong = secured.post("/console/login", data={"token": "trm_wrong", "csrf_token": csrf})
    assert wrong.status_code == 401
    assert "not valid" in wrong.get_data(as_text=True)
    answer = secured.post("/console/login", data={"token": token, "csrf_token": csrf,
                                                  "next": "/console/executions?state=ERROR"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/executions?state=ERROR"
    cookie = _cookie_header(answer)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    assert token not in cookie
    page = secured.get("/console/executions")
    assert page.status_code == 200
    assert "console-login" in page.get_data(as_text=True)
    # The login changed the CSRF token: the one from before no longer works.
    assert secured.post("/console/logout", data={"csrf_token": csrf}).status_code == 403
    out = secured.post("/console/logout", data={"csrf_token": csrf_of(secured)})
    assert out.status_code == 303 and out.headers["Location"] == "/console/login"
    assert secured.get("/console/executions").status_code == 303


def test_a_login_redirect_stays_on_the_console(secured: FlaskClient, secured_app: Flask) -> None:
    token = _token(secured_app, "console-next")
    csrf = csrf_of(secured, "/console/login")
    answer = secured.post("/console/login", data={"token": token, "csrf_token": csrf,
                                                  "next": "https://elsewhere.example/"})
    assert answer.headers["Location"] == "/console/executions"


def test_a_revoked_token_ends_its_sessions(secured: FlaskClient, secured_app: Flask) -> None:
    token = _token(secured_app, "console-revoked")
    secured.post("/console/login", data={"token": token, "csrf_token": csrf_of(secured, "/console/login")})
    assert secured.get("/console/executions").status_code == 200
    _revoke(secured_app, "console-revoked")
    assert secured.get("/console/executions").status_code == 303


def test_a_session_ends_after_its_lifetime(secured: FlaskClient, secured_app: Flask,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real_time = time.time
    token = _token(secured_app, "console-lifetime")
    secured.post("/console/login", data={"token": token, "csrf_token": csrf_of(secured, "/console/login")})
    assert secured.get("/console/executions").status_code == 200
    # A session whose cookie was signed again since (a message shown) still ends on time.
    monkeypatch.setattr(sessions.time, "time", lambda: real_time() + sessions.SESSION_SECONDS - 5)
    csrf = csrf_of(secured, "/console/environments")
    name = f"lifetime-{uuid.uuid4().hex[:8]}"
    made = secured.post("/console/environments", data={"csrf_token": csrf, "name": name})
    assert made.status_code == 303 and "Set-Cookie" in made.headers
    with secured_app.app_context():
        write(lambda: session().delete(environments.get(session(), name)))
    monkeypatch.setattr(sessions.time, "time", lambda: real_time() + sessions.SESSION_SECONDS + 5)
    assert secured.get("/console/executions").status_code == 303


def test_a_link_from_another_site_keeps_the_session(secured: FlaskClient, secured_app: Flask) -> None:
    """Browsers hold the strict cookie back on a link from elsewhere: the page reloads itself from
    this site instead of logging the user out."""
    token = _token(secured_app, "console-cross-site")
    secured.post("/console/login", data={"token": token, "csrf_token": csrf_of(secured, "/console/login")})
    cookie = secured.get_cookie("tramontane_console", path="/console")
    assert cookie is not None
    secured.delete_cookie("tramontane_console", path="/console")  # what the browser does not send
    arrived = secured.get("/console/executions", headers={"Sec-Fetch-Site": "cross-site"})
    assert arrived.status_code == 200
    assert 'http-equiv="refresh"' in arrived.get_data(as_text=True)
    assert "Set-Cookie" not in arrived.headers
    secured.set_cookie("tramontane_console", cookie.value, path="/console")
    assert secured.get("/console/executions", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_cookie_is_secure_under_https(secured: FlaskClient) -> None:
    page = secured.get("/console/login", base_url="https://console.example")
    assert "Secure" in _cookie_header(page)


def test_v2_never_accepts_the_console_cookie(secured: FlaskClient, secured_app: Flask) -> None:
    token = _token(secured_app, "console-v2")
    secured.post("/console/login", data={"token": token, "csrf_token": csrf_of(secured, "/console/login")})
    assert secured.get("/console/executions").status_code == 200
    # The cookie's path keeps browsers from sending it to /v2; sent anyway, it is worth nothing there.
    cookie = secured.get_cookie("tramontane_console", path="/console")
    assert cookie is not None
    answer = secured.get("/v2/executions", headers={"Cookie": f"tramontane_console={cookie.value}"})
    assert answer.status_code == 401
    assert secured.get("/v2/executions", headers={"X-Auth-Token": token}).status_code == 200


def test_a_form_without_its_csrf_token_is_refused(console: FlaskClient) -> None:
    csrf_of(console, "/console/environments")
    missing = console.post("/console/logout", data={})
    assert missing.status_code == 403
    assert "security token" in missing.get_data(as_text=True)
    assert console.post("/console/logout", data={"csrf_token": "forged"}).status_code == 403
    token = csrf_of(console, "/console/environments")
    assert console.post("/console/logout", data={"csrf_token": token}).status_code == 303


def test_security_headers(console: FlaskClient) -> None:
    page = console.get("/console/executions")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_unknown_pages_and_methods(console: FlaskClient) -> None:
    assert console.get("/console/no-such-page").status_code == 404
    assert console.get("/console/executions/no-such-id").status_code == 404
    assert console.post("/console/executions", data={}).status_code in (403, 405)
    assert console.get("/console").status_code == 308


def test_a_failing_page_answers_a_page(console: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise ValueError("bug")

    console.get("/console/environments")  # the console is loaded
    monkeypatch.setitem(web.views, "environments", broken)
    page = console.get("/console/environments")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "ValueError" in page.get_data(as_text=True)


def test_the_console_is_loaded_only_when_used(settings: object) -> None:
    """A process serving only the API never imports the console (nor Pygments)."""
    program = (
        "import sys\n"
        "from app.config import Settings\n"
        "from app.factory import create_app\n"
        "from app.engine.dispatch import CollectingDispatcher\n"
        "app = create_app(Settings.from_env(), dispatcher=CollectingDispatcher())\n"
        "client = app.test_client()\n"
        "client.get('/v2')\n"
        "assert 'app.console' not in sys.modules and 'pygments' not in sys.modules, 'loaded early'\n"
        "assert client.get('/console/executions').status_code == 200\n"
        "assert 'app.console' in sys.modules\n"
        "print('ok')\n"
    )
    env = {"TRAMONTANE_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,  # type: ignore[attr-defined]
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("target", ["//elsewhere.test/", "https://elsewhere.test/", "/console/../v2/executions",
                                    "/console/%2e%2e/v2/executions", "/console//elsewhere.test",
                                    "/console/x\r\nX-Injected: 1", "/console/\\elsewhere.test"])
def test_a_login_never_leads_off_the_console(secured: FlaskClient, secured_app: Flask, target: str) -> None:
    token = _token(secured_app, f"console-next-{uuid.uuid4().hex[:6]}")
    answer = secured.post("/console/login", data={"token": token, "next": target,
                                                  "csrf_token": csrf_of(secured, "/console/login")})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/executions"
    assert "X-Injected" not in answer.headers


def test_a_missing_static_file_is_a_404_page(console: FlaskClient) -> None:
    for path in ("/console/static/no-such.css", "/console/static/%2e%2e/web.py"):
        answer = console.get(path)
        assert answer.status_code == 404, path
        assert "There is no console page at this address." in answer.get_data(as_text=True)
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert console.get("/console/executions/no-such-id").get_data(as_text=True).count("<h1>Not found</h1>") == 1
