"""Unit tests of app.engine.expressions: YAQL and Jinja evaluation, Mistral's functions, validation."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import expression_limits, expressions
from app.engine.errors import ExpressionError
from app.engine.expressions import evaluate, evaluate_recursively, has_expression, shared_data, validate

ROOT = Path(__file__).resolve().parents[2]

DATA: dict[str, Any] = {
    "a": {"b": [1, 2, 3]},
    "name": "world",
    "count": 3,
    "nothing": None,
    "people": [{"name": "ann", "age": 30}, {"name": "bob", "age": 17}],
}


class FakeView:
    """A read-only execution with two tasks; records the arguments it is called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._tasks: dict[str, dict[str, Any]] = {
            "t1": {"id": "1", "name": "t1", "state": "SUCCESS", "result": {"x": 10}, "published": {}},
            "t2": {"id": "2", "name": "t2", "state": "ERROR", "result": None, "published": {}},
        }

    def task(self, name: str | None) -> dict[str, Any] | None:
        self.calls.append(("task", name))
        return self._tasks.get(name or "t2")

    def tasks(
        self,
        workflow_execution_id: str | None = None,
        recursive: bool = False,
        state: str | None = None,
        flat: bool = False,
    ) -> list[dict[str, Any]]:
        self.calls.append(("tasks", workflow_execution_id, recursive, state, flat))
        return [t for t in self._tasks.values() if state is None or t["state"] == state]

    def execution(self) -> dict[str, Any]:
        return {"id": "wf-1", "name": "wf", "input": {"k": "v"}, "params": {}}

    def env(self) -> dict[str, Any]:
        return {"url": "http://example.test"}

    def global_var(self, name: str) -> Any:
        return {"g": 42}.get(name)


# ---------------------------------------------------------------------------------------------- YAQL


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("<% $.count %>", 3),
        ("  <% $.a %>  ", {"b": [1, 2, 3]}),
        ("<% $.a.b %>", [1, 2, 3]),
        ("<% $.nothing %>", None),
        ("<% $.name %>", "world"),
        ("<% true %>", True),
        ("<% 1.5 %>", 1.5),
    ],
)
def test_yaql_whole_string_returns_raw_value(expression: str, expected: Any) -> None:
    result = evaluate(expression, DATA)
    assert result == expected
    assert type(result) is type(expected)


def test_yaql_interpolation_uses_str_of_each_value() -> None:
    assert evaluate("Hello <% $.name %>, <% $.count %> times", DATA) == "Hello world, 3 times"
    assert evaluate("n=<% $.nothing %> l=<% $.a.b %>", DATA) == "n=None l=[1, 2, 3]"


def test_yaql_multiline_expression() -> None:
    assert evaluate("<% $.a.b\n  .len() %>", DATA) == 3


def test_yaql_dict_literal_with_keyword_operator() -> None:
    assert evaluate("<% {a => 1, b => $.name} %>", DATA) == {"a": 1, "b": "world"}


def test_yaql_output_is_plain_json_types() -> None:
    result = evaluate("<% {a => [1, 2], b => set(1)} %>", DATA)
    assert result == {"a": [1, 2], "b": [1]}
    assert type(result) is dict and type(result["a"]) is list and type(result["b"]) is list
    json.dumps(result)


def test_yaql_standard_library() -> None:
    assert evaluate("<% len($.a.b) %>", DATA) == 3
    assert evaluate("<% $.a.b.where($ > 1).select($ * 10) %>", DATA) == [20, 30]
    assert evaluate("<% $.a.keys() %>", DATA) == ["b"]
    assert evaluate("<% $.people.where($.age > 18).select($.name) %>", DATA) == ["ann"]
    assert evaluate("<% list(range(0, 3)) %>", DATA) == [0, 1, 2]
    assert evaluate("<% str($.count) %>", DATA) == "3"


def test_yaql_handles_ten_thousand_items() -> None:
    # Whether long lists are handled, not how fast: on a busy machine the default limit could end
    # the evaluation first (test_expression_limits covers the limit).
    previous = expression_limits.current_time_limit()
    expression_limits.set_time_limit(120)
    try:
        items = list(range(10_000))
        assert evaluate("<% $.items.select($ * 2).len() %>", {"items": items}) == 10_000
        assert evaluate("<% range(0, 20000).len() %>", {}) == 20_000
    finally:
        expression_limits.set_time_limit(previous)


