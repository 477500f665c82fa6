"""``rediss://`` with a self-signed certificate (Heroku Redis): one setting for every Redis client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings
from app.embedded_redis import EmbeddedRedis
from app.health import redis_status
from tests.support.stack import LiveStack
from tests.support.tls_proxy import TlsProxy
from tests.unit.test_email_action import self_signed


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``rediss://`` to a real Redis behind a TLS proxy whose certificate nobody trusts."""
    folder = tmp_path_factory.mktemp("tls-redis")
    server = EmbeddedRedis(folder / "redis", persistent=False)
    plain = server.start()
    cert, key = self_signed(folder)
    proxy = TlsProxy(int(plain.rsplit(":", 1)[1].split("/")[0]), cert, key)
    try:
        yield f"rediss://127.0.0.1:{proxy.port}/0"
    finally:
        proxy.close()
        server.stop()


def test_certificates_are_verified_by_default(settings: Settings, tls_redis: str) -> None:
    strict = Settings.from_env({"REDIS_URL": tls_redis, "DATABASE_URL": settings.database_url})

    broker, _, _ = redis_status(strict)

    assert broker["ok"] is False and "certificate verify failed" in broker["error"]


@pytest.mark.parametrize("how", ["setting", "url"])
def test_with_verification_off_every_client_works(settings: Settings, tls_redis: str, how: str) -> None:
    env = {"REDIS_SSL_CERT_REQS": "none"} if how == "setting" else {}
    url = tls_redis if how == "setting" else f"{tls_redis}?ssl_cert_reqs=none"
    relaxed = Settings.from_env({"REDIS_URL": url, "DATABASE_URL": settings.database_url, **env})

    broker, _, _ = redis_status(relaxed)

    assert broker == {"ok": True}


def test_a_stack_on_heroku_style_redis_serves_health_and_sync_actions(settings: Settings, tls_redis: str,
                                                                       tmp_path: Path) -> None:
    stack = LiveStack(replace(settings, redis_url=tls_redis), tmp_path / "stack",
                      extra_env={"REDIS_URL": tls_redis, "REDIS_SSL_CERT_REQS": "none"})
    stack.start()
    try:
        health = stack.get("/health")
        assert health.status_code == 200, health.text
        assert health.json()["broker"] == {"ok": True}
        ran = stack.post("/v2/action_executions", json={"name": "std.echo", "input": {"output": "over tls"},
                                                        "params": {"run_sync": True}})
        assert ran.status_code == 201, ran.text
        assert json.loads(ran.json()["output"]) == {"result": "over tls"}
    finally:
        stack.stop()
