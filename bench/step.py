"""``python -m bench.step``: what one chain step costs the engine, without broker, worker or API.

A chain of ``--length`` tasks calling ``--action`` runs in this process: each action sent to the
executor is claimed, run and its result recorded with the continuation (``executor.run_action``, as
a worker does it), and the next action's message is collected instead of sent. The default action
is the benchmark plugin's ``bench.noop``, a user action: the executor path. With ``--action
std.noop`` the glue path is measured (the engine completes those tasks inside its steps, 50 to a
step, each step a continuation as a worker runs it; the figure is per task either way). Prints one
JSON line: milliseconds per step of each repetition and the median after the first two (warm-up:
caches, compiled statements). The difference between this and a scenario's time per task is what
the broker, the worker's event loop and the stack's other processes add.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from app.config import Settings
from app.dbtools import upgrade_database
from app.engine.definitions import create_workflows
from app.engine.dispatch import CollectingDispatcher, RunAction, RunInline
from app.engine.service import Engine
from app.extensions import session
from app.factory import create_app
from app.models import WorkflowExecution
from app.workers import executor
from bench import workflows
from bench.database import DEFAULT_NAME, PostgresDatabase, is_postgres, sqlite_url

WARM_UP = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.step", description=__doc__)
    parser.add_argument("--length", type=int, default=50, help="tasks in the chain")
    parser.add_argument("--action", default=workflows.EXECUTOR_NOOP,
                        help="the action of every task (default: the plugin's no-op, the executor path)")
    parser.add_argument("--repeat", type=int, default=10, help="chains run (the first two are warm-up)")
    parser.add_argument("--database-url", help="PostgreSQL server (the bench creates its own database there)")
    parser.add_argument("--bench-database", default=DEFAULT_NAME)
    return parser.parse_args(argv)


def run_chain(settings: Settings, dispatcher: CollectingDispatcher, name: str) -> tuple[float, int, str]:
    """Seconds from the start to the end of one chain, the actions run on the executor, the end state."""
    started = time.perf_counter()
    execution_id = Engine(session(), dispatcher).start_workflow(name).id
    steps = 0
    while pending := [m for m in dispatcher.sent if isinstance(m, RunAction | RunInline)]:
        dispatcher.sent.clear()
        for message in pending:
            if isinstance(message, RunInline):
                # Glue the start (or a full step) handed on: a worker's continuation step runs it.
                Engine(session(), dispatcher).run_inline(message.workflow_execution_id,
                                                         list(message.action_execution_ids))
                continue
            executor.run_action(session(), Engine(session(), dispatcher), settings, message.action_execution_id)
            steps += 1
    dispatcher.sent.clear()
    elapsed = time.perf_counter() - started
    state = session().scalar(select(WorkflowExecution.state).where(WorkflowExecution.id == execution_id))
    # Ended by a commit: psycopg's rollback drops the statements it prepared on the connection, and
    # the next chain would run its first ones unprepared, as no worker does.
    session().commit()
    return elapsed, steps, str(state)


def measure(database_url: str, data_dir: Path, length: int, repeat: int, action: str) -> tuple[list[float], int]:
    """Milliseconds per task of each chain, and how many of a chain's tasks went to the executor."""
    settings = Settings.from_env({"DATABASE_URL": database_url, "TRAMONTANE_DATA_DIR": str(data_dir)})
    upgrade_database(settings)
    dispatcher = CollectingDispatcher()
    flask_app = create_app(settings, dispatcher=dispatcher, serve_api=False)
    name = f"chain{length}"
    per_task = []
    on_executor = 0
    with flask_app.app_context():
        create_workflows(session(), workflows.chain(name, length, action))
        session().commit()
        for _ in range(repeat):
            seconds, on_executor, state = run_chain(settings, dispatcher, name)
            if state != "SUCCESS":
                raise RuntimeError(f"the chain ended {state}")
            if on_executor > length:
                raise RuntimeError(f"the chain sent {on_executor} actions for {length} tasks")
            per_task.append(seconds / length * 1000)
    return per_task, on_executor


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.repeat <= WARM_UP:
        sys.exit(f"--repeat must be above the {WARM_UP} warm-up chains")
    with tempfile.TemporaryDirectory(prefix="tramontane-step-") as folder:
        data_dir = Path(folder)
        postgres = PostgresDatabase(args.database_url, args.bench_database) if args.database_url else None
        if postgres is not None and not is_postgres(args.database_url):
            sys.exit("--database-url must be a PostgreSQL URL")
        url = postgres.create() if postgres else sqlite_url(data_dir)
        try:
            per_step, on_executor = measure(url, data_dir, args.length, args.repeat, args.action)
        finally:
            if postgres:
                postgres.drop()
    print(json.dumps({
        "bench": "step", "database": "postgresql" if postgres else "sqlite", "length": args.length,
        "action": args.action, "actions_on_executor": on_executor,
        "ms_per_task": [round(value, 3) for value in per_step],
        "median_ms": round(statistics.median(per_step[WARM_UP:]), 3),
    }))


if __name__ == "__main__":
    main()
