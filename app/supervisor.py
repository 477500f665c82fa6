"""Start named commands as child processes, watch them and stop them without leaving any behind.

Each child runs in its own session, so its process group holds everything it spawns (gunicorn and
Celery workers, shells, ...). Stopping signals the whole group rather than the direct child only,
which is what guarantees that no grandchild survives the stack.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

DEFAULT_STOP_TIMEOUT = 25.0
POLL_INTERVAL = 0.1
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Echo = Callable[[str], None]


def echo_stderr(message: str) -> None:
    print(f"tramontane: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ExitedChild:
    name: str
    pid: int
    returncode: int

    def describe(self) -> str:
        if self.returncode < 0:
            return f"{self.name} (pid {self.pid}) was killed by signal {-self.returncode}"
        return f"{self.name} (pid {self.pid}) exited with status {self.returncode}"


@dataclass
class _Child:
    name: str
    argv: tuple[str, ...]
    process: subprocess.Popen[bytes]

    @property
    def pgid(self) -> int:
        # start_new_session makes the child a session and group leader: its pid is the group id.
        return self.process.pid


def die_with_parent_hook() -> Callable[[], None] | None:
    """Return a ``preexec_fn`` asking Linux to SIGTERM the child when this process dies.

    Process groups cover Ctrl-C and SIGTERM; this covers the supervisor being SIGKILLed, where no
    cleanup code runs. Children are then told to stop instead of running on as orphans.
    """
    if not sys.platform.startswith("linux"):
        return None
    parent_pid = os.getpid()
    # Loading libc after fork() is not async-signal-safe, so do it here, in the parent.
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def live_group_members(pgid: int) -> list[int]:
    """Pids of the running (non-zombie) processes in process group ``pgid``.

    ``killpg(pgid, 0)`` alone also succeeds for zombies, which only disappear once their new
    parent reaps them; counting them as alive would make every stop wait for the full timeout.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return [pgid] if _group_exists(pgid) else []
    members = []
    for entry in proc.iterdir():
        if entry.name.isdigit() and _stat_matches(entry / "stat", pgid):
            members.append(int(entry.name))
    return members


def _stat_matches(stat_path: Path, pgid: int) -> bool:
    try:
        stat = stat_path.read_text()
    except OSError:  # the process ended while we were looking
        return False
    # The command name is in parentheses and may itself contain spaces or parentheses.
    fields = stat[stat.rfind(")") + 2:].split()
    state, group = fields[0], int(fields[2])
    return group == pgid and state not in ("Z", "X")


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class StopSignals:
    """Turn SIGINT, SIGTERM and SIGHUP into events polled by the main loop.

    Raising KeyboardInterrupt at an arbitrary point (half-way through a migration, between two
    child starts) would make cleanup unreliable; an event lets the code stop at a safe point.
    A second signal sets ``forced`` so an impatient user can skip the graceful wait.
    """

    def __init__(self, signals: Sequence[signal.Signals] = STOP_SIGNALS) -> None:
        self.requested = threading.Event()
        self.forced = threading.Event()
        self.received: signal.Signals | None = None
        self._signals = tuple(signals)
        self._previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> Self:
        for signum in self._signals:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            self.forced.set()
            return
        self.received = signal.Signals(signum)
        self.requested.set()


class Supervisor:
    """Run named commands, report the first one that exits, and stop them all by process group."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
        echo: Echo = echo_stderr,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        self.echo = echo
        self._children: list[_Child] = []

    @property
    def pids(self) -> dict[str, int]:
        return {child.name: child.process.pid for child in self._children}

    def start(self, name: str, argv: Sequence[str]) -> int:
        """Start ``argv`` as child ``name`` in a new process group and return its pid."""
        if name in self.pids:
            raise ValueError(f"a child named {name!r} is already running")
        process = subprocess.Popen(
            list(argv),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,  # a child reading the terminal would steal the user's input
            start_new_session=True,
            preexec_fn=die_with_parent_hook(),  # noqa: PLW1509 - the hook only makes two syscalls
        )
        self._children.append(_Child(name, tuple(argv), process))
        self.echo(f"started {name} (pid {process.pid})")
        return process.pid

    def exited(self) -> ExitedChild | None:
        """The first child found to have exited, without blocking."""
        for child in self._children:
            returncode = child.process.poll()
            if returncode is not None:
                return ExitedChild(child.name, child.process.pid, returncode)
        return None

    def watch(
        self,
        stop: threading.Event,
        until: Callable[[], bool] | None = None,
        timeout: float | None = None,
    ) -> ExitedChild | None:
        """Block until a child exits (returned), ``stop`` is set, ``until()`` holds or ``timeout`` passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            exited = self.exited()
            if exited is not None:
                return exited
            if stop.is_set() or (until is not None and until()):
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
            stop.wait(self.poll_interval)

    def stop(self, force: threading.Event | None = None) -> None:
        """SIGTERM every child's group, wait up to ``stop_timeout``, then SIGKILL what is left.

        Setting ``force`` while waiting skips the rest of the grace period.
        """
        if not self._children:
            return
        running = self._live_children()
        for child in running:
            _signal_group(child.pgid, signal.SIGTERM)
        if running:
            names = ", ".join(child.name for child in running)
            self.echo(f"stopping {names} (waiting up to {self.stop_timeout:g} s)")
        remaining = self._wait_for_groups(force)
        for child in remaining:
            self.echo(f"{child.name} did not stop in time: killing its process group")
            _signal_group(child.pgid, signal.SIGKILL)
        self._reap_all()
        self._children.clear()

    def _wait_for_groups(self, force: threading.Event | None) -> list[_Child]:
        deadline = time.monotonic() + self.stop_timeout
        while True:
            remaining = self._live_children()
            if not remaining or time.monotonic() >= deadline:
                return remaining
            if force is not None and force.is_set():
                return remaining
            time.sleep(self.poll_interval)

    def _live_children(self) -> list[_Child]:
        # Reaping first matters: an exited but unreaped leader is a zombie that keeps its group alive.
        for child in self._children:
            child.process.poll()
        return [child for child in self._children if live_group_members(child.pgid)]

    def _reap_all(self) -> None:
        for child in self._children:
            try:
                child.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.echo(f"{child.name} (pid {child.process.pid}) survived SIGKILL")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
