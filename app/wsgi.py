"""The web process's entry point: ``gunicorn 'app.wsgi:create_application()'``.

gunicorn calls the factory once in each of its workers; importing this module builds nothing.
"""

from flask import Flask

from app.config import Settings
from app.factory import create_app
from app.workers.celery_app import celery
from app.workers.dispatch import CeleryDispatcher


def create_application() -> Flask:
    """The API with the process's one :class:`Settings`, sending its messages through Celery."""
    settings = Settings.from_env()
    celery.use_settings(settings)
    return create_app(settings, dispatcher=CeleryDispatcher(celery))
