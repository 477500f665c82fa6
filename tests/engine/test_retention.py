"""The expiration policy and ``tramontane purge``: finished trees go, running ones stay."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from app.config import Settings
from app.engine import retention
from app.engine.dispatch import CollectingDispatcher
from app.engine.errors import NotAllowed
from app.engine.service import Engine
from app.extensions import session
from app.models import ActionExecution, TaskExecution, WorkflowExecution, utc_now
from tests.engine.driver import EngineDriver, Script

WORKFLOWS = """
version: '2.0'
retention_done:
  tasks:
    one:
      action: std.noop
retention_broken:
  tasks:
    one:
      action: std.fail
retention_waiting:
  tasks:
    ask:
      action: std.async_noop
retention_parent:
  tasks:
    call:
      workflow: retention_waiting
"""
DAY = timedelta(days=1)


def _age(ids: list[str], days: float) -> None:
    session().execute(update(WorkflowExecution).where(
        (WorkflowExecution.id.in_(ids)) | (WorkflowExecution.root_execution_id.in_(ids)))
        .values(updated_at=utc_now() - timedelta(days=days)))
    session().commit()


def _exists(execution_id: str) -> bool:
    return session().get(WorkflowExecution, execution_id, populate_existing=True) is not None


def _rows_of(execution_id: str) -> tuple[int, int]:
    tasks = select(TaskExecution.id).where(TaskExecution.workflow_execution_id == execution_id)
    return (session().scalar(select(func.count()).select_from(tasks.subquery())) or 0,
            session().scalar(select(func.count()).where(ActionExecution.task_execution_id.in_(tasks))) or 0)


@pytest.fixture()
def old_executions(driver: EngineDriver) -> dict[str, str]:
    driver.define(WORKFLOWS)
    driver.script = Script({"ask": [{"async": True}, {"async": True}], "one": [None, {"error": "no"}]})
    made = {name: driver.start(f"retention_{name}") for name in ("done", "broken", "waiting", "parent")}
    driver.run()
    # A parent forced to ERROR while its child still waits: finished, but not its whole tree.
    driver.call(lambda engine: engine.update_execution(made["parent"], "ERROR", None, None, "stopped"))
    _age(list(made.values()), days=2)
    return made


def test_old_finished_trees_go_with_their_tasks_and_running_ones_stay(old_executions: dict[str, str],
                                                                      driver: EngineDriver) -> None:
    done, broken = old_executions["done"], old_executions["broken"]
    assert _rows_of(done) == (1, 1)
    policy = retention.Retention(older_than=DAY)

    assert set(old_executions.values()) & set(_candidates(policy)) == {done, broken}
    # As the scheduler does: through the engine, in a write transaction of its own (a read snapshot
    # left open by the query above could not become a write on SQLite once anything else wrote).
    purged = retention.purge_batch(driver.engine, policy)

    assert {done, broken} <= set(purged)
    assert not _exists(done) and not _exists(broken) and _rows_of(done) == (0, 0)
    assert _exists(old_executions["waiting"]) and _exists(old_executions["parent"])


def test_states_to_keep_and_younger_executions_are_left(old_executions: dict[str, str],
                                                        driver: EngineDriver) -> None:
    only_errors = retention.Retention(older_than=DAY, states=("ERROR",))
    _age([old_executions["broken"]], days=0)  # changed just now: younger than a day

    retention.purge_batch(driver.engine, only_errors)
    retention.purge_batch(driver.engine, retention.Retention(older_than=timedelta(days=3)))

    assert all(_exists(ex_id) for ex_id in old_executions.values())


def test_what_the_engine_deletes_for_retention_is_deleted_as_a_delete_would(old_executions: dict[str, str],
                                                                         driver: EngineDriver) -> None:
    """Ended trees go together; any other goes as DELETE /v2/executions/<id> without force: one still
    running is refused, and the batch with it."""
    chosen = [old_executions["done"], old_executions["waiting"]]

    with pytest.raises(NotAllowed):
        driver.engine.delete_executions(lambda: chosen)
    assert _exists(old_executions["done"]) and _exists(old_executions["waiting"])

    assert driver.engine.delete_executions(lambda: [old_executions["done"], old_executions["broken"]]) == \
        [old_executions["done"], old_executions["broken"]]
    assert not _exists(old_executions["done"]) and not _exists(old_executions["broken"])


@pytest.mark.postgresql_only
def test_two_schedulers_purging_at_once_never_take_the_same_rows(
        old_executions: dict[str, str], engine_app: Flask) -> None:
    policy = retention.Retention(older_than=DAY, batch=1)
    taken: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def holding(ids: list[str]) -> list[str]:
        barrier.wait(10)  # both hold their rows (skip locked) before either deletes and commits
        return ids

    def scheduler() -> None:
        with engine_app.app_context():
            try:
                barrier.wait(10)
                engine = Engine(session(), CollectingDispatcher())
                taken.append(engine.delete_executions(lambda: holding(retention.choose(session(), policy))))
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors
    assert len(taken) == 2 and all(len(ids) == 1 for ids in taken)
    assert set(taken[0]).isdisjoint(taken[1])


def _candidates(policy: retention.Retention) -> list[str]:
    query = retention._select(session(), policy, utc_now())
    return list(session().scalars(query)) if query is not None else []


def test_purge_from_the_command_line_on_a_database_of_its_own(tmp_path: Path, engine_settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'purge.db'}"
    env = {"DATABASE_URL": url, "TRAMONTANE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    root = Path(__file__).resolve().parents[2]

    def tramontane(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env,
                              cwd=root, timeout=120)

    assert tramontane("db", "upgrade").returncode == 0
    script = f"""
import sys
from datetime import timedelta
from app.config import Settings
from app.factory import create_app
from app.extensions import session
from app.models import WorkflowExecution, utc_now
settings = Settings.from_env({{"DATABASE_URL": "{url}", "TRAMONTANE_DATA_DIR": "{tmp_path}"}})
with create_app(settings, serve_api=False).app_context():
    for index, (state, days) in enumerate([("SUCCESS", 40), ("ERROR", 40), ("SUCCESS", 1), ("RUNNING", 40)]):
        session().add(WorkflowExecution(id=f"ex-{{index}}", workflow_name="w", workflow_namespace="", spec={{}},
                                        state=state, params={{}}, input={{}}, context={{}}, runtime_context={{}},
                                        updated_at=utc_now() - timedelta(days=days)))
    session().commit()
"""
    seeded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=root,
                            timeout=120)
    assert seeded.returncode == 0, seeded.stderr

    assert tramontane("purge", "--older-than", "30d", "--dry-run").stdout.strip() == \
        "2 executions would be deleted"
    only_errors = tramontane("purge", "--older-than", "30d", "--state", "ERROR")
    assert only_errors.stdout.strip() == "1 execution deleted", only_errors.stderr
    everything = tramontane("purge", "--older-than", "30d")
    assert everything.stdout.strip() == "1 execution deleted"
    assert "deleting" in everything.stderr  # the progress bar
    assert tramontane("purge", "--older-than", "30d", "--dry-run").stdout.strip() == \
        "0 executions would be deleted"
    bad = tramontane("purge", "--older-than", "soon")
    assert bad.returncode == 2 and "expected a positive duration" in bad.stderr
