"""The direct-workflow controller, pure: transitions, engine commands, error handling, joins."""

from __future__ import annotations

from typing import Any

from app.engine import controller
from app.engine.commands import RunTask, StopWorkflow
from app.engine.language.parser import parse_workflows

SPEC = """
version: '2.0'
wf:
  tasks:
    start:
      on-success:
        - big: <% $.n > 10 %>
        - small: <% $.n <= 10 %>
      on-error:
        - noop
      on-complete:
        - audit
    big: {}
    small:
      on-success:
        - pause msg="check"
        - after_pause
    after_pause: {}
    audit:
      on-error: [fail msg=<% $.reason %>, never]
    never: {}
"""


class NoView:
    def task(self, name: Any = None) -> None:
        return None


def outcome(task: str, state: str, data: dict[str, Any]) -> controller.Outcome:
    (spec,) = parse_workflows(SPEC)
    return controller.after_task(spec, spec.tasks[task], state, data, dict(data), NoView())  # type: ignore[arg-type]


def test_conditions_pick_the_branch_and_on_complete_follows() -> None:
    result = outcome("start", "SUCCESS", {"n": 42})
    assert result.commands == (RunTask("big", {"n": 42}, source="start"),
                               RunTask("audit", {"n": 42}, source="start"))
    assert result.fired == ("big", "audit")


def test_noop_in_on_error_marks_the_error_handled() -> None:
    result = outcome("start", "ERROR", {"n": 1})
    assert result.error_handled is True
    assert [c.task_name for c in result.commands if isinstance(c, RunTask)] == ["audit"]


def test_pause_keeps_later_commands_as_backlog() -> None:
    result = outcome("small", "SUCCESS", {})
    assert result.commands == (StopWorkflow("PAUSED", "check"),)
    assert result.backlog == (RunTask("after_pause", {}, source="small"),)


def test_fail_first_discards_the_rest_and_evaluates_its_message() -> None:
    result = outcome("audit", "ERROR", {"reason": "bad"})
    assert result.commands == (StopWorkflow("ERROR", "bad"),)
    assert result.error_handled is True


def test_cancelled_task_starts_nothing() -> None:
    assert outcome("start", "CANCELLED", {"n": 1}).commands == ()