def test_shared_data_converts_a_list_once_for_many_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    big = list(range(1000))
    data = {"items": big, "nested": {"k": [1, 2]}}
    seen: list[int] = []
    from yaql.language import utils as yaql_utils

    original = yaql_utils.convert_input_data

    def counting(obj: Any, rec: Any = None) -> Any:
        if obj is big:
            seen.append(1)
        return original(obj, rec)

    monkeypatch.setattr(yaql_utils, "convert_input_data", counting)
    with shared_data():
        results = [evaluate("<% [$.x, len($.items), $.nested.k] %>", {**data, "x": index}) for index in range(50)]
    assert results == [[index, 1000, [1, 2]] for index in range(50)]
    assert len(seen) == 1
    evaluate("<% len($.items) %>", data)
    evaluate("<% len($.items) %>", data)
    assert len(seen) == 3  # outside the block every evaluation converts afresh


def test_shared_data_does_not_mix_up_distinct_lists() -> None:
    with shared_data():
        for size in range(1, 30):
            assert evaluate("<% len($.items) %>", {"items": list(range(size))}) == size


def test_yaql_delegates_are_not_allowed() -> None:
    with pytest.raises(ExpressionError):
        evaluate("<% call(len, [[1]]) %>", DATA)


# --------------------------------------------------------------------------------------------- Jinja


def test_jinja_whole_string_returns_raw_value() -> None:
    assert evaluate("{{ _.count }}", DATA) == 3
    assert evaluate(" {{ _.a }} ", DATA) == {"b": [1, 2, 3]}
    assert evaluate("{{ _.a.b }}", DATA) == [1, 2, 3]
    assert evaluate("{{ _.nothing }}", DATA) is None
    assert evaluate("{{- _.name -}}", DATA) == "world"


def test_jinja_raw_value_is_plain_json_types() -> None:
    assert evaluate("{{ _.a.b | map('string') }}", DATA) == ["1", "2", "3"]
    assert evaluate("{{ (1, 2) }}", DATA) == [1, 2]


def test_jinja_brace_inside_string_literal_is_still_one_expression() -> None:
    assert evaluate('{{ "}}" }}', DATA) == "}}"


def test_jinja_interpolation_renders_a_string() -> None:
    assert evaluate("Hello {{ _.name }}, {{ _.count }}", DATA) == "Hello world, 3"
    assert evaluate("{{ _.count }}{{ _.count }}", DATA) == "33"


def test_jinja_blocks_render_with_trimmed_whitespace() -> None:
    template = "  {% for p in _.people %}\n{{ p.name }};\n  {% endfor %}\n"
    assert evaluate(template, DATA) == "ann;\nbob;\n"
    assert evaluate("{% if _.count > 2 %}big{% else %}small{% endif %}", DATA) == "big"


def test_jinja_undefined_variable_raises() -> None:
    with pytest.raises(ExpressionError, match="Can not evaluate Jinja expression"):
        evaluate("{{ _.missing }}", DATA)
    with pytest.raises(ExpressionError, match="missing"):
        evaluate("x {{ _.missing }}", DATA)
    with pytest.raises(ExpressionError):
        evaluate("{{ missing }}", DATA)


def test_jinja_sandbox_blocks_unsafe_attributes() -> None:
    with pytest.raises(ExpressionError):
        evaluate("{{ _.__class__.__mro__ }}", DATA)


# ----------------------------------------------------------------------------------------- Functions


