"""Child processes of the benchmark, each in its own process group with its log in a file.

Logs go to files so the children never write into the JSON lines on stdout. A process group per
child lets stopping reach grandchildren (gunicorn and Celery workers), and the parent-death hook
stops them even when the benchmark itself is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.supervisor import die_with_parent_hook

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 20.0


class ProcessGroup:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                list(argv), env=dict(env), cwd=cwd or PROJECT_ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent_hook(),  # noqa: PLW1509 - the hook only makes two syscalls
            )
        self.children[name] = process
        return process.pid

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.children.items()}

    def check_alive(self) -> None:
        for name, process in self.children.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {path} ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM every group, give them STOP_TIMEOUT to finish, then SIGKILL what is left."""
        for process in self.children.values():
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.children.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            # Grandchildren that outlived their parent are still in the group.
            _signal_group(process.pid, signal.SIGKILL)
        self.children.clear()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
