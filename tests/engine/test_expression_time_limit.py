"""An expression that runs past EXPRESSION_TIME_LIMIT_SECONDS fails its task, and (as any task that cannot
start does, in Mistral) the whole workflow at once: its on-error is not consulted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.engine import expression_limits
from tests.engine.driver import EngineDriver, names

SPINNING = """
version: '2.0'
spinning:
  tasks:
    spin:
      action: std.echo output=<% range(100000000).sum() %>
      on-error: [recover]
    recover:
      action: std.echo output=<% task(spin).state_info %>
      publish: {why: <% task().result %>}
"""


@pytest.fixture()
def short_limit() -> Iterator[float]:
    before = expression_limits.current_time_limit()
    expression_limits.set_time_limit(0.3)
    try:
        yield 0.3
    finally:
        expression_limits.set_time_limit(before)


def test_a_runaway_expression_fails_its_task(driver: EngineDriver, short_limit: float) -> None:
    driver.define(SPINNING)
    driver.start("spinning")
    driver.run()
    execution = driver.execution()
    assert execution.state == "ERROR"
    spin = driver.task("spin")
    assert spin.state == "ERROR" and driver.actions(spin) == []
    assert (spin.state_info or "").startswith("Failed to run task [error=Can not evaluate expression")
    assert f"took longer than {short_limit:g} seconds" in (spin.state_info or "")
    assert execution.state_info == spin.state_info
    assert names(driver.tasks()) == ["spin"]
