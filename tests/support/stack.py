"""Real processes for integration tests: gunicorn, a Celery worker and the scheduler.

The scheduler runs as a process of its own (as the Procfile runs it), or inside the worker
(``embedded_scheduler``, as ``tramontane up`` runs it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis
import requests

from app.config import Settings
from app.embedded_redis import EmbeddedRedis, find_free_port
from app.health import SCHEDULER_HEARTBEAT_KEY

START_TIMEOUT = 60
# Celery's log lines of a task's life: "Task <name>[<id>] received", "... succeeded in ...", ...
_TASK_LINE = re.compile(r"Task \S+\[([0-9a-f-]{36})\] (received|succeeded|failed|raised|retry)")
PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


class LiveStack:
    def __init__(self, settings: Settings, log_dir: Path, worker_concurrency: int = 4,
                 extra_env: dict[str, str] | None = None, embedded_scheduler: bool = False) -> None:
        self.settings = settings
        self.embedded_scheduler = embedded_scheduler
        self.extra_env = dict(extra_env or {})
        self.log_dir = log_dir
        self.port = find_free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.worker_concurrency = worker_concurrency
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.settings.database_url,
            "REDIS_URL": self.settings.broker_url,
            "TRAMONTANE_DATA_DIR": str(self.settings.data_dir),
            "PORT": str(self.port),
            "PUBLIC_URL": self.base_url,
            # Test stacks call third parties on this host, as `tramontane up` allows.
            "HTTP_DENY_PRIVATE": "false",
            "LOG_LEVEL": "INFO",
            "WORKER_POOL": self.settings.worker_pool,
            # A third-party package of actions, found through its entry points.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS), env.get("PYTHONPATH", "")])),
        })
        env.update(self.extra_env)
        return env

    def commands(self) -> dict[str, list[str]]:
        python = sys.executable
        worker = [python, "-m", "celery", "-A", "app.workers.celery_app:celery", "worker", "-E",
                  "--loglevel", "INFO", "--concurrency", str(self.worker_concurrency),
                  "--hostname", f"test-{self.port}@%h", "--without-mingle", "--without-gossip"]
        commands = {
            # Threaded, as `tramontane up` serves the API.
            "web": [python, "-m", "gunicorn", "-c", "python:app.gunicorn_config", "app.wsgi:create_application()",
                    "--bind", f"127.0.0.1:{self.port}",
                    "--workers", "2", "--threads", "4", "--graceful-timeout", "5"],
            "worker": [*worker, "--with-scheduler"] if self.embedded_scheduler else worker,
        }
        if not self.embedded_scheduler:
            commands["scheduler"] = [python, "-m", "app.cli", "scheduler"]
        return commands

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, command in self.commands().items():
            self.start_process(name, command)
        self._wait_until_ready()

    def start_process(self, name: str, command: list[str]) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=Path(__file__).resolve().parents[2],
        )

    def wait_until_ready(self) -> None:
        """Until the API answers and the worker is ready (after a start or a restart)."""
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive()
            if self._api_ready() and "ready." in self.log("worker"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the stack did not start in {START_TIMEOUT}s:\n{self.log_tails()}")

    def _api_ready(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log_tails()}")

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {name} ---\n" + "\n".join(self.log(name).splitlines()[-lines:]) for name in self.processes
        )

    def worker_tasks(self, name: str = "worker") -> tuple[set[str], set[str]]:
        """The Celery task ids the worker ``name`` received, and those it finished (its log says so)."""
        received: set[str] = set()
        ended: set[str] = set()
        for match in _TASK_LINE.finditer(self.log(name)):
            (received if match.group(2) == "received" else ended).add(match.group(1))
        return received, ended

    def wait_for_action_run(self, action_execution_id: str, timeout: float = 30, name: str = "worker") -> None:
        """Until the worker finished running the action (for an async one: sent its request)."""
        marker = f"[{action_execution_id}]"
        self._wait(f"the run of action {action_execution_id}", timeout, lambda: any(
            marker in line and " succeeded in " in line for line in self.log(name).splitlines()))

    def wait_until_worker_idle(self, timeout: float = 30, name: str = "worker") -> None:
        """Until every task the worker received has ended: whatever was sent before has been handled."""
        def idle() -> bool:
            received, ended = self.worker_tasks(name)
            return received <= ended
        self._wait("an idle worker", timeout, idle)

    def wait_for_scheduler_pass(self, after: float, timeout: float = 30) -> None:
        """Until the scheduler finished a pass that began after ``after`` (a ``time.time()``).

        Each pass ends with a beat stamped to the second (rounded): a stamp two seconds past
        ``after`` comes from a pass that began after it.
        """
        client = redis.Redis.from_url(self.settings.broker_url, socket_timeout=5)

        def passed() -> bool:
            beat = client.get(SCHEDULER_HEARTBEAT_KEY)
            return beat is not None and float(beat.decode().rpartition(" ")[2]) >= after + 2

        try:
            self._wait("scheduler pass", timeout, passed)
        finally:
            client.close()

    def _wait(self, what: str, timeout: float, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} after {timeout}s\n{self.log_tails()}")
            time.sleep(0.05)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Signal a whole process group (a Celery worker and its pool children) and wait for it."""
        process = self.processes[name]
        _signal_group(process, signum)
        process.wait(timeout=30)

    def restart(self, name: str) -> None:
        self.start_process(name, self.commands()[name])
        if name == "web":
            # Until it answers: a request sent before gunicorn listens is refused, not queued.
            self._wait("answering API", START_TIMEOUT, self._api_ready)

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)

    # -- HTTP helpers --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url(path), timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url(path), timeout=10, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.put(self.url(path), timeout=10, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.delete(self.url(path), timeout=10, **kwargs)

    def create_workflow(self, yaml_text: str, namespace: str = "") -> dict[str, Any]:
        params = {"namespace": namespace} if namespace else {}
        response = self.post("/v2/workflows", data=yaml_text, params=params,
                             headers={"Content-Type": "text/plain"})
        assert response.status_code == 201, response.text
        return response.json()["workflows"][0]  # type: ignore[no-any-return]

    def start_execution(self, workflow_name: str, wf_input: dict[str, Any] | None = None,
                        **extra: Any) -> dict[str, Any]:
        response = self.post("/v2/executions",
                             json={"workflow_name": workflow_name, "input": wf_input or {}, **extra})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_for_state(self, execution_id: str, states: tuple[str, ...] = ("SUCCESS", "ERROR", "CANCELLED"),
                       timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get(f"/v2/executions/{execution_id}").json()
            if execution["state"] in states:
                return execution  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"execution {execution_id} is {execution['state']} after {timeout}s, "
                    f"expected {states}\n{self.log_tails()}"
                )
            time.sleep(0.05)

    def tasks_of(self, execution_id: str) -> list[dict[str, Any]]:
        return self.get(f"/v2/executions/{execution_id}/tasks").json()["tasks"]  # type: ignore[no-any-return]


@contextmanager
def private_stack(settings: Settings, folder: Path, **options: Any) -> Iterator[tuple[LiveStack, EmbeddedRedis]]:
    """A stack of its own with a Redis of its own, for tests that kill or empty them."""
    redis = EmbeddedRedis(folder / "redis", persistent=False)
    url = redis.start()
    stack = LiveStack(replace(settings, redis_url=url), folder / "stack", **options)
    try:
        stack.start()
        yield stack, redis
    finally:
        stack.stop()
        redis.stop()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
