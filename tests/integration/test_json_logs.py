"""LOG_FORMAT=json: every process writes one JSON object per line, and the lines of one execution
can be found by its id across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from app.config import Settings
from app.embedded_redis import EmbeddedRedis, find_free_port
from tests.support.stack import LiveStack

WORKFLOW = """
version: '2.0'
json_logs_wf:
  tasks:
    hello:
      action: std.echo output=hi
"""


def test_every_line_of_every_process_is_a_json_object(settings: Settings, tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "redis", persistent=False)
    stack = LiveStack(replace(settings, redis_url=redis.start()), tmp_path / "stack",
                      extra_env={"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"})
    stack.start()
    try:
        stack.create_workflow(WORKFLOW)
        started = stack.post("/v2/executions", json={"workflow_name": "json_logs_wf"},
                             headers={"X-Request-ID": "json-logs-test"})
        execution_id = started.json()["id"]
        assert stack.wait_for_state(execution_id)["state"] == "SUCCESS"
        stack.wait_until_worker_idle()
    finally:
        stack.stop()
        redis.stop()

    parsed = {}
    for name in ("web", "worker", "scheduler"):
        lines = [line for line in stack.log(name).splitlines() if line.strip()]
        assert lines, name
        for line in lines:
            try:
                parsed.setdefault(name, []).append(json.loads(line))
            except ValueError:
                raise AssertionError(f"{name} wrote a line that is not JSON: {line!r}") from None
    access = [e for e in parsed["web"] if e["logger"] == "app.access" and e.get("request_id") == "json-logs-test"]
    assert access and access[0]["path"] == "/v2/executions" and access[0]["status"] == 201
    # One access line per request: gunicorn's own would repeat the application's.
    assert len(access) == 1 and not [e for e in parsed["web"] if e["logger"] == "gunicorn.access"]
    changes = [(e["previous_state"] if "previous_state" in e else None, e["state"])
               for name in ("web", "worker") for e in parsed[name]
               if e.get("execution_id") == execution_id and e["logger"] == "app.engine.states"]
    assert changes == [(None, "RUNNING"), ("RUNNING", "SUCCESS")], [
        e for name in ("web", "worker") for e in parsed[name] if e.get("execution_id") == execution_id]


def _upgrade_fresh_database(settings: Settings, folder: Path, **env: str) -> str:
    """`tramontane db upgrade` (the Procfile's release) on a new SQLite file; its whole output."""
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'release.db'}",
                   "TRAMONTANE_DATA_DIR": str(folder), **env}
    done = subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=environment, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_the_release_logs_its_migrations_as_json_at_the_level_given(settings: Settings, tmp_path: Path) -> None:
    output = _upgrade_fresh_database(settings, tmp_path / "info", LOG_FORMAT="json", LOG_LEVEL="INFO")
    entries = []
    for line in output.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"the release wrote a line that is not JSON: {line!r}") from None
    upgrades = [e["message"] for e in entries if e["logger"] == "alembic.runtime.migration"]
    assert any(message.startswith("Running upgrade  -> ") for message in upgrades), upgrades
    assert {e["level"] for e in entries} == {"INFO"}

    assert _upgrade_fresh_database(settings, tmp_path / "warning", LOG_FORMAT="json", LOG_LEVEL="WARNING") == ""
    # Text lines are the application's format too, not alembic.ini's.
    text = _upgrade_fresh_database(settings, tmp_path / "text", LOG_LEVEL="INFO").splitlines()
    assert text and all(" INFO alembic.runtime.migration " in line for line in text), text


def test_a_refusal_at_start_is_a_json_line_too(tmp_path: Path) -> None:
    env = {**os.environ, "LOG_FORMAT": "json", "TRAMONTANE_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'refusal.db'}", "AUTH_ENABLED": "false"}
    env.pop("ALLOW_UNAUTHENTICATED", None)
    root = Path(__file__).resolve().parents[2]
    refusals = {
        # The web process on all interfaces without authentication.
        "web": [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_config", "app.wsgi:create_application()",
                "--bind", f"0.0.0.0:{find_free_port()}"],
        # The release with a database that does not answer.
        "release": [sys.executable, "-m", "app.cli", "db", "upgrade"],
    }
    for name, command in refusals.items():
        run_env = {**env, "DATABASE_URL": f"postgresql://someone:secret@127.0.0.1:{find_free_port()}/x"} \
            if name == "release" else env
        done = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=60, cwd=root)
        assert done.returncode == 1, (name, done.stdout, done.stderr)
        lines = (done.stdout + done.stderr).splitlines()
        try:
            entries = [json.loads(line) for line in lines]
        except ValueError:
            raise AssertionError(f"{name} refused in a line that is not JSON: {lines}") from None
        errors = [e["message"] for e in entries if e["level"] == "ERROR"]
        assert len(errors) == 1, (name, entries)
        assert ("refusing to serve the API on 0.0.0.0" if name == "web" else "cannot upgrade the database") in errors[0]
        assert "secret" not in errors[0]
