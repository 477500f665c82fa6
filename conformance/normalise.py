"""What is masked before comparing Mistral's answers with ours, and nothing else.

- ids: every id the case created becomes a stable placeholder named after what it is
  (``<execution>``, ``<task:t1>``, ``<action:t1/1>``, ``<saved name>``); any other UUID becomes
  ``<uuid>``;
- timestamps: values of time fields and date-time strings become ``<time>`` (their presence stays);
- the local HTTP server's address becomes ``$HTTP``, the API's own (``.../v2``, as in next links) ``$API``;
- inside messages: a Python traceback is cut off (messages compare up to it), and class and object
  reprs (``<class 'x.Y'>``, ``<x.Y object at 0x..>``) become ``<class>`` / ``<object>``;
- JSON-string fields of REST bodies are decoded and marked ``{"$json": value}``, so the difference
  between a JSON string and a plain value stays visible while what is inside gets normalised.

Order is kept everywhere: where Mistral returns a set in no fixed order the runner sorts it.
"""

from __future__ import annotations

import json
import re
from typing import Any

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
TRACEBACK = re.compile(r"\s*Traceback \(most recent call last\):.*", re.DOTALL)
CLASS_REPR = re.compile(r"<class '[\w.]+'>")
OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>")
TIME_FIELDS = {"created_at", "updated_at", "started_at", "finished_at", "first_execution_time",
               "next_execution_time", "expires_at", "deleted_at"}


class IdBook:
    """The ids a case created, each with its placeholder (the first name given wins)."""

    def __init__(self, http_url: str = "", api_url: str = "") -> None:
        self.names: dict[str, str] = {}
        self.http_url = http_url
        self.api_url = api_url

    def add(self, identifier: str, placeholder: str) -> None:
        self.names.setdefault(identifier, placeholder)

    def text(self, value: str) -> str:
        value = TRACEBACK.sub("", value)
        value = CLASS_REPR.sub("<class>", value)
        value = OBJECT_REPR.sub("<object>", value)
        if self.http_url:
            value = value.replace(self.http_url, "$HTTP")
        if self.api_url:
            value = value.replace(self.api_url, "$API")
        value = UUID.sub(lambda m: self.names.get(m.group(0), "<uuid>"), value)
        return TIMESTAMP.sub("<time>", value)


def normalise(value: Any, ids: IdBook) -> Any:
    """Mask ids, times and reprs inside a decoded value."""
    if isinstance(value, str):
        return ids.text(value)
    if isinstance(value, list):
        return [normalise(item, ids) for item in value]
    if isinstance(value, dict):
        return {ids.text(str(key)): ("<time>" if key in TIME_FIELDS and item is not None else normalise(item, ids))
                for key, item in value.items()}
    return value


def normalise_body(body: Any, ids: IdBook, keep_order: bool = True) -> Any:
    """A REST answer: like :func:`normalise`, with JSON strings decoded and marked."""
    if isinstance(body, str):
        decoded = _decode(body)
        if decoded is not None:
            return {"$json": normalise_body(decoded, ids, keep_order)}
        return ids.text(body)
    if isinstance(body, list):
        items = [normalise_body(item, ids, keep_order) for item in body]
        return items if keep_order else sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
    if isinstance(body, dict):
        return {key: ("<time>" if key in TIME_FIELDS and item is not None
                      else normalise_body(item, ids, keep_order))
                for key, item in body.items()}
    return body


def _decode(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None
