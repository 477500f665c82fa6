"""Optional API authentication: tokens, the Keystone login of the real CLI, action capabilities."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from app.config import Settings
from app.embedded_redis import EmbeddedRedis
from tests.support.cli import MistralCli, cli_path
from tests.support.stack import LiveStack
from tests.support.third_party import ThirdParty

SEED = """
version: '2.0'
auth_seed:
  tasks:
    one_plus_two:
      action: mistral_http url={url}
      input:
        params: {{a: 1, b: 2}}
"""


def tramontane(settings: Settings, *args: str) -> str:
    env = {"DATABASE_URL": settings.database_url, "TRAMONTANE_DATA_DIR": str(settings.data_dir),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args],
                            capture_output=True, text=True, env=env, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def secured(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveStack, str]]:
    base = tmp_path_factory.mktemp("auth")
    redis = EmbeddedRedis(base / "redis", persistent=False)
    stack = LiveStack(replace(settings, redis_url=redis.start()), base / "stack",
                      extra_env={"AUTH_ENABLED": "true", "SECRET_KEY": "a-test-secret"})
    token = tramontane(settings, "token", "create", "ci-user")
    stack.start()
    try:
        yield stack, token
    finally:
        stack.stop()
        redis.stop()


def test_requests_need_a_token(secured: tuple[LiveStack, str]) -> None:
    stack, token = secured
    refused = stack.get("/v2/workflows")
    assert refused.status_code == 401
    assert "X-Auth-Token" in refused.json()["faultstring"]
    assert stack.get("/v2/workflows", headers={"X-Auth-Token": token}).status_code == 200
    assert stack.get("/v2/workflows", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert stack.get("/v2/workflows", headers={"X-Auth-Token": token + "x"}).status_code == 401
    assert stack.get("/").status_code == 200
    assert token not in stack.log("web")


def test_revoked_token_is_refused(secured: tuple[LiveStack, str], settings: Settings) -> None:
    stack, _ = secured
    doomed = tramontane(settings, "token", "create", "short-lived")
    assert stack.get("/v2/executions", headers={"X-Auth-Token": doomed}).status_code == 200
    tramontane(settings, "token", "revoke", "short-lived")
    assert stack.get("/v2/executions", headers={"X-Auth-Token": doomed}).status_code == 401
    listing = tramontane(settings, "token", "list")
    assert "short-lived" in listing and "revoked" in listing and doomed not in listing


def test_third_party_completes_only_its_own_action(secured: tuple[LiveStack, str]) -> None:
    stack, token = secured
    headers = {"X-Auth-Token": token}
    with ThirdParty(use_full_url=True) as service:
        created = stack.post("/v2/workflows", data=SEED.format(url=service.url),
                             headers={**headers, "Content-Type": "text/plain"})
        assert created.status_code == 201, created.text
        execution = stack.post("/v2/executions", json={"workflow_name": "auth_seed"}, headers=headers).json()
        assert service.received.wait(30)
        (request,) = service.requests
        assert "token=" in request["headers"]["Mistral-Callback-Full-URL"]
        assert request["headers"]["Mistral-Callback-Token"]
        deadline = time.monotonic() + 30
        while stack.get(f"/v2/executions/{execution['id']}", headers=headers).json()["state"] != "SUCCESS":
            assert time.monotonic() < deadline, "the callback with the capability did not complete the action"
            time.sleep(0.05)
        assert [r.status_code for r in service.callback_responses] == [200]
        other = stack.post("/v2/action_executions", json={"name": "std.async_noop"}, headers=headers).json()
        capability = request["headers"]["Mistral-Callback-Token"]
        stolen = requests.put(stack.url(f"/v2/action_executions/{other['id']}"), timeout=10,
                              params={"token": capability}, json={"state": "SUCCESS", "output": 1})
        assert stolen.status_code == 401
        again = requests.put(request["headers"]["Mistral-Callback-Full-URL"], timeout=10,
                             json={"state": "SUCCESS", "output": 4})
        assert again.status_code == 409


def test_real_cli_logs_in_through_keystone(secured: tuple[LiveStack, str], tmp_path: Path) -> None:
    stack, token = secured
    env = MistralCli(stack.base_url, tmp_path).environment()

    def login(password: str, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(cli_path()), "--os-auth-url", f"{stack.base_url}/v3", "--os-username", "ci-user",
             "--os-password", password, "--os-project-name", "default", "--os-user-domain-name", "Default",
             "--os-project-domain-name", "Default", *command],
            capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)

    created = stack.post("/v2/workflows", data="version: '2.0'\nauth_cli_wf:\n  tasks:\n    t: {}\n",
                         headers={"X-Auth-Token": token, "Content-Type": "text/plain"})
    assert created.status_code == 201
    listed = login(token, "workflow-list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert "auth_cli_wf" in {w["Name"] for w in json.loads(listed.stdout)}
    wrong = login("wrong-password", "workflow-list")
    assert wrong.returncode != 0
    by_token = subprocess.run(
        [str(cli_path()), "--os-auth-url", f"{stack.base_url}/v3", "--os-auth-token", token,
         "--os-mistral-url", f"{stack.base_url}/v2", "execution-list", "-f", "json"],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert by_token.returncode == 0, by_token.stderr
    assert isinstance(json.loads(by_token.stdout), list)


def test_anonymous_health_tells_only_the_status(secured: tuple[LiveStack, str]) -> None:
    stack, token = secured
    anonymous = stack.get("/health")
    assert (anonymous.status_code, anonymous.json()) == (200, {"status": "ok"})
    detailed = stack.get("/health", headers={"X-Auth-Token": token}).json()
    assert detailed["status"] == "ok"
    assert {"database", "broker", "scheduler", "workers"} <= set(detailed)


def test_an_expiring_token_works_until_its_expiry_and_keystone_tells_it(
        secured: tuple[LiveStack, str], settings: Settings, tmp_path: Path) -> None:
    stack, _ = secured
    expiring = tramontane(settings, "token", "create", "expiring-user", "--expires", "30d")
    assert stack.get("/v2/workflows", headers={"X-Auth-Token": expiring}).status_code == 200
    assert "expiring-user" in tramontane(settings, "token", "list")

    reply = stack.post("/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "expiring-user", "password": expiring}}}}})
    assert reply.status_code == 201
    told = datetime.strptime(reply.json()["token"]["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(told - (datetime.utcnow() + timedelta(days=30))) < timedelta(minutes=5)

    # The real CLI logs in with it (keystoneauth reads that expiry).
    listed = subprocess.run(
        [str(cli_path()), "--os-auth-url", f"{stack.base_url}/v3", "--os-username", "expiring-user",
         "--os-password", expiring, "--os-project-name", "default", "--os-user-domain-name", "Default",
         "--os-project-domain-name", "Default", "workflow-list", "-f", "json"],
        capture_output=True, text=True, env=MistralCli(stack.base_url, tmp_path).environment(), timeout=60,
        cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr

    # Past its expiry (moved there in the database, rather than waited for) it is refused.
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE api_tokens SET expires_at = :past WHERE name = 'expiring-user'"),
                           {"past": datetime.utcnow() - timedelta(seconds=1)})
    engine.dispose()
    assert stack.get("/v2/workflows", headers={"X-Auth-Token": expiring}).status_code == 401
    assert "expiring-user\tcreated" in tramontane(settings, "token", "list")
    assert "expired" in tramontane(settings, "token", "list")


def test_token_lifetimes_must_be_durations(settings: Settings) -> None:
    result = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", "token", "create", "odd",
                             "--expires", "soon"], capture_output=True, text=True, timeout=60,
                            env={"DATABASE_URL": settings.database_url, "TRAMONTANE_DATA_DIR": str(settings.data_dir),
                                 "PATH": "/usr/bin:/bin"}, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2
    assert "expected a positive duration such as 30d, 12h, 90m or 45s, not 'soon'" in result.stderr
