"""Differences between Mistral's recorded observation and ours, and the deviations that allow some."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.cases import ROOT

DEVIATIONS_PATH = ROOT / "deviations.yaml"
# Differences seen and not fixed yet: tolerated so the rest of the suite guards what works, listed
# in the compatibility page as open, and failing the check once they no longer occur.
OPEN_PATH = ROOT / "open.yaml"
ABSENT = "<absent>"
# How Tramontane appends a hint to Mistral's error text (app/resources/hints.py).
HINT_SEPARATOR = "\nHint: "
KINDS = ("decision", "unsupported", "mistral-bug", "extension")
OPEN = "open"


@dataclass(frozen=True)
class Difference:
    path: str
    mistral: Any
    ours: Any

    def __str__(self) -> str:
        return f"{self.path}: Mistral {_show(self.mistral)}, ours {_show(self.ours)}"


@dataclass
class Deviation:
    cases: list[str]
    field: str
    kind: str
    reason: str
    mistral: Any = ABSENT
    ours: Any = ABSENT
    has_mistral: bool = False
    has_ours: bool = False
    # Only a hint after Mistral's unchanged text is allowed: ours reads "<Mistral's text>\nHint: ...".
    hint_after_mistral: bool = False
    used: int = 0

    def allows(self, case: str, difference: Difference) -> bool:
        if not any(fnmatch.fnmatchcase(case, pattern) for pattern in self.cases):
            return False
        if not fnmatch.fnmatchcase(difference.path, self.field):
            return False
        if self.has_mistral and self.mistral != difference.mistral:
            return False
        if self.hint_after_mistral and not _is_hinted(difference):
            return False
        return not (self.has_ours and self.ours != difference.ours)


@dataclass
class Verdict:
    case: str
    differences: list[Difference] = field(default_factory=list)
    deviations: list[tuple[Difference, Deviation]] = field(default_factory=list)
    open: list[tuple[Difference, Deviation]] = field(default_factory=list)
    failed: str | None = None

    @property
    def identical(self) -> bool:
        return not self.differences and not self.deviations and not self.open and self.failed is None

    @property
    def passed(self) -> bool:
        return not self.differences and self.failed is None


def load_open(path: Path = OPEN_PATH) -> list[Deviation]:
    """The open differences (``open.yaml``): entries like deviations', without a kind."""
    entries = yaml.safe_load(path.read_text()) or [] if path.exists() else []
    return load_deviations(entries=[{**entry, "kind": OPEN} for entry in entries])


def load_deviations(path: Path = DEVIATIONS_PATH, entries: list[dict[str, Any]] | None = None) -> list[Deviation]:
    if entries is None:
        entries = yaml.safe_load(path.read_text()) or [] if path.exists() else []
    deviations = []
    for index, entry in enumerate(entries):
        missing = {"case", "field", "kind", "reason"} - set(entry)
        if missing:
            raise ValueError(f"deviation {index} lacks {sorted(missing)}")
        if entry["kind"] not in (*KINDS, OPEN):
            raise ValueError(f"deviation {index}: kind must be one of {KINDS}")
        cases = entry["case"] if isinstance(entry["case"], list) else [entry["case"]]
        deviations.append(Deviation(
            cases=[str(c) for c in cases], field=str(entry["field"]), kind=entry["kind"], reason=entry["reason"],
            mistral=entry.get("mistral"), ours=entry.get("ours"),
            has_mistral="mistral" in entry, has_ours="ours" in entry,
            hint_after_mistral=bool(entry.get("hint_after_mistral"))))
    return deviations


def _is_hinted(difference: Difference) -> bool:
    mistral, ours = difference.mistral, difference.ours
    return (isinstance(mistral, str) and isinstance(ours, str) and ours.startswith(mistral + HINT_SEPARATOR)
            and len(ours) > len(mistral) + len(HINT_SEPARATOR))


def differences(mistral: Any, ours: Any, path: str = "") -> list[Difference]:
    if isinstance(mistral, dict) and isinstance(ours, dict):
        found = []
        for key in list(mistral) + [k for k in ours if k not in mistral]:
            child = f"{path}.{key}" if path else str(key)
            found += differences(mistral.get(key, ABSENT), ours.get(key, ABSENT), child)
        return found
    if isinstance(mistral, list) and isinstance(ours, list):
        found = []
        for index in range(max(len(mistral), len(ours))):
            found += differences(mistral[index] if index < len(mistral) else ABSENT,
                                 ours[index] if index < len(ours) else ABSENT, f"{path}[{index}]")
        return found
    if mistral == ours and type(mistral) is type(ours):
        return []
    return [Difference(path, mistral, ours)]


def judge(case: str, expected: dict[str, Any], observed: dict[str, Any], deviations: list[Deviation],
          inexact: list[str] | None = None) -> Verdict:
    verdict = Verdict(case)
    if "failed" in observed:
        verdict.failed = observed["failed"]
    for difference in differences(expected, observed):
        if difference.path == "failed":
            continue
        if any(fnmatch.fnmatchcase(difference.path, pattern) for pattern in inexact or ()) \
                and ABSENT not in (difference.mistral, difference.ours):
            continue
        allowed = next((d for d in deviations if d.allows(case, difference)), None)
        if allowed is None:
            verdict.differences.append(difference)
        else:
            allowed.used += 1
            (verdict.open if allowed.kind == OPEN else verdict.deviations).append((difference, allowed))
    return verdict


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."
