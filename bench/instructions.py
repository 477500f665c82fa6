"""``python -m bench.instructions``: the engine's instructions per task, counted, not timed.

A shared machine's clock moves by a fifth from one minute to the next, more than most changes to
the engine; the number of instructions a step executes does not. This runs a shape in-process, as
``bench.step`` does, under valgrind's callgrind with instrumentation off until the shapes are
warm, counts the instructions of ``--runs`` runs, and prints one JSON line per shape: instructions
per task (the mean over the runs' tasks). Repeated, the count moves by well under 1 %.

Shapes (executor-path tasks call the plugin's ``bench.noop``, claimed, run and recorded as a
worker does it):

- ``chain``: a 50-task executor chain; per executor task.
- ``fan``: 50 executor branches into one ``join: all`` executor task; per branch and join (51).
- ``glue``: 20 starts of a 5-task ``std.noop`` chain and the worker step that runs each one's glue
  inline; per execution (a start and its step), as the API and the worker do them in ``conc20``.

With ``--database-url`` the shapes run on a PostgreSQL database the bench creates on that server
(and drops): the count is still this process's, the driver's work included, the server's not.

Needs valgrind (``callgrind_control`` beside it); slow: about half a minute a shape.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.database import DEFAULT_NAME, PostgresDatabase, is_postgres

SHAPES = ("chain", "fan", "glue")
WARM_UP = 2
_READY, _GO, _DONE, _END = "ready", "go", "done", "end"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated subset of " + ", ".join(SHAPES))
    parser.add_argument("--runs", type=int, default=3, help="counted runs of each shape")
    parser.add_argument("--database-url", help="PostgreSQL server to use instead of SQLite (the bench creates its own "
                                                   "database there, see --bench-database)")
    parser.add_argument("--bench-database", default=DEFAULT_NAME)
    parser.add_argument("--in-valgrind", nargs=3, metavar=("SHAPE", "FOLDER", "URL"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _wait_for(path: Path, process: subprocess.Popen[bytes] | None = None) -> None:
    while not path.exists():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the measured process ended early (exit {process.returncode})")
        time.sleep(0.2)


def count(shape: str, runs: int, database_url: str | None = None) -> dict[str, object]:
    """Run ``shape`` under callgrind in a child process and count its measured runs' instructions."""
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    if valgrind is None or control is None:
        sys.exit("bench.instructions needs valgrind and callgrind_control on PATH")
    with tempfile.TemporaryDirectory(prefix="tramontane-instructions-") as name:
        folder = Path(name)
        out = folder / "callgrind.out"
        url = database_url or f"sqlite:///{folder}/bench.db"
        command = [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                   sys.executable, "-m", "bench.instructions", "--runs", str(runs), "--in-valgrind", shape, name, url]
        with open(folder / "child.log", "wb") as log:
            child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_for(folder / _READY, child)
                pid = (folder / _READY).read_text()
                subprocess.run([control, "-i", "on", pid], check=True, capture_output=True)
                (folder / _GO).touch()
                _wait_for(folder / _DONE, child)
                subprocess.run([control, "-i", "off", pid], check=True, capture_output=True)
                (folder / _END).touch()
                child.wait(timeout=600)
            finally:
                if child.poll() is None:
                    child.kill()
        tasks = int((folder / _DONE).read_text())
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
        if child.returncode != 0 or not totals:
            sys.exit(f"the {shape} run failed:\n{(folder / 'child.log').read_text()[-2000:]}")
        instructions = int(totals[0].split()[1])
    return {"bench": "instructions", "shape": shape, "database": "postgresql" if database_url else "sqlite",
            "runs": runs, "tasks": tasks,
            "instructions_per_task": instructions // tasks}


def _measured(shape: str, runs: int, folder: Path, database_url: str) -> None:
    """In the child under valgrind: warm up, then run ``runs`` times between the parent's toggles."""
    from app.config import Settings
    from app.dbtools import upgrade_database
    from app.engine.definitions import create_workflows
    from app.engine.dispatch import CollectingDispatcher
    from app.extensions import session
    from app.factory import create_app
    from bench import workflows

    settings = Settings.from_env({"DATABASE_URL": database_url, "TRAMONTANE_DATA_DIR": str(folder),
                                  "LOG_LEVEL": "WARNING"})
    upgrade_database(settings)
    dispatcher = CollectingDispatcher()
    flask_app = create_app(settings, dispatcher=dispatcher, serve_api=False)
    name = f"{shape}_{uuid.uuid4().hex[:8]}"
    with flask_app.app_context():
        text = {"chain": lambda: workflows.chain(name, 50, workflows.EXECUTOR_NOOP),
                "fan": lambda: workflows.fan_in(name, 50, workflows.EXECUTOR_NOOP),
                "glue": lambda: workflows.chain(name, 5, "std.noop")}[shape]()
        create_workflows(session(), text)
        session().commit()
        run = _glue_run if shape == "glue" else _executor_run
        for _ in range(WARM_UP):
            run(settings, dispatcher, name)
        (folder / _READY).write_text(str(os.getpid()))
        _wait_for(folder / _GO)
        tasks = sum(run(settings, dispatcher, name) for _ in range(runs))
        (folder / _DONE).write_text(str(tasks))
        _wait_for(folder / _END)


def _executor_run(settings: object, dispatcher: object, name: str) -> int:
    """One execution whose every action goes to the executor; returns how many ran there."""
    from app.engine.dispatch import RunAction
    from app.engine.service import Engine
    from app.extensions import session
    from app.workers import executor

    Engine(session(), dispatcher).start_workflow(name)  # type: ignore[arg-type]
    ran = 0
    sent: list[object] = dispatcher.sent  # type: ignore[attr-defined]
    while pending := [message for message in sent if isinstance(message, RunAction)]:
        sent.clear()
        for message in pending:
            executor.run_action(session(), Engine(session(), dispatcher), settings,  # type: ignore[arg-type]
                                message.action_execution_id)
            ran += 1
    sent.clear()
    return ran


def _glue_run(settings: object, dispatcher: object, name: str, executions: int = 20) -> int:
    """``executions`` starts, then each one's inline step; returns the executions."""
    from app.engine.dispatch import RunInline
    from app.engine.service import Engine
    from app.extensions import session

    engine: Callable[[], Engine] = lambda: Engine(session(), dispatcher)  # type: ignore[arg-type]  # noqa: E731
    for _ in range(executions):
        engine().start_workflow(name)
    sent: list[object] = dispatcher.sent  # type: ignore[attr-defined]
    steps = [message for message in sent if isinstance(message, RunInline)]
    sent.clear()
    for message in steps:
        engine().run_inline(message.workflow_execution_id, list(message.action_execution_ids))
    if any(isinstance(message, RunInline) for message in sent):
        raise RuntimeError("a 5-task glue chain needed more than one step")
    sent.clear()
    return executions


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.in_valgrind:
        shape, folder, url = args.in_valgrind
        _measured(shape, args.runs, Path(folder), url)
        return
    shapes = [shape for shape in args.shapes.split(",") if shape]
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        sys.exit(f"unknown shapes: {unknown} (known: {', '.join(SHAPES)})")
    if args.database_url and not is_postgres(args.database_url):
        sys.exit("--database-url must be a PostgreSQL URL")
    for shape in shapes:
        # A database of its own for each shape: no shape counts another's rows.
        postgres = PostgresDatabase(args.database_url, args.bench_database) if args.database_url else None
        url = postgres.create() if postgres else None
        try:
            print(json.dumps(count(shape, args.runs, url)), flush=True)
        finally:
            if postgres:
                postgres.drop()


if __name__ == "__main__":
    main()
