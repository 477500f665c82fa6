"""Results of one workflow that arrive while a thread records that workflow's results are handed to
it and recorded together; nothing handed over is left behind, whatever fails."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from app.engine.arrivals import Arrivals

WAIT = 10.0


class Recorder:
    """Records what it is given; ``hold`` keeps the first ``record_one`` call until released."""

    def __init__(self) -> None:
        self.alone: list[str] = []
        self.batches: list[list[str]] = []
        self.failed: list[tuple[str, str]] = []
        self.recording = threading.Event()
        self.release = threading.Event()
        self.hold = False
        self.fail_batches = False
        self.fail_items: set[str] = set()

    def one(self, item: str) -> None:
        if self.hold:
            self.hold = False
            self.recording.set()
            assert self.release.wait(WAIT)
        if item in self.fail_items:
            raise RuntimeError(f"cannot record {item}")
        self.alone.append(item)

    def batch(self, items: Sequence[str]) -> None:
        if self.fail_batches:
            raise RuntimeError("cannot record together")
        self.batches.append(list(items))

    def told(self, item: str, exc: Exception) -> None:
        self.failed.append((item, str(exc)))


def record(arrivals: Arrivals[str], recorder: Recorder, item: str, key: str = "wf") -> None:
    arrivals.record(key, item, recorder.batch, recorder.one, recorder.told)


def in_thread(arrivals: Arrivals[str], recorder: Recorder, item: str, key: str = "wf",
              errors: list[BaseException] | None = None) -> threading.Thread:
    def run() -> None:
        try:
            record(arrivals, recorder, item, key)
        except BaseException as exc:  # noqa: BLE001 - kept for the test to look at
            if errors is None:
                raise
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def finished(thread: threading.Thread) -> bool:
    thread.join(WAIT)
    return not thread.is_alive()


def hand_over_while_a_records(arrivals: Arrivals[str], recorder: Recorder, others: Sequence[str],
                              errors: list[BaseException] | None = None) -> None:
    """"a" is recorded by a thread held while ``others`` are reported (each returns at once, its
    result handed over), then let go of; returns once it has recorded everything."""
    recorder.hold = True
    first = in_thread(arrivals, recorder, "a", errors=errors)
    assert recorder.recording.wait(WAIT)
    assert all(finished(in_thread(arrivals, recorder, item)) for item in others)
    assert recorder.batches == []
    recorder.release.set()
    assert finished(first)


def test_a_result_that_finds_no_one_recording_is_recorded_alone() -> None:
    arrivals: Arrivals[str] = Arrivals()
    recorder = Recorder()

    record(arrivals, recorder, "a")
    record(arrivals, recorder, "b")

    assert recorder.alone == ["a", "b"]
    assert recorder.batches == []


def test_results_arriving_meanwhile_are_handed_over_and_recorded_together() -> None:
    arrivals: Arrivals[str] = Arrivals()
    recorder = Recorder()

    hand_over_while_a_records(arrivals, recorder, ("b", "c"))

    assert recorder.alone == ["a"]
    assert recorder.batches == [["b", "c"]]
    # Nobody records any more: the next result is recorded by its own thread.
    record(arrivals, recorder, "d")
    assert recorder.alone == ["a", "d"]


def test_a_lone_result_handed_over_is_recorded_on_its_own() -> None:
    arrivals: Arrivals[str] = Arrivals()
    recorder = Recorder()

    hand_over_while_a_records(arrivals, recorder, ("b",))

    assert recorder.alone == ["a", "b"]
    assert recorder.batches == []


def test_other_workflows_do_not_wait() -> None:
    arrivals: Arrivals[str] = Arrivals()
    recorder = Recorder()
    recorder.hold = True
    first = in_thread(arrivals, recorder, "a", key="wf1")
    assert recorder.recording.wait(WAIT)

    record(arrivals, recorder, "x", key="wf2")
    assert recorder.alone == ["x"]
    recorder.release.set()
    assert finished(first)
    assert recorder.alone == ["x", "a"]


def test_a_batch_that_fails_is_recorded_one_at_a_time_and_each_error_goes_to_its_own() -> None:
    arrivals: Arrivals[str] = Arrivals()
    recorder = Recorder()
    recorder.fail_batches = True
    recorder.fail_items = {"c"}

    hand_over_while_a_records(arrivals, recorder, ("b", "c", "d"))

    assert recorder.alone == ["a", "b", "d"]
    assert recorder.failed == [("c", "cannot record c")]


def test_the_callers_own_error_is_raised_once_what_was_handed_over_is_recorded() -> None:
    arrivals: Arrivals[str] = Arrivals()
    recorder = Recorder()
    recorder.fail_items = {"a"}
    errors: list[BaseException] = []

    hand_over_while_a_records(arrivals, recorder, ("b", "c"), errors)

    assert [str(error) for error in errors] == ["cannot record a"]
    assert recorder.batches == [["b", "c"]]
    assert recorder.failed == []


def test_an_interrupted_recorder_records_what_waits_and_lets_the_workflow_go() -> None:
    arrivals: Arrivals[str] = Arrivals()
    recorder = Recorder()
    recorder.hold = True
    errors: list[BaseException] = []

    def interrupted(items: Sequence[str]) -> None:
        raise KeyboardInterrupt

    def run() -> None:
        try:
            arrivals.record("wf", "a", interrupted, recorder.one, recorder.told)
        except BaseException as exc:  # noqa: BLE001 - kept for the test to look at
            errors.append(exc)

    first = threading.Thread(target=run)
    first.start()
    assert recorder.recording.wait(WAIT)
    assert all(finished(in_thread(arrivals, recorder, item)) for item in ("b", "c"))
    recorder.release.set()

    assert finished(first)
    assert [type(error) for error in errors] == [KeyboardInterrupt]
    # The batch the interruption hit is recorded one at a time, and the workflow let go of.
    assert recorder.alone == ["a", "b", "c"]
    record(arrivals, recorder, "d")
    assert recorder.alone == ["a", "b", "c", "d"]


def test_a_batch_is_at_most_batch_size_results() -> None:
    arrivals: Arrivals[str] = Arrivals(batch_size=2)
    recorder = Recorder()

    hand_over_while_a_records(arrivals, recorder, ("b", "c", "d", "e", "f"))

    assert recorder.batches == [["b", "c"], ["d", "e"]]
    assert recorder.alone == ["a", "f"]


def test_after_its_rounds_the_recorder_records_what_waits_and_lets_the_workflow_go() -> None:
    arrivals: Arrivals[str] = Arrivals(rounds=1)
    recorder = Recorder()
    recorder.hold = True
    batch_started, batch_release = threading.Event(), threading.Event()

    def slow_batch(items: Sequence[str]) -> None:
        batch_started.set()
        assert batch_release.wait(WAIT)
        recorder.batch(items)

    def run() -> None:
        arrivals.record("wf", "a", slow_batch, recorder.one, recorder.told)

    first = threading.Thread(target=run)
    first.start()
    assert recorder.recording.wait(WAIT)
    assert all(finished(in_thread(arrivals, recorder, item)) for item in ("b", "c"))
    recorder.release.set()
    assert batch_started.wait(WAIT)

    # Its last batch taken, the recorder has let the workflow go: "d" finds no one and records itself.
    record(arrivals, recorder, "d")
    assert recorder.alone == ["a", "d"]
    batch_release.set()
    assert finished(first)
    assert recorder.batches == [["b", "c"]]


def test_every_result_of_many_threads_is_recorded_once() -> None:
    threads = 8
    arrivals: Arrivals[str] = Arrivals()
    lock = threading.Lock()
    seen: list[str] = []

    def one(item: str) -> None:
        with lock:
            seen.append(item)

    def batch(items: Sequence[str]) -> None:
        with lock:
            seen.extend(items)

    def work(worker: int) -> None:
        for index in range(200):
            arrivals.record("wf", f"{worker}-{index}", batch, one, lambda item, exc: None)

    workers = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    for thread in workers:
        thread.start()
    assert all(finished(thread) for thread in workers)

    assert sorted(seen) == sorted(f"{worker}-{index}" for worker in range(threads) for index in range(200))
