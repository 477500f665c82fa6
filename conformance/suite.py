"""Run many cases at once against one API; record them or judge them."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conformance.cases import EXPECTED_DIR, Case
from conformance.client import Api
from conformance.compare import Deviation, Verdict, judge, load_deviations
from conformance.runner import run_case
from conformance.third_party import ThirdParty


def observe(url: str, cases: list[Case], jobs: int = 8, poll_seconds: float = 0.1) -> dict[str, dict[str, Any]]:
    with ThirdParty() as third_party, ThreadPoolExecutor(max_workers=jobs) as pool:
        def one(case: Case) -> dict[str, Any]:
            return run_case(Api(url, poll_seconds=poll_seconds), case, third_party.url)

        return dict(zip([c.name for c in cases], pool.map(one, cases), strict=True))


def record(url: str, cases: list[Case], jobs: int = 6) -> dict[str, dict[str, Any]]:
    EXPECTED_DIR.mkdir(exist_ok=True)
    observed = observe(url, cases, jobs, poll_seconds=0.2)
    for case in cases:
        case.expected_path.write_text(json.dumps(observed[case.name], indent=1, sort_keys=True) + "\n")
    return observed


def check(url: str, cases: list[Case], jobs: int = 8) -> tuple[list[Verdict], list[Deviation]]:
    deviations = load_deviations()
    recorded = [c for c in cases if c.expected_path.exists()]
    observed = observe(url, recorded, jobs)
    verdicts = []
    for case in recorded:
        expected = json.loads(case.expected_path.read_text())
        verdicts.append(judge(case.name, expected, observed[case.name], deviations, case.inexact))
    return verdicts, deviations


def report(verdicts: list[Verdict], deviations: list[Deviation], all_cases: bool) -> tuple[str, bool]:
    lines = []
    failing = [v for v in verdicts if not v.passed]
    for verdict in failing:
        lines.append(f"FAIL {verdict.case}")
        if verdict.failed:
            lines.append(f"    could not run: {verdict.failed}")
        lines += [f"    {d}" for d in verdict.differences]
    unused = [d for d in deviations if not d.used] if all_cases else []
    for deviation in unused:
        lines.append(f"UNUSED deviation {deviation.cases} {deviation.field}: nothing differs there any more")
    identical = sum(v.identical for v in verdicts)
    deviating = sum(v.passed and not v.identical for v in verdicts)
    lines.append(f"{len(verdicts)} cases: {identical} identical, {deviating} with listed deviations only, "
                 f"{len(failing)} failing; {len(unused)} unused deviations")
    return "\n".join(lines), not failing and not unused
