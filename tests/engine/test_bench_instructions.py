"""The runs ``python -m bench.instructions`` counts do what they say: every executor task runs on the
executor, and a glue execution ends in its one worker step."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.config import Settings
from app.engine.definitions import create_workflows
from app.engine.dispatch import CollectingDispatcher
from app.engine.transactions import with_retries
from app.extensions import session
from app.models import WorkflowExecution
from bench import instructions, workflows
from tests.engine.driver import EngineDriver


def _define(text: str) -> None:
    with_retries(session(), lambda: create_workflows(session(), text))


def _states(name: str) -> list[str]:
    states = list(session().scalars(select(WorkflowExecution.state).where(WorkflowExecution.workflow_name == name)))
    session().rollback()
    return states


def test_an_executor_run_runs_every_task_on_the_executor(driver: EngineDriver, engine_settings: Settings) -> None:
    name = f"instr_chain_{uuid.uuid4().hex[:8]}"
    _define(workflows.chain(name, 3, workflows.EXECUTOR_NOOP))
    assert instructions._executor_run(engine_settings, CollectingDispatcher(), name) == 3
    assert _states(name) == ["SUCCESS"]


def test_a_glue_run_ends_each_execution_in_its_step(driver: EngineDriver, engine_settings: Settings) -> None:
    name = f"instr_glue_{uuid.uuid4().hex[:8]}"
    _define(workflows.chain(name, 5, "std.noop"))
    assert instructions._glue_run(engine_settings, CollectingDispatcher(), name, executions=2) == 2
    assert _states(name) == ["SUCCESS", "SUCCESS"]


def test_an_unknown_shape_is_refused() -> None:
    with pytest.raises(SystemExit, match="unknown shapes"):
        instructions.main(["--shapes", "chain,spiral"])
