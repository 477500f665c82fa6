"""The benchmark's processes run the code of the checkout the benchmark runs from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.processes import PROJECT_ROOT
from bench.stack import with_project_first


def _imported_app(env: dict[str, str], folder: Path) -> Path:
    done = subprocess.run([sys.executable, "-c", "import app; print(app.__file__)"], env=env, cwd=folder,
                          capture_output=True, text=True, check=True, timeout=60)
    return Path(done.stdout.strip()).resolve()


def test_a_process_started_in_a_folder_of_its_own_imports_this_checkout_s_app(tmp_path: Path) -> None:
    # Another copy of the package on the path (an installed checkout, say) must not be the one run.
    other = tmp_path / "other_checkout"
    (other / "app").mkdir(parents=True)
    (other / "app" / "__init__.py").write_text("")
    folder = tmp_path / "run"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(other)}

    assert _imported_app(env, folder) == (other / "app" / "__init__.py").resolve()
    assert _imported_app(with_project_first(env), folder) == (PROJECT_ROOT / "app" / "__init__.py").resolve()


def test_the_folder_s_own_modules_still_come_first(tmp_path: Path) -> None:
    # The stack's folder holds the celeryconfig override the benchmark writes.
    (tmp_path / "celeryconfig.py").write_text("WHERE = 'override'\n")
    done = subprocess.run([sys.executable, "-c", "import celeryconfig; print(celeryconfig.WHERE)"],
                          env=with_project_first(dict(os.environ)), cwd=tmp_path, capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "override"
