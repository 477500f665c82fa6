"""Celery app and tasks: the executors."""
