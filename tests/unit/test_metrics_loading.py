"""prometheus-client is loaded by the first scrape of /metrics, not by every process that records.

Workers and the scheduler only add to the counters in Redis; an API process renders the Prometheus
text when it is scraped. Memory at rest is measured on processes that were never scraped.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, body: str) -> str:
    script = textwrap.dedent(f"""
        import sys
        from app.config import Settings
        settings = Settings.from_env({{"DATABASE_URL": "sqlite:///{tmp_path}/t.db",
                                       "TRAMONTANE_DATA_DIR": "{tmp_path}",
                                       "REDIS_URL": "redis://127.0.0.1:1/0"}})
        def loaded():
            return sorted(m for m in sys.modules if m.split(".")[0] == "prometheus_client")
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_an_api_process_loads_prometheus_client_on_its_first_scrape_only(tmp_path: Path) -> None:
    out = _run(tmp_path, """
        from app.dbtools import upgrade_database
        from app.engine.dispatch import CollectingDispatcher
        from app.factory import create_app
        upgrade_database(settings)
        client = create_app(settings, dispatcher=CollectingDispatcher()).test_client()
        assert client.get("/v2/workflows").status_code == 200
        print("before", loaded())
        scrape = client.get("/metrics")
        print("status", scrape.status_code, b"tramontane_executions_running" in scrape.data)
        print("after", bool(loaded()))
    """)
    assert "before []" in out
    assert "status 200 True" in out
    assert "after True" in out


def test_a_worker_never_loads_prometheus_client(tmp_path: Path) -> None:
    out = _run(tmp_path, """
        import app.workers.tasks, app.workers.executor, app.scheduler
        from app.workers.celery_app import celery
        print("worker", loaded())
    """)
    assert "worker []" in out
