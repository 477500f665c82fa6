"""Settings read from the environment."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.cli import up_environment
from app.config import Settings
from app.factory import create_app


def test_the_worker_pool_defaults_to_threads() -> None:
    assert Settings.from_env({}).worker_pool == "threads"


def test_worker_pool_chooses_prefork() -> None:
    assert Settings.from_env({"WORKER_POOL": "prefork"}).worker_pool == "prefork"


def test_an_unknown_worker_pool_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="WORKER_POOL must be one of threads, prefork, solo, not 'gevent'"):
        Settings.from_env({"WORKER_POOL": "gevent"})


def test_heroku_database_urls_use_psycopg() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgres://u:p@db:5432/app"})
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/app"


def test_up_lets_workflows_reach_this_host_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0"})
    monkeypatch.delenv("HTTP_DENY_PRIVATE", raising=False)
    assert up_environment(settings)["HTTP_DENY_PRIVATE"] == "false"
    assert Settings.from_env(up_environment(settings)).http_deny_private is False
    monkeypatch.setenv("HTTP_DENY_PRIVATE", "true")
    assert up_environment(settings)["HTTP_DENY_PRIVATE"] == "true"
    assert Settings.from_env({}).http_deny_private is True


def test_the_watchdog_times_are_settings_with_defaults() -> None:
    defaults = Settings.from_env({})
    assert (defaults.lost_message_seconds, defaults.lost_continuation_seconds, defaults.timer_claim_seconds,
            defaults.expression_time_limit_seconds) == (60.0, 10.0, 60.0, 5.0)
    given = Settings.from_env({"LOST_MESSAGE_SECONDS": "4", "LOST_CONTINUATION_SECONDS": "2",
                               "TIMER_CLAIM_SECONDS": "3", "EXPRESSION_TIME_LIMIT_SECONDS": "0.5"})
    assert (given.lost_message_seconds, given.lost_continuation_seconds, given.timer_claim_seconds,
            given.expression_time_limit_seconds) == (4.0, 2.0, 3.0, 0.5)


def test_on_heroku_a_sync_run_action_waits_less_than_the_router() -> None:
    assert Settings.from_env({"RUN_SYNC_TIMEOUT": "90"}).run_sync_timeout == 90
    assert Settings.from_env({"DYNO": "web.1"}).run_sync_timeout == 25
    assert Settings.from_env({"DYNO": "web.1", "RUN_SYNC_TIMEOUT": "10"}).run_sync_timeout == 10
    capped = Settings.from_env({"DYNO": "web.1", "RUN_SYNC_TIMEOUT": "90", "SECRET_KEY": "s",
                                "PUBLIC_URL": "https://app.example.com"})
    assert capped.run_sync_timeout == 25
    assert [w.split(" ")[0] for w in capped.startup_warnings] == ["RUN_SYNC_TIMEOUT=90"]


def test_on_heroku_a_missing_secret_or_public_url_is_warned_at_start(caplog: pytest.LogCaptureFixture,
                                                                      tmp_path: Path) -> None:
    assert Settings.from_env({"TRAMONTANE_DATA_DIR": str(tmp_path)}).startup_warnings == ()
    settings = Settings.from_env({"DYNO": "worker.1", "TRAMONTANE_DATA_DIR": str(tmp_path),
                                  "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})

    create_app(settings, serve_api=False)

    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith("SECRET_KEY is unset: each dyno makes a secret of its own") for w in warned)
    assert any(w.startswith("PUBLIC_URL is unset") for w in warned)
