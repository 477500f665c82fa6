"""Parsing of ``name key=value ...`` strings used by ``action``, ``workflow``, ``base`` and commands.

Values may be quoted strings, ``[...]`` lists, YAQL/Jinja expressions, JSON literals (numbers,
``true``, ``false``, ``null``) or plain words. A plain word such as ``method=POST`` stays the string
``"POST"`` (Mistral drops it silently).
"""

from __future__ import annotations

import json
import re
from typing import Any

_KEY = re.compile(r"\s*([A-Za-z_][\w\-]*)\s*=\s*")
_CLOSERS = {"<%": "%>", "{{": "}}", "{%": "%}"}


class InlineSyntaxError(ValueError):
    """Raised when an inline parameter string cannot be split into ``key=value`` pairs."""


def split_command(text: str) -> tuple[str, dict[str, Any]]:
    """Split ``"std.echo output=1"`` into ``("std.echo", {"output": 1})``.

    ``"fail(msg='x')"`` (the call form of engine commands) is accepted too.
    """
    text = text.strip()
    call = re.fullmatch(r"([^\s(]+)\((.*)\)", text, flags=re.S)
    if call:
        return call.group(1), parse_params(call.group(2).replace(",", " ") if "=" in call.group(2) else "")
    if text.startswith(("<%", "{{")):
        closer = _CLOSERS[text[:2]]
        end = text.find(closer)
        if end < 0:
            raise InlineSyntaxError(f"unterminated expression in {text!r}")
        name, rest = text[: end + 2], text[end + 2:]
    else:
        name, _, rest = text.partition(" ")
    return name, parse_params(rest)


def parse_params(text: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _KEY.match(text, pos)
        if not match:
            raise InlineSyntaxError(f"expected key=value at {text[pos:].strip()!r}")
        value, pos = _read_value(text, match.end())
        params[match.group(1)] = value
    return params


def _read_value(text: str, pos: int) -> tuple[Any, int]:
    head = text[pos:pos + 2]
    if head in _CLOSERS:
        end = text.find(_CLOSERS[head], pos)
        if end < 0:
            raise InlineSyntaxError(f"unterminated expression at {text[pos:]!r}")
        return text[pos:end + 2], end + 2
    if text[pos:pos + 1] in ("'", '"'):
        quote = text[pos]
        end = text.find(quote, pos + 1)
        if end < 0:
            raise InlineSyntaxError(f"unterminated string at {text[pos:]!r}")
        return text[pos + 1:end], end + 1
    if text[pos:pos + 1] == "[":
        end = _matching_bracket(text, pos)
        raw = text[pos:end + 1]
        return _json_or_text(raw), end + 1
    end = pos
    while end < len(text) and not text[end].isspace():
        end += 1
    return _json_or_text(text[pos:end]), end


def _matching_bracket(text: str, start: int) -> int:
    depth = 0
    quote = ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in ("'", '"'):
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index
    raise InlineSyntaxError(f"unterminated list at {text[start:]!r}")


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw
