"""``python -m bench``: run issue 7's scenarios (and optionally the scale and soak runs).

Prints one JSON line per scenario on stdout; progress and errors go to stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.client import ApiClient, BenchError, api_root
from bench.database import DEFAULT_NAME, is_postgres
from bench.floor import Floor
from bench.memory import RssSampler, StackProcesses, mib, snapshot
from bench.processes import ProcessGroup
from bench.profiling import WorkerProfile
from bench.scenarios import Driver, Scenario, scale_pairs, standard
from bench.stack import CELERY_EVENTS, BenchStack, start_floor_worker

STANDARD = ("seq50_exec", "items200_exec", "fan50_exec", "conc20_exec",
            "seq50", "items200", "fan50", "conc20", "async100", "throughput200")
REST_SETTLE_SECONDS = 3.0
# Where a Mistral-shaped record's Mistral figure comes from.
MISTRAL_SAME_RUN = "same run"
MISTRAL_FIXED = "fixed (bench.scenarios.MISTRAL_SECONDS, measured on another day)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    target = parser.add_argument_group("what to measure")
    target.add_argument("--url", help="a running Tramontane (no stack is started; no memory figures)")
    target.add_argument("--redis-url", help="with --url: its broker, for the floor (no floor without it)")
    target.add_argument("--database-url", help="PostgreSQL server to use instead of SQLite (the bench "
                        "creates its own database there, see --bench-database)")
    target.add_argument("--bench-database", default=DEFAULT_NAME,
                        help="name of the database the bench creates and drops on that server")
    target.add_argument("--mistral-url", metavar="URL",
                        help="a running Mistral's API (e.g. http://127.0.0.1:8979/v2): the Mistral-shaped "
                             "scenarios run there too, interleaved with ours, and are compared with it "
                             "(without it: with fixed figures from another day); the bench neither starts "
                             "nor stops it")
    runs = parser.add_argument_group("what to run")
    runs.add_argument("--scenarios", default=",".join(STANDARD),
                      help="comma-separated subset of the standard scenarios ('' for none)")
    runs.add_argument("--rounds", type=int, default=3,
                      help="passes over all the scenarios; each figure is the median of the rounds' medians")
    runs.add_argument("--repeat", type=int, default=3, help="timed repetitions per scenario in each round")
    runs.add_argument("--throughput-repeat", type=int, default=1,
                      help="timed repetitions of throughput200 in each round")
    runs.add_argument("--warmup", type=int, default=1, help="untimed repetitions first (first round only)")
    runs.add_argument("--scale", action="store_true", help="also the 1,000 / 10,000 sizes of issue 3")
    runs.add_argument("--scale-repeat", type=int, default=1, help="repetitions of each large size")
    runs.add_argument("--scale-shapes", default="chain,items,join",
                      help="comma-separated subset of the scale shapes (chain, items, join)")
    runs.add_argument("--soak", type=float, default=0, metavar="SECONDS", help="then repeat conc20 so long")
    runs.add_argument("--soak-sample", type=float, default=30, metavar="SECONDS", help="RSS sample period")
    tuning = parser.add_argument_group("details")
    tuning.add_argument("--poll-interval", type=float, default=0.015, help="completion polling, seconds")
    tuning.add_argument("--timeout", type=float, default=1800, help="longest wait for one repetition")
    tuning.add_argument("--log-level", default="INFO", help="of the stack and the floor worker")
    tuning.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the worker into DIR/<scenario>.txt")
    tuning.add_argument("--keep-temp", action="store_true", help="keep the data and logs folder")
    tuning.add_argument("--celery-events", choices=CELERY_EVENTS, default="configured",
                        help="Celery's event messages for the stack and the floor: as configured (celeryconfig: "
                             "the workers' task events), 'with-sent' (and the producers' task-sent), 'none'")
    args = parser.parse_args(argv)
    if args.database_url and not is_postgres(args.database_url):
        parser.error("--database-url must be a postgresql:// URL (SQLite is the default)")
    if args.url and args.database_url:
        parser.error("--database-url starts a stack; it cannot be combined with --url")
    unknown = set(_names(args.scenarios)) - set(STANDARD)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@dataclass
class Bench:
    args: argparse.Namespace
    driver: Driver
    floor: Floor | None
    processes: StackProcesses | None
    worker_pid: int | None
    mistral: Driver | None = None

    def times(self, run: Callable[[], float], repeat: int, warmup: int = 0) -> list[float]:
        measured = []
        for index in range(warmup + repeat):
            self.driver.settle()
            elapsed = run()
            if index >= warmup:
                measured.append(elapsed)
        return measured

    def profile(self, name: str | None) -> WorkerProfile:
        """py-spy the worker into --profile DIR/<name>.txt; no profile without a name."""
        return WorkerProfile(self.args.profile if name else None, name or "", self.worker_pid)


def run_standard(bench: Bench, names: list[str]) -> None:
    """Every scenario once per round, ``--rounds`` times over, so a change in the machine's load
    spreads over all of them; each figure is the median of its rounds."""
    scenarios = [scenario for scenario in standard(bench.driver, bench.floor, bench.mistral)
                 if scenario.name in names]
    rounds: dict[str, list[dict[str, Any]]] = {scenario.name: [] for scenario in scenarios}
    failed: set[str] = set()
    for index in range(bench.args.rounds):
        for scenario in scenarios:
            if scenario.name in failed:
                continue
            repeat = bench.args.throughput_repeat if scenario.name == "throughput200" else bench.args.repeat
            warmup = bench.args.warmup if index == 0 else 0
            report.progress(f"round {index + 1}/{bench.args.rounds}, {scenario.name}: "
                            f"{warmup} warm-up + {repeat} timed runs")
            try:
                with bench.profile(scenario.name if index == 0 else None):
                    times, floor_times, mistral_times = _interleaved(bench, scenario, warmup, repeat)
            except BenchError as error:
                _failed(scenario.name, error)
                failed.add(scenario.name)
                continue
            rounds[scenario.name].append(_round(times, floor_times, mistral_times))
    for scenario in scenarios:
        if scenario.name not in failed:
            report.emit(_scenario_record(scenario, rounds[scenario.name]))


def _round(times: list[float], floor_times: list[float], mistral_times: list[float] | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {**report.summary(times), "times_s": [round(t, 4) for t in times]}
    if floor_times:
        figures["floor_median_s"] = report.summary(floor_times)["median_s"]
        figures["floor_times_s"] = [round(t, 4) for t in floor_times]
        figures["ratio"] = report.ratio(figures["median_s"], figures["floor_median_s"])
    if mistral_times:
        figures["mistral_median_s"] = report.summary(mistral_times)["median_s"]
        figures["mistral_times_s"] = [round(t, 4) for t in mistral_times]
        figures["speedup"] = report.ratio(figures["mistral_median_s"], figures["median_s"])
    # The machine may be shared: the load tells how far the absolute times can be trusted.
    figures["loadavg_1m"] = round(os.getloadavg()[0], 2)
    return figures


def _scenario_record(scenario: Scenario, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    every_time = [t for figures in rounds for t in figures["times_s"]]
    record: dict[str, Any] = {
        "scenario": scenario.name, "path": scenario.path, "tasks": scenario.tasks,
        "rounds": len(rounds), "repeats": len(every_time),
        "median_s": round(statistics.median(f["median_s"] for f in rounds), 4),
        "min_s": round(min(every_time), 4), "max_s": round(max(every_time), 4),
    }
    record["per_task_ms"] = report.per_task_ms(record["median_s"], scenario.tasks)
    record["floor"] = record["ratio"] = None
    floor_rounds = [f for f in rounds if "floor_median_s" in f]
    if floor_rounds:
        every_floor = [t for f in floor_rounds for t in f["floor_times_s"]]
        floor_median = round(statistics.median(f["floor_median_s"] for f in floor_rounds), 4)
        record["floor"] = {"shape": scenario.floor_shape, "median_s": floor_median,
                           "min_s": round(min(every_floor), 4), "max_s": round(max(every_floor), 4)}
        record["ratio"] = report.ratio(record["median_s"], floor_median)
    mistral_rounds = [f for f in rounds if "mistral_median_s" in f]
    if mistral_rounds:
        every_mistral = [t for f in mistral_rounds for t in f["mistral_times_s"]]
        mistral_median = round(statistics.median(f["mistral_median_s"] for f in mistral_rounds), 4)
        record["mistral"] = {"median_s": mistral_median, "min_s": round(min(every_mistral), 4),
                             "max_s": round(max(every_mistral), 4), "repeats": len(every_mistral)}
        record["mistral_s"] = mistral_median
        record["mistral_source"] = MISTRAL_SAME_RUN
        record["speedup"] = report.ratio(mistral_median, record["median_s"])
    elif scenario.mistral_s is not None:
        record["mistral_s"] = scenario.mistral_s
        record["mistral_source"] = MISTRAL_FIXED
        record["speedup"] = report.ratio(scenario.mistral_s, record["median_s"])
    if scenario.details:
        record["throughput"] = _median_details(scenario.details)
    record["loadavg_1m"] = [f["loadavg_1m"] for f in rounds]
    record["by_round"] = [{k: v for k, v in f.items() if not k.endswith("times_s")} for f in rounds]
    return record


def _median_details(details: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over the timed repetitions of every round."""
    return {key: round(statistics.median(d[key] for d in details), 4) for key in details[0]}


def _interleaved(bench: Bench, scenario: Scenario, warmup: int,
                 repeat: int) -> tuple[list[float], list[float], list[float]]:
    """Alternate floor, scenario and Mistral runs, so a change in the machine's load hits all alike."""
    times: list[float] = []
    floor_times: list[float] = []
    mistral_times: list[float] = []
    for index in range(warmup + repeat):
        floor_elapsed = bench.times(scenario.floor, 1)[0] if scenario.floor else None
        details_before = len(scenario.details)
        elapsed = bench.times(scenario.run, 1)[0]
        # Our queue drained and the settling pause first (bench.times), as before our own runs.
        mistral_elapsed = bench.times(scenario.mistral, 1)[0] if scenario.mistral else None
        if index < warmup:
            del scenario.details[details_before:]  # a warm-up's latencies are not figures
            continue
        times.append(elapsed)
        if floor_elapsed is not None:
            floor_times.append(floor_elapsed)
        if mistral_elapsed is not None:
            mistral_times.append(mistral_elapsed)
    return times, floor_times, mistral_times


def _failed(name: str, error: BenchError) -> None:
    """A scenario the service cannot run is a result too: say so and go on with the others."""
    report.progress(f"{name} failed: {error}")
    report.emit({"scenario": name, "error": str(error)[:300]})


