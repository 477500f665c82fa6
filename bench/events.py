"""``python -m bench.events``: what Celery's event messages cost a producer and a worker, in-process.

Against an embedded Redis of its own: the CPU and wall time of one ``send_task`` with and without
the ``task-sent`` event (``task_send_sent_event``), and of one worker event as the worker's event
dispatcher publishes it (a worker with task events on publishes three per task: received, started,
succeeded or failed). Prints one JSON line; microseconds, the median of ``--rounds`` rounds of
``--count`` operations. Nothing is consumed: the messages stay in a queue of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from celery import Celery

from app.embedded_redis import EmbeddedRedis

QUEUE = "bench-events"


def _app(broker_url: str, sent_event: bool) -> Celery:
    app = Celery("bench_events")
    app.config_from_object("celeryconfig")
    app.conf.update(broker_url=broker_url, task_send_sent_event=sent_event, task_default_queue=QUEUE)
    return app


def _timed(operation: Callable[[], object], count: int) -> tuple[float, float]:
    """CPU and wall microseconds per operation."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        operation()
    return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6


def _send(app: Celery) -> Callable[[], object]:
    # As the engine's dispatcher sends an action: a shadow name and a short kwargs repr.
    return lambda: app.send_task("bench.events.noop", args=("0" * 36,), shadow="wf.task: bench.noop",
                                 kwargsrepr="{'workflow': 'wf', 'task': 'task', 'action': 'bench.noop'}")


def measure(broker_url: str, count: int, rounds: int) -> dict[str, object]:
    samples: dict[str, list[tuple[float, float]]] = {"send_with_sent_event": [], "send_without": [],
                                                     "worker_event": []}
    apps = {True: _app(broker_url, True), False: _app(broker_url, False)}
    for app in apps.values():
        _send(app)()  # connect first
    for _ in range(rounds):
        samples["send_with_sent_event"].append(_timed(_send(apps[True]), count))
        samples["send_without"].append(_timed(_send(apps[False]), count))
    with apps[False].connection_for_write() as connection:
        dispatcher = apps[False].events.Dispatcher(connection, enabled=True, buffer_while_offline=False)
        for _ in range(rounds):
            samples["worker_event"].append(_timed(
                lambda: dispatcher.send("task-succeeded", uuid="0" * 36, result="None", runtime=0.001), count))
    result: dict[str, object] = {"bench": "events", "count": count, "rounds": rounds,
                                 "loadavg_1m": round(os.getloadavg()[0], 2)}
    for name, values in samples.items():
        result[f"{name}_cpu_us"] = round(statistics.median(v[0] for v in values), 1)
        result[f"{name}_wall_us"] = round(statistics.median(v[1] for v in values), 1)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tramontane-events-") as folder:
        redis = EmbeddedRedis(Path(folder), persistent=False)
        redis.start()
        try:
            print(json.dumps(measure(redis.url, args.count, args.rounds)), flush=True)
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
