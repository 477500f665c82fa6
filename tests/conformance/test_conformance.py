"""The conformance corpus replayed against the live stack: every difference from the recorded
Mistral 23.0.0 behaviour must be listed in ``conformance/deviations.yaml``."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from conformance import coverage, suite
from conformance.cases import load_cases
from conformance.compare import Verdict, load_deviations
from tests.support.stack import LiveStack

CASES = load_cases()


@pytest.fixture(scope="module")
def verdicts(stack: LiveStack) -> tuple[dict[str, Verdict], list[Any]]:
    found, deviations = suite.check(f"{stack.base_url}/v2", CASES, jobs=8)
    return {v.case: v for v in found}, deviations


@pytest.fixture(scope="module")
def stack_logs(stack: LiveStack, verdicts: tuple[dict[str, Verdict], list[Any]]) -> str:
    """The processes' last lines as the cases left them: why a case could not run is often there."""
    return stack.log_tails() if any(v.failed for v in verdicts[0].values()) else ""


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_case_behaves_like_mistral(verdicts: tuple[dict[str, Verdict], list[Any]], stack_logs: str,
                                   name: str) -> None:
    verdict = verdicts[0][name]
    assert verdict.failed is None, f"{verdict.failed}\n{stack_logs}"
    assert not verdict.differences, "\n".join(str(d) for d in verdict.differences)


def test_every_deviation_is_still_needed(verdicts: tuple[dict[str, Verdict], list[Any]]) -> None:
    unused = [f"{d.cases} {d.field}" for d in verdicts[1] if not d.used]
    assert not unused, f"deviations that no longer occur: {unused}"


def test_every_case_is_recorded() -> None:
    missing = [case.name for case in CASES if not case.expected_path.exists()]
    assert not missing
    for case in CASES:
        assert json.loads(case.expected_path.read_text())["case"] == case.name


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 300


def test_the_coverage_matrix_has_no_hole() -> None:
    _, holes = coverage.matrix(CASES)
    assert not holes


def test_deviations_are_well_formed() -> None:
    names = {case.name for case in CASES}
    for deviation in load_deviations():
        assert deviation.reason.strip()
        # A pattern that names no case would hide nothing and mislead readers.
        named = [p for p in deviation.cases if any(fnmatch.fnmatchcase(name, p) for name in names)]
        assert named, deviation.cases


def _defined_names(case: Any) -> set[str]:
    names: set[str] = {env["name"] for env in case.environments}
    for kind, document in case.documents():
        if kind == "workbook" and "name" in document:
            names.add(f"workbook:{document['name']}")
            continue
        names |= {key for key in document if key not in ("version", "name", "description", "tags")}
    return names


def test_each_case_uses_names_of_its_own() -> None:
    seen: dict[str, str] = {}
    for case in CASES:
        for name in _defined_names(case):
            assert seen.setdefault(name, case.name) == case.name, f"{name} is defined by {seen[name]} and {case.name}"
