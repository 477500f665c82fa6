"""Start-up problems are said in one line, and a scheduler started before the schema waits quietly."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from app.config import Settings
from app.dbtools import upgrade_database
from app.embedded_redis import EmbeddedRedis, find_free_port
from app.engine.dispatch import CollectingDispatcher
from app.health import SCHEDULER_HEARTBEAT_KEY
from app.scheduler import run_scheduler, scheduler_app
from tests.integration.test_supervisor import wait_for

ROOT = Path(__file__).resolve().parents[2]


def tramontane(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env})


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    port = find_free_port()
    done = tramontane("db", "upgrade", DATABASE_URL=f"postgresql://someone:secret@127.0.0.1:{port}/nowhere",
                      TRAMONTANE_DATA_DIR=str(tmp_path))

    assert done.returncode == 1
    lines = error_lines(done)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: cannot upgrade the database postgresql+psycopg://someone:***@127.0.0.1:{port}/"
                               "nowhere: connection failed:")
    assert "secret" not in done.stderr


@pytest.mark.parametrize(("name", "value", "says"), [
    ("WORKER_POOL", "fast", "WORKER_POOL must be one of threads, prefork, solo, not 'fast'"),
    ("HTTP_DENY_PRIVATE", "perhaps", "HTTP_DENY_PRIVATE must be true or false, not 'perhaps'"),
    ("REDIS_SSL_CERT_REQS", "maybe", "REDIS_SSL_CERT_REQS must be one of required, optional, none, not 'maybe'"),
])
def test_a_mistyped_setting_is_one_line(tmp_path: Path, name: str, value: str, says: str) -> None:
    done = tramontane("db", "upgrade", TRAMONTANE_DATA_DIR=str(tmp_path), **{name: value})

    assert done.returncode == 1
    assert error_lines(done) == [f"Error: invalid setting: {says}"]


def test_up_says_it_is_not_running_when_its_redis_does_not_answer(tmp_path: Path) -> None:
    port = find_free_port()
    done = tramontane("up", "--no-flower", "--redis-port", str(find_free_port()),
                      REDIS_URL=f"redis://127.0.0.1:{port}/0", TRAMONTANE_DATA_DIR=str(tmp_path),
                      PORT=str(find_free_port()))

    assert done.returncode == 1
    assert "Tramontane is running" not in done.stdout
    assert f"Error: Tramontane is not running: the Redis at REDIS_URL (redis://127.0.0.1:{port}/0) does not " \
           "answer" in done.stderr


def test_a_scheduler_started_before_the_schema_waits_quietly(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    server = EmbeddedRedis(tmp_path / "redis", persistent=False)
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'first-boot.db'}",
                                  "REDIS_URL": server.start(), "TRAMONTANE_DATA_DIR": str(tmp_path)})
    client = redis.Redis.from_url(settings.broker_url)
    stop = threading.Event()
    scheduler = threading.Thread(target=run_scheduler,
                                 args=(settings, CollectingDispatcher(), stop, scheduler_app(settings)))
    caplog.set_level(logging.INFO, logger="app.scheduler")
    try:
        scheduler.start()
        wait_for(lambda: "scheduler waiting: the database has no schema yet" in caplog.text, timeout=30)
        upgrade_database(settings)
        # Its first pass ends with a beat: it got past the wait and scheduled.
        wait_for(lambda: client.get(SCHEDULER_HEARTBEAT_KEY) is not None, timeout=30)
    finally:
        stop.set()
        scheduler.join(30)
        client.close()
        server.stop()
    waiting = [r.getMessage() for r in caplog.records
               if r.name == "app.scheduler" and r.getMessage().startswith("scheduler waiting")]
    assert waiting == ["scheduler waiting: the database has no schema yet (`tramontane db upgrade` creates it)"]
    assert not [r for r in caplog.records if r.name == "app.scheduler" and r.exc_info]
