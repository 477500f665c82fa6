"""Settings read from the environment."""

from __future__ import annotations

import pytest

from app.cli import up_environment
from app.config import Settings


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
