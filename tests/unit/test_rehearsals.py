"""Engine tests as data: each YAML file in ``rehearsals/`` holds a workflow, scripted action results
and what must happen (task order, states, published values, output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.rehearsal import Rehearsal

CASES = sorted((Path(__file__).parent / "rehearsals").glob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[case.stem for case in CASES])
def test_rehearsal(path: Path) -> None:
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    trace = Rehearsal(case["workflow"], case.get("input"), case.get("results") or {}).run()
    expected = case["expect"]
    assert [run.name for run in trace.runs] == expected["order"]
    assert trace.state == expected["state"]
    if "states" in expected:
        assert {run.name: run.state for run in trace.runs} == expected["states"]
    if "published" in expected:
        assert {run.name: run.published for run in trace.runs if run.published} == expected["published"]
    if "output" in expected:
        assert trace.output == expected["output"]
    if "state_info" in expected:
        assert trace.state_info == expected["state_info"]


def test_there_are_rehearsals() -> None:
    assert len(CASES) >= 8
