"""The console in-process (Flask test client) on the test database, with authentication off and on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from app.engine.dispatch import CollectingDispatcher
from app.factory import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def console_app(settings: Settings) -> Flask:
    return create_app(settings, dispatcher=CollectingDispatcher())


@pytest.fixture(scope="session")
def secured_app(settings: Settings) -> Flask:
    return create_app(replace(settings, auth_enabled=True), dispatcher=CollectingDispatcher())


@pytest.fixture()
def console(console_app: Flask) -> Iterator[FlaskClient]:
    with console_app.test_client() as client:
        yield client


@pytest.fixture()
def secured(secured_app: Flask) -> Iterator[FlaskClient]:
    with secured_app.test_client() as client:
        yield client


def csrf_of(client: FlaskClient, path: str = "/console/executions") -> str:
    """The CSRF token a page's forms carry (a GET first gives the client its session cookie)."""
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)
