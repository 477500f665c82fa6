"""Each process builds its settings at its entry point: importing a module builds and creates nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_EVERYTHING = """
import importlib, json, pkgutil
import app
from app import config

def refuse(*_, **__):
    raise AssertionError("the settings were read from the environment at import")

config.Settings.from_env = classmethod(refuse)
names = ["celeryconfig"] + [info.name for info in pkgutil.walk_packages(app.__path__, "app.")
                            # Alembic's scripts, run by Alembic within a migration context.
                            if not info.name.startswith("app.migrations")]
for name in names:
    importlib.import_module(name)
print(json.dumps(names))
"""


def _python(program: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env})


def test_importing_any_module_reads_no_settings_and_creates_no_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-there"

    done = _python(IMPORT_EVERYTHING, {"TRAMONTANE_DATA_DIR": str(data_dir)})

    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)
    assert {"app.wsgi", "app.workers.tasks", "app.workers.celery_app", "app.scheduler", "app.cli"} <= set(imported)
    assert not data_dir.exists()


def test_the_scheduler_imports_nothing_of_the_workers(tmp_path: Path) -> None:
    """The workers run the scheduler (embedded); the scheduler is handed a dispatcher, so no cycle."""
    done = _python("import sys, app.scheduler\nprint(sorted(m for m in sys.modules if m.startswith('app.workers')))",
                   {"TRAMONTANE_DATA_DIR": str(tmp_path)})

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


RUN_A_TASK = """
import json, flask
from app.config import Settings
from app.extensions import session

settings = Settings.from_env({{"TRAMONTANE_DATA_DIR": {data_dir!r}, "DATABASE_URL": {url!r}}})
from app.workers.celery_app import celery
celery.use_settings(settings)
from app.workers import executor, tasks

seen = []

def looking(session_, engine, settings_, action_execution_id, heartbeat):
    seen.append({{"app_context": flask.has_app_context(), "session": session_ is session(),
                  "settings": settings_ is settings, "beating_for": sorted(celery.process.heartbeat.running),
                  "its_heartbeat": heartbeat is celery.process.heartbeat}})

executor.run_action = looking
tasks.run_action.apply(args=("action-1",))
print(json.dumps({{"during": seen, "after": sorted(celery.process.heartbeat.running),
                   "one_settings": celery.settings is settings and celery.process.settings is settings}}))
"""


def test_a_task_runs_in_the_app_context_and_its_action_is_beaten_for_while_it_runs(tmp_path: Path) -> None:
    program = RUN_A_TASK.format(data_dir=str(tmp_path), url=f"sqlite:///{tmp_path / 'worker.db'}")

    done = _python(program, {})

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["during"] == [{"app_context": True, "session": True, "settings": True,
                                 "beating_for": ["action-1"], "its_heartbeat": True}]
    assert report["after"] == []
    assert report["one_settings"] is True
