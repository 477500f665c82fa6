"""The stack as an operator runs it: the repository's Procfile under honcho (from the test venv).

Every entry runs as written in the Procfile (web on 0.0.0.0 with authentication on, worker,
scheduler, Flower, release), with a Redis and a SQLite database of its own. honcho prefixes each
line with the time and the process (``07:46:31 worker.1 | ...``): ``lines(name)`` gives one
process's lines without the prefix, in order.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from app.embedded_redis import EmbeddedRedis, find_free_port

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ("web", "worker", "scheduler", "flower", "release")
START_TIMEOUT = 90
_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<name>[\w-]+)(?:\.\d+)?\s*\| ?(?P<text>.*)$")
# honcho prints a line and its newline in two writes, and prints "SIGTERM received" from its signal
# handler, which can run between them: that system line then ends the line it interrupted.
_GLUED_SYSTEM_LINE = re.compile(r"(?<=.)(?=\d\d:\d\d:\d\d system\s*\| )")


class ProcfileStack:
    def __init__(self, folder: Path, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.port = find_free_port()
        self.flower_port = find_free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.flower_url = f"http://127.0.0.1:{self.flower_port}"
        self.output_path = folder / "honcho.log"
        self.extra_env = dict(env or {})
        self.redis = EmbeddedRedis(folder / "redis", persistent=False)
        self.token = ""
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The Procfile names bare commands (gunicorn, celery, tramontane): the test venv's.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update({
            "DATABASE_URL": f"sqlite:///{self.folder / 'procfile.db'}",
            "TRAMONTANE_DATA_DIR": str(self.folder / "data"),
            "PORT": str(self.port),
            "PUBLIC_URL": self.base_url,
            "FLOWER_PORT": str(self.flower_port),
            "AUTH_ENABLED": "true",
            "SECRET_KEY": "procfile-test-secret",
            "WEB_CONCURRENCY": "1",
            "WORKER_CONCURRENCY": "2",
            # The tests' webhooks listen on this host.
            "HTTP_DENY_PRIVATE": "false",
        })
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        env = self.environment()
        env["REDIS_URL"] = self.extra_env["REDIS_URL"] = self.redis.start()
        # As on Heroku, the schema exists before the processes start (the release phase); the
        # Procfile's release entry then finds it up to date. A token for the test's API calls.
        self._tramontane(env, "db", "upgrade")
        self.token = self._tramontane(env, "token", "create", "procfile-test").splitlines()[-1]
        empty_env_file = self.folder / "empty.env"  # not the developer's .env
        empty_env_file.write_text("")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "honcho"), "start", "--no-colour", "-e", str(empty_env_file),
             "-f", str(ROOT / "Procfile"), "-d", str(ROOT)],
            env=env, cwd=ROOT, stdout=self.output_path.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        self.wait_for(self._ready, START_TIMEOUT, "the Procfile stack to answer")

    def _tramontane(self, env: dict[str, str], *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def _ready(self) -> bool:
        try:
            health = requests.get(f"{self.base_url}/health", headers=self.headers(), timeout=3).json()
            # refresh: Flower asked the workers once at its start, maybe before the worker was up.
            workers = requests.get(f"{self.flower_url}/api/workers?refresh=1", auth=self.flower_auth(), timeout=5)
        except (requests.RequestException, ValueError):
            return False
        return bool(health.get("workers", {}).get("live")) and workers.status_code == 200 and bool(workers.json())

    def flower_auth(self) -> tuple[str, str] | None:
        given = self.environment().get("FLOWER_BASIC_AUTH")
        if not given:
            return None
        user, _, password = given.partition(":")
        return user, password

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # honcho passes SIGTERM on to every process and waits for them.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.redis.stop()

    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def lines(self, name: str) -> list[str]:
        """The lines process `name` wrote, without honcho's prefix."""
        found = []
        for line in _GLUED_SYSTEM_LINE.sub("\n", self.output()).splitlines():
            match = _LINE.match(line)
            if match and match.group("name") == name:
                found.append(match.group("text"))
        return found

    def wait_for(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"honcho exited ({self.process.returncode}):\n{self.output()[-6000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout} s for {what}:\n{self.output()[-6000:]}")
            time.sleep(0.1)

    # -- the API, with the token ------------------------------------------------------------------

    def headers(self, **more: str) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **more}

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.base_url + path, headers=self.headers(), timeout=10, **kwargs)

    def post(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return requests.post(self.base_url + path, headers=self.headers(**(headers or {})), timeout=10, **kwargs)

    def create_workflow(self, text: str) -> None:
        response = self.post("/v2/workflows", data=text, headers={"Content-Type": "text/plain"})
        assert response.status_code == 201, response.text

    def start_execution(self, name: str, **extra: Any) -> dict[str, Any]:
        response = self.post("/v2/executions", json={"workflow_name": name, **extra})
        assert response.status_code == 201, response.text
        return response.json()

    def wait_for_end(self, execution_id: str, timeout: float = 60) -> dict[str, Any]:
        ended: dict[str, Any] = {}

        def finished() -> bool:
            ended.update(self.get(f"/v2/executions/{execution_id}").json())
            return ended.get("state") in ("SUCCESS", "ERROR", "CANCELLED")

        self.wait_for(finished, timeout, f"execution {execution_id} to end")
        return ended
