"""The step's pure decisions over a task's runtime record: before-start policies, retry, joins,
the with-items window and the end of a workflow."""

from __future__ import annotations

import pytest

from app.engine.decisions import (
    BeforeStart,
    before_start,
    free_places,
    items_finished,
    items_to_start,
    join_state,
    should_retry,
    waits_after,
    workflow_end,
)
from app.engine.task_runtime import ItemsProgress, JoinProgress, TaskRuntime


def test_pause_before_comes_first_and_holds_everything_else() -> None:
    assert before_start(TaskRuntime(), pause_before=True, timeout=10, wait_before=5) == BeforeStart(pause=True)


def test_after_the_pause_the_timeout_is_set_and_the_wait_begins() -> None:
    assert before_start(TaskRuntime(pause_before_done=True), True, 10, 5) == BeforeStart(timeout=10, wait=5)


def test_each_policy_applies_once_per_run() -> None:
    done = TaskRuntime(timeout_scheduled=True, wait_before_done=True)
    assert before_start(done, False, 10, 5) == BeforeStart()


def test_no_policy_starts_at_once() -> None:
    assert before_start(TaskRuntime(), False, 0, 0) == BeforeStart()


def test_wait_after_delays_a_completion_once() -> None:
    assert waits_after(TaskRuntime(), 2) is True
    assert waits_after(TaskRuntime(wait_after_done=True), 2) is False
    assert waits_after(TaskRuntime(), 0) is False


@pytest.mark.parametrize("state, retry_no, count, breaks, continues, expected", [
    ("ERROR", 0, 2, False, None, True),        # a failure is retried
    ("ERROR", 2, 2, False, None, False),       # ... while the count lasts
    ("SUCCESS", 0, 2, False, None, False),     # a success is not, without continue-on
    ("ERROR", 0, 2, True, None, False),        # break-on stops retrying a failure
    ("SUCCESS", 0, 2, True, True, True),       # ... not a success that continue-on retries
    ("SUCCESS", 0, 2, False, False, False),    # continue-on no longer holds
    ("ERROR", 0, 2, False, False, False),      # continue-on decides for a failure too
    ("SUCCESS", 3, 3, False, True, False),     # the count bounds continue-on as well
])
def test_should_retry(state: str, retry_no: int, count: int, breaks: bool, continues: bool | None,
                      expected: bool) -> None:
    assert should_retry(state, TaskRuntime(retry_no=retry_no), count, breaks, continues) is expected


def test_a_retry_counts_and_forgets_the_items_of_the_run() -> None:
    record = TaskRuntime(items=ItemsProgress(count=3, done=3, next=3, epoch="e1"))
    record.retried()
    assert (record.retry_no, record.retry_shown, record.items) == (1, True, None)
    assert record.to_row()["retry_task_policy"] == {"retry_no": 1}


@pytest.mark.parametrize("join, fired, missed, expected", [
    ("all", 3, 0, "run"),
    ("all", 2, 0, "wait"),
    ("all", 2, 1, "error"),     # one never arrives: all can never be reached
    (1, 1, 2, "run"),
    (2, 1, 1, "wait"),
    (2, 0, 2, "error"),         # only one left of the two needed
])
def test_join_state(join: int | str, fired: int, missed: int, expected: str) -> None:
    progress = JoinProgress(fired=[f"f{i}" for i in range(fired)], missed=[f"m{i}" for i in range(missed)])
    assert join_state(join, 3, progress) == expected


def test_an_unhandled_failure_ends_the_workflow_in_error() -> None:
    assert workflow_end(1, ["late"]) == ("ERROR", None)


def test_cancelled_tasks_end_it_cancelled_naming_them_once_in_order() -> None:
    assert workflow_end(0, ["b", "a", "b"]) == ("CANCELLED", "Cancelled tasks: a, b")


def test_otherwise_it_succeeds() -> None:
    assert workflow_end(0, []) == ("SUCCESS", None)


@pytest.mark.parametrize("concurrency, started, ended, expected", [
    (0, 5, 0, None),    # no window
    (2, 0, 0, 2),       # nothing started yet
    (2, 2, 0, 0),       # full
    (2, 3, 2, 1),       # one running: one free place
    (2, 5, 5, 2),       # all ended
    (3, 1, 2, 3),       # more ended than started (items made before the window) never overflows
])
def test_free_places_of_the_with_items_window(concurrency: int, started: int, ended: int,
                                             expected: int | None) -> None:
    assert free_places(concurrency, ItemsProgress(count=5, done=ended, next=started)) == expected


def test_items_started_all_at_once_fill_the_window() -> None:
    # Rows written before items were made lazily have no "next": every item was started.
    assert free_places(2, ItemsProgress(count=4, done=3)) == 1


@pytest.mark.parametrize("concurrency, running, expected", [
    (2, 1, 1),      # one free place
    (2, 3, 0),      # never negative
    (0, 1, 3),      # without a concurrency: every item
])
def test_items_to_start_after_a_resume(concurrency: int, running: int, expected: int) -> None:
    assert items_to_start(concurrency, ItemsProgress(count=4, done=0, next=2), running) == expected


def test_a_with_items_task_finishes_when_every_item_ended() -> None:
    assert items_finished(ItemsProgress(count=2, done=2)) is True
    assert items_finished(ItemsProgress(count=2, done=1)) is False
    assert items_finished(None) is True     # nothing to wait for
