"""Many machines over one PostgreSQL and one Redis, and one of each kind of process killed mid-run.

Three "machines" share a database of their own on the PostgreSQL server of ``TEST_DATABASE_URL`` and
one Redis: A and B each run gunicorn, a Celery worker and a scheduler, C runs a worker only. The
workers keep the node names they get by default. A client alternates between the two APIs (failing
over as a load balancer would) and starts executions of mixed shapes: chains, with-items, joins,
async actions it completes through the API, timers (wait-before, wait-after, retry delays) and cron
triggers firing every five seconds. Midway it SIGKILLs A's worker, B's gunicorn and A's scheduler
(the worker while it runs actions), starts them again once the others saw them die, and later
SIGKILLs B's worker, A's gunicorn and B's scheduler.

Every action is ``sample.count`` or ``sample.count_async`` (tests/fixtures/plugins), which record
each run of their action execution in Redis. Afterwards the database and those counts must say:
every execution ended; no action ran twice unless its task is safe-rerun; every task ran once, with
the number of actions its timers and items call for; every cron occurrence started exactly one
execution.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from app.config import Settings, normalize_database_url
from app.dbtools import upgrade_database
from app.embedded_redis import EmbeddedRedis
from app.engine.claims import SENDING
from app.engine.cron import Occurrence, next_time
from app.engine.runtime import TASK_TIMEOUT
from app.engine.states import COMPLETED
from app.health import SCHEDULER_HEARTBEAT_KEY
from app.models import ActionExecution, CronTrigger, TaskExecution, Timer, WorkflowExecution
from bench.database import PostgresDatabase
from tests.support.stack import LiveStack

pytestmark = pytest.mark.postgresql_only

EXECUTIONS = 500
# Executions started when one worker, one gunicorn and one scheduler die: those of the first round
# come back once the others saw them die, and the second round kills the other machine's.
ROUNDS = ((250, {"worker": "a", "web": "b", "scheduler": "a"}), (400, {"worker": "b", "web": "a", "scheduler": "b"}))
WINDOW = 80  # executions the client keeps running at once, as steady traffic would
# The triggers fire for about a minute, across both rounds of deaths. A scheduler more than one
# period late fires the occurrence due and skips those it missed (as Mistral's does): the period
# leaves room for a loaded machine.
CRON_TRIGGERS, CRON_OCCURRENCES = 3, 12
CRON_PATTERN = "* * * * * */5"  # every five seconds (the sixth, last field is seconds)
COUNTS_KEY = "sample:count:runs"  # where sample.count records its runs
FINAL = {state.value for state in COMPLETED}
END_TIMEOUT = 120

# Fast failure detection, so the test sees recovery within its time.
RECOVERY = {"WORKER_HEARTBEAT_SECONDS": "2", "LOST_MESSAGE_SECONDS": "15", "LOST_CONTINUATION_SECONDS": "3",
            "TIMER_CLAIM_SECONDS": "5"}

WORKFLOWS = """
version: '2.0'
mm_chain:
  input: [safe]
  tasks:
    one:
      action: sample.count seconds=0.1
      safe-rerun: <% $.safe %>
      on-success: [two]
    two:
      action: sample.count seconds=0.1
      safe-rerun: <% $.safe %>
      on-success: [three]
    three:
      action: sample.count seconds=0.1
      safe-rerun: <% $.safe %>
mm_items:
  input: [safe]
  tasks:
    each:
      with-items: n in <% [1, 2, 3, 4] %>
      action: sample.count seconds=0.05
      safe-rerun: <% $.safe %>
      on-success: [total]
    total:
      action: sample.count
mm_join:
  tasks:
    fork:
      action: sample.count
      on-success: [left, middle, right]
    left:
      action: sample.count seconds=0.05
      on-success: [joined]
    middle:
      action: sample.count seconds=0.05
      on-success: [joined]
    right:
      action: sample.count seconds=0.05
      on-success: [joined]
    joined:
      join: all
      action: sample.count
mm_async:
  tasks:
    ask:
      action: sample.count_async
      timeout: 30
      on-success: [answered]
    answered:
      action: sample.count
mm_timers:
  tasks:
    before:
      wait-before: 1
      action: sample.count
      on-success: [after]
    after:
      action: sample.count
      wait-after: 1
      on-success: [retried]
    retried:
      action: sample.count fail=true
      retry:
        count: 2
        delay: 1
      on-error: [handled]
    handled:
      action: sample.count
