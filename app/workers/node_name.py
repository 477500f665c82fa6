"""A node name of its own for every worker, even when none is given.

Celery names every worker ``celery@<host>`` unless told otherwise, so two workers on one host (two
Procfile processes, a deploy overlap) share a name: Flower, ``/health`` and remote control then
mistake one for the other. Celery's docs advise ``-n name@%h``; this worker does it by default,
adding its process id to the default name.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.apps import worker as celery_worker_module
from celery.apps.worker import Worker
from celery.utils.nodenames import default_nodename, host_format

log = logging.getLogger(__name__)
CELERY_DEFAULT = host_format(default_nodename(None))


def unique_default(hostname: str | None) -> str | None:
    """``celery@host`` (or nothing) becomes ``celery.<pid>@host``; a chosen name is kept."""
    if hostname and hostname != CELERY_DEFAULT:
        return hostname
    name, _, host = CELERY_DEFAULT.partition("@")
    return f"{name}.{os.getpid()}@{host}"


class UniquelyNamedWorker(Worker):
    def __init__(self, *args: Any, hostname: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, hostname=unique_default(hostname), **kwargs)
        if self._logs_json():
            # Celery writes its shutdown notices straight to the terminal; make them log lines.
            celery_worker_module.safe_say = _say_as_log

    def emit_banner(self) -> None:
        # With LOG_FORMAT=json every line a process writes is a JSON object: the banner too.
        if not self._logs_json():
            super().emit_banner()
            return
        log.info("worker %s starting: %s", self.hostname,
                 " ".join(line.strip() for line in self.startup_info(artlines=False).splitlines() if line.strip()))

    def _logs_json(self) -> bool:
        return bool(self.app.settings.log_format == "json")


def _say_as_log(message: str, _stream: Any = None) -> None:
    log.warning("%s", message.strip())
