"""``GET /metrics``: Prometheus metrics that add up across processes and hosts.

Counters and histogram buckets live in Redis (one hash), so every process (API, workers, scheduler,
on any host) adds to the same numbers and any API process can answer a scrape. Gauges are read from
the database at scrape time, with indexed queries, and cached for a few seconds. Labels are names
(workflow, action, route, outcome), capped in length, never ids.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    # Only a scrape renders families: workers and the scheduler record, and never load the client.
    from prometheus_client.core import Metric

log = logging.getLogger(__name__)

KEY = "tramontane:metrics"
LABEL_LIMIT = 100
# How often a process adds what it counted to the shared numbers.
FLUSH_SECONDS = 0.5
# Seconds; the action duration and API latency histograms share them.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

COUNTERS = {
    "tramontane_executions_started": ("Executions started", ("workflow",)),
    "tramontane_executions_finished": ("Executions finished, by final state", ("workflow", "state")),
    "tramontane_actions": ("Actions run by workers, by outcome (success, error, cancel, sent)", ("action", "outcome")),
    "tramontane_callbacks": ("Completions of actions received through the API, by answer", ("outcome",)),
    "tramontane_sweeper_resent": ("Messages the sweeper sent again, by kind", ("kind",)),
}
HISTOGRAMS = {
    "tramontane_action_duration_seconds": ("Time a worker spent running an action", ("action",)),
    "tramontane_api_request_duration_seconds": ("API request latency, by route", ("method", "route")),
}


def _label(value: Any) -> str:
    text = str(value)
    return text if len(text) <= LABEL_LIMIT else text[:LABEL_LIMIT - 3] + "..."


def _field(name: str, labels: Iterable[Any]) -> str:
    return name + "|" + "\x1f".join(_label(v) for v in labels)


class Recorder:
    """Adds to the shared counters; never fails its caller (metrics are not worth an error).

    Increments gather in the process and a background thread adds them to Redis every
    :data:`FLUSH_SECONDS` (and at exit), in one round trip: a round trip for each action run or
    request answered cost more than a tenth of a worker's time per action. A process that dies
    loses at most that much of its counts.
    """

    def __init__(self, redis_url: str, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        self._flush_seconds = flush_seconds
        self._pending: dict[str, float] = {}
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._pid = os.getpid()
        atexit.register(self.flush)
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        # A forked process starts empty: what the parent gathered is the parent's to add, and a
        # lock the parent's flusher held at the fork would never be released here.
        self._lock = threading.Lock()
        self._pending, self._flusher, self._pid = {}, None, os.getpid()

    def add(self, increments: Iterable[tuple[str, tuple[Any, ...], float]]) -> None:
        with self._lock:
            for name, labels, amount in increments:
                field = _field(name, labels)
                self._pending[field] = self._pending.get(field, 0.0) + amount
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(target=self._flush_forever, name="metrics-flush", daemon=True)
                self._flusher.start()

    def flush(self) -> None:
        """Add what was gathered to Redis now."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending or self._pid != os.getpid():
            return
        pipe = self._client.pipeline(transaction=False)
        for field, amount in pending.items():
            pipe.hincrbyfloat(KEY, field, amount)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            log.debug("metrics not recorded: %s", exc)

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self._flush_seconds)
            self.flush()

    def count(self, name: str, *labels: Any, amount: float = 1) -> None:
        self.add([(name, labels, amount)])

    def observe(self, name: str, seconds: float, *labels: Any) -> None:
        bucket = next((b for b in BUCKETS if seconds <= b), None)
        # Stored per bucket (not cumulative); the scrape adds them up.
        self.add([(f"{name}:bucket", (*labels, bucket if bucket is not None else "+Inf"), 1),
                  (f"{name}:sum", labels, seconds), (f"{name}:count", labels, 1)])


_recorder: Recorder | None = None
_recorder_lock = threading.Lock()


def configure(redis_url: str | None) -> None:
    """Called once per process at start; without it nothing is recorded (tests in-process)."""
    global _recorder
    with _recorder_lock:
        _recorder = Recorder(redis_url) if redis_url else None


def recorder() -> Recorder | None:
    return _recorder


FINISHED = ("SUCCESS", "ERROR", "CANCELLED")


def on_state_change(change: dict[str, Any]) -> None:
    """A committed state change of an execution: started, or finished in a final state."""
    if _recorder is None or "task_id" in change:
        return
    if change.get("previous_state") is None and change.get("state") == "RUNNING":
        _recorder.count("tramontane_executions_started", change.get("workflow_name"))
    elif change.get("state") in FINISHED:
        _recorder.count("tramontane_executions_finished", change.get("workflow_name"), change.get("state"))


def read_shared(client: redis.Redis) -> dict[str, float]:
    raw = client.hgetall(KEY)
    return {k.decode() if isinstance(k, bytes) else k: float(v) for k, v in raw.items()}


def families(shared: dict[str, float], gauges: dict[str, tuple[str, list[tuple[tuple[str, ...], float]]]],
             gauge_labels: dict[str, tuple[str, ...]]) -> Iterator[Metric]:
    """The metric families of one scrape, from the shared counters and the database's gauges."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    parsed: dict[str, list[tuple[tuple[str, ...], float]]] = {}
    for field, value in shared.items():
        name, _, label_text = field.partition("|")
        parsed.setdefault(name, []).append((tuple(label_text.split("\x1f")) if label_text else (), value))
    for name, (documentation, labels) in COUNTERS.items():
        counter = CounterMetricFamily(name, documentation, labels=list(labels))
        for values, amount in sorted(parsed.get(name, [])):
            counter.add_metric(list(values), amount)
        yield counter
    for name, (documentation, labels) in HISTOGRAMS.items():
        histogram = HistogramMetricFamily(name, documentation, labels=list(labels))
        sums = dict(parsed.get(f"{name}:sum", []))
        for values, total in sorted(parsed.get(f"{name}:count", [])):
            per_bucket = {row[-1]: amount for row, amount in parsed.get(f"{name}:bucket", []) if row[:-1] == values}
            cumulative, buckets = 0.0, []
            for bound in [*map(str, BUCKETS), "+Inf"]:
                cumulative += per_bucket.get(bound, 0.0)
                buckets.append((bound if bound == "+Inf" else str(float(bound)), cumulative))
            buckets[-1] = ("+Inf", total)
            histogram.add_metric(list(values), buckets, sums.get(values, 0.0))
        yield histogram
    for name, (documentation, rows) in gauges.items():
        gauge = GaugeMetricFamily(name, documentation, labels=list(gauge_labels.get(name, ())))
        for values, value in rows:
            gauge.add_metric(list(values), value)
        yield gauge


class Cache:
    """The database gauges of the last few seconds: scrapes from several Prometheus servers, or a
    dashboard refreshing, cost one set of queries."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._value: Any = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self, compute: Any) -> Any:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > self.seconds:
                self._value = compute()
                self._at = time.monotonic()
            return self._value