mm_cron:
  tasks:
    fired:
      action: sample.count
      on-success: [then]
    then:
      action: sample.count
"""

# How many executions of each shape, in the order they are interleaved, with their input.
SHAPES: list[tuple[str, dict[str, Any], int]] = [
    ("mm_chain", {"safe": True}, 75), ("mm_chain", {"safe": False}, 75),
    ("mm_items", {"safe": True}, 50), ("mm_items", {"safe": False}, 50),
    ("mm_join", {}, 100), ("mm_async", {}, 80), ("mm_timers", {}, 70),
]
# Actions each task calls in an execution that succeeded: one, save for items and retries.
ACTIONS_PER_TASK = {"each": 4, "retried": 3}


class Machine(LiveStack):
    """Some of a stack's processes, as one host of a deployment runs them."""

    def __init__(self, name: str, settings: Settings, log_dir: Path, roles: tuple[str, ...]) -> None:
        # One SECRET_KEY everywhere: a key each host made for itself would refuse the others' capabilities.
        super().__init__(settings, log_dir, worker_concurrency=4,
                         extra_env={**RECOVERY, "SECRET_KEY": settings.secret_key})
        self.name = name
        self.roles = roles

    def commands(self) -> dict[str, list[str]]:
        commands = super().commands()
        # No --hostname: each worker keeps the node name of its own it gets by default.
        worker = commands["worker"]
        at = worker.index("--hostname")
        commands["worker"] = worker[:at] + worker[at + 2:]
        return {role: command for role, command in commands.items() if role in self.roles}

    def _wait_until_ready(self) -> None:
        if "web" in self.roles:
            self._wait("answering API", 60, self._api_ready)
        if "worker" in self.roles:
            self._wait("ready worker", 60, lambda: "ready." in self.log("worker"))


