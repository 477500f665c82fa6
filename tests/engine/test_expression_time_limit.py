"""An expression that runs past EXPRESSION_TIME_LIMIT_SECONDS fails its task; the workflow goes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.engine import expression_limits
from tests.engine.driver import EngineDriver

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
    assert driver.execution().state == "SUCCESS"
    spin = driver.task("spin")
    assert spin.state == "ERROR" and driver.actions(spin) == []
    assert f"took longer than {short_limit:g} seconds" in (spin.state_info or "")
    assert (driver.execution().output or {})["why"] == spin.state_info
