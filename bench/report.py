"""Statistics and the JSON lines the benchmark prints (one per scenario; progress goes to stderr)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.memory import mib


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def summary(times: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
    }


def per_task_ms(median_s: float, tasks: int) -> float:
    return round(median_s * 1000 / tasks, 3)


def ratio(value: float, reference: float) -> float:
    return round(value / reference, 2) if reference else float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "memory_mib": mib(psutil.virtual_memory().total),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "celery": _version("celery"),
        "kombu": _version("kombu"),
        "sqlalchemy": _version("SQLAlchemy"),
        "gunicorn": _version("gunicorn"),
    }
