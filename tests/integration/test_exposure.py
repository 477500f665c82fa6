"""The Procfile's web process refuses to serve the network without authentication."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from app.config import Settings
from app.embedded_redis import find_free_port
from tests.integration.test_supervisor import wait_for

ROOT = Path(__file__).resolve().parents[2]


def web_command() -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return line.split(":", 1)[1].strip()


def environment(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AUTH_ENABLED", None)
    env.pop("ALLOW_UNAUTHENTICATED", None)
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PORT": str(port), "WEB_CONCURRENCY": "1", "WEB_THREADS": "1",
        "DATABASE_URL": settings.database_url, "REDIS_URL": settings.broker_url,
        "TRAMONTANE_DATA_DIR": str(settings.data_dir), **extra,
    })
    return env


def test_without_authentication_the_procfile_web_process_refuses_a_public_bind(settings: Settings) -> None:
    port = find_free_port()
    done = subprocess.run(["bash", "-c", f"exec {web_command()}"], env=environment(settings, port), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: refusing to serve the API on 0.0.0.0:{port} with authentication off: set "
                      "AUTH_ENABLED=true (and create a token with `tramontane token create`), bind 127.0.0.1, "
                      "or set ALLOW_UNAUTHENTICATED=true to accept the risk"]


def test_allow_unauthenticated_starts_it_with_a_warning(settings: Settings, tmp_path: Path) -> None:
    port = find_free_port()
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["bash", "-c", f"exec {web_command()}"], cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT,
                                   env=environment(settings, port, ALLOW_UNAUTHENTICATED="true"))
    try:
        wait_for(lambda: _answers(port), timeout=60)
        assert "authentication is off and the API listens on 0.0.0.0:" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not up yet, or its first answer is slow
        return False
