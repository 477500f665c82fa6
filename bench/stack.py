"""The stack under test, started the way the run command (``tramontane up``) starts it.

The commands come from ``app.cli.stack_commands``, so the benchmark measures exactly what
``./run.sh`` runs: gunicorn, one Celery worker and the scheduler, here with their own embedded
Redis (no AOF: nothing must survive the run) and their own database.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import requests

from app.cli import StackOptions, child_environment, stack_commands
from app.config import Settings
from app.dbtools import upgrade_database
from app.embedded_redis import EmbeddedRedis, find_free_port
from bench.database import PostgresDatabase, sqlite_url
from bench.floor_app import QUEUE
from bench.processes import ProcessGroup

START_TIMEOUT = 60.0


class BenchStack:
    def __init__(self, data_dir: Path, database_url: str | None, bench_database: str,
                 log_level: str = "INFO", web_workers: int = 2, worker_concurrency: int = 2) -> None:
        self.data_dir = data_dir
        self.postgres = PostgresDatabase(database_url, bench_database) if database_url else None
        self.log_level = log_level
        # DECISIONS: memory is measured with gunicorn at 2 workers and the worker at concurrency 2.
        self.web_workers = web_workers
        self.worker_concurrency = worker_concurrency
        self.redis = EmbeddedRedis(data_dir, persistent=False)
        self.processes = ProcessGroup(data_dir)
        self.port = find_free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    @property
    def redis_url(self) -> str:
        return self.redis.url

    @property
    def database_kind(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def settings(self, database_url: str) -> Settings:
        return Settings.from_env({
            "TRAMONTANE_DATA_DIR": str(self.data_dir), "DATABASE_URL": database_url,
            "REDIS_URL": self.redis.url, "PORT": str(self.port), "LOG_LEVEL": self.log_level,
        })

    def start(self) -> None:
        self.redis.start()
        database_url = self.postgres.create() if self.postgres else sqlite_url(self.data_dir)
        settings = self.settings(database_url)
        upgrade_database(settings)
        env = self.environment(settings)
        options = StackOptions("127.0.0.1", self.worker_concurrency, None, web_workers=self.web_workers)
        for name, argv in stack_commands(settings, options).items():
            self.processes.start(name, argv, env)
        self._wait_for_api()

    def environment(self, settings: Settings) -> dict[str, str]:
        env = child_environment(settings)
        env.update({
            "TRAMONTANE_DATA_DIR": str(self.data_dir), "PORT": str(self.port), "PUBLIC_URL": self.base_url,
            "LOG_LEVEL": self.log_level,
        })
        return env

    def _wait_for_api(self) -> None:
        # /health answers 200 once the database and the broker answer; the worker is checked later
        # by running a workflow through it.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.processes.check_alive()
            try:
                if requests.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API did not answer within {START_TIMEOUT:g} s\n{self.processes.log_tail('api')}")

    def pids(self) -> dict[str, int]:
        """Root pid of every process of the stack (children are found from them)."""
        pids = dict(self.processes.pids)
        if self.redis.pid is not None:
            pids["redis"] = self.redis.pid
        return pids

    def stop(self) -> None:
        self.processes.stop()
        self.redis.stop()
        if self.postgres:
            self.postgres.drop()


def start_floor_worker(processes: ProcessGroup, redis_url: str, log_level: str, concurrency: int) -> None:
    """The floor's own worker: Tramontane's worker command, pointed at the floor's Celery app."""
    env = dict(os.environ, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "celery", "-A", "bench.floor_app:celery", "worker", "-E",
            "--loglevel", log_level, "--concurrency", str(concurrency), "--queues", QUEUE,
            "--hostname", f"bench-floor-{os.getpid()}@%h"]
    processes.start("floor", argv, env)
