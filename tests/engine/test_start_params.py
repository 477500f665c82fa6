"""What a caller's ``params`` can and cannot do to an execution."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine.errors import InputError
from app.engine.subworkflows import MAX_DEPTH
from app.extensions import session
from app.models import WorkflowExecution
from tests.engine.driver import EngineDriver

SELF_CALLING = """
version: '2.0'
start_params_recursive:
  tasks:
    again:
      workflow: start_params_recursive
"""


@pytest.mark.parametrize("depth", [-1000, "abc"])
def test_a_callers_depth_neither_deepens_nor_breaks_the_nesting_limit(driver: EngineDriver, depth: Any) -> None:
    driver.define(SELF_CALLING)

    root = driver.start("start_params_recursive", params={"depth": depth})
    driver.run()

    executions = session().scalar(select(func.count()).select_from(WorkflowExecution).where(
        (WorkflowExecution.id == root) | (WorkflowExecution.root_execution_id == root)))
    assert executions == MAX_DEPTH + 1
    row = session().get(WorkflowExecution, root)
    assert row is not None and row.state == "ERROR"
    # Kept as Mistral keeps unknown params, but never read by the engine.
    assert row.params["depth"] == depth


@pytest.mark.parametrize(("params", "message"), [
    ({"task_execution_id": "x"}, "params.task_execution_id is set by the engine"),
    ({"root_execution_id": "x"}, "params.root_execution_id is set by the engine"),
    ({"task_name": 5}, "params.task_name must be a string, not integer: 5"),
    ({"evaluate_env": "no"}, "params.evaluate_env must be a boolean, not string: 'no'"),
])
def test_params_the_engine_owns_or_types_wrongly_are_refused(driver: EngineDriver, params: dict[str, Any],
                                                             message: str) -> None:
    driver.define(SELF_CALLING)
    before = session().scalar(select(func.count()).select_from(WorkflowExecution))

    with pytest.raises(InputError, match=message):
        driver.start("start_params_recursive", params=params)
    assert session().scalar(select(func.count()).select_from(WorkflowExecution)) == before


def test_unknown_params_are_kept(driver: EngineDriver) -> None:
    driver.define(SELF_CALLING.replace("workflow: start_params_recursive", "action: std.noop"))

    root = driver.start("start_params_recursive", params={"colour": "red", "priority": 3})
    driver.run()

    row = session().get(WorkflowExecution, root)
    assert row is not None and row.state == "SUCCESS"
    assert (row.params["colour"], row.params["priority"]) == ("red", 3)