class Balancer:
    """Sends each request to the next API that answers, as a load balancer does."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.down: set[str] = set()
        self.cut_off = 0  # requests that met a dead API (refused, or cut off mid-way)
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def revive(self, url: str) -> None:
        with self._lock:
            self.down.discard(url)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for _ in range(len(self.urls) * 2):
            with self._lock:
                live = [url for url in self.urls if url not in self.down] or self.urls
                url = live[next(self._turn) % len(live)]
            try:
                return requests.request(method, url + path, timeout=30, **kwargs)
            except requests.RequestException:
                # Refused, or cut off before the whole answer came: sent again, as every request
                # here may be (a start carries its id, a completion is checked against the row).
                with self._lock:
                    self.down.add(url)
                    self.cut_off += 1
        raise AssertionError(f"no API answers {method} {path}")


@dataclass
class Traffic:
    """What the client did, for the figures."""

    started: list[str] = field(default_factory=list)
    completed_async: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class OwnDatabase(PostgresDatabase):
    marker = "created by Tramontane's many-machines test, which drops and re-creates it"
    owner = "the many-machines test"


@pytest.fixture()
def machines(tmp_path: Path) -> Iterator[tuple[list[Machine], Engine, redis.Redis]]:
    database = OwnDatabase(os.environ["TEST_DATABASE_URL"], "tramontane_many_machines")
    database_url = normalize_database_url(database.create())
    broker = EmbeddedRedis(tmp_path / "redis", persistent=False)
    shared = Settings.from_env({
        "TRAMONTANE_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
        "REDIS_URL": broker.start(), "SECRET_KEY": "one secret for every machine",
    })
    upgrade_database(shared)
    deployment = [Machine("a", shared, tmp_path / "a", ("web", "worker", "scheduler")),
                  Machine("b", shared, tmp_path / "b", ("web", "worker", "scheduler")),
                  Machine("c", shared, tmp_path / "c", ("worker",))]
    audit = create_engine(database_url, pool_size=2)
    counts = redis.Redis.from_url(shared.broker_url, decode_responses=True)
    try:
        for machine in deployment:
            machine.log_dir.mkdir(parents=True)
            for role, command in machine.commands().items():
                machine.start_process(role, command)
        for machine in deployment:
            machine.wait_until_ready()
        yield deployment, audit, counts
    finally:
        for machine in deployment:
            machine.stop()
        audit.dispose()
        counts.close()
        broker.stop()
        database.drop()


def test_three_workers_two_apis_two_schedulers_lose_nothing_when_one_of_each_dies(
        machines: tuple[list[Machine], Engine, redis.Redis], tmp_path: Path) -> None:
    (a, b, c), audit, counts = machines
    balancer = Balancer([a.base_url, b.base_url])
    names = _live_workers(balancer, 3)
    assert len(set(names)) == 3, names

    response = balancer.request("POST", "/v2/workflows", data=WORKFLOWS, headers={"Content-Type": "text/plain"})
    assert response.status_code == 201, response.text
    triggers = [_create_trigger(balancer, f"mm_cron_{index}") for index in range(CRON_TRIGGERS)]
    occurrences = _occurrences(audit, triggers)

    traffic = Traffic()
    stop = threading.Event()
    finished = _Finished(audit)
    helpers = [threading.Thread(target=finished.follow, args=(stop,), daemon=True),
               threading.Thread(target=_answer_async_actions, args=(balancer, audit, counts, traffic, stop),
                                daemon=True)]
    for helper in helpers:
        helper.start()
    began = time.monotonic()
    starters = threading.Thread(target=_start_all, args=(balancer, traffic, finished), daemon=True)
    starters.start()
    try:
        by_name = {machine.name: machine for machine in (a, b, c)}
        killed: list[str] = []
        caught: list[int] = []
        for number, (after, victims) in enumerate(ROUNDS):
            _wait_for(partial(_started, traffic, after), 120, f"{after} executions started")
            caught.append(_when_busy(audit, by_name[victims["worker"]]))
            for role, name in victims.items():
                by_name[name].kill(role)
                killed.append(f"{role} of {name}")
            if number < len(ROUNDS) - 1:
                _restart(balancer, counts, by_name, victims)
        starters.join(timeout=180)
        assert not starters.is_alive(), "the client could not start every execution"
        _wait_for(lambda: _unfinished(audit) == 0 and _cron_done(audit), END_TIMEOUT,
                  "every execution to end", lambda: _stuck(audit))
    finally:
        stop.set()
    elapsed = time.monotonic() - began

    assert not traffic.problems, traffic.problems
    assert len(traffic.started) == EXECUTIONS
    figures = _audit(audit, counts, traffic, triggers)
    figures["cron_occurrences_missed"] = _missed(audit, occurrences)
    figures.update({"processes_killed": killed,
                    "actions_running_on_the_killed_workers": caught, "requests_cut_off": balancer.cut_off,
                    "seconds": round(elapsed, 1), "workers": names})
    (tmp_path / "figures.json").write_text(json.dumps(figures, indent=2))
    print("many machines:", json.dumps(figures))
    assert figures["lost"] == 0
    assert figures["double_runs"] == [], figures["double_runs"]
    assert figures["unexplained_failures"] == [], figures["unexplained_failures"]
    assert figures["wrong_action_counts"] == [], figures["wrong_action_counts"]
    assert figures["duplicate_tasks"] == [], figures["duplicate_tasks"]
    assert figures["cron_fires"] == {trigger: CRON_OCCURRENCES for trigger in triggers}
    assert figures["cron_occurrences_missed"] == 0
    assert figures["timers_left"] == 0
    assert figures["left_running"] == [], figures["left_running"]


# -- traffic ------------------------------------------------------------------------------------


def _plan() -> list[tuple[str, str, dict[str, Any]]]:
    """Every shape's executions, interleaved so that the kill finds all of them running."""
    queues = [[(workflow, wf_input)] * count for workflow, wf_input, count in SHAPES]
    mixed = [start for group in itertools.zip_longest(*queues) for start in group if start is not None]
    assert len(mixed) == EXECUTIONS
    return [(str(uuid.uuid4()), workflow, wf_input) for workflow, wf_input in mixed]


