"""The Supervisor runs real processes and leaves none behind, grandchildren included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from app.supervisor import StopSignals, Supervisor

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# Starts a grandchild in the same process group, then sleeps.
SPAWNER = [
    sys.executable,
    "-c",
    "import subprocess, sys, time;"
    " subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
    " time.sleep(60)",
]
# Ignores SIGTERM, as a process stuck in a long task would.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
]
# Leaves an orphaned grandchild behind and exits.
ORPHANER = [
    sys.executable,
    "-c",
    "import subprocess, sys;"
    " subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])",
]


def is_gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    return [p.pid for p in psutil.Process(pid).children(recursive=True)]


def group_members(pgid: int) -> list[int]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    messages: list[str] = []
    supervisor = Supervisor(stop_timeout=5, poll_interval=0.05, echo=messages.append)
    try:
        yield supervisor
    finally:
        supervisor.stop()


def test_stop_ends_children_and_grandchildren(supervisor: Supervisor) -> None:
    sleeper = supervisor.start("sleeper", SLEEPER)
    spawner = supervisor.start("spawner", SPAWNER)
    wait_for(lambda: len(descendants(spawner)) == 1)
    pids = [sleeper, spawner, *descendants(spawner)]

    started = time.monotonic()
    supervisor.stop()

    assert all(is_gone(pid) for pid in pids)
    assert time.monotonic() - started < 5, "SIGTERM was enough; no need to wait for the timeout"
    assert supervisor.pids == {}


def test_stop_kills_a_group_that_ignores_sigterm(supervisor: Supervisor) -> None:
    supervisor.stop_timeout = 1
    stubborn = supervisor.start("stubborn", STUBBORN)
    wait_for(lambda: group_members(stubborn) == [stubborn] and _ignores_sigterm(stubborn))

    started = time.monotonic()
    supervisor.stop()

    assert is_gone(stubborn)
    assert 1 <= time.monotonic() - started < 4


def _ignores_sigterm(pid: int) -> bool:
    # SigIgn in /proc shows whether the child got as far as installing its handler.
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
    return bool(ignored & (1 << (signal.SIGTERM - 1)))


def test_stop_reaches_grandchildren_whose_parent_already_exited(supervisor: Supervisor) -> None:
    orphaner = supervisor.start("orphaner", ORPHANER)
    wait_for(lambda: supervisor.exited() is not None and len(group_members(orphaner)) == 1)
    orphan = group_members(orphaner)[0]
    assert orphan != orphaner

    supervisor.stop()

    assert is_gone(orphan)


def test_watch_reports_the_child_that_exits(supervisor: Supervisor) -> None:
    sleeper = supervisor.start("sleeper", SLEEPER)
    supervisor.start("quitter", [sys.executable, "-c", "import sys, time; time.sleep(0.3); sys.exit(3)"])

    exited = supervisor.watch(threading.Event(), timeout=10)

    assert exited is not None
    assert (exited.name, exited.returncode) == ("quitter", 3)
    assert "quitter" in exited.describe() and "status 3" in exited.describe()
    assert not is_gone(sleeper), "the other children keep running until stop()"
    supervisor.stop()
    assert is_gone(sleeper)


def test_watch_returns_on_stop_request_until_and_timeout(supervisor: Supervisor) -> None:
    supervisor.start("sleeper", SLEEPER)
    stop = threading.Event()

    assert supervisor.watch(stop, timeout=0.2) is None
    assert supervisor.watch(stop, until=lambda: True) is None
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert supervisor.watch(stop) is None
    assert time.monotonic() - started < 5


def test_children_get_the_given_environment(tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    code = f"import os; open({str(out)!r}, 'w').write(os.environ['MARKER'])"
    with Supervisor({**os.environ, "MARKER": "tramontane"}, echo=lambda _: None) as supervisor:
        supervisor.start("printer", [sys.executable, "-c", code])
        exited = supervisor.watch(threading.Event(), timeout=10)
    assert exited is not None and exited.returncode == 0
    assert out.read_text() == "tramontane"


def test_duplicate_names_are_refused(supervisor: Supervisor) -> None:
    supervisor.start("sleeper", SLEEPER)
    with pytest.raises(ValueError, match="already running"):
        supervisor.start("sleeper", SLEEPER)


DRIVER = textwrap.dedent(
    """
    import sys
    from app.supervisor import StopSignals, Supervisor

    with StopSignals() as signals, Supervisor(stop_timeout=5) as supervisor:
        supervisor.start("sleeper", {sleeper!r})
        supervisor.start("spawner", {spawner!r})
        print("ready", flush=True)
        exited = supervisor.watch(signals.requested)
    sys.exit(0 if exited is None else 1)
    """
)


def start_driver(tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(sleeper=SLEEPER, spawner=SPAWNER))
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    driver = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    assert driver.stdout is not None and driver.stdout.readline() == "ready\n"
    # The sleeper, the spawner and the spawner's grandchild.
    wait_for(lambda: len(descendants(driver.pid)) == 3)
    return driver


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_ends_every_process_and_exits_zero(tmp_path: Path, signum: signal.Signals) -> None:
    driver = start_driver(tmp_path)
    pids = descendants(driver.pid)
    try:
        driver.send_signal(signum)
        assert driver.wait(timeout=15) == 0
    finally:
        driver.kill()
    assert all(is_gone(pid) for pid in pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_children_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    driver = start_driver(tmp_path)
    children = [p.pid for p in psutil.Process(driver.pid).children()]
    try:
        driver.kill()
        driver.wait()
        wait_for(lambda: all(is_gone(pid) for pid in children))
    finally:
        # Only direct children get the parent-death signal; the spawner's grandchild is left to us.
        for pgid in children:
            _kill_group(pgid)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_stop_signals_restores_previous_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(signals.requested.is_set, timeout=2)
        assert not signals.forced.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(signals.forced.is_set, timeout=2)
        assert signals.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
