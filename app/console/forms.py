"""Reading the console's forms: JSON fields checked with a message naming the field."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import request


class FormErrors(dict[str, str]):
    """Problems by field name; a form with any is shown again with them (and what was typed)."""


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value (JSON has no NaN or Infinity)")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):
        raise ValueError(f"{number} is too large for a JSON number")
    return value


def parse_json(text: str) -> Any:
    """Strict JSON: Python would read NaN, Infinity and 1e999 as numbers and store them as text
    that no JSON client can read back."""
    return json.loads(text, parse_constant=_not_json, parse_float=_finite)


def json_value(errors: FormErrors, name: str, label: str, kind: type | None = None, default: Any = None,
               key: str | None = None) -> Any:
    """The form field ``name`` read as JSON (``default`` when empty); a problem is recorded under
    ``key`` (the field's name unless given), a sentence that starts with ``label``."""
    key = key or name
    text = (request.form.get(name) or "").strip()
    if not text:
        return default
    try:
        value = parse_json(text)
    except ValueError as exc:
        errors[key] = f"{label} is not valid JSON: {exc}."
        return default
    if kind is dict and not isinstance(value, dict):
        errors[key] = f"{label} must be a JSON object ({{...}})."
        return default
    return value


def integer_value(errors: FormErrors, name: str, label: str) -> int | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        errors[name] = f"{label} must be a whole number."
        return None