def run_scale(bench: Bench) -> None:
    shapes = set(_names(bench.args.scale_shapes))
    for small, large in scale_pairs(bench.driver):
        if not any(small.name.startswith(shape) for shape in shapes):
            continue
        report.progress(f"scale: {small.name} ({bench.args.repeat} runs), {large.name} "
                        f"({bench.args.scale_repeat} runs)")
        try:
            small_median = report.summary(bench.times(small.run, bench.args.repeat, bench.args.warmup))
            with bench.profile(large.name):
                large_median = report.summary(bench.times(large.run, bench.args.scale_repeat))
        except BenchError as error:
            _failed(f"scale_{large.name}", error)
            continue
        small_per_task = report.per_task_ms(small_median["median_s"], small.tasks)
        large_per_task = report.per_task_ms(large_median["median_s"], large.tasks)
        report.emit({
            "scenario": f"scale_{large.name}",
            "small": {"name": small.name, "tasks": small.tasks, **small_median, "per_task_ms": small_per_task},
            "large": {"name": large.name, "tasks": large.tasks, **large_median, "per_task_ms": large_per_task},
            "per_task_ratio": report.ratio(large_per_task, small_per_task),
        })


def run_soak(bench: Bench, processes: StackProcesses) -> None:
    """Repeat conc20 for --soak seconds; one RSS line per --soak-sample seconds, then a summary."""
    report.progress(f"soak: conc20 repeated for {bench.args.soak:g} s")
    started = time.monotonic()
    next_sample, rounds, totals = started, 0, []
    while time.monotonic() - started < bench.args.soak:
        bench.driver.settle()
        bench.driver.run_concurrent(20, 5)
        rounds += 1
        if time.monotonic() >= next_sample:
            bench.driver.settle()
            sizes = processes.rss()
            totals.append(mib(sum(sizes.values())))
            report.emit({"scenario": "soak_sample", "elapsed_s": round(time.monotonic() - started, 1),
                         "rounds": rounds, "rss_total_mib": totals[-1],
                         "rss_mib": {label: mib(size) for label, size in sizes.items()}})
            next_sample += bench.args.soak_sample
    report.emit({"scenario": "soak", "seconds": bench.args.soak, "rounds": rounds,
                 "rss_total_first_mib": totals[0], "rss_total_last_mib": totals[-1],
                 "rss_total_max_mib": max(totals), "growth_mib": round(totals[-1] - totals[0], 1)})


