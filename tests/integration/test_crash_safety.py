"""Processes die, Redis loses its messages, everything restarts: no execution is lost.

Each test runs its own stack (and its own Redis) because it kills or empties them.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.embedded_redis import EmbeddedRedis
from tests.support.stack import LiveStack
from tests.support.stack import private_stack as own_stack

FAST_RECOVERY = {"WORKER_HEARTBEAT_SECONDS": "1", "LOST_MESSAGE_SECONDS": "4", "LOST_CONTINUATION_SECONDS": "2",
                 "TIMER_CLAIM_SECONDS": "5"}

SLEEPERS = """
version: '2.0'
crash_sleepers:
  input: [safe]
  tasks:
    nap:
      action: std.sleep seconds=2
      safe-rerun: <% $.safe %>
      on-success: [done]
    done:
      action: std.echo output=finished
      publish: {result: <% task().result %>}
"""

TIMERS = """
version: '2.0'
crash_timers:
  tasks:
    later:
      wait-before: 4
      action: std.echo output=fired
      publish: {fired: <% task().result %>}
"""


@pytest.fixture()
def private_stack(settings: Settings, tmp_path: Path) -> Iterator[tuple[LiveStack, EmbeddedRedis]]:
    with own_stack(settings, tmp_path, worker_concurrency=4, extra_env=FAST_RECOVERY) as started:
        yield started


def _wait_all(stack: LiveStack, ids: list[str], timeout: float = 120) -> dict[str, dict]:
    return {ex_id: stack.wait_for_state(ex_id, timeout=timeout) for ex_id in ids}


def test_kill_9_of_the_worker_loses_no_execution(private_stack: tuple[LiveStack, EmbeddedRedis]) -> None:
    stack, _ = private_stack
    stack.create_workflow(SLEEPERS)
    # The unsafe ones first, so that the worker is busy with them when it dies.
    unsafe = [stack.start_execution("crash_sleepers", {"safe": False})["id"] for _ in range(25)]
    safe = [stack.start_execution("crash_sleepers", {"safe": True})["id"] for _ in range(25)]
    deadline = time.monotonic() + 30
    while stack.log("worker").count("std.sleep[") < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stack.kill("worker", signal.SIGKILL)
    stack.restart("worker")
    finals = _wait_all(stack, safe + unsafe)
    bad = {i: (finals[i]["state"], finals[i]["state_info"], [(t["name"], t["state"], t["state_info"])
                                                             for t in stack.tasks_of(i)])
           for i in safe if finals[i]["state"] != "SUCCESS"}
    assert not bad, bad
    unsafe_states = [finals[ex_id]["state"] for ex_id in unsafe]
    assert set(unsafe_states) <= {"SUCCESS", "ERROR"}
    failed = [ex_id for ex_id in unsafe if finals[ex_id]["state"] == "ERROR"]
    for ex_id in failed:
        nap = next(t for t in stack.tasks_of(ex_id) if t["name"] == "nap")
        assert "safe-rerun" in nap["state_info"], nap["state_info"]
    assert len(failed) >= 1, "the kill should have caught at least one unsafe action mid-run"


def test_redis_restarted_empty_loses_no_execution(private_stack: tuple[LiveStack, EmbeddedRedis]) -> None:
    stack, redis = private_stack
    stack.create_workflow(SLEEPERS.replace("crash_sleepers", "crash_redis_sleepers"))
    ids = [stack.start_execution("crash_redis_sleepers", {"safe": True})["id"] for _ in range(20)]
    time.sleep(1)
    port = redis.port
    redis.stop()
    time.sleep(1)
    EmbeddedRedis(redis.directory.parent, port=port, persistent=False).start()
    finals = _wait_all(stack, ids)
    assert [finals[ex_id]["state"] for ex_id in ids] == ["SUCCESS"] * len(ids)


def test_timers_survive_a_restart_of_every_process(private_stack: tuple[LiveStack, EmbeddedRedis]) -> None:
    stack, _ = private_stack
    stack.create_workflow(TIMERS)
    ids = [stack.start_execution("crash_timers")["id"] for _ in range(5)]
    time.sleep(0.5)
    for name in ("scheduler", "worker", "web"):
        stack.kill(name, signal.SIGKILL)
    time.sleep(1)
    for name in ("web", "worker", "scheduler"):
        stack.restart(name)
    stack.wait_until_ready()
    finals = _wait_all(stack, ids, timeout=60)
    for ex_id in ids:
        assert finals[ex_id]["state"] == "SUCCESS"
        assert json.loads(finals[ex_id]["output"]) == {"fired": "fired"}
        tasks = stack.tasks_of(ex_id)
        assert len(tasks) == 1
        actions = stack.get(f"/v2/tasks/{tasks[0]['id']}/action_executions").json()["action_executions"]
        assert len(actions) == 1, "the timer fired more than once"


def test_sigterm_lets_the_worker_finish_its_running_actions(private_stack: tuple[LiveStack, EmbeddedRedis]) -> None:
    stack, _ = private_stack
    stack.create_workflow(SLEEPERS.replace("crash_sleepers", "crash_sigterm_sleepers"))
    # Not safe to re-run: had the shutdown abandoned a running action, its execution would end ERROR.
    ids = [stack.start_execution("crash_sigterm_sleepers", {"safe": False})["id"] for _ in range(8)]
    deadline = time.monotonic() + 30
    while stack.log("worker").count("std.sleep[") < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    worker = stack.processes["worker"]
    worker.send_signal(signal.SIGTERM)  # the main process only, as a process manager does
    assert worker.wait(timeout=60) == 0, stack.log_tails()
    assert "warm shutdown" in stack.log("worker").lower()

    # What was running when the signal came was finished before the worker exited.
    naps = [next(t for t in stack.tasks_of(ex_id) if t["name"] == "nap") for ex_id in ids
            if any(t["name"] == "nap" for t in stack.tasks_of(ex_id))]
    finished = [nap for nap in naps if nap["state"] == "SUCCESS"]
    assert len(finished) >= 4, naps
    assert not [nap for nap in naps if nap["state"] == "ERROR"], naps

    # What it had not started went back to the broker: a new worker finishes everything.
    stack.restart("worker")
    finals = _wait_all(stack, ids)
    assert {ex_id: finals[ex_id]["state"] for ex_id in ids} == {ex_id: "SUCCESS" for ex_id in ids}
