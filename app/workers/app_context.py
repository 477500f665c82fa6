"""The base class of every Tramontane task: it runs in the worker's Flask application context.

Flask's own pattern for Celery: the task class enters the context around ``run``, so a task body is
only its work, and ``session()`` is the session of the process's application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import Task

if TYPE_CHECKING:
    from app.workers.celery_app import TramontaneCelery


class AppContextTask(Task):
    app: TramontaneCelery

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.app.process.flask_app.app_context():
            return self.run(*args, **kwargs)
