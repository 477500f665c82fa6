"""The parser: specs from YAML, every problem collected with its path."""

from __future__ import annotations

import pytest

from app.engine.errors import DSLError
from app.engine.language.documents import parse_workbook
from app.engine.language.inline import split_command
from app.engine.language.parser import parse_workflows
from app.engine.language.spec import REQUIRED


def test_inline_parameters_keep_types_and_plain_words() -> None:
    name, params = split_command(
        "std.http url='http://x/y?a=1' method=POST timeout=10 verify=false body=null "
        'headers_list=[1, "two"] note="two words" expr=<% $.x + 1 %>'
    )
    assert name == "std.http"
    assert params == {
        "url": "http://x/y?a=1", "method": "POST", "timeout": 10, "verify": False, "body": None,
        "headers_list": [1, "two"], "note": "two words", "expr": "<% $.x + 1 %>",
    }


def test_engine_command_call_form() -> None:
    assert split_command("fail(msg='stop here')") == ("fail", {"msg": "stop here"})


def test_workflow_list_with_defaults_and_transitions() -> None:
    (first, second) = parse_workflows("""
version: '2.0'
first:
  input: [a, {b: 2}]
  task-defaults:
    on-error: [handler]
  tasks:
    one:
      action: std.echo output=<% $.a %>
      on-success:
        - two: <% $.b > 1 %>
        - fail msg="small b"
    two: {}
    handler: {}
second:
  tasks:
    only:
      workflow: first a=1
""")
    assert first.input == (("a", REQUIRED), ("b", 2))
    assert first.start_tasks() == ["one"]
    one = first.tasks["one"]
    assert one.action == "std.echo" and one.inline_input == {"output": "<% $.a %>"}
    clauses = first.clauses(one)
    assert [t.target for t in clauses["on-success"].transitions] == ["two", "fail"]
    assert clauses["on-success"].transitions[1].params == {"msg": "small b"}
    assert [t.target for t in clauses["on-error"].transitions] == ["handler"]
    assert first.clauses(first.tasks["handler"])["on-error"].is_empty
    assert second.tasks["only"].workflow == "first"
    assert second.tasks["only"].kind == "WORKFLOW"


def test_problems_are_collected_with_paths() -> None:
    with pytest.raises(DSLError) as caught:
        parse_workflows("""
version: '2.0'
wf:
  tasks:
    a:
      join: all
      with-items: nonsense
      on-complete: [missing]
      retry: {count: 1}
      keep-result: false
""")
    problems = caught.value.problems
    assert "wf.tasks.a.join: No inbound tasks for task with 'join'" in problems
    assert any(p.startswith("wf.tasks.a.with-items:") for p in problems)
    assert "wf.tasks.a.on-complete: Task 'missing' not found." in problems


def test_anchors_are_plain_text_so_aliases_cannot_expand() -> None:
    (spec,) = parse_workflows("""
version: '2.0'
wf:
  vars:
    a: &anchor [1, 2]
    b: *anchor
  tasks:
    t: {}
""")
    assert spec.vars == {"a": "&anchor [1, 2]", "b": "*anchor"}


def test_workflow_lists_take_any_version_workbooks_only_2_0() -> None:
    # As in Mistral: a workflow list's version is only required; a workbook's must be 2.0.
    assert parse_workflows("version: '1.0'\nwf:\n  tasks:\n    t:\n      action: std.noop\n")
    with pytest.raises(DSLError, match="version: is required"):
        parse_workflows("wf:\n  tasks:\n    t:\n      action: std.noop\n")
    with pytest.raises(DSLError, match="Unsupported DSL version: 1.0"):
        parse_workbook("version: '1.0'\nname: wb\n")
