"""Reading the console's forms: JSON fields checked with a message naming the field."""

from __future__ import annotations

import json
from typing import Any

from flask import request


class FormErrors(dict[str, str]):
    """Problems by field name; a form with any is shown again with them (and what was typed)."""


def json_value(errors: FormErrors, name: str, label: str, kind: type | None = None, default: Any = None) -> Any:
    text = (request.form.get(name) or "").strip()
    if not text:
        return default
    try:
        value = json.loads(text)
    except ValueError as exc:
        errors[name] = f"{label} is not valid JSON: {exc}."
        return default
    if kind is dict and not isinstance(value, dict):
        errors[name] = f"{label} must be a JSON object ({{...}})."
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
