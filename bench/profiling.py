"""Optional py-spy sampling of the Celery worker while a scenario runs (``--profile DIR``).

py-spy is not a dependency of the project: install it in the venv (``pip install py-spy``) to use
this. The raw (collapsed-stack) output is summarized by ``python -m bench.hotspots FILE``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

STOP_TIMEOUT = 30


class WorkerProfile:
    """Records every process of the worker (pool children included) until the block ends."""

    def __init__(self, directory: Path | None, name: str, pid: int | None) -> None:
        self.output = directory / f"{name}.txt" if directory else None
        self.pid = pid
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerProfile:
        executable = _py_spy()
        if self.output is None or self.pid is None:
            return self
        if executable is None:
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        # --nonblocking: pausing the worker to sample would slow down what is measured.
        self._process = subprocess.Popen(
            [executable, "record", "--pid", str(self.pid), "--subprocesses", "--nonblocking",
             "--rate", "250", "--format", "raw", "--output", str(self.output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._process is None:
            return
        # py-spy writes its output when interrupted.
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _py_spy() -> str | None:
    # The venv's bin folder need not be on PATH (the Makefile calls .venv/bin/python directly).
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")
