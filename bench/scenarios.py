"""Issue 7's scenarios, driven through the REST API, and their raw-Celery floors.

Each ``run_*`` function performs one repetition and returns its wall time in seconds. Workflows
are uploaded once, on first use, under the run's prefix.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

from bench import workflows
from bench.client import ApiClient, BenchError
from bench.floor import Floor

TRAMONTANE_QUEUE = "tramontane"  # celeryconfig.task_default_queue
SETTLE_SECONDS = 0.3


@dataclass(frozen=True)
class Scenario:
    name: str
    tasks: int  # task (or action) executions per repetition, for the per-task figures
    run: Callable[[], float]
    floor_shape: str = ""
    floor: Callable[[], float] | None = None


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

    def run_chain(self, length: int) -> float:
        return self._single(self.workflow(f"chain{length}", lambda n: workflows.chain(n, length)))

    def run_items(self, count: int, concurrency: int | None = None) -> float:
        suffix = f"items_c{concurrency or 0}"
        name = self.workflow(suffix, lambda n: workflows.with_items(n, concurrency))
        return self._single(name, {"items": list(range(count))})

    def run_fan(self, width: int) -> float:
        return self._single(self.workflow(f"fan{width}", lambda n: workflows.fan_in(n, width)))

    # -- batches of executions -----------------------------------------------------------------

    def run_concurrent(self, executions: int, length: int) -> float:
        name = self.workflow(f"chain{length}", lambda n: workflows.chain(n, length))
        tag = self.tag()
        started = time.monotonic()
        self.client.start_batch(name, executions, tag)
        return self.client.wait_for_batch(tag, executions, self.timeout) - started

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


def standard(driver: Driver, floor: Floor | None) -> list[Scenario]:
    """The five scenarios of issue 7 with their floors (DECISIONS.md fixes conc20's and fan50's)."""
    def floor_of(make: Callable[[Floor], float]) -> Callable[[], float] | None:
        return (lambda: make(floor)) if floor else None

    return [
        Scenario("seq50", 50, lambda: driver.run_chain(50), "1 chain of 50 tasks",
                 floor_of(lambda f: f.chains(1, 50))),
        Scenario("items200", 200, lambda: driver.run_items(200), "200 independent tasks",
                 floor_of(lambda f: f.independent(200))),
        Scenario("fan50", 51, lambda: driver.run_fan(50), "50 independent tasks, then 1 (Redis counter)",
                 floor_of(lambda f: f.independent(50, then_join=True))),
        Scenario("conc20", 100, lambda: driver.run_concurrent(20, 5), "20 chains of 5 tasks at once",
                 floor_of(lambda f: f.chains(20, 5))),
        Scenario("async100", 100, lambda: driver.run_async(100), "100 independent tasks",
                 floor_of(lambda f: f.independent(100))),
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
