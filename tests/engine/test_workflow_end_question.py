"""The question a step asks when none of its own tasks is open: is the workflow over, and if so,
what did its last tasks publish. One statement, which reads no task's context while one runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.engine.dispatch import RunInline
from app.engine.runtime import END_QUESTIONS
from app.engine.store import SqlStore, _answers_and_ends_statement
from app.extensions import session
from app.models import TaskExecution
from tests.engine.driver import EngineDriver

TWO_BRANCHES = """
version: '2.0'
end_question:
  tasks:
    quick:
      action: std.noop
      publish: {first: one}
    slow:
      action: bench.noop
      publish: {second: two}
"""


def _tasks(driver: EngineDriver) -> dict[str, TaskExecution]:
    return {task.name: task for task in driver.tasks()}


def _start_with_the_glue_done(driver: EngineDriver) -> None:
    """``quick`` completed inline, ``slow``'s action sent to a worker and not run."""
    driver.define(TWO_BRANCHES)
    driver.start("end_question")
    for message in driver.pending:
        if isinstance(message, RunInline):
            driver.engine.run_inline(message.workflow_execution_id, list(message.action_execution_ids))
    session().commit()
    tasks = _tasks(driver)
    assert (tasks["quick"].state, tasks["slow"].state) == ("SUCCESS", "RUNNING")


def test_while_a_task_runs_the_answer_brings_no_ends(driver: EngineDriver) -> None:
    _start_with_the_glue_done(driver)

    answers, ends = SqlStore(session()).answers_and_ends(driver.root_id, END_QUESTIONS, open_filters=2)
    # The statement itself brings the answers' row alone: the ended task's row is not even read.
    rows = _answers_and_ends_statement(END_QUESTIONS, 2).rows(session().connection(), {"workflow_id": driver.root_id})
    session().rollback()

    assert answers == [True, False, False, False]
    assert ends is None
    assert len(rows) == 1


def test_once_nothing_runs_the_answer_brings_the_ends_in_order_of_creation_time(driver: EngineDriver) -> None:
    _start_with_the_glue_done(driver)
    driver.run()
    assert driver.execution().state == "SUCCESS"
    # Made the other way round: the ends come in the order of their creation times.
    tasks = _tasks(driver)
    session().execute(update(TaskExecution).where(TaskExecution.id == tasks["quick"].id)
                      .values(created_at=tasks["slow"].created_at + timedelta(seconds=1)))
    session().commit()

    answers, ends = SqlStore(session()).answers_and_ends(driver.root_id, END_QUESTIONS, open_filters=2)
    session().rollback()

    assert answers == [False, False, False, False]
    assert ends == [({}, {"second": "two"}), ({}, {"first": "one"})]


def test_the_workflow_output_merges_the_ends_it_was_given(driver: EngineDriver) -> None:
    driver.define(TWO_BRANCHES)
    driver.start("end_question")
    driver.run()

    assert driver.execution().state == "SUCCESS"
    assert driver.execution().output == {"first": "one", "second": "two"}
