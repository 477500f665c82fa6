"""Sends the engine's messages as Celery tasks (after the engine has committed).

The engine's own tasks (they carry ids only) are written to a Redis broker directly
(:mod:`app.workers.task_messages`); through Celery's publishing otherwise, and again if that fails.
A step that sends several (a fan-out, the items of a with-items task, the starts of many glue
steps) sends them in batches of :data:`BATCH_SIZE`: their LPUSHes go to Redis in one pipeline a
batch instead of one round trip each (Celery publishes to the default queue through the anonymous
exchange, so a message costs Redis nothing else). What fails is sent again through Celery, batch by
batch and then message by message (each with Celery's retries): a message that went out twice is
harmless, since every task checks its row first. Notifications are never in a batch: a webhook sent
twice would be told twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import Celery

from app.engine.dispatch import (
    ActionDone,
    ContinueAfterAction,
    ContinueParent,
    Message,
    Notify,
    RunAction,
    RunInline,
)
from app.masking import masked_headers, masked_url
from app.signals import CompletionSignals
from app.workers import task_messages
from app.workers.task_messages import TaskMessage, TaskMessages
from app.workers.task_names import CONTINUE_AFTER_ACTION, CONTINUE_PARENT, NOTIFY, RUN_ACTION, RUN_INLINE

# Messages per round trip: the first ones leave while the rest are still being prepared.
BATCH_SIZE = 10
# The engine's own tasks, which carry only ids: written to Redis directly when the broker is Redis.
ENGINE_TASKS = (RunAction, RunInline, ContinueAfterAction, ContinueParent)

log = logging.getLogger(__name__)


class CeleryDispatcher:
    def __init__(self, celery: Celery) -> None:
        self.celery = celery
        broker_url = str(celery.conf.broker_url)
        self.signals = CompletionSignals(broker_url)
        # The engine's tasks go to Redis without Celery's publishing machinery (see task_messages).
        self.direct = TaskMessages(celery, broker_url) \
            if task_messages.supported(broker_url, celery.conf.broker_transport_options) else None

    def send(self, messages: list[Message]) -> None:
        direct = [m for m in messages if isinstance(m, ENGINE_TASKS)]
        if direct and self._pushed(direct):
            messages = [m for m in messages if not isinstance(m, ENGINE_TASKS)]
        batched = [m for m in messages if not isinstance(m, Notify)]
        if len(batched) < 2 or not self._sent_in_batches(batched):
            for message in batched:
                self._send(message)
        for notification in messages:
            if isinstance(notification, Notify):
                self._send(notification)

    def _pushed(self, messages: Sequence[Message]) -> bool:
        """False when they could not be pushed directly (which of them left is then unknown)."""
        if self.direct is None or not self.direct.available():
            return False
        try:
            for start in range(0, len(messages), BATCH_SIZE):
                self.direct.push([self._task_message(message) for message in messages[start:start + BATCH_SIZE]])
        except Exception as exc:  # noqa: BLE001 - whatever Redis raised, Celery sends them again
            log.warning("pushing %d messages to Redis failed, sending them through Celery: %s", len(messages), exc)
            self.direct.pause()
            return False
        return True

    def _task_message(self, message: Message) -> TaskMessage:
        """What either path sends for one of the engine's tasks."""
        queue = str(self.celery.conf.task_default_queue)
        if isinstance(message, RunAction):
            # Flower and the worker's log show the action execution's id as the task's id, and what
            # runs instead of a generic name (no id in it, so Flower's metrics get one label per
            # action of a task, not one per run).
            return TaskMessage(RUN_ACTION, (message.action_execution_id,), message.queue or queue,
                               task_id=message.action_execution_id, shadow=display_name(message),
                               kwargsrepr=_action_repr(message))
        if isinstance(message, RunInline):
            return TaskMessage(RUN_INLINE, (message.workflow_execution_id, list(message.action_execution_ids)), queue)
        if isinstance(message, ContinueAfterAction):
            return TaskMessage(CONTINUE_AFTER_ACTION, (message.action_execution_id,), queue)
        if isinstance(message, ContinueParent):
            return TaskMessage(CONTINUE_PARENT, (message.workflow_execution_id,), queue)
        raise TypeError(f"not an engine task: {message!r}")

    def _sent_in_batches(self, messages: Sequence[Message]) -> bool:
        """False when a batch failed: which of them reached Redis is then unknown."""
        try:
            with self.celery.producer_or_acquire() as producer, producer.batch(max_size=BATCH_SIZE):
                for message in messages:
                    self._send(message, producer)
        except Exception as exc:  # noqa: BLE001 - whatever the broker raised, each is sent again
            log.warning("sending %d messages in batches failed, sending them one by one: %s", len(messages), exc)
            return False
        return True

    def _send(self, message: Message, producer: Any = None) -> None:
        if isinstance(message, ENGINE_TASKS):
            task = self._task_message(message)
            self.celery.send_task(task.task, args=task.args, task_id=task.task_id, queue=task.queue,
                                  shadow=task.shadow, kwargsrepr=task.kwargsrepr, producer=producer)
        elif isinstance(message, ActionDone):
            self.signals.notify(message.action_execution_id)
        elif isinstance(message, Notify):
            self.celery.send_task(NOTIFY, args=(message.url, message.headers, message.body),
                                  shadow=f"notify {_bounded(str(message.body.get('event', '')))}",
                                  argsrepr=repr((masked_url(message.url), masked_headers(message.headers),
                                                 {k: message.body.get(k) for k in ("event", "id")})))


NAME_LIMIT = 120


def _action_repr(message: RunAction) -> str:
    return repr({k: v for k, v in (("workflow", message.workflow_name), ("task", message.task_name),
                                   ("action", message.action_name)) if v})


def display_name(message: RunAction) -> str:
    """``workflow.task: action``, or the action alone when it runs outside a workflow."""
    if message.workflow_name and message.task_name:
        return _bounded(f"{message.workflow_name}.{message.task_name}: {message.action_name}")
    return _bounded(message.action_name)


def _bounded(text: str) -> str:
    return text if len(text) <= NAME_LIMIT else text[:NAME_LIMIT - 3] + "..."