@pytest.mark.parametrize(
    ("yaql_expr", "jinja_expr", "expected"),
    [
        ("<% task(t1).result.x %>", "{{ task('t1').result.x }}", 10),
        ("<% task().name %>", "{{ task().name }}", "t2"),
        ("<% task(nope) %>", "{{ task('nope') }}", None),
        ("<% execution().input.k %>", "{{ execution().input.k }}", "v"),
        ("<% env().url %>", "{{ env().url }}", "http://example.test"),
        ("<% global(g) %>", "{{ global('g') }}", 42),
        ("<% global('unknown') %>", "{{ global('unknown') }}", None),
        ("<% tasks().len() %>", "{{ tasks() | length }}", 2),
        (
            "<% tasks(state => ERROR).select($.name) %>",
            "{{ tasks(state='ERROR') | map(attribute='name') }}",
            ["t2"],
        ),
    ],
)
def test_execution_functions_in_both_languages(yaql_expr: str, jinja_expr: str, expected: Any) -> None:
    assert evaluate(yaql_expr, DATA, FakeView()) == expected
    assert evaluate(jinja_expr, DATA, FakeView()) == expected


def test_task_without_name_passes_none_to_the_view() -> None:
    view = FakeView()
    evaluate("<% task() %>", DATA, view)
    evaluate("{{ task() }}", DATA, view)
    assert view.calls == [("task", None), ("task", None)]


def test_tasks_passes_every_filter_to_the_view() -> None:
    view = FakeView()
    evaluate("<% tasks('wf-9', true, SUCCESS, true) %>", DATA, view)
    evaluate("{{ tasks('wf-9', True, 'SUCCESS', True) }}", DATA, view)
    assert view.calls == [("tasks", "wf-9", True, "SUCCESS", True)] * 2


@pytest.mark.parametrize(
    "expression", ["<% task(t1) %>", "{{ env() }}", "<% execution() %>", "{{ global('g') }}"]
)
def test_execution_functions_need_a_view(expression: str) -> None:
    with pytest.raises(ExpressionError, match="requires an execution context"):
        evaluate(expression, DATA)


@pytest.mark.parametrize("template", ["<% {0} %>", "{{{{ {0} }}}}"])
def test_conversion_functions(template: str) -> None:
    def run(call: str) -> Any:
        return evaluate(template.format(call), DATA)

    assert run("json_parse('{\"k\": [1, null]}')") == {"k": [1, None]}
    assert json.loads(run("json_dump(json_parse('{\"k\": [1]}'))")) == {"k": [1]}
    assert run("json_dump(json_parse('{\"k\": 1}'))") == '{\n    "k": 1\n}'
    assert run("json_pp(json_parse('[1]'))") == "[\n    1\n]"
    assert run("yaml_parse('k: [1, 2]')") == {"k": [1, 2]}
    assert yaml.safe_load(run("yaml_dump(yaml_parse('k: [1, 2]'))")) == {"k": [1, 2]}
    assert uuid.UUID(run("uuid()")).version == 4


def test_uuid_is_random() -> None:
    first, second = evaluate("<% uuid() %>", DATA), evaluate("{{ uuid() }}", DATA)
    assert uuid.UUID(first) != uuid.UUID(second)


def test_yaml_parse_reads_aliases_as_text() -> None:
    assert evaluate("<% yaml_parse('a: &x 1') %>", DATA) == {"a": "&x 1"}


def test_yaql_functions_data_converted_to_plain_values() -> None:
    assert evaluate("<% yaml_dump($.a) %>", DATA) == "b:\n- 1\n- 2\n- 3\n"


# -------------------------------------------------------------------------------------------- Errors


def test_bad_yaql_syntax_raises_expression_error() -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate("<% $.a + %>", DATA)
    assert str(info.value).startswith("Can not evaluate YAQL expression [expression=$.a +, error=")


def test_unknown_yaql_function_raises_expression_error() -> None:
    with pytest.raises(ExpressionError, match="Can not evaluate YAQL expression"):
        evaluate("<% no_such_function() %>", DATA)


def test_bad_jinja_syntax_raises_expression_error() -> None:
    with pytest.raises(ExpressionError, match="Can not evaluate Jinja expression"):
        evaluate("{% if %}", DATA)


def test_mixing_languages_raises() -> None:
    with pytest.raises(ExpressionError, match="Mixing expression types in a single line is not allowed."):
        evaluate("<% $.a %> and {{ _.a }}", DATA)


# ---------------------------------------------------------------------------------- Walk, detect, check


def test_strings_without_expressions_and_non_strings_are_unchanged() -> None:
    assert evaluate("plain text", DATA) == "plain text"
    assert evaluate("100% {not jinja}", DATA) == "100% {not jinja}"


