"""How the console shows values: JSON readably, secrets masked, times and durations."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer, YamlLexer

from app.models import utc_now

MASK = "•••••• (hidden)"
# Keys whose values are credentials: shown nowhere in the console, whatever the nesting.
SECRET_KEY = re.compile(r"authori[sz]ation|passw|secret|token|api[-_]?key|cookie|capabilit|private[-_]?key|"
                        r"credential|signature", re.IGNORECASE)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_formatter = HtmlFormatter(cssclass="hl", wrapcode=True)


def masked(value: Any) -> Any:
    """``value`` with the value of every secret-looking key replaced, at any depth."""
    if isinstance(value, dict):
        return {key: MASK if isinstance(key, str) and SECRET_KEY.search(key) and item not in (None, "")
                else masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def pretty_json(value: Any) -> Markup:
    """A value as indented, highlighted JSON, secrets masked."""
    text = json.dumps(masked(value), indent=2, ensure_ascii=False, default=str, sort_keys=False)
    return Markup(highlight(text, JsonLexer(), _formatter))  # noqa: S704 - Pygments escapes what it highlights


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


def state_class(state: str | None) -> str:
    return f"state-{(state or 'idle').lower()}"


FILTERS = {"json": pretty_json, "when": time_text, "state_class": state_class, "masked": masked}
