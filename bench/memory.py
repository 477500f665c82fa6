"""Resident memory of every process of the stack, sampled in a background thread with psutil.

The roots are the processes the benchmark started (gunicorn, the Celery worker, the scheduler,
Redis); their children (gunicorn workers, Celery pool processes) are found at each sample, so a
replaced child is picked up too. RSS counts pages shared after a fork once per process, so the
total over-states the real footprint; PSS, which splits shared pages, is reported at rest beside it.
"""

from __future__ import annotations

import threading
from typing import Any

import psutil

MIB = 1024 * 1024


def mib(value: float) -> float:
    return round(value / MIB, 1)


class StackProcesses:
    """Names every process of the stack: ``worker``, ``worker child 1``, ..."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self._labels: dict[int, str] = {}

    def _label(self, role: str, process: psutil.Process, index: int) -> str:
        if process.pid not in self._labels:
            self._labels[process.pid] = f"{role} child {index}" if index else role
        return self._labels[process.pid]

    def current(self) -> dict[str, psutil.Process]:
        found: dict[str, psutil.Process] = {}
        for role, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                family = [root, *sorted(root.children(recursive=True), key=lambda p: p.pid)]
            except psutil.NoSuchProcess:
                continue
            for index, process in enumerate(family):
                found[self._label(role, process, index)] = process
        return found

    def rss(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for label, process in self.current().items():
            try:
                sizes[label] = process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return sizes

    def pss_total(self) -> int:
        total = 0
        for process in self.current().values():
            try:
                total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
                continue
        return total


class RssSampler:
    """Keeps the peak RSS of each process and of the whole stack while the scenarios run."""

    def __init__(self, processes: StackProcesses, interval: float = 0.2) -> None:
        self.processes = processes
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> dict[str, int]:
        sizes = self.processes.rss()
        for label, size in sizes.items():
            self.peaks[label] = max(self.peaks.get(label, 0), size)
        self.peak_total = max(self.peak_total, sum(sizes.values()))
        return sizes

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def snapshot(processes: StackProcesses) -> dict[str, Any]:
    """RSS per process and in total now (the caller makes sure the stack is idle: "at rest")."""
    sizes = processes.rss()
    return {
        "rss_mib": {label: mib(size) for label, size in sizes.items()},
        "rss_total_mib": mib(sum(sizes.values())),
        "pss_total_mib": mib(processes.pss_total()),
    }
