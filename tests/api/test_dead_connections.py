"""A request whose pooled server connection died (the database server restarted) is answered from a
fresh connection, not with a 500: the API checks each connection as it leaves the pool."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.dead_connections import end_pooled_connections


@pytest.fixture()
def connections_ended(flask_app: Flask, client: FlaskClient) -> None:
    # Each pooled connection was used a moment ago: a worker would not check it before use.
    assert client.get("/v2/executions").status_code == 200
    with flask_app.app_context():
        end_pooled_connections()


@pytest.mark.usefixtures("postgres_only", "connections_ended")
def test_a_read_after_the_server_ended_the_connections_is_answered(client: FlaskClient) -> None:
    response = client.get("/v2/executions")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert "executions" in response.get_json()


@pytest.mark.usefixtures("postgres_only", "connections_ended")
def test_a_write_after_the_server_ended_the_connections_is_done_once(client: FlaskClient) -> None:
    response = client.post("/v2/environments", json={"name": "after-dead-connections", "variables": {}})

    assert response.status_code == 201, response.get_data(as_text=True)
    names = [env["name"] for env in client.get("/v2/environments").get_json()["environments"]]
    assert names.count("after-dead-connections") == 1