def measure(bench: Bench) -> None:
    sampler = None
    rest_before = None
    if bench.processes is not None:
        time.sleep(REST_SETTLE_SECONDS)
        rest_before = snapshot(bench.processes)
        sampler = RssSampler(bench.processes)
        sampler.sample()
        sampler.start()
    run_standard(bench, _names(bench.args.scenarios))
    if bench.args.scale:
        run_scale(bench)
    if sampler is not None and bench.processes is not None:
        sampler.stop()
        bench.driver.settle()
        time.sleep(REST_SETTLE_SECONDS)
        report.emit({"scenario": "memory", "rest_before": rest_before,
                     "peak_rss_mib": {label: mib(size) for label, size in sampler.peaks.items()},
                     "peak_rss_total_mib": mib(sampler.peak_total),
                     "rest_after": snapshot(bench.processes)})
    if bench.args.soak and bench.processes is not None:
        run_soak(bench, bench.processes)


def _start(args: argparse.Namespace, data_dir: Path, stack: ExitStack) -> tuple[str, str | None, BenchStack | None]:
    """Start our own stack unless --url names one; return its URL, its broker and the stack."""
    if args.url:
        return args.url, args.redis_url, None
    bench_stack = BenchStack(data_dir, args.database_url, args.bench_database, args.log_level,
                             celery_events=args.celery_events)
    stack.callback(bench_stack.stop)
    report.progress(f"starting the stack ({bench_stack.database_kind}) in {data_dir}")
    bench_stack.start()
    return bench_stack.base_url, bench_stack.redis_url, bench_stack


def _start_floor(args: argparse.Namespace, redis_url: str | None, data_dir: Path,
                 stack: ExitStack) -> Floor | None:
    if not redis_url:
        report.progress("no --redis-url: the floor is not measured")
        return None
    group = ProcessGroup(data_dir)
    stack.callback(group.stop)
    start_floor_worker(group, redis_url, args.log_level, concurrency=2, celery_events=args.celery_events,
                       data_dir=data_dir)
    floor = Floor(redis_url, args.celery_events)
    floor.ready()
    return floor


def connect_mistral(args: argparse.Namespace) -> Driver | None:
    """With --mistral-url: check that Mistral answers and runs a 1-task std.noop workflow.

    The bench does not start or stop that Mistral; a clear error before anything starts if it is not
    there. Its workflows carry the driver's run prefix, so reruns against the same Mistral never
    clash with earlier uploads.
    """
    if not args.mistral_url:
        return None
    client = ApiClient(api_root(args.mistral_url), args.poll_interval)
    client.check_answers("Mistral (--mistral-url)")
    mistral = Driver(client, None, args.timeout)
    try:
        mistral.run_chain(1)
    except BenchError as error:
        raise BenchError(f"Mistral at {args.mistral_url} answers but does not run a 1-task std.noop "
                         f"workflow: {error}") from error
    report.progress(f"Mistral at {args.mistral_url} answers; its workflows are {mistral.prefix}_*")
    return mistral


def run(args: argparse.Namespace, data_dir: Path, mistral: Driver | None = None) -> None:
    with ExitStack() as stack:
        base_url, redis_url, bench_stack = _start(args, data_dir, stack)
        floor = _start_floor(args, redis_url, data_dir, stack)
        client = ApiClient(base_url, args.poll_interval)
        driver = Driver(client, redis_url, args.timeout)
        driver.run_chain(1)  # the worker answers: the stack is ready
        driver.check_executor_path()
        processes = StackProcesses(bench_stack.pids()) if bench_stack else None
        report.emit({
            "bench": "tramontane", "target": args.url or "own stack",
            "database": bench_stack.database_kind if bench_stack else "unknown",
            "machine": report.machine(), "loadavg_1m": round(os.getloadavg()[0], 2),
            "repeat": args.repeat, "warmup": args.warmup,
            "completion": f"polling GET /v2/executions/<id> (batches: GET /v2/executions?description=..."
                          f"&state=RUNNING) every {args.poll_interval * 1000:g} ms",
            "floor_completion": "BLPOP on a Redis list the last task pushes to",
            "mistral": {"url": args.mistral_url, "prefix": mistral.prefix, "completion": "the same polling"}
            if mistral else MISTRAL_FIXED,
        })
        worker_pid = bench_stack.processes.pids.get("worker") if bench_stack else None
        measure(Bench(args, driver, floor, processes, worker_pid, mistral))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        mistral = connect_mistral(args)
    except BenchError as error:
        report.progress(f"failed: {error}")
        sys.exit(2)
    data_dir = Path(tempfile.mkdtemp(prefix="tramontane-bench-"))
    try:
        run(args, data_dir, mistral)
    except Exception as error:  # noqa: BLE001 - report with the logs' location, then fail
        traceback.print_exc()
        report.progress(f"failed: {error}; logs kept in {data_dir}")
        sys.exit(1)
    if not args.keep_temp:
        shutil.rmtree(data_dir, ignore_errors=True)
