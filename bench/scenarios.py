"""Issue 7's scenarios, driven through the REST API, and their raw-Celery floors.

Each ``run_*`` function performs one repetition and returns its wall time in seconds. Workflows
are uploaded once, on first use, under the run's prefix.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis

from bench import workflows
from bench.client import ApiClient, BenchError
from bench.floor import Floor

TRAMONTANE_QUEUE = "tramontane"  # celeryconfig.task_default_queue
SETTLE_SECONDS = 0.3
EXECUTOR_NOOP = workflows.EXECUTOR_NOOP
# Mistral 23 on this machine kind, measured side by side with ../shared/mistral-oracle (REST only,
# 10 ms polling, 5 repeats) on another day: the comparison for the Mistral-shaped scenarios when the
# run does not measure a Mistral itself (--mistral-url).
MISTRAL_SECONDS = {"seq50": 3.0, "items200": 7.1, "fan50": 3.4, "conc20": 6.2}
# The throughput scenario polls less often: 200 executions' ids per poll, for seconds.
THROUGHPUT_POLL_SECONDS = 0.05

# What a scenario's tasks exercise.
MISTRAL_SHAPED = "mistral-shaped"  # std.noop / std.echo, as Mistral's own benchmark; glue may run inline
EXECUTOR = "executor"  # a user action from the plugin: a Celery task, claimed, run, recorded
CALLBACK = "callback"  # async actions completed through the API


@dataclass(frozen=True)
class Scenario:
    name: str
    tasks: int  # task (or action) executions per repetition, for the per-task figures
    run: Callable[[], float]
    floor_shape: str = ""
    floor: Callable[[], float] | None = None
    path: str = MISTRAL_SHAPED
    mistral_s: float | None = None  # the fixed figure, used when no Mistral is measured
    # The same shape run against a Mistral (--mistral-url), interleaved with ours and the floor's.
    mistral: Callable[[], float] | None = None
    # Per-repetition details beyond the time (the throughput scenario's latencies), in run order.
    details: list[dict[str, Any]] = field(default_factory=list)


class Driver:
    def __init__(self, client: ApiClient, redis_url: str | None, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.prefix = f"bench_{uuid.uuid4().hex[:8]}"
        self.broker = redis.Redis.from_url(redis_url) if redis_url else None
        self._uploaded: set[str] = set()

    def workflow(self, suffix: str, build: Callable[[str], str]) -> str:
        name = f"{self.prefix}_{suffix}"
        if name not in self._uploaded:
            self.client.create_workflow(build(name))
            self._uploaded.add(name)
        return name

    def settle(self) -> None:
        """Let the previous repetition's last messages drain, so repetitions do not overlap."""
        deadline = time.monotonic() + self.timeout
        while self.broker is not None and self.broker.llen(TRAMONTANE_QUEUE):
            if time.monotonic() > deadline:
                raise BenchError("the Tramontane queue does not drain")
            time.sleep(0.05)
        time.sleep(SETTLE_SECONDS)

    def tag(self) -> str:
        return f"{self.prefix}-{uuid.uuid4().hex[:12]}"

    # -- one execution from POST to SUCCESS ----------------------------------------------------

    def _single(self, workflow_name: str, wf_input: dict[str, object] | None = None) -> float:
        started = time.monotonic()
        execution_id = self.client.start_execution(workflow_name, wf_input)
        return self.client.wait_for_execution(execution_id, self.timeout) - started

    def _chain(self, length: int, action: str) -> str:
        return self.workflow(f"chain{length}_{_suffix(action)}", lambda n: workflows.chain(n, length, action))

    def run_chain(self, length: int, action: str = "std.noop") -> float:
        return self._single(self._chain(length, action))

    def run_items(self, count: int, concurrency: int | None = None, action: str = "std.echo") -> float:
        suffix = f"items_c{concurrency or 0}_{_suffix(action)}"
        name = self.workflow(suffix, lambda n: workflows.with_items(n, concurrency, action))
        return self._single(name, {"items": list(range(count))})

    def run_fan(self, width: int, action: str = "std.noop") -> float:
        name = self.workflow(f"fan{width}_{_suffix(action)}", lambda n: workflows.fan_in(n, width, action))
        return self._single(name)

    # -- batches of executions -----------------------------------------------------------------

    def run_concurrent(self, executions: int, length: int, action: str = "std.noop") -> float:
        name = self._chain(length, action)
        tag = self.tag()
        started = time.monotonic()
        self.client.start_batch(name, executions, tag)
        return self.client.wait_for_batch(tag, executions, self.timeout) - started

    def check_executor_path(self) -> None:
        """The plugin's actions run on the workers: a bench.noop chain succeeds, a bench.fail fails.

        Run once before measuring, so a stack without the plugin fails at once with a clear message
        instead of measuring something else.
        """
        self.run_chain(1, EXECUTOR_NOOP)
        name = self._chain(1, workflows.EXECUTOR_FAIL)
        state = self.client.wait_for_end(self.client.start_execution(name), self.timeout)
        if state != "ERROR":
            raise BenchError(f"a {workflows.EXECUTOR_FAIL} task ended its execution {state}, not ERROR")

    def run_throughput(self, executions: int, length: int, details: list[dict[str, Any]]) -> float:
        """``executions`` chains started at once by 20 client threads; each one's latency is kept.

        An execution's latency runs from just before its POST to the first poll that lists it as
        SUCCESS (``THROUGHPUT_POLL_SECONDS`` apart, so each is late by at most that and a request).
        Appends the latencies and the completion rates to ``details``; returns the wall time.
        """
        name = self._chain(length, EXECUTOR_NOOP)
        tag = self.tag()
        posted: dict[str, float] = {}
        answered: list[float] = []
        lock = threading.Lock()

        def start(_: int) -> None:
            before = time.monotonic()
            execution_id = self.client.start_execution(name, description=tag, shared=False)
            with lock:
                posted[execution_id] = before
                answered.append(time.monotonic())

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.client.pool_size) as pool:
            starting = [pool.submit(start, index) for index in range(executions)]
            done = self._seen_succeeded(tag, executions)
            for future in starting:
                future.result()
        ended = max(done.values())
        latencies = sorted(done[execution_id] - posted[execution_id] for execution_id in done)
        details.append(_throughput(started, max(answered), ended, latencies, length))
        return ended - started

    def _seen_succeeded(self, tag: str, executions: int) -> dict[str, float]:
        """Poll the batch's SUCCESS list; the time each execution was first seen in it."""
        deadline = time.monotonic() + self.timeout
        seen: dict[str, float] = {}
        polls = 0
        while len(seen) < executions:
            rows = self.client.executions_in_state(tag, "SUCCESS")
            now = time.monotonic()
            for row in rows:
                seen.setdefault(row["id"], now)
            polls += 1
            if polls % 20 == 0 and self.client.executions_in_state(tag, "ERROR", limit=1):
                raise BenchError(f"batch {tag}: an execution ended ERROR")
            if now > deadline:
                raise BenchError(f"batch {tag}: {len(seen)} of {executions} succeeded after {self.timeout:g} s")
            if len(seen) < executions:
                time.sleep(THROUGHPUT_POLL_SECONDS)
        return seen

    def run_async(self, executions: int) -> float:
        """From the first callback to the last SUCCESS; the executions are started beforehand."""
        name = self.workflow("async", workflows.async_wait)
        tag = self.tag()
        self.client.start_batch(name, executions, tag)
        action_ids = self.client.wait_for_running_actions(name, executions, self.timeout)
        # The worker must have sent every async action before the clock starts.
        self.settle()
        started = time.monotonic()
        self.client.complete_actions(action_ids)
        return self.client.wait_for_batch(tag, executions, self.timeout) - started


