"""The Celery application; workers run ``celery -A app.workers.celery_app:celery worker``."""

from __future__ import annotations

from celery import Celery

celery = Celery("tramontane")
celery.config_from_object("celeryconfig")
celery.conf.imports = ("app.workers.tasks",)
