from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from app.engine.dispatch import CollectingDispatcher
from app.factory import create_app


@pytest.fixture(scope="session")
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def flask_app(settings: Settings, dispatcher: CollectingDispatcher) -> Flask:
    """The API in-process, on the test database; messages are collected instead of sent."""
    return create_app(settings, dispatcher=dispatcher)


@pytest.fixture()
def client(flask_app: Flask) -> Iterator[FlaskClient]:
    with flask_app.test_client() as client:
        yield client