def _start_all(balancer: Balancer, traffic: Traffic, finished: _Finished) -> None:
    plan = iter(_plan())
    plan_lock = threading.Lock()

    def starter() -> None:
        while True:
            with plan_lock:
                start = next(plan, None)
            if start is None:
                return
            while len(traffic.started) - finished.count >= WINDOW:
                time.sleep(0.05)
            try:
                _start(balancer, traffic, *start)
            except Exception as exc:  # noqa: BLE001 - the test fails, the others go on
                with traffic.lock:
                    traffic.problems.append(repr(exc))

    threads = [threading.Thread(target=starter, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _started(traffic: Traffic, count: int) -> bool:
    return len(traffic.started) >= count


def _start(balancer: Balancer, traffic: Traffic, execution_id: str, workflow: str, wf_input: dict[str, Any]) -> None:
    # The id makes a start idempotent: sent again after a gunicorn died mid-request, it finds the
    # execution the first attempt may have created.
    body = {"id": execution_id, "workflow_name": workflow, "input": wf_input}
    for _ in range(5):
        response = balancer.request("POST", "/v2/executions", json=body)
        if response.status_code == 201:
            with traffic.lock:
                traffic.started.append(execution_id)
            return
        if response.status_code < 500:
            break
    with traffic.lock:
        traffic.problems.append(f"start of {workflow} answered {response.status_code}: {response.text[:300]}")


def _restart(balancer: Balancer, counts: redis.Redis, machines: dict[str, Machine], victims: dict[str, str]) -> None:
    """Once /health no longer lists the dead worker, start the dead processes again, and wait until
    they work: the next round must not leave the deployment without a scheduler or a worker."""
    _wait_for(lambda: len(_live(balancer)) == len(machines) - 1, 30, "the dead worker to leave /health")
    for role, name in victims.items():
        machines[name].restart(role)
        if role == "web":
            balancer.revive(machines[name].base_url)
    scheduler = f"{socket.gethostname()}:{machines[victims['scheduler']].processes['scheduler'].pid}"
    _wait_for(lambda: str(counts.get(SCHEDULER_HEARTBEAT_KEY) or "").startswith(f"{scheduler} "), 60,
              "a pass of the restarted scheduler")
    _wait_for(lambda: len(_live(balancer)) == len(machines), 60, "the restarted worker in /health")


def _when_busy(audit: Engine, machine: Machine, at_least: int = 3, timeout: float = 20) -> int:
    """Waits until the machine's worker runs a few actions, so that its death catches them mid-run;
    returns how many it runs."""
    worker_id = f"{socket.gethostname()}:{machine.processes['worker'].pid}"  # as the executor names itself

    def running() -> int:
        with audit.connect() as connection:
            return connection.scalar(select(func.count()).select_from(ActionExecution).where(
                ActionExecution.state == "RUNNING", ActionExecution.worker_id == worker_id)) or 0

    deadline = time.monotonic() + timeout
    while (count := running()) < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def _answer_async_actions(balancer: Balancer, audit: Engine, counts: redis.Redis, traffic: Traffic,
                          stop: threading.Event) -> None:
    """The third party: completes each async action once its request arrived (its run was counted)."""
    while not stop.is_set():
        with audit.connect() as connection:
            waiting = connection.scalars(select(ActionExecution.id).where(
                ActionExecution.name == "sample.count_async", ActionExecution.state == "RUNNING")).all()
        runs = counts.hmget(COUNTS_KEY, waiting) if waiting else []
        for action_id, count in zip(waiting, runs, strict=True):
            if count is not None and not stop.is_set():
                try:
                    _complete(balancer, audit, traffic, action_id)
                except Exception as exc:  # noqa: BLE001 - the test fails, this thread goes on
                    with traffic.lock:
                        traffic.problems.append(repr(exc))
        stop.wait(0.2)


def _complete(balancer: Balancer, audit: Engine, traffic: Traffic, action_id: str) -> None:
    response = balancer.request("PUT", f"/v2/action_executions/{action_id}",
                                json={"state": "SUCCESS", "output": {"answer": 42}})
    if response.status_code == 200:
        traffic.completed_async.add(action_id)
        return
    with audit.connect() as connection:
        state = connection.scalar(select(ActionExecution.state).where(ActionExecution.id == action_id))
    if state == "SUCCESS":
        # Refused because an earlier attempt, cut off by a dying gunicorn, had completed it.
        traffic.completed_async.add(action_id)
    elif state == "RUNNING":
        with traffic.lock:
            traffic.problems.append(f"completion of {action_id} ({state}) answered {response.status_code}: "
                                    f"{response.text[:300]}")


class _Finished:
    """How many executions ended, read from the database a few times a second."""

    def __init__(self, audit: Engine) -> None:
        self.audit = audit
        self.count = 0

    def follow(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self.audit.connect() as connection:
                self.count = connection.scalar(select(func.count()).select_from(WorkflowExecution).where(
                    WorkflowExecution.state.in_(FINAL), WorkflowExecution.workflow_name != "mm_cron")) or 0
            stop.wait(0.2)


def _create_trigger(balancer: Balancer, name: str) -> str:
    response = balancer.request("POST", "/v2/cron_triggers", json={
        "name": name, "workflow_name": "mm_cron", "pattern": CRON_PATTERN,
        "remaining_executions": CRON_OCCURRENCES})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _occurrences(audit: Engine, triggers: list[str]) -> dict[str, list[str]]:
    """The execution ids of each trigger's first occurrences (an id derives from trigger and time)."""
    with audit.connect() as connection:
        first = {row.id: row.next_execution_time for row in connection.execute(
            select(CronTrigger.id, CronTrigger.next_execution_time).where(CronTrigger.id.in_(triggers)))}
    ids: dict[str, list[str]] = {}
    for trigger, due in first.items():
        assert due is not None
        ids[trigger] = []
        for _ in range(CRON_OCCURRENCES * 3):
            ids[trigger].append(Occurrence(trigger, "", due, CRON_PATTERN, None, "", "", {}, {}).execution_id)
            due = next_time(CRON_PATTERN, due)
    return ids


def _missed(audit: Engine, occurrences: dict[str, list[str]]) -> int:
    """Occurrences that started no execution before the last one that did (a late scheduler's skip)."""
    with audit.connect() as connection:
        started = set(connection.scalars(select(WorkflowExecution.id).where(
            WorkflowExecution.workflow_name == "mm_cron")).all())
    missed = 0
    for ids in occurrences.values():
        last = max((index for index, execution_id in enumerate(ids) if execution_id in started), default=-1)
        missed += sum(execution_id not in started for execution_id in ids[:last + 1])
    return missed


def _live(balancer: Balancer) -> list[str]:
    workers = balancer.request("GET", "/health").json().get("workers", {}).get("live", [])
    return sorted(worker["name"] for worker in workers)


def _live_workers(balancer: Balancer, expected: int) -> list[str]:
    _wait_for(lambda: len(_live(balancer)) >= expected, 60, f"{expected} live workers in /health")
    return _live(balancer)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str,
              detail: Callable[[], Any] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout}s: {detail()}")
        time.sleep(0.5)


# -- audit --------------------------------------------------------------------------------------


def _unfinished(audit: Engine) -> int:
    with audit.connect() as connection:
        return connection.scalar(select(func.count()).select_from(WorkflowExecution).where(
            WorkflowExecution.state.not_in(FINAL))) or 0


def _cron_done(audit: Engine) -> bool:
    with audit.connect() as connection:
        return not connection.scalar(select(func.count()).select_from(CronTrigger))


def _stuck(audit: Engine) -> list[Any]:
    with audit.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(TaskExecution.workflow_execution_id, TaskExecution.workflow_name, TaskExecution.name,
                   TaskExecution.state, ActionExecution.state, ActionExecution.worker_id)
            .join(ActionExecution, ActionExecution.task_execution_id == TaskExecution.id, isouter=True)
            .where(TaskExecution.state.not_in(FINAL)).limit(20))]


