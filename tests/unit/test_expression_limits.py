"""Hostile expressions fail with a clear error instead of hanging or exhausting the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.engine import expression_limits, expressions
from app.engine.errors import ExpressionError
from app.engine.expression_limits import ExpressionTimeout, time_limit
from app.factory import create_app

SHORT_LIMIT = 0.5


@pytest.fixture()
def short_limit() -> Iterator[float]:
    """A short expression time limit (EXPRESSION_TIME_LIMIT_SECONDS), so no test waits for the default."""
    before = expression_limits.current_time_limit()
    expression_limits.set_time_limit(SHORT_LIMIT)
    try:
        yield SHORT_LIMIT
    finally:
        expression_limits.set_time_limit(before)


def test_a_long_yaql_computation_is_stopped(short_limit: float) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError, match=f"took longer than {short_limit:g} seconds"):
        expressions.evaluate("<% range(100000000).sum() %>", {})
    assert time.monotonic() - started < 10 * short_limit


def test_the_time_limit_is_a_setting(tmp_path: Path) -> None:
    before = expression_limits.current_time_limit()
    try:
        create_app(Settings.from_env({"TRAMONTANE_DATA_DIR": str(tmp_path), "EXPRESSION_TIME_LIMIT_SECONDS": "0.7"}),
                   serve_api=False)
        assert expression_limits.current_time_limit() == 0.7
        with pytest.raises(ValueError, match="positive"):
            expression_limits.set_time_limit(0)
    finally:
        expression_limits.set_time_limit(before)


@pytest.mark.parametrize("expression, message", [
    ("{{ 'a' * 100000000000 }}", "longer than"),
    ("{{ [1] * 100000000000 }}", "longer than"),
    ("{{ 2 ** 1000000 }}", "exponents above"),
])
def test_huge_jinja_values_are_refused(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        expressions.evaluate(expression, {})


def test_jinja_sandbox_refuses_attribute_escapes() -> None:
    with pytest.raises(ExpressionError):
        expressions.evaluate("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def _in_thread(work: Any) -> Any:
    """Run ``work`` in a new thread; return what it returned or raised."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return outcome[0]


def test_a_long_computation_outside_the_main_thread_is_stopped(short_limit: float) -> None:
    started = time.monotonic()
    outcome = _in_thread(lambda: expressions.evaluate("<% range(100000000).sum() %>", {}))
    assert isinstance(outcome, ExpressionError)
    assert "took longer than" in str(outcome)
    assert time.monotonic() - started < 10 * short_limit


def test_one_threads_timeout_does_not_touch_another_thread() -> None:
    quick_results: list[int] = []

    def quick() -> None:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            quick_results.append(expressions.evaluate("<% $.a + 1 %>", {"a": 1}))

    def slow() -> Any:
        with time_limit(0.5):
            while True:
                pass

    quick_thread = threading.Thread(target=quick)
    quick_thread.start()
    assert isinstance(_in_thread(slow), ExpressionTimeout)
    quick_thread.join(30)
    assert quick_results and set(quick_results) == {2}


def test_a_nested_block_runs_under_the_outer_limit() -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionTimeout):
        with time_limit(0.3):
            with time_limit(60):
                while True:
                    pass
    assert time.monotonic() - started < 5


def test_blocks_ending_near_their_deadline_leave_no_stray_timeout() -> None:
    stray = 0
    for _ in range(200):
        try:
            with time_limit(0.002):
                end = time.monotonic() + 0.002
                while time.monotonic() < end:
                    pass
        except ExpressionTimeout:
            pass
        try:
            for _ in range(2000):
                pass
        except ExpressionTimeout:
            stray += 1
    assert stray == 0


def test_ordinary_expressions_still_work_after_a_timeout(short_limit: float) -> None:
    with pytest.raises(ExpressionError):
        expressions.evaluate("<% range(100000000).sum() %>", {})
    assert expressions.evaluate("<% $.a * 2 %>", {"a": 21}) == 42
    assert expressions.evaluate("{{ 'ab' * 3 }}", {}) == "ababab"


