"""The benchmark's processes run the code of the checkout the benchmark runs from."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.config import Settings
from bench.processes import PROJECT_ROOT
from bench.stack import PLUGIN_ROOT, BenchStack, start_floor_worker, with_project_first

IMPORTED = "import app, tramontane_bench_actions as p; print(app.__file__); print(p.__file__)"


def _imported(env: dict[str, str], folder: Path) -> list[Path]:
    done = subprocess.run([sys.executable, "-c", IMPORTED], env=env, cwd=folder, capture_output=True, text=True,
                          check=True, timeout=60)
    return [Path(line).resolve() for line in done.stdout.split()]


def _package(root: Path, name: str) -> Path:
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    return (root / name / "__init__.py").resolve()


def test_a_process_in_a_folder_of_its_own_imports_this_checkout_and_its_plugin(tmp_path: Path) -> None:
    # Another copy of both on the path (another checkout's editable install, say) must not be run.
    other = tmp_path / "other_checkout"
    other_app, other_plugin = _package(other, "app"), _package(other, "tramontane_bench_actions")
    folder = tmp_path / "run"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(other)}

    assert _imported(env, folder) == [other_app, other_plugin]
    assert _imported(with_project_first(env), folder) == [
        (PROJECT_ROOT / "app" / "__init__.py").resolve(),
        (PLUGIN_ROOT / "tramontane_bench_actions" / "__init__.py").resolve()]


def test_the_folder_s_own_celeryconfig_still_comes_first(tmp_path: Path) -> None:
    # As the stack's processes run in a --celery-events override's folder: python -m, from there.
    (tmp_path / "celeryconfig.py").write_text("WHERE = 'override'\n")
    (tmp_path / "probe.py").write_text("import celeryconfig\nprint(celeryconfig.WHERE)\n")
    done = subprocess.run([sys.executable, "-m", "probe"], env=with_project_first(dict(os.environ)), cwd=tmp_path,
                          capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "override"


def _first_on_path(env: Mapping[str, str]) -> list[str]:
    return env["PYTHONPATH"].split(os.pathsep)[:2]


def test_the_stack_and_the_floor_are_started_with_this_checkout_first(tmp_path: Path) -> None:
    stack = BenchStack(tmp_path, None, "unused")
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "TRAMONTANE_DATA_DIR": str(tmp_path),
                                  "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert _first_on_path(stack.environment(settings)) == [str(PROJECT_ROOT), str(PLUGIN_ROOT)]

    started: list[Mapping[str, str]] = []

    class Recorder:
        def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
            started.append(env)
            return 0

    for data_dir in (None, tmp_path):
        start_floor_worker(Recorder(), "redis://127.0.0.1:1/0", "INFO", 2, "none", data_dir)  # type: ignore[arg-type]
    assert [_first_on_path(env) for env in started] == [[str(PROJECT_ROOT), str(PLUGIN_ROOT)]] * 2
