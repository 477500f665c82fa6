"""The benchmark's arithmetic: medians of rounds, the Mistral comparison, throughput percentiles."""

from __future__ import annotations

import socket

import pytest

from bench import cli, scenarios, table
from bench.client import ApiClient, BenchError, api_root
from bench.scenarios import EXECUTOR, MISTRAL_SHAPED, Driver, Scenario, _percentile, _throughput
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
    assert record["mistral_source"] == cli.MISTRAL_FIXED and "mistral" not in record
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


def test_a_mistral_measured_in_the_same_run_replaces_the_fixed_figure() -> None:
    rounds = [cli._round(times, floor, mistral) for times, floor, mistral in (
        ([1.0, 1.2], [0.5, 0.5], [4.0, 5.0]), ([2.0, 2.0], [0.5, 0.5], [3.0, 3.2]),
        ([1.5, 1.5], [0.5, 0.5], [6.0, 6.4]))]
    record = cli._scenario_record(Scenario("seq50", 50, _never, "chain", None, MISTRAL_SHAPED, 3.0), rounds)

    assert record["median_s"] == 1.5  # the rounds' medians are 1.1, 2.0, 1.5
    # Mistral's rounds' medians are 4.5, 3.1, 6.2: the figure is their median, not the fixed 3.0.
    assert record["mistral"] == {"median_s": 4.5, "min_s": 3.0, "max_s": 6.4, "repeats": 6}
    assert record["mistral_s"] == 4.5 and record["mistral_source"] == cli.MISTRAL_SAME_RUN
    assert record["speedup"] == 3.0
    assert [f["speedup"] for f in record["by_round"]] == [round(4.5 / 1.1, 2), 1.55, round(6.2 / 1.5, 2)]
    assert "mistral_times_s" not in record["by_round"][0]
    assert table._mistral(record) == "4.500 (3.000-6.400), same run"
    assert table._mistral({"mistral_s": 3.0}) == "3.0, fixed"
    assert table._mistral({"scenario": "seq50_exec"}) == ""


def test_the_mistral_runs_alternate_with_ours_and_the_floor_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scenarios, "SETTLE_SECONDS", 0.0)
    calls: list[str] = []

    def timed(label: str, seconds: float) -> float:
        calls.append(label)
        return seconds

    scenario = Scenario("fan50", 51, lambda: timed("ours", 1.0), "join", lambda: timed("floor", 0.5),
                        MISTRAL_SHAPED, 3.4, mistral=lambda: timed("mistral", 3.0))
    driver = Driver(ApiClient("http://127.0.0.1:9"), None, 5.0)
    bench = cli.Bench(cli.parse_args([]), driver, None, None, None)

    times, floor_times, mistral_times = cli._interleaved(bench, scenario, warmup=1, repeat=2)

    assert calls == ["floor", "ours", "mistral"] * 3
    assert times == [1.0, 1.0] and floor_times == [0.5, 0.5] and mistral_times == [3.0, 3.0]


def test_the_mistral_url_option_and_its_root() -> None:
    assert cli.parse_args([]).mistral_url is None
    assert cli.parse_args(["--mistral-url", "http://127.0.0.1:8979/v2"]).mistral_url == "http://127.0.0.1:8979/v2"
    assert api_root("http://127.0.0.1:8979/v2") == "http://127.0.0.1:8979"
    assert api_root("http://127.0.0.1:8979/v2/") == "http://127.0.0.1:8979"
    assert api_root("http://127.0.0.1:8979") == "http://127.0.0.1:8979"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_mistral_url_that_does_not_answer_stops_the_bench_before_it_starts_anything(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v2"
    with pytest.raises(BenchError, match="Mistral .* does not answer"):
        cli.connect_mistral(cli.parse_args(["--mistral-url", url]))

    with pytest.raises(SystemExit) as ended:
        cli.main(["--mistral-url", url, "--scenarios=seq50"])
    assert ended.value.code == 2
    error = capsys.readouterr().err
    assert f"failed: Mistral (--mistral-url) at {url} does not answer" in error
    assert "starting the stack" not in error