def _suffix(action: str) -> str:
    return action.replace(".", "_")


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ordered list."""
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def _throughput(started: float, all_started: float, ended: float, latencies: list[float],
                length: int) -> dict[str, Any]:
    """The rates over the whole run: every execution is started at once, so the stack is saturated
    from the first request until the queue runs dry, and with one FIFO queue the completions come in
    a burst at the end (each execution's next step queues behind every other's), which makes a rate
    over a window of completions meaningless."""
    count = len(latencies)
    rate = count / (ended - started)
    return {
        "executions": count, "wall_s": round(ended - started, 4), "all_started_s": round(all_started - started, 4),
        "executions_per_s": round(rate, 2), "tasks_per_s": round(rate * length, 1),
        "latency_p50_s": round(_percentile(latencies, 0.50), 4),
        "latency_p95_s": round(_percentile(latencies, 0.95), 4),
        "latency_p99_s": round(_percentile(latencies, 0.99), 4),
        "latency_mean_s": round(statistics.fmean(latencies), 4),
    }


def standard(driver: Driver, floor: Floor | None, mistral: Driver | None = None) -> list[Scenario]:
    """Issue 7's scenarios with their floors (DECISIONS.md fixes conc20's and fan50's), each shape
    twice: with Mistral's benchmark actions, and with the plugin's no-op on the executor path.

    With a ``mistral`` driver (a Mistral's REST API), the Mistral-shaped scenarios run there too.
    """
    def floor_of(make: Callable[[Floor], float]) -> Callable[[], float] | None:
        return (lambda: make(floor)) if floor else None

    def on_mistral(make: Callable[[Driver], float]) -> Callable[[], float] | None:
        return (lambda: make(mistral)) if mistral else None

    x = EXECUTOR_NOOP
    throughput: list[dict[str, Any]] = []
    return [
        Scenario("seq50_exec", 50, lambda: driver.run_chain(50, x), "1 chain of 50 tasks",
                 floor_of(lambda f: f.chains(1, 50)), EXECUTOR),
        Scenario("items200_exec", 200, lambda: driver.run_items(200, action=x), "200 independent tasks",
                 floor_of(lambda f: f.independent(200)), EXECUTOR),
        Scenario("fan50_exec", 51, lambda: driver.run_fan(50, x), "50 independent tasks, then 1 (Redis counter)",
                 floor_of(lambda f: f.independent(50, then_join=True)), EXECUTOR),
        Scenario("conc20_exec", 100, lambda: driver.run_concurrent(20, 5, x), "20 chains of 5 tasks at once",
                 floor_of(lambda f: f.chains(20, 5)), EXECUTOR),
        Scenario("seq50", 50, lambda: driver.run_chain(50), "1 chain of 50 tasks",
                 floor_of(lambda f: f.chains(1, 50)), MISTRAL_SHAPED, MISTRAL_SECONDS["seq50"],
                 mistral=on_mistral(lambda d: d.run_chain(50))),
        Scenario("items200", 200, lambda: driver.run_items(200), "200 independent tasks",
                 floor_of(lambda f: f.independent(200)), MISTRAL_SHAPED, MISTRAL_SECONDS["items200"],
                 mistral=on_mistral(lambda d: d.run_items(200))),
        Scenario("fan50", 51, lambda: driver.run_fan(50), "50 independent tasks, then 1 (Redis counter)",
                 floor_of(lambda f: f.independent(50, then_join=True)), MISTRAL_SHAPED, MISTRAL_SECONDS["fan50"],
                 mistral=on_mistral(lambda d: d.run_fan(50))),
        Scenario("conc20", 100, lambda: driver.run_concurrent(20, 5), "20 chains of 5 tasks at once",
                 floor_of(lambda f: f.chains(20, 5)), MISTRAL_SHAPED, MISTRAL_SECONDS["conc20"],
                 mistral=on_mistral(lambda d: d.run_concurrent(20, 5))),
        Scenario("async100", 100, lambda: driver.run_async(100), "100 independent tasks",
                 floor_of(lambda f: f.independent(100)), CALLBACK),
        Scenario("throughput200", 1000, lambda: driver.run_throughput(200, 5, throughput),
                 "200 chains of 5 tasks at once", floor_of(lambda f: f.chains(200, 5)), EXECUTOR,
                 details=throughput),
    ]


def scale_pairs(driver: Driver) -> list[tuple[Scenario, Scenario]]:
    """Issue 3's "cost grows linearly": each shape at its small and its large size."""
    return [
        (Scenario("chain50", 50, lambda: driver.run_chain(50)),
         Scenario("chain1000", 1000, lambda: driver.run_chain(1000))),
        (Scenario("items200_c50", 200, lambda: driver.run_items(200, 50)),
         Scenario("items10000_c50", 10000, lambda: driver.run_items(10000, 50))),
        (Scenario("join50", 51, lambda: driver.run_fan(50)),
         Scenario("join1000", 1001, lambda: driver.run_fan(1000))),
    ]
