"""The worker's per-name task counts stay bounded: one entry per action name, not per action."""

from __future__ import annotations

import time
from collections import Counter
from types import SimpleNamespace

from celery.worker import state
from kombu.asynchronous.timer import Timer

from app.workers.task_counts import FOLD_SECONDS, TaskCountFolding, fold


def test_fold_keeps_one_count_per_action_name() -> None:
    counts = Counter({"std.noop[a1]": 1, "std.noop[b2]": 1, "std.echo[c3]": 1, "std.noop": 5,
                      "tramontane.continue_after_action": 7})
    fold(counts)
    assert counts == Counter({"std.noop": 7, "std.echo": 1, "tramontane.continue_after_action": 7})


def test_fold_keeps_brackets_inside_a_name() -> None:
    counts = Counter({"my.action[v2][x9]": 2})
    fold(counts)
    assert counts == Counter({"my.action[v2]": 2})


def test_the_step_folds_celerys_counts_on_the_worker_timer_until_stopped() -> None:
    timer = Timer()
    worker = SimpleNamespace(timer=timer)
    step = TaskCountFolding(worker)
    state.total_count.update({"std.noop[a1]": 1, "std.noop[b2]": 1})
    step.start(worker)
    try:
        (scheduled,) = timer.queue
        assert scheduled.eta - time.time() <= FOLD_SECONDS
        scheduled.entry()  # what the worker's event loop does when it is due
        assert "std.noop[a1]" not in state.total_count
        assert state.total_count["std.noop"] >= 2
    finally:
        step.stop(worker)
        state.total_count.pop("std.noop", None)
    assert scheduled.entry.canceled
