"""The sweeper's questions cost the same however much history is kept, and a sweep that finds
nothing writes nothing.

It runs every two seconds. Its questions about completed actions and ended sub-workflows are
answered by partial indexes that hold only the rows still waiting (not every finished one), and it
opens a write transaction (on SQLite: queues for the one writer lock) only when it found work.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from app.engine.dispatch import CollectingDispatcher
from app.engine.sweeper import Sweeper
from app.extensions import session
from tests.engine.writer_lock import run_while_writers_locked_out

# Nothing is this old: whatever the shared test database holds, this sweep finds nothing to do.
NEVER = 10 ** 9


def sweeper(dispatcher: CollectingDispatcher | None = None) -> Sweeper:
    return Sweeper(session(), dispatcher or CollectingDispatcher(), heartbeat_seconds=NEVER,
                   lost_after_seconds=NEVER, continuation_after_seconds=NEVER)


def plan(query: Any) -> str:
    """The database's plan for ``query``. PostgreSQL's planner, on the test's nearly empty tables,
    may prefer a table scan or a loop over another table's index: both are ruled out, so what is
    checked is that the partial index can serve the query at all."""
    connection = session().connection()
    compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_nestloop = off"))
        rows = connection.execute(text(f"EXPLAIN {compiled}")).scalars().all()
    else:
        rows = [row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
    session().rollback()
    return "\n".join(rows)


@pytest.mark.parametrize(("question", "index"), [
    ("_lost_continuations_query", "ix_action_ex_unprocessed"),
    ("_ended_children_query", "ix_wf_ex_unreported"),
])
def test_each_question_about_finished_work_is_answered_by_its_partial_index(
        engine_app: Flask, question: str, index: str) -> None:
    with engine_app.app_context():
        assert index in plan(getattr(sweeper(), question)())


def test_a_sweep_that_finds_nothing_does_not_wait_for_writers(engine_app: Flask) -> None:
    # What it shows is SQLite's case: there a write unit queues for the one writer lock even to
    # find nothing. On PostgreSQL a unit that only selects was never held up by writers.
    dispatcher = CollectingDispatcher()

    def sweep() -> int:
        return sweeper(dispatcher).sweep()

    tables = ("action_executions", "workflow_executions", "task_executions")
    assert run_while_writers_locked_out(engine_app, tables, sweep) == 0
    assert dispatcher.sent == []



@pytest.mark.parametrize(("index", "condition"), [
    ("ix_action_ex_unprocessed", "processed"),
    ("ix_wf_ex_unreported", "reported_to_parent"),
])
def test_the_migration_builds_each_index_partial(engine_app: Flask, index: str, condition: str) -> None:
    # A full index would serve the queries too (the plans above could not tell), at the cost of
    # every finished row: the condition is what keeps the sweep's cost flat.
    with engine_app.app_context():
        connection = session().connection()
        if connection.dialect.name == "postgresql":
            definition = connection.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                                            {"name": index}).scalar_one()
        else:
            definition = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :name"),
                                            {"name": index}).scalar_one()
        session().rollback()
    assert "WHERE" in definition.upper() and condition in definition
