"""``python -m bench.wire``: the CPU cost of the JSON of a 1,000-row list (executions, then tasks).

Everything runs in this process on a fresh SQLite file holding ``--rows`` executions and as many
tasks (with inputs, params, published variables and runtime contexts of a realistic size). Two
figures per resource, each the median of ``--repeat`` runs after one warm-up:

- ``dump``: the rows already loaded, the time to turn them into the response's JSON text, exactly as
  the list endpoint does (its ``fields``-less page: no output, no result);
- ``request``: ``GET /v2/<collection>?limit=<rows>`` through the Flask test client (query, dump,
  JSON, WSGI), the figure a client feels minus the network.

Prints one JSON line per resource.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from app.config import Settings
from app.dbtools import upgrade_database
from app.engine.dispatch import CollectingDispatcher
from app.extensions import session
from app.factory import create_app
from app.models import TaskExecution, WorkflowExecution, utc_now
from app.resources.executions import listed_executions
from app.resources.tasks import listed_tasks
from bench.database import sqlite_url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__)
    parser.add_argument("--rows", type=int, default=1000, help="rows of each list (at most 1000: one page)")
    parser.add_argument("--repeat", type=int, default=15, help="measured runs of each figure")
    return parser.parse_args(argv)


def seed(rows: int) -> None:
    """``rows`` executions of one workflow, and one task in each."""
    started = utc_now()
    for index in range(rows):
        at = started + timedelta(milliseconds=index)
        wf_ex = WorkflowExecution(
            workflow_name="bench.wire", workflow_id="0" * 36, spec={"tasks": {"one": {"action": "std.noop"}}},
            state="SUCCESS", input={"count": index, "label": f"run {index}", "options": {"fast": True}},
            params={"env": {"region": "north", "retries": 3}, "namespace": "", "depth": 0},
            output={"total": index * 2, "items": list(range(5))}, context={}, runtime_context={},
            created_at=at, updated_at=at)
        session().add(wf_ex)
        session().flush()
        session().add(TaskExecution(
            workflow_execution_id=wf_ex.id, name="one", workflow_name="bench.wire", workflow_id="0" * 36,
            state="SUCCESS", published={"total": index * 2, "label": f"run {index}"}, result={"ok": True},
            runtime_context={"index": 0, "triggered_by": [{"task_id": wf_ex.id, "event": "on-success"}]},
            processed=True, created_at=at, updated_at=at, started_at=at, finished_at=at))
    session().commit()


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    """Median CPU time of ``run`` (process time: another process's load does not count), each run
    starting from a collected heap so that one run does not pay for the garbage of the previous one."""
    run()  # warm-up: compiled statements, lazily built schemas
    timings = []
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        run()
        timings.append((time.process_time() - started) * 1000)
    return statistics.median(timings)


def dump_text(dump: Callable[[Sequence[Any]], dict[str, Any]], rows: Sequence[Any]) -> str:
    text: str = current_app.json.dumps(dump(rows))
    return text


def measure(flask_app: Flask, model: Any, collection: str, dump: Callable[[Sequence[Any]], dict[str, Any]],
            rows: int, repeat: int) -> dict[str, Any]:
    with flask_app.test_request_context(f"/v2/{collection}"):
        loaded = list(session().scalars(select(model).order_by(model.created_at).limit(rows)))
        size = len(dump_text(dump, loaded))
        dump_ms = median_ms(lambda: dump_text(dump, loaded), repeat)
        session().rollback()

    def request() -> None:
        with flask_app.test_client() as client:
            response = client.get(f"/v2/{collection}?limit={rows}")
            if response.status_code != 200 or len(response.get_json()[collection]) != rows:
                raise RuntimeError(f"GET /v2/{collection} answered {response.status_code}")

    return {"list": collection, "rows": len(loaded), "json_bytes": size, "dump_ms": round(dump_ms, 2),
            "request_ms": round(median_ms(request, repeat), 2), "repeat": repeat}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.disable(logging.INFO)  # one access line per request would be measured too
    with tempfile.TemporaryDirectory(prefix="bench-wire-") as data_dir:
        settings = Settings.from_env({"DATABASE_URL": sqlite_url(Path(data_dir)), "TRAMONTANE_DATA_DIR": data_dir})
        upgrade_database(settings)
        flask_app = create_app(settings, dispatcher=CollectingDispatcher())
        with flask_app.app_context():
            seed(args.rows)
        for model, collection, dump in ((WorkflowExecution, "executions", listed_executions),
                                        (TaskExecution, "tasks", listed_tasks)):
            print(json.dumps(measure(flask_app, model, collection, dump, args.rows, args.repeat)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
