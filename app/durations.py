"""Durations as people write them on a command line or in a setting: ``30d``, ``12h``, ``90m``."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s`` or ``2w``; raises ValueError on anything else."""
    match = _DURATION.match(text or "")
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a positive duration such as 30d, 12h, 90m or 45s, not {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