def _audit(audit: Engine, counts: redis.Redis, traffic: Traffic, triggers: list[str]) -> dict[str, Any]:
    runs = {str(key): int(value) for key, value in counts.hgetall(COUNTS_KEY).items()}
    with audit.connect() as connection:
        executions = connection.execute(select(
            WorkflowExecution.id, WorkflowExecution.workflow_name, WorkflowExecution.state,
            WorkflowExecution.description)).all()
        tasks = connection.execute(select(
            TaskExecution.id, TaskExecution.workflow_execution_id, TaskExecution.name, TaskExecution.state,
            TaskExecution.state_info)).all()
        actions = connection.execute(select(
            ActionExecution.id, ActionExecution.task_execution_id, ActionExecution.state,
            ActionExecution.params, ActionExecution.output, ActionExecution.worker_id)).all()
        # A task's timeout stays until due, then finds its task ended and does nothing.
        timers_left = connection.scalar(select(func.count()).select_from(Timer).where(
            Timer.kind != TASK_TIMEOUT)) or 0
    state_of = {row.id: row.state for row in executions}
    known = set(traffic.started)
    actions_of: Counter[str] = Counter(row.task_execution_id for row in actions)
    tasks_by_execution: Counter[tuple[str, str]] = Counter((row.workflow_execution_id, row.name) for row in tasks)
    return {
        "executions": len(executions),
        "started_through_the_apis": len(known),
        "started_by_cron": sum(row.workflow_name == "mm_cron" for row in executions),
        "ended": sum(row.state in FINAL for row in executions),
        "succeeded": sum(row.state == "SUCCESS" for row in executions),
        "failed_by_the_kill": sum(row.state == "ERROR" for row in executions),
        "lost": len(known - set(state_of)) + sum(row.state not in FINAL for row in executions),
        "action_runs": sum(runs.values()),
        "actions": len(actions),
        "safe_reruns": sum(count - 1 for action_id, count in runs.items() if count > 1),
        "unsafe_actions_failed": sum(_failed_unsafe(row) for row in actions),
        "async_actions_never_sent": sum(_never_sent(row, runs) for row in actions),
        "double_runs": [(row.id, runs[row.id]) for row in actions
                        if runs.get(row.id, 0) > 1 and not (row.params or {}).get("safe_rerun")],
        "async_completed": len(traffic.completed_async),
        "unexplained_failures": _unexplained_failures(executions, tasks, actions, runs),
        "wrong_action_counts": [(row.workflow_execution_id, row.name, actions_of[row.id]) for row in tasks
                                if state_of[row.workflow_execution_id] == "SUCCESS"
                                and actions_of[row.id] != ACTIONS_PER_TASK.get(row.name, 1)],
        "duplicate_tasks": [key for key, count in tasks_by_execution.items() if count > 1],
        "timer_fires": _timer_fires(tasks, actions_of, state_of),
        "cron_fires": {trigger: sum(trigger in row.description for row in executions) for trigger in triggers},
        "timers_left": timers_left,
        "left_running": [("task", row.id, row.name) for row in tasks if row.state not in FINAL]
        + [("action", row.id, row.state) for row in actions if row.state not in FINAL],
    }


