"""The task runtime record: Mistral's keys and shapes out, rows of every release in."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine.task_runtime import (
    ItemsProgress,
    JoinProgress,
    PendingCompletion,
    TaskRuntime,
    WorkflowRuntime,
    shown_runtime_context,
)

# Rows as the engine writes them (and as the release before the record wrote them).
ROWS: list[dict[str, Any]] = [
    {},
    {"triggered_by": [{"task_id": "t1", "event": "on-success"}]},
    {"retry_task_policy": {}},
    {"retry_task_policy": {"retry_no": 2}, "__engine": {"timeout_scheduled": True}},
    {"concurrency": 2, "with_items": {"capacity": 0, "count": 4},
     "__engine": {"with_items": {"count": 4, "done": 1, "next": 3}}},
    {"with_items": {"capacity": None, "count": 3},
     "__engine": {"with_items": {"count": 3, "done": 0, "next": 0, "epoch": "1a2b3c4d"}}},
    {"wait_before_policy": {"skip": True}, "__engine": {"wait_before_done": True, "pause_before_done": True}},
    {"wait_after_policy": {"skip": True},
     "__engine": {"wait_after_done": True,
                  "pending_completion": {"state": "ERROR", "result": {"x": 1}, "state_info": "boom"}}},
    {"triggered_by": [{"task_id": "t2", "event": "not triggered"}],
     "__engine": {"join": {"fired": ["a"], "missed": ["b"]},
                  "fired_triggers": [{"task_id": "t1", "event": "on-success"}],
                  "not_triggered": [{"task_id": "t2", "event": "not triggered"}]}},
    {"__engine": {"published_global": {"g": 1}}},
]


@pytest.mark.parametrize("row", ROWS)
def test_a_row_reads_and_writes_back_unchanged(row: dict[str, Any]) -> None:
    assert TaskRuntime.from_row(row).to_row() == row


def test_the_fields_say_what_the_row_holds() -> None:
    record = TaskRuntime.from_row(ROWS[4])
    assert (record.concurrency, record.items) == (2, ItemsProgress(count=4, done=1, next=3))
    record = TaskRuntime.from_row(ROWS[7])
    assert record.pending_completion == PendingCompletion("ERROR", {"x": 1}, "boom")
    record = TaskRuntime.from_row(ROWS[8])
    assert record.join == JoinProgress(fired=["a"], missed=["b"],
                                       fired_triggers=[{"task_id": "t1", "event": "on-success"}],
                                       not_triggered=[{"task_id": "t2", "event": "not triggered"}])


def test_progress_a_retry_dropped_is_not_written() -> None:
    row = {"retry_task_policy": {"retry_no": 1}, "__engine": {"with_items": None}}
    assert TaskRuntime.from_row(row).to_row() == {"retry_task_policy": {"retry_no": 1}}


def test_unknown_keys_are_kept_shown_and_private_alike() -> None:
    row = {"concurrency": 3, "later_key": {"a": 1}, "__engine": {"later_flag": True, "wait_before_done": True},
           "with_items": {"capacity": 1, "count": 2}}
    record = TaskRuntime.from_row(row)
    record.retried()
    assert record.to_row() == {"concurrency": 3, "later_key": {"a": 1}, "retry_task_policy": {"retry_no": 1},
                               "with_items": {"capacity": 1, "count": 2},
                               "__engine": {"later_flag": True, "wait_before_done": True}}
    progress = TaskRuntime.from_row({"__engine": {"with_items": {"count": 2, "done": 0, "shard": 7}}}).items
    assert progress is not None and progress.to_row() == {"count": 2, "done": 0, "shard": 7}


def test_what_mistral_shows_leaves_the_engine_bookkeeping_out() -> None:
    assert TaskRuntime.from_row(ROWS[4]).shown() == {"concurrency": 2, "with_items": {"capacity": 0, "count": 4}}


@pytest.mark.parametrize("row, expected", [
    # Before the engine's bookkeeping moved under its own key (flags and counts at the top).
    ({"retry_no": 2, "wait_after_done": False, "with_items": None, "timeout_scheduled": True},
     {"retry_task_policy": {"retry_no": 2}, "__engine": {"timeout_scheduled": True}}),
    ({"pause_before_done": True, "wait_before_done": True, "triggered_by": [{"task_id": "t", "event": "on-success"}]},
     {"triggered_by": [{"task_id": "t", "event": "on-success"}],
      "__engine": {"pause_before_done": True, "wait_before_done": True}}),
    ({"with_items": {"count": 3, "done": 1}},
     {"__engine": {"with_items": {"count": 3, "done": 1}}}),
    ({"join": {"fired": ["a"], "missed": []}, "triggered_by": []},
     {"triggered_by": [], "__engine": {"join": {"fired": ["a"], "missed": []}}}),
    ({"wait_after_done": True, "pending_completion": {"state": "SUCCESS", "result": 1, "state_info": None},
      "published_global": {"g": 2}},
     {"__engine": {"wait_after_done": True, "published_global": {"g": 2},
                   "pending_completion": {"state": "SUCCESS", "result": 1, "state_info": None}}}),
    # That release did not retry a timed-out task; this one does, as Mistral does: the flag goes.
    ({"timed_out": True, "retry_no": 1}, {"retry_task_policy": {"retry_no": 1}}),
])
def test_rows_of_the_first_releases_are_read(row: dict[str, Any], expected: dict[str, Any]) -> None:
    assert TaskRuntime.from_row(row).to_row() == expected


def test_a_rerun_starts_afresh_and_keeps_what_mistral_keeps_showing() -> None:
    row = {"triggered_by": [{"task_id": "t", "event": "on-success"}], "retry_task_policy": {"retry_no": 2},
           "concurrency": 2, "wait_before_policy": {"skip": True}, "with_items": {"capacity": 2, "count": 3},
           "later_key": 1,
           "__engine": {"wait_before_done": True, "timeout_scheduled": True, "later_flag": True,
                        "with_items": {"count": 3, "done": 3, "next": 3}}}
    assert TaskRuntime.from_row(row).reset_for_rerun().to_row() == {
        "concurrency": 2, "wait_before_policy": {"skip": True}, "with_items": {"capacity": 2, "count": 3},
        "later_key": 1}


def test_items_progress_shows_the_window_it_is_given() -> None:
    record = TaskRuntime(concurrency=2)
    record.record_items(ItemsProgress(count=5, done=1, next=3), capacity=0)
    assert record.to_row() == {"concurrency": 2, "with_items": {"capacity": 0, "count": 5},
                               "__engine": {"with_items": {"count": 5, "done": 1, "next": 3}}}


@pytest.mark.parametrize("row", [
    {}, {"workbook": "wb"}, {"backlog": [{"task_name": "t", "in_context": {}, "triggered_by": None}]},
    {"workbook": "wb", "later": 1},
])
def test_a_workflow_row_reads_and_writes_back_unchanged(row: dict[str, Any]) -> None:
    assert WorkflowRuntime.from_row(row).to_row() == row


@pytest.mark.parametrize("row", ROWS)
def test_the_shown_context_of_a_row_is_the_records(row: dict[str, Any]) -> None:
    assert shown_runtime_context(row) == TaskRuntime.from_row(row).shown()


def test_a_row_of_the_first_releases_shows_only_mistrals_keys() -> None:
    row = {"retry_no": 1, "timeout_scheduled": True, "with_items": {"count": 3, "done": 1},
           "triggered_by": [{"task_id": "t", "event": "on-success"}]}
    assert shown_runtime_context(row) == {"retry_task_policy": {"retry_no": 1},
                                          "triggered_by": [{"task_id": "t", "event": "on-success"}]}
