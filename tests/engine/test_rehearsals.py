"""Engine tests as data: each YAML file under ``rehearsals/`` is a workflow, scripted action results,
steps (pause, complete an async action, rerun, ...) and what must happen, played through the real
engine in-process (see ``rehearsals/README.md``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.driver import EngineDriver
from tests.engine.rehearsal import run_case

ROOT = Path(__file__).parent / "rehearsals"
CASES = sorted(ROOT.rglob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[str(case.relative_to(ROOT).with_suffix("")) for case in CASES])
def test_rehearsal(path: Path, driver: EngineDriver) -> None:
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    run_case(driver, case)
