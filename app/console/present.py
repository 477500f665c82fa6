"""How the console shows values: JSON readably, secrets masked, times and durations."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer, YamlLexer

from app.masking import MASK, is_secret_name, masked_text
from app.models import utc_now

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_formatter = HtmlFormatter(cssclass="hl", wrapcode=True)


def masked(value: Any) -> Any:
    """``value`` with credentials hidden at any depth, by the service's one rule (``app.masking``):
    the value of a secret-looking key, and secret parts of URLs, alone or inside text (an error
    message that quotes the URL it called)."""
    if isinstance(value, dict):
        return {key: MASK if is_secret_name(str(key)) and item not in (None, "") else masked(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    if isinstance(value, str):
        return masked_text(value)
    return value


def pretty_json(value: Any) -> Markup:
    """A value as indented, highlighted JSON, secrets masked."""
    text = json.dumps(masked(value), indent=2, ensure_ascii=False, default=str, sort_keys=False)
    return Markup(highlight(text, JsonLexer(), _formatter))  # noqa: S704 - Pygments escapes what it highlights


def compact_json(value: Any) -> str:
    """A value on one line (for table cells), secrets masked."""
    return json.dumps(masked(value), ensure_ascii=False, default=str)


def pretty_yaml(text: str) -> Markup:
    return Markup(highlight(text, YamlLexer(), _formatter))  # noqa: S704 - Pygments escapes what it highlights


def time_text(value: datetime | None) -> str:
    return value.strftime(TIME_FORMAT) if value is not None else ""


def duration(started: datetime | None, ended: datetime | None) -> str:
    """``1h 02m``, ``3m 05s``, ``4.2s``; to now when ``ended`` is None."""
    if started is None:
        return ""
    seconds = max(0.0, ((ended or utc_now()) - started).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


TRACEBACK = "Traceback (most recent call last):"


def state_info_parts(text: str | None) -> tuple[str, str]:
    """A state_info as (what happened, the traceback): the console shows the first and folds the second.
    URLs in it are masked: an HTTP action's error quotes the URL it called, query token and all."""
    if not text:
        return "", ""
    text = masked_text(text)
    head, sep, tail = text.partition(TRACEBACK)
    if not sep:
        return text.strip(), ""
    # The exception's own last line says the most after the message; it stays visible.
    lines = [line for line in tail.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    summary = head.strip()
    if last and last not in summary:
        summary = f"{summary}\n{last}".strip()
    return summary, sep + tail


def state_class(state: str | None) -> str:
    return f"state-{(state or 'idle').lower()}"


FILTERS = {"info_parts": state_info_parts, "json": pretty_json, "compact_json": compact_json, "when": time_text,
           "state_class": state_class, "masked": masked}
