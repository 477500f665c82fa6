"""The corpus: one YAML file per case under ``cases/`` (any depth), named by its file stem.

A case holds the definitions to upload, the start request and a script of steps; see
``docs/compatibility.md`` for the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent
CASES_DIR = ROOT / "cases"
EXPECTED_DIR = ROOT / "expected"

STEP_KINDS = ("wait", "complete", "execution", "task", "snapshot", "request", "sleep")
CASE_KEYS = {"about", "group", "workflows", "workbook", "actions", "environments", "start", "steps", "http",
             "exact", "covers"}


class CaseError(ValueError):
    """Raised when a case file does not follow the format."""


@dataclass
class Case:
    name: str
    path: Path
    about: str
    group: str
    workflows: str | None = None
    workbook: str | None = None
    actions: str | None = None
    environments: list[dict[str, Any]] = field(default_factory=list)
    start: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    # Fields whose value may differ between two runs of Mistral itself (partial joins): compared for
    # presence only.
    inexact: list[str] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)

    @property
    def expected_path(self) -> Path:
        return EXPECTED_DIR / f"{self.name}.json"

    def documents(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, parsed mapping) of each definition text that parses: workflows, workbook, actions."""
        found = []
        for kind, text in (("workflows", self.workflows), ("workbook", self.workbook), ("actions", self.actions)):
            if not text:
                continue
            try:
                document = yaml.safe_load(text)
            except yaml.YAMLError:
                continue  # a case about a definition that does not parse
            if isinstance(document, dict):
                found.append((kind, document))
        return found

    def definitions_text(self) -> str:
        return "\n".join(filter(None, [self.workflows, self.workbook, self.actions]))


def load_case(path: Path) -> Case:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case is a mapping")
    unknown = set(raw) - CASE_KEYS
    if unknown:
        raise CaseError(f"{path}: unknown keys {sorted(unknown)}")
    if not raw.get("about"):
        raise CaseError(f"{path}: 'about' says what the case pins")
    steps = raw.get("steps")
    if steps is None:
        steps = [{"wait": "terminal"}] if raw.get("start") else []
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or len(step) != 1 or next(iter(step)) not in STEP_KINDS:
            raise CaseError(f"{path}: step {index} must be one of {STEP_KINDS}: {step!r}")
    group = raw.get("group") or (path.parent.name if path.parent != CASES_DIR else "misc")
    return Case(
        name=path.stem, path=path, about=str(raw["about"]), group=group,
        workflows=raw.get("workflows"), workbook=raw.get("workbook"), actions=raw.get("actions"),
        environments=list(raw.get("environments") or []), start=raw.get("start"), steps=list(steps),
        inexact=list((raw.get("exact") or {}).get("not") or []), covers=list(raw.get("covers") or []),
    )


def load_cases(only: list[str] | None = None) -> list[Case]:
    """Every case, sorted by name; ``only`` keeps names (or groups) that start with one of its items."""
    paths = sorted(CASES_DIR.rglob("*.yaml"))
    if only:
        # Read only the files asked for, so one malformed case elsewhere does not stop the others.
        paths = [p for p in paths if any(p.stem.startswith(o) or p.parent.name == o for o in only)]
    cases = [load_case(path) for path in paths]
    names = [case.name for case in cases]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CaseError(f"case names used twice: {duplicates}")
    if only:
        cases = [c for c in cases if any(c.name.startswith(o) or c.group == o for o in only)]
    return sorted(cases, key=lambda c: c.name)