def test_evaluate_recursively_walks_nested_structures() -> None:
    source = {
        "plain": "text",
        "num": 5,
        "none": None,
        "yaql": "<% $.count %>",
        "<% $.name %>": "key was an expression",
        "nested": [{"j": "{{ _.a.b }}", "s": "n={{ _.count }}"}, ["<% $.nothing %>", 1.5, True]],
        "tuple": ("<% $.count %>",),
    }
    result = evaluate_recursively(source, DATA)
    assert result == {
        "plain": "text",
        "num": 5,
        "none": None,
        "yaql": 3,
        "world": "key was an expression",
        "nested": [{"j": [1, 2, 3], "s": "n=3"}, [None, 1.5, True]],
        "tuple": [3],
    }
    assert source["yaql"] == "<% $.count %>"


def test_evaluate_recursively_passes_the_view() -> None:
    assert evaluate_recursively({"r": ["<% task(t1).result %>"]}, DATA, FakeView()) == {"r": [{"x": 10}]}


def test_evaluate_recursively_rejects_unhashable_keys() -> None:
    with pytest.raises(ExpressionError):
        evaluate_recursively({"<% $.a %>": 1}, DATA)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<% $.a %>", True),
        ("x {{ _.a }} y", True),
        ("{% if true %}x{% endif %}", True),
        ("plain", False),
        ("{ not: jinja }", False),
        (5, False),
        (None, False),
        (["<% $.a %>"], False),
    ],
)
def test_has_expression(value: Any, expected: bool) -> None:
    assert has_expression(value) is expected


def test_validate_accepts_good_expressions() -> None:
    assert validate("<% $.a.where($ > 1) %> and <% {a => 1} %>") == []
    assert validate("{% for x in _.a %}{{ x | upper }}{% endfor %}") == []
    assert validate("no expression at all") == []


def test_validate_reports_every_problem_without_evaluating() -> None:
    problems = validate("<% $.a + %> <% task(t1) %> <% ) %>")
    assert len(problems) == 2
    assert all("YAQL" in problem for problem in problems)
    assert "$.a +" in problems[0]
    assert validate("{{ _.missing }}") == []


def test_validate_reports_jinja_and_mixing_problems() -> None:
    (jinja_problem,) = validate("{% if %}")
    assert "Jinja" in jinja_problem
    assert len(validate("{{ x | no_such_filter }}")) == 1
    assert validate("<% 1 %> {{ 2 }}") == [
        "The line already contains an expression of type 'jinja'. "
        "Mixing expression types in a single line is not allowed."
    ]


# ------------------------------------------------------------------------------------------- Purity


def test_module_imports_without_service_dependencies() -> None:
    code = (
        "import sys\n"
        "for name in ('flask', 'celery', 'sqlalchemy', 'requests', 'flask_sqlalchemy'):\n"
        "    sys.modules[name] = None\n"
        "import app.engine.expressions as e\n"
        "assert e.evaluate('<% $.x %>', {'x': 1}) == 1\n"
        "assert e.evaluate('{{ _.x }}', {'x': 2}) == 2\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr


# -- the plain key path needs no YAQL, and answers as YAQL does -----------------------------------

# Words YAQL reads otherwise (values, operators, names it refuses) must be left to it.
_KEYS = st.sampled_from(["a", "b", "x_1", "Item", "_y", "true", "null", "and", "in", "mod", "__x"])
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5))
_DATA = st.recursive(_SCALAR, lambda inner: st.dictionaries(_KEYS, inner, max_size=3) | st.lists(inner, max_size=2),
                     max_leaves=8)


@given(data=st.dictionaries(_KEYS, _DATA, max_size=4), path=st.lists(_KEYS, min_size=1, max_size=3))
@settings(max_examples=300, deadline=None)
def test_a_plain_key_path_answers_as_yaql_does(data: dict[str, Any], path: list[str]) -> None:
    expression = "<% $." + ".".join(path) + " %>"

    def outcome() -> tuple[str, Any]:
        try:
            return "value", evaluate(expression, data)
        except ExpressionError as exc:
            return "error", str(exc)

    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(expressions, "_plain_lookup", lambda *_: expressions._NOT_PLAIN)
        assert outcome() == fast
