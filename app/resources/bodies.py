"""JSON request bodies checked the way Mistral's API checks them, with its messages.

Mistral names the argument a body binds to (``wf_ex``, ``action_ex``, ``env``, ...) in its errors,
refuses attributes its resource does not have, and reports a JSON-typed field that is not a
dictionary, or not JSON at all, in words of its own; clients and scripts match on those texts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from flask import request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from app.engine.errors import EngineError
from app.resources import hints
from app.schemas import BAD_JSON_PREFIX

# What Mistral's WSME layer reads as a form when a POST declares no JSON: it then names the form's
# keys (the whole JSON text, for a JSON body) as unknown arguments.
FORM_TYPES = ("", "application/x-www-form-urlencoded", "multipart/form-data")


def request_json() -> Any:
    refuse_other_content_types()
    text = request.get_data(as_text=True)
    try:
        return json.loads(text or "null")
    except ValueError as exc:
        raise EngineError(hints.hinted("Request is not in valid JSON format", hints.yaml_body(text))) from exc


def refuse_other_content_types() -> None:
    """A body sent without 'Content-Type: application/json' is refused as Mistral refuses it."""
    mimetype = request.mimetype
    if mimetype == "application/json":
        return
    if request.method == "POST" and mimetype in FORM_TYPES:
        if mimetype == "multipart/form-data":
            keys = [*request.form.keys(), *request.files.keys()]
        else:
            keys = [key for key, _ in parse_qsl(request.get_data(as_text=True), keep_blank_values=True)]
        if not keys:
            return  # nothing sent: the endpoint's own refusal names what is missing
        raise EngineError(hints.hinted(f'Unknown argument: "{", ".join(keys)}"', hints.SEND_JSON))
    if not mimetype and not request.get_data():
        return
    raise UnsupportedMediaType(hints.hinted(f"Unknown mimetype: {mimetype}", hints.SEND_JSON))


def load_body(schema: Schema, argument: str, attributes: Sequence[str]) -> dict[str, Any]:
    """Validate the request's JSON body against ``schema``; ``attributes`` are the resource's fields."""
    raw = request_json()
    if not isinstance(raw, dict):
        raise EngineError(f"Invalid input for field/attribute {argument}. Value: '{raw}'. "
                          "The request body must be a JSON object.")
    unknown = [key for key in raw if key not in attributes]
    if unknown:
        raise EngineError(f"Unknown attribute for argument {argument}: {', '.join(unknown)}")
    return load_values(schema, argument, raw)


def load_values(schema: Schema, argument: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate values gathered elsewhere (the console's forms) by the rules and words of a body."""
    try:
        loaded: dict[str, Any] = schema.load(raw)
    except ValidationError as exc:
        raise EngineError(_message(exc, argument, raw)) from exc
    return loaded


def _message(exc: ValidationError, argument: str, raw: dict[str, Any]) -> str:
    messages = exc.normalized_messages()
    field, first = next(iter(messages.items())) if isinstance(messages, dict) and messages else ("", messages)
    while isinstance(first, (list, dict)) and first:
        first = first[0] if isinstance(first, list) else next(iter(first.values()))
    text = str(first)
    if text.startswith(BAD_JSON_PREFIX):
        return f"Invalid input for field/attribute {argument}. Value: '{raw}'. {text[len(BAD_JSON_PREFIX):]}"
    if field in ("", "_schema") or text.startswith(("JsonType", "Workflow ID")):
        return text
    return f"Invalid input for field/attribute {field}. Value: '{raw.get(field)}'. {_worded(text)}"


def _worded(text: str) -> str:
    """marshmallow's phrases in WSME's words."""
    if text == "Missing data for required field.":
        return "Mandatory field missing."
    if text.startswith("Must be one of: "):
        return "Value should be one of: " + text[len("Must be one of: "):].rstrip(".")
    return text
