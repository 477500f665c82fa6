"""The WSGI application for gunicorn: ``gunicorn app.wsgi:application``."""

from app.factory import create_app
from app.workers.celery_app import celery
from app.workers.dispatch import CeleryDispatcher

application = create_app(dispatcher=CeleryDispatcher(celery))
