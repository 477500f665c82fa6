"""YAQL (``<% %>``) and Jinja2 (``{{ }}``, ``{% %}``) expressions, with Mistral's functions.

Pure module: no I/O. Functions that read the execution (``task()``, ``tasks()``, ``execution()``,
``env()``, ``global()``) go through an injected read-only :class:`ExecutionView`.

Public API::

    class ExecutionView(Protocol):
        def task(self, name: str | None) -> dict | None      # Mistral's task() dict
        def tasks(self, workflow_execution_id=None, recursive=False, state=None, flat=False) -> list[dict]
        def execution(self) -> dict
        def env(self) -> dict
        def global_var(self, name: str) -> Any

    def evaluate(expression: str, data: Mapping[str, Any], view: ExecutionView | None = None) -> Any
    def evaluate_recursively(obj: Any, data: Mapping[str, Any], view: ExecutionView | None = None) -> Any
    def validate(text: str) -> list[str]        # syntax problems of every expression in a string
    def has_expression(text: Any) -> bool
    def shared_data() -> ContextManager        # evaluations inside share their YAQL input conversion

A string that is exactly one expression (surrounding blanks aside) evaluates to the expression's raw
value; any other string has each expression's value substituted into it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.environment import TemplateExpression

from app.engine.errors import ExpressionError
from app.engine.expression_functions import (
    MAX_COLLECTION_SIZE,
    PURE_FUNCTIONS,
    BoundFunctions,
    ExecutionView,
    jinja_globals,
    to_plain,
)
from app.engine.expression_limits import BoundedSandbox, ExpressionTimeout, bound_yaql_context, time_limit

__all__ = ["ExecutionView", "evaluate", "evaluate_recursively", "has_expression", "shared_data", "validate"]

# Mistral checks the languages in name order, so the first one it names is always Jinja.
MIXING_MESSAGE = ("The line already contains an expression of type 'jinja'. "
                  "Mixing expression types in a single line is not allowed.")

_YAQL_INLINE = re.compile(r"<%(.*?)%>", re.DOTALL)
_JINJA_INLINE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_JINJA_SINGLE = re.compile(r"\{\{[-+]?(.*?)-?\}\}", re.DOTALL)

# '#' cannot occur in a YAQL variable name, so no expression can reach the bound functions directly.
_FUNCTIONS_KEY = "$#functions"

_YAQL_OPTIONS: dict[str, Any] = {
    "yaql.limitIterators": MAX_COLLECTION_SIZE,
    # Bounds what one YAQL operation may build (yaql estimates it pessimistically); no field may be
    # stored above 1 MiB anyway (app.engine.limits).
    "yaql.memoryQuota": 32 * 1024 * 1024,
    # Done by _yaql_input instead, so that a batch of evaluations can share the conversion.
    "yaql.convertInputData": False,
    "yaql.convertOutputData": True,
    "yaql.convertTuplesToLists": True,
    "yaql.convertSetsToLists": True,
    "yaql.iterableDicts": False,
}

# The PLY lexer and parser behind a YAQL engine keep state on themselves, so parsing is serialised.
_YAQL_PARSE_LOCK = threading.Lock()

_JINJA_ENV = BoundedSandbox(
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False
)


# ---------------------------------------------------------------------------------------------- YAQL


# YAQL is imported by the functions that use it: a process loads it (2.4 MiB) with its first YAQL
# expression, so an API process that has not been sent one, or a worker whose workflows use none,
# does without it (jinja2 comes with Flask anyway).


def _to_yaql(value: Any) -> Any:
    """``value`` as YAQL works on it (immutable lists and dicts)."""
    from yaql.language import utils as yaql_utils

    return yaql_utils.convert_input_data(value)


@lru_cache(maxsize=1)
def _yaql_engine() -> Any:
    import yaql

    factory = yaql.factory.YaqlFactory(keyword_operator="=>", allow_delegates=False)
    return factory.create(options=_YAQL_OPTIONS)


@lru_cache(maxsize=4096)
def _parse_yaql(expression: str) -> Any:
    with _YAQL_PARSE_LOCK:
        return _yaql_engine()(expression)


def _bound(context: Any) -> BoundFunctions:
    functions: BoundFunctions = context[_FUNCTIONS_KEY]
    return functions


def _yaql_env(context: Any) -> Any:
    return _to_yaql(_bound(context).env())


def _yaql_task(context: Any, name: str | None = None) -> Any:
    return _to_yaql(_bound(context).task(name))


def _yaql_tasks(
    context: Any,
    workflow_execution_id: str | None = None,
    recursive: bool = False,
    state: str | None = None,
    flat: bool = False,
) -> Any:
    return _yaql_list(_bound(context).tasks(workflow_execution_id, recursive, state, flat))


def _yaql_execution(context: Any) -> Any:
    return _to_yaql(_bound(context).execution())


def _yaql_executions(
    context: Any,
    id: str | None = None,  # noqa: A002 - Mistral's parameter name, callers pass it by keyword
    root_execution_id: str | None = None,
    state: str | None = None,
    from_time: Any = None,
    to_time: Any = None,
) -> Any:
    return _yaql_list(_bound(context).executions(id, root_execution_id, state, from_time, to_time))


def _yaql_list(found: list[Any]) -> list[Any]:
    # A list, not the tuple YAQL would make of it: Mistral's functions return lists, and an index
    # out of range then reads as 'list index out of range', as there.
    return [_to_yaql(item) for item in found]


def _yaql_global(context: Any, name: str) -> Any:
    return _to_yaql(_bound(context).global_var(name))


@lru_cache(maxsize=1)
def _yaql_root_context() -> Any:
    import yaql

    context = yaql.create_context(delegates=False)
    bound = {
        "env": _yaql_env,
        "task": _yaql_task,
        "tasks": _yaql_tasks,
        "execution": _yaql_execution,
        "executions": _yaql_executions,
        "global": _yaql_global,
    }
    for name, function in {**PURE_FUNCTIONS, **bound}.items():
        context.register_function(function, name=name)
    bound_yaql_context(context)
    return context


# id(list or dict) -> (the object, its YAQL form), while a shared_data() block is open.
_SHARED_CONVERSIONS: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("yaql_conversions", default=None)


@contextmanager
def shared_data() -> Iterator[None]:
    """Evaluations inside the block convert each list and dict of their data for YAQL only once.

    YAQL works on an immutable copy of its input; making that copy costs the size of the whole
    data, so evaluating one small expression per item of a 10,000-item list held in the same data
    would cost the square of its length. The caller promises not to change the data in the block.
    """
    token = _SHARED_CONVERSIONS.set({})
    try:
        yield
    finally:
        _SHARED_CONVERSIONS.reset(token)


def _yaql_input(data: Any) -> Any:
    from yaql.language import utils as yaql_utils

    memo = _SHARED_CONVERSIONS.get()
    if memo is None:
        return yaql_utils.convert_input_data(data)

    def convert(value: Any, _: Any = None) -> Any:
        if not isinstance(value, (list, dict)):
            return yaql_utils.convert_input_data(value, convert)
        known = memo.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        converted = yaql_utils.convert_input_data(value, convert)
        # Holding the original keeps its id from being reused while the block lasts.
        memo[id(value)] = (value, converted)
        return converted

    return convert(data)


# ``$.a.b``: the most common expression by far (task inputs, with-items values), a lookup of keys.
_PLAIN_PATH = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_SCALARS = (str, int, float, bool, type(None))
_NOT_PLAIN = object()


# Words YAQL reads as values or operators, not as keys (and it refuses names starting "__").
_YAQL_WORDS = frozenset({"true", "false", "null", "and", "or", "not", "in", "mod"})


@lru_cache(maxsize=4096)
def _plain_path(expression: str) -> tuple[str, ...] | None:
    if not _PLAIN_PATH.fullmatch(expression):
        return None
    keys = tuple(expression[2:].split("."))
    if any(key in _YAQL_WORDS or key.startswith("__") for key in keys):
        return None
    return keys


def _plain_lookup(expression: str, data: Any) -> Any:
    """The value of a plain key path when it is there and a scalar or a list of scalars: what YAQL
    would answer, without its overload resolution and the conversion of the data (a hundred times
    the cost). Anything else (a missing key, an object to convert) is left to YAQL, errors included."""
    keys = _plain_path(expression)
    if keys is None:
        return _NOT_PLAIN
    value = data
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return _NOT_PLAIN
        value = value[key]
    if isinstance(value, _SCALARS):
        return value
    # A list of scalars (a with-items list, often long) comes back as YAQL gives it: a new list.
    if isinstance(value, list) and all(isinstance(element, _SCALARS) for element in value):
        return list(value)
    return _NOT_PLAIN


def _run_yaql(expression: str, data: Any, bound: BoundFunctions) -> Any:
    expression = expression.strip()
    plain = _plain_lookup(expression, data)
    if plain is not _NOT_PLAIN:
        return plain
    try:
        parsed = _parse_yaql(expression)
        context = _yaql_root_context().create_child_context()
        context[_FUNCTIONS_KEY] = bound
        return parsed.evaluate(data=_yaql_input(data), context=context)
    except Exception as exc:
        raise ExpressionError(
            f"Can not evaluate YAQL expression [expression={expression}, error={exc}]"
        ) from exc


def _evaluate_yaql(text: str, data: Any, bound: BoundFunctions) -> Any:
    matches = list(_YAQL_INLINE.finditer(text))
    if len(matches) == 1 and matches[0].group(0) == text.strip():
        return _run_yaql(matches[0].group(1), data, bound)
    return _YAQL_INLINE.sub(lambda match: str(_run_yaql(match.group(1), data, bound)), text)


# --------------------------------------------------------------------------------------------- Jinja


@lru_cache(maxsize=4096)
def _jinja_template(source: str) -> jinja2.Template:
    return _JINJA_ENV.from_string(source)


@lru_cache(maxsize=4096)
def _jinja_expression(source: str) -> TemplateExpression:
    return _JINJA_ENV.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _single_jinja_expression(stripped: str) -> str | None:
    """The inner source when ``stripped`` is exactly one ``{{ }}`` block, else None.

    The lexer decides, not a regex, so a ``}}`` inside a string literal cannot fool it.
    """
    kinds = [kind for _, kind, _ in _JINJA_ENV.lex(stripped)]
    if not kinds or kinds[0] != "variable_begin" or kinds[-1] != "variable_end":
        return None
    if kinds.count("variable_begin") != 1 or "data" in kinds or "block_begin" in kinds:
        return None
    match = _JINJA_SINGLE.fullmatch(stripped)
    return match.group(1) if match else None


class ContextView(dict[str, Any]):
    """The ``_`` of a Jinja expression: the data, under the type name Mistral's errors show.

    Jinja names an object's type in its errors (``'... object' has no attribute 'x'``) and clients
    match on Mistral's text, so the root context carries the module and name Mistral's has.
    """

    __module__ = "mistral.workflow.data_flow"

    # Defined here, not inherited, so that an expression reaching them (``_.items`` where the data
    # has no ``items`` key) meets a 'method' as in Mistral, not a builtin.
    def items(self) -> Any:
        return super().items()

    def keys(self) -> Any:
        return super().keys()

    def values(self) -> Any:
        return super().values()

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, default)


def _evaluate_jinja(text: str, data: Any, bound: BoundFunctions) -> Any:
    context = {**jinja_globals(bound), "_": ContextView(data) if isinstance(data, Mapping) else data}
    try:
        inner = _single_jinja_expression(text.strip())
        if inner is not None:
            return to_plain(_jinja_expression(inner)(context))
        return _jinja_template(text).render(context)
    except Exception as exc:
        raise ExpressionError(f"Can not evaluate Jinja expression [expression={text}, error={exc}]") from exc


# -------------------------------------------------------------------------------------------- Public


def _languages(text: str) -> tuple[bool, bool]:
    return bool(_YAQL_INLINE.search(text)), bool(_JINJA_INLINE.search(text))


def has_expression(text: Any) -> bool:
    """True when ``text`` is a string holding at least one YAQL or Jinja expression."""
    return isinstance(text, str) and any(_languages(text))


def evaluate(expression: str, data: Mapping[str, Any], view: ExecutionView | None = None) -> Any:
    """Evaluate every expression in ``expression`` against ``data`` (YAQL ``$``, Jinja ``_``).

    A string with no expression, or a non-string, comes back unchanged. Raises
    :class:`ExpressionError` on a syntax or evaluation error, or when both languages are mixed.
    """
    if not isinstance(expression, str):
        return expression
    is_yaql, is_jinja = _languages(expression)
    if is_yaql and is_jinja:
        raise ExpressionError(MIXING_MESSAGE)
    if not (is_yaql or is_jinja):
        return expression
    if is_yaql:
        # YAQL's first import and set-up happen before the clock starts: the time limit stops an
        # expression by raising inside its thread, which must never land inside an import.
        _yaql_engine()
        _yaql_root_context()
    try:
        with time_limit():
            if is_yaql:
                return _evaluate_yaql(expression, data, BoundFunctions(view))
            return _evaluate_jinja(expression, data, BoundFunctions(view))
    except ExpressionTimeout as exc:
        raise ExpressionError(f"Can not evaluate expression [expression={expression}, error={exc}]") from exc


def evaluate_recursively(obj: Any, data: Mapping[str, Any], view: ExecutionView | None = None) -> Any:
    """Return a copy of ``obj`` with every expression in its strings, dict keys and values evaluated."""
    if isinstance(obj, str):
        return evaluate(obj, data, view) if has_expression(obj) else obj
    if isinstance(obj, Mapping):
        return {
            _evaluate_key(key, data, view): evaluate_recursively(value, data, view)
            for key, value in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [evaluate_recursively(item, data, view) for item in obj]
    return obj


def _evaluate_key(key: Any, data: Mapping[str, Any], view: ExecutionView | None) -> Any:
    if not has_expression(key):
        return key
    value = evaluate(key, data, view)
    if isinstance(value, (dict, list)):
        raise ExpressionError(f"Dictionary key {key!r} evaluated to a {type(value).__name__}")
    return value


def validate(text: str) -> list[str]:
    """Syntax problems of every expression in ``text``, each a readable sentence; nothing is evaluated."""
    if not isinstance(text, str):
        return []
    is_yaql, is_jinja = _languages(text)
    if is_yaql and is_jinja:
        return [MIXING_MESSAGE]
    problems = []
    if is_yaql:
        from yaql.language import exceptions as yaql_exceptions

        for match in _YAQL_INLINE.finditer(text):
            expression = match.group(1).strip()
            try:
                _parse_yaql(expression)
            except yaql_exceptions.YaqlException as exc:
                problems.append(f"Invalid YAQL expression [expression={expression}, error={exc}]")
    if is_jinja:
        try:
            _jinja_template(text)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"Invalid Jinja expression [expression={text}, error={exc}]")
    return problems
