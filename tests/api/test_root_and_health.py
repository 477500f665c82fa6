from __future__ import annotations

from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from app.config import Settings
from app.embedded_redis import find_free_port
from app.factory import create_app


def test_versions_document_points_at_public_url(client: FlaskClient, settings: Settings) -> None:
    body = client.get("/").get_json()
    assert body["versions"][0]["id"] == "v2.0"
    assert body["versions"][0]["links"][0]["href"] == f"{settings.public_url}/v2"
    assert client.get("/v2").get_json() == {"uri": f"{settings.public_url}/v2"}


def test_health_reports_database_and_broker(client: FlaskClient) -> None:
    response = client.get("/health")
    body = response.get_json()
    assert response.status_code == 200
    assert body["database"] == {"ok": True}
    assert body["broker"] == {"ok": True}
    assert "scheduler" in body
    assert set(body["workers"]) >= {"ok", "live"}


def test_health_is_degraded_when_the_broker_is_unreachable(settings: Settings) -> None:
    broken = replace(settings, redis_url=f"redis://127.0.0.1:{find_free_port()}/0")
    response = create_app(broken).test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["broker"]["ok"] is False
    assert body["scheduler"]["ok"] is False
    assert body["workers"]["ok"] is False


def test_every_answer_carries_the_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/v2/workflows", "/v2/executions/no-such-id", "/health"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Cache-Control"] == "no-store", path
    assert client.get("/v2/executions/no-such-id").status_code == 404


def test_each_request_has_an_id_in_its_answer_and_its_access_line(client: FlaskClient,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="app.access")
    given = client.get("/v2/workflows", headers={"X-Request-ID": "trace-42.a_b"})
    assert given.headers["X-Request-ID"] == "trace-42.a_b"
    for unusable in ("x" * 65, "two words", "<script>"):
        made = client.get("/v2/workflows", headers={"X-Request-ID": unusable}).headers["X-Request-ID"]
        assert made != unusable and len(made) == 32
    refused = client.get("/v2/executions/no-such-id")

    lines = [r for r in caplog.records if r.name == "app.access"]
    assert any(r.request_id == "trace-42.a_b" and r.status == 200 and r.path == "/v2/workflows" for r in lines)
    assert any(r.request_id == refused.headers["X-Request-ID"] and r.status == 404 for r in lines)
