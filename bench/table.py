"""Render the benchmark's JSON lines as the Markdown tables of docs/benchmarks.md.

``python -m bench > run.jsonl; python -m bench.table run.jsonl``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _records(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _short(error: str) -> str:
    return error.split("<html>")[0].strip().replace("|", "/")


def _load(value: Any) -> str:
    """The 1-minute load of each round (older runs give one figure)."""
    return "/".join(f"{v:g}" for v in value) if isinstance(value, list) else f"{value}"


def _mistral(record: dict[str, Any]) -> str:
    """Mistral's figure and where it comes from: measured in the same run (median, min-max) or the
    fixed figure from another day (records without ``mistral_source`` predate the choice)."""
    measured = record.get("mistral")
    if measured:
        return f"{measured['median_s']:.3f} ({measured['min_s']:.3f}-{measured['max_s']:.3f}), same run"
    return f"{record['mistral_s']:.1f}, fixed" if record.get("mistral_s") else ""


def scenarios(records: list[dict[str, Any]]) -> list[str]:
    rows = ["| scenario | path | median s | min-max s | ms/task | floor median s | ratio to floor | Mistral s "
            "| speed-up | load |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        floor = r.get("floor")
        if "error" in r and not r["scenario"].startswith("scale_"):
            rows.append(f"| {r['scenario']} | | failed: {_short(r['error'])} | | | | | | | |")
        if "median_s" not in r or r.get("scenario") == "memory":
            continue
        floor_text = f"{floor['median_s']:.3f}" if floor else ""
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else ""
        mistral = _mistral(r)
        speedup = f"{r['speedup']:.1f}" if r.get("speedup") else ""
        rows.append(f"| {r['scenario']} | {r.get('path', '')} | {r['median_s']:.3f} | {r['min_s']:.3f}-"
                    f"{r['max_s']:.3f} | {r['per_task_ms']:.1f} | {floor_text} | {ratio} | {mistral} | "
                    f"{speedup} | {_load(r['loadavg_1m'])} |")
    return rows


def throughput(records: list[dict[str, Any]]) -> list[str]:
    rows = ["| scenario | executions/s | tasks/s | all started after s | p50 s | p95 s | p99 s | load |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        t = r.get("throughput")
        if not t:
            continue
        rows.append(f"| {r['scenario']} | {t['executions_per_s']:.1f} | {t['tasks_per_s']:.0f} | "
                    f"{t.get('all_started_s', float('nan')):.2f} | {t['latency_p50_s']:.2f} | "
                    f"{t['latency_p95_s']:.2f} | {t['latency_p99_s']:.2f} | "
                    f"{_load(r['loadavg_1m'])} |")
    return rows


def scale(records: list[dict[str, Any]]) -> list[str]:
    rows = ["| shape | small | s | ms/task | large | s | ms/task | large/small |",
            "|---|---|---:|---:|---|---:|---:|---:|"]
    for r in records:
        if not r.get("scenario", "").startswith("scale_"):
            continue
        if "error" in r:
            rows.append(f"| {r['scenario'][6:]} | | | | | failed: {_short(r['error'])} | | |")
            continue
        small, large = r["small"], r["large"]
        rows.append(f"| {r['scenario'][6:]} | {small['name']} | {small['median_s']:.3f} | "
                    f"{small['per_task_ms']:.1f} | {large['name']} | {large['median_s']:.3f} | "
                    f"{large['per_task_ms']:.1f} | {r['per_task_ratio']:.2f} |")
    return rows


def memory(records: list[dict[str, Any]]) -> list[str]:
    rows = ["| process | RSS at rest before MiB | peak RSS MiB | RSS at rest after MiB |",
            "|---|---:|---:|---:|"]
    for r in records:
        if r.get("scenario") != "memory":
            continue
        before, after = r["rest_before"], r["rest_after"]
        for label, peak in r["peak_rss_mib"].items():
            rows.append(f"| {label} | {before['rss_mib'].get(label, '')} | {peak} | "
                        f"{after['rss_mib'].get(label, '')} |")
        rows.append(f"| **total RSS** | {before['rss_total_mib']} | {r['peak_rss_total_mib']} | "
                    f"{after['rss_total_mib']} |")
        rows.append(f"| total PSS | {before['pss_total_mib']} | | {after['pss_total_mib']} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args()
    for path in args.files:
        records = _records(path)
        print(f"<!-- {path} -->")
        for table in (scenarios(records), throughput(records), scale(records), memory(records)):
            if len(table) > 2:
                print("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
