"""The real browser shared by the console and docs tests.

`browser` is one headless chromium for the whole run (starting one costs a second or two), at
1280x800; each test that uses it gets it back at that size, whatever the test did. Tests in this
folder carry the `browser` marker: they test the pages, not the store, so they run on one database
(SQLite) and are deselected when the suite runs on PostgreSQL (tests/conftest.py). Helpers are in
tests/support/browser.py: wait_until, save_screenshot, phone_width (390 px), console_messages,
resource_urls. A failing test leaves a screenshot of its page in the run's temporary folder; the
failure report gives its path.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from werkzeug.serving import make_server

from app import auth, extensions
from app.config import Settings
from app.engine.dispatch import CollectingDispatcher
from app.engine.transactions import with_retries
from app.factory import create_app
from tests.support.browser import DESKTOP, resize, save_screenshot, start_chromium


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    folder = tmp_path_factory.mktemp("chromium")
    driver = start_chromium(folder / "profile", log_path=folder / "chromedriver.log")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def secured_api(settings: Settings) -> Iterator[tuple[str, str]]:
    """The API and console with authentication on, served over real HTTP by a thread of the test,
    and a token: (base URL, token). Logging in, reading /v2/docs and "Try it out" on reads need no
    worker or broker behind it."""
    flask_app = create_app(replace(settings, auth_enabled=True), dispatcher=CollectingDispatcher())
    with flask_app.app_context():
        session = extensions.session()
        # A write unit (on SQLite a deferred read that then writes fails when another process wrote).
        token = with_retries(session, lambda: auth.create_token(session, f"browser-{uuid.uuid4().hex[:8]}"))
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="secured-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", token
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _fresh_for_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with an empty console log (what earlier pages logged is theirs) and gives
    the next test the browser at the desktop size, whatever this one did."""
    if "browser" in request.fixturenames:
        request.getfixturevalue("browser").get_log("browser")  # reading the log empties it
    yield
    if "browser" in request.fixturenames:
        resize(request.getfixturevalue("browser"), *DESKTOP)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    driver = getattr(item, "funcargs", {}).get("browser")
    if report.when == "call" and report.failed and driver is not None:
        folder = item.config._tmp_path_factory.getbasetemp() / "browser-failures"  # type: ignore[attr-defined]
        try:
            path = save_screenshot(driver, folder / f"{item.name}.png")
            report.sections.append(("browser", f"screenshot: {path}\npage: {driver.current_url}"))
        except Exception as error:  # noqa: BLE001 - a dead browser must not hide the test's own failure
            report.sections.append(("browser", f"no screenshot: {error}"))
    return report