def test_yaql_cannot_build_a_huge_string() -> None:
    kilobyte = "x" * 1000
    with pytest.raises(ExpressionError, match="[Mm]emory"):
        expressions.evaluate("<% ($.s * 100000).len() %>", {"s": kilobyte})
    assert expressions.evaluate("<% ($.s * 1000).len() %>", {"s": kilobyte}) == 1_000_000


@pytest.mark.parametrize("expression, message", [
    # Single C-level operations that no watchdog can interrupt: refused before they start.
    ("{{ (9 ** 1000) ** 10000 > 1 }}", "integers above 100000 bits"),
    ("{{ (9 ** 10000) * (9 ** 10000) * (9 ** 10000) * (9 ** 10000) > 1 }}", "integers above"),
    ("<% pow(pow(9, 1000), 10000) > 1 %>", "integers above 100000 bits"),
    ("<% shiftBitsLeft(1, 10000000) %>", "integers above 100000 bits"),
    ("<% pow(9, 10000) * pow(9, 10000) * pow(9, 10000) * pow(9, 10000) > 1 %>", "integers above"),
    # Strings grown past the length limit by padding, formatting or replacing.
    ("{{ 'x' | center(200000000) }}", "longer than 10000000"),
    ("{{ '%0200000000d' | format(1) }}", "longer than 10000000"),
    ("{{ '%0200000000d' % 1 }}", "longer than 10000000"),
    ("{{ '%*d' % (200000000, 1) }}", "'*' widths"),
    ("{{ 'a'.zfill(200000000) }}", "longer than 10000000"),
    ("{{ 'a'.ljust(200000000) }}", "longer than 10000000"),
    ("{{ 'a'.rjust(200000000) }}", "longer than 10000000"),
    ("{{ 'a'.center(200000000) }}", "longer than 10000000"),
    ("{{ '\t'.expandtabs(200000000) }}", "longer than 10000000"),
    ("{{ '{:>200000000}'.format(1) }}", "longer than 10000000"),
    ("{{ '{:{}}'.format(1, 200000000) }}", "taken from arguments"),
    ("{{ ('a' * 5000).replace('a', 'a' * 5000) }}", "longer than 10000000"),
    ("{{ ('a' * 5000) | replace('a', 'a' * 5000) }}", "longer than 10000000"),
    ("{{ ('a' * 5000).join(['b'] * 5000) }}", "longer than 10000000"),
    ("{{ (['b'] * 5000) | join('a' * 5000) }}", "longer than 10000000"),
    ("{{ 'a\nb' | indent(200000000) }}", "longer than 10000000"),
    ("{{ [1] | tojson(indent=100000000) }}", "tojson indents above 64"),
])
def test_operations_that_would_build_huge_values_are_refused(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        expressions.evaluate(expression, {})


@pytest.mark.parametrize("expression, value", [
    ("{{ 2 ** 100 }}", 2 ** 100),
    ("{{ 3 * 4 }}", 12),
    ("{{ 'ab' | center(6) }}", "  ab  "),
    ("{{ '%05d' % 3 }}", "00003"),
    ("{{ '%05.1f' | format(2.25) }}", "002.2"),
    ("{{ '{:>5}'.format(1) }}", "    1"),
    ("{{ 'a b' | replace('a', 'c') }}", "c b"),
    ("{{ ','.join(['a', 'b']) }}", "a,b"),
    ("{{ [1, 2] | tojson(indent=2) | length }}", 12),
    ("<% pow(2, 10) %>", 1024),
    ("<% pow(9, 1000, 7) %>", 2),
    ("<% shiftBitsLeft(1, 10) %>", 1024),
    ("<% 2.5 * 2 %>", 5.0),
])
def test_ordinary_arithmetic_and_formatting_still_work(expression: str, value: object) -> None:
    assert expressions.evaluate(expression, {}) == value
