"""The benchmark's arithmetic: medians of rounds, the Mistral comparison, throughput percentiles."""

from __future__ import annotations

from bench import cli
from bench.scenarios import EXECUTOR, MISTRAL_SHAPED, Scenario, _percentile, _throughput
from bench.stack import event_settings


def _never() -> float:
    raise AssertionError("not run")


def test_a_figure_is_the_median_of_its_rounds_with_the_load_of_each() -> None:
    rounds = [cli._round(times, floor) for times, floor in (
        ([1.0, 1.2, 1.1], [0.5, 0.5, 0.6]), ([3.0, 3.0, 3.0], [0.4, 0.4, 0.4]), ([2.0, 2.2, 2.1], [0.5, 0.5, 0.5]))]
    record = cli._scenario_record(Scenario("seq50", 50, _never, "chain", None, MISTRAL_SHAPED, 3.0), rounds)

    assert record["median_s"] == 2.1  # the rounds' medians are 1.1, 3.0, 2.1
    assert record["min_s"] == 1.0 and record["max_s"] == 3.0
    assert record["floor"]["median_s"] == 0.5
    assert record["ratio"] == 4.2
    assert record["speedup"] == round(3.0 / 2.1, 2)
    assert record["path"] == MISTRAL_SHAPED
    assert len(record["loadavg_1m"]) == 3 and len(record["by_round"]) == 3
    assert "times_s" not in record["by_round"][0]


def test_an_executor_scenario_has_no_mistral_comparison() -> None:
    record = cli._scenario_record(Scenario("seq50_exec", 50, _never, path=EXECUTOR), [cli._round([1.0], [])])
    assert "speedup" not in record and record["floor"] is None and record["ratio"] is None


def test_throughput_percentiles_and_rates() -> None:
    assert _percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert _percentile([1.0, 2.0], 0.99) == 2.0
    latencies = [10.0 + index * 0.1 for index in range(100)]
    figures = _throughput(0.0, 2.0, 20.0, latencies, length=5)
    assert figures["executions"] == 100 and figures["all_started_s"] == 2.0
    assert figures["executions_per_s"] == 5.0 and figures["tasks_per_s"] == 25.0
    assert figures["latency_p50_s"] == round(latencies[49], 4)
    assert figures["latency_p99_s"] == round(latencies[98], 4)


def test_the_event_settings_measured_by_celery_events() -> None:
    assert event_settings("configured") == {}
    assert event_settings("with-sent") == {"task_send_sent_event": True, "worker_send_task_events": True}
    assert event_settings("none") == {"task_send_sent_event": False, "worker_send_task_events": False}
