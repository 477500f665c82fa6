"""Size limits on what users send, checked before anything is stored. Pure."""

from __future__ import annotations

import json
from typing import Any

from app.engine.errors import EngineError

MAX_FIELD_BYTES = 1024 * 1024
MAX_DEFINITION_BYTES = 1024 * 1024


class SizeLimitExceeded(EngineError):
    """Raised when a field or a definition is larger than its limit."""


def check_field(name: str, value: Any, limit: int = MAX_FIELD_BYTES) -> None:
    size = len(json.dumps(value, default=str).encode())
    if size > limit:
        raise SizeLimitExceeded(f"Field size limit exceeded [class=TaskExecution, field={name}, "
                                f"size={size // 1024}KB, limit={limit // 1024}KB]")


def check_definition(text: str, limit: int = MAX_DEFINITION_BYTES) -> None:
    size = len(text.encode())
    if size > limit:
        raise SizeLimitExceeded(f"The definition is {size} bytes; at most {limit} bytes are accepted.")
