"""Celery settings. The broker comes from ``REDIS_URL``; there is no result backend.

Redis only carries work that the database can re-create, so no message is trusted blindly:
every task re-reads its row and checks its state first.
"""

from app.config import Settings

_settings = Settings.from_env()

broker_url = _settings.broker_url
broker_connection_retry_on_startup = True
broker_transport_options = {"visibility_timeout": 3600}
result_backend = None
task_ignore_result = True
task_serializer = "json"
accept_content = ["json"]
result_serializer = "json"
timezone = "UTC"
enable_utc = True
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
# WORKER_POOL is the one way to choose the pool: Celery lets this setting override `--pool prefork`.
worker_pool = _settings.worker_pool
task_default_queue = "tramontane"
# Flower shows every task only when workers send events and producers send "sent" events.
worker_send_task_events = True
task_send_sent_event = True
worker_hijack_root_logger = False
