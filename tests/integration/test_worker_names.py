"""Two workers started the same way on one host get different node names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app.config import Settings
from app.embedded_redis import EmbeddedRedis
from app.health import WORKER_KEY_PREFIX
from tests.integration.test_supervisor import wait_for

ROOT = Path(__file__).resolve().parents[2]


def worker_command() -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    return line.split(":", 1)[1].strip()


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path / "redis", persistent=False)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def test_procfile_workers_on_one_host_have_names_of_their_own(settings: Settings, private_redis: str,
                                                               tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "DATABASE_URL": settings.database_url, "REDIS_URL": private_redis,
                "TRAMONTANE_DATA_DIR": str(settings.data_dir), "WORKER_CONCURRENCY": "1",
                "WORKER_HEARTBEAT_SECONDS": "1"})
    workers = []
    for index in range(2):
        log = (tmp_path / f"worker{index}.log").open("wb")
        workers.append(subprocess.Popen(["bash", "-c", f"exec {worker_command()}"], cwd=ROOT, env=env,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    client = redis.Redis.from_url(private_redis)
    try:
        wait_for(lambda: len(list(client.scan_iter(match=f"{WORKER_KEY_PREFIX}*"))) >= 2, timeout=90)
        names = sorted(key.decode()[len(WORKER_KEY_PREFIX):] for key in client.scan_iter(match=f"{WORKER_KEY_PREFIX}*"))
        # Celery's default name, made unique by the process id of each worker.
        assert {name.split("@")[0] for name in names} == {f"celery.{w.pid}" for w in workers}
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        client.close()