def _timer_fires(tasks: Sequence[Any], actions_of: Counter[str], state_of: dict[str, str]) -> int:
    """Timers that fired in the executions that succeeded: a wait-before, a wait-after, two retry delays."""
    fired = {"before": lambda task: actions_of[task.id], "retried": lambda task: actions_of[task.id] - 1,
             "handled": lambda task: 1}  # 'handled' exists once the wait-after of 'after' fired
    return sum(fired[task.name](task) for task in tasks
               if task.name in fired and state_of[task.workflow_execution_id] == "SUCCESS")


def _unexplained_failures(executions: Sequence[Any], tasks: Sequence[Any], actions: Sequence[Any],
                          runs: dict[str, int]) -> list[Any]:
    """Failed executions whose failure is not one the worker's death explains."""
    failed = {row.id for row in executions if row.state != "SUCCESS"}
    failed_tasks = {task.id: task for task in tasks if task.workflow_execution_id in failed and task.state == "ERROR"}
    reasons: dict[str, list[str]] = {}
    for task in failed_tasks.values():
        reasons.setdefault(task.workflow_execution_id, []).append(f"{task.name}: {task.state_info}")
    explained = set()
    for action in actions:
        if action.task_execution_id in failed_tasks and action.state == "ERROR":
            task = failed_tasks[action.task_execution_id]
            reasons[task.workflow_execution_id].append(
                f"{task.name}'s action ({action.worker_id}, {runs.get(action.id, 0)} runs): {action.output}")
            if _killed(action, runs):
                explained.add(task.workflow_execution_id)
    return [(execution_id, reasons.get(execution_id)) for execution_id in sorted(failed - explained)]


def _killed(action: Any, runs: dict[str, int]) -> bool:
    """An action its worker's death ended."""
    return _failed_unsafe(action) or _never_sent(action, runs)


def _failed_unsafe(action: Any) -> bool:
    """Failed rather than run again, as its task is not safe-rerun."""
    return action.state == "ERROR" and "safe-rerun" in str(action.output)


def _never_sent(action: Any, runs: dict[str, int]) -> bool:
    """An async action whose worker died while sending, before the request left: it is neither sent
    again nor failed (the third party might hold it), so its task's timeout ended it."""
    return (action.state == "ERROR" and action.worker_id == SENDING and not runs.get(action.id)
            and "Timed out" in str(action.output))
