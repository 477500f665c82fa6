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
from bench.processes import PROJECT_ROOT, ProcessGroup

START_TIMEOUT = 60.0
# Celery's event messages (Flower's source): as celeryconfig has them (the workers' task events,
# no task-sent); the producers' task-sent events as well; none. The last two measure what they cost.
CELERY_EVENTS = ("configured", "with-sent", "none")
OVERRIDE_TEMPLATE = """# Written by the benchmark (--celery-events {events}): celeryconfig, then the event settings.
import importlib.util

_spec = importlib.util.spec_from_file_location("_tramontane_celeryconfig", {source!r})
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
globals().update({{k: v for k, v in vars(_module).items() if not k.startswith("__")}})
task_send_sent_event = {sent_events}
worker_send_task_events = {worker_events}
"""


def event_settings(events: str) -> dict[str, bool]:
    """The Celery settings ``--celery-events`` stands for (nothing for 'configured')."""
    if events == "configured":
        return {}
    return {"task_send_sent_event": events == "with-sent", "worker_send_task_events": events == "with-sent"}


def celeryconfig_override(data_dir: Path, events: str) -> Path | None:
    """A folder whose ``celeryconfig`` is the project's with other event settings, or None.

    The stack's processes run in that folder, so ``import celeryconfig`` finds it before the
    project's (``python -m`` and gunicorn put the working directory first on sys.path).
    """
    if events == "configured":
        return None
    folder = data_dir / f"celery-events-{events}"
    folder.mkdir(exist_ok=True)
    source = str(Path(__file__).resolve().parent.parent / "celeryconfig.py")
    (folder / "celeryconfig.py").write_text(OVERRIDE_TEMPLATE.format(
        events=events, source=source, **{f"{kind}_events": value for kind, value in (
            ("sent", events == "with-sent"), ("worker", events == "with-sent"))}))
    return folder


class BenchStack:
    def __init__(self, data_dir: Path, database_url: str | None, bench_database: str,
                 log_level: str = "INFO", web_workers: int = 2, worker_concurrency: int = 2,
                 celery_events: str = "configured") -> None:
        self.data_dir = data_dir
        self.postgres = PostgresDatabase(database_url, bench_database) if database_url else None
        self.log_level = log_level
        # DECISIONS: memory is measured with gunicorn at 2 workers and the worker at concurrency 2.
        self.web_workers = web_workers
        self.worker_concurrency = worker_concurrency
        self.celery_events = celery_events
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
        folder = celeryconfig_override(self.data_dir, self.celery_events)
        for name, argv in stack_commands(settings, options).items():
            if self.celery_events == "none":
                argv = [arg for arg in argv if arg != "-E"]
            self.processes.start(name, argv, env, cwd=folder)
        self._wait_for_api()

    def environment(self, settings: Settings) -> dict[str, str]:
        env = with_project_first(child_environment(settings))
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


# The benchmark's plugin (bench.noop, the executor path's action), a package of this checkout too.
PLUGIN_ROOT = PROJECT_ROOT / "plugins" / "tramontane-bench-actions"


def with_project_first(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this checkout and its benchmark plugin first on the import path of the
    processes it starts.

    Installed in editable mode from another checkout (two worktrees sharing one ``.venv``), the
    plugin would otherwise be imported from there; so would ``app`` when a process runs in the
    folder of a ``--celery-events`` override (whose ``celeryconfig`` still comes first: ``python
    -m`` and gunicorn put the working directory ahead of ``PYTHONPATH``).
    """
    first = [str(PROJECT_ROOT), str(PLUGIN_ROOT)]
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [*first, env.get("PYTHONPATH")]))}


def start_floor_worker(processes: ProcessGroup, redis_url: str, log_level: str, concurrency: int,
                       celery_events: str = "configured", data_dir: Path | None = None) -> None:
    """The floor's own worker: Tramontane's worker command, pointed at the floor's Celery app."""
    env = with_project_first(dict(os.environ, REDIS_URL=redis_url, PYTHONUNBUFFERED="1"))
    folder = celeryconfig_override(data_dir, celery_events) if data_dir else None
    argv = [sys.executable, "-m", "celery", "-A", "bench.floor_app:celery", "worker",
            *(["-E"] if celery_events != "none" else []),
            "--loglevel", log_level, "--concurrency", str(concurrency), "--queues", QUEUE,
            "--hostname", f"bench-floor-{os.getpid()}@%h"]
    processes.start("floor", argv, env, cwd=folder)
