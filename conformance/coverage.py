"""The coverage matrix: which language keywords and REST operations the corpus exercises, in a case
that succeeds and in one that fails. A keyword or operation without both is a hole."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.cases import ROOT, Case

MATRIX_PATH = ROOT.parent / "docs" / "conformance-coverage.md"

WORKFLOW_KEYS = ("type", "description", "tags", "input", "vars", "output", "output-on-error", "task-defaults")
TASK_KEYS = ("description", "tags", "action", "workflow", "input", "publish", "publish-on-error", "publish-on-skip",
             "with-items", "keep-result", "target", "safe-rerun", "retry", "wait-before", "wait-after", "timeout",
             "pause-before", "concurrency", "fail-on", "join", "on-success", "on-error", "on-complete", "on-skip",
             "requires")
RETRY_KEYS = ("count", "delay", "break-on", "continue-on")
ENGINE_COMMANDS = ("fail", "succeed", "pause", "noop")
ADHOC_KEYS = ("base", "base-input", "input", "output")
FUNCTIONS = ("env", "task", "tasks", "execution", "executions", "global", "uuid", "json_parse", "json_dump",
             "yaml_parse", "yaml_dump")
TRANSITION_CLAUSES = ("on-success", "on-error", "on-complete", "on-skip")

# Mistral's REST operations (reference section 3.2); the 501 ones need only a failing case.
OPERATIONS = [
    ("GET", "/workflows"), ("GET", "/workflows/{id}"), ("POST", "/workflows"), ("PUT", "/workflows"),
    ("DELETE", "/workflows/{id}"), ("POST", "/workflows/validate"),
    ("GET", "/workbooks"), ("GET", "/workbooks/{id}"), ("POST", "/workbooks"), ("PUT", "/workbooks"),
    ("DELETE", "/workbooks/{id}"), ("POST", "/workbooks/validate"),
    ("GET", "/actions"), ("GET", "/actions/{id}"), ("POST", "/actions"), ("PUT", "/actions"),
    ("DELETE", "/actions/{id}"), ("POST", "/actions/validate"),
    ("GET", "/executions"), ("GET", "/executions/{id}"), ("POST", "/executions"), ("PUT", "/executions/{id}"),
    ("DELETE", "/executions/{id}"), ("GET", "/executions/{id}/tasks"), ("GET", "/executions/{id}/executions"),
    ("GET", "/executions/{id}/report"),
    ("GET", "/tasks"), ("GET", "/tasks/{id}"), ("PUT", "/tasks/{id}"), ("GET", "/tasks/{id}/action_executions"),
    ("GET", "/tasks/{id}/workflow_executions"),
    ("GET", "/action_executions"), ("GET", "/action_executions/{id}"), ("POST", "/action_executions"),
    ("PUT", "/action_executions/{id}"), ("DELETE", "/action_executions/{id}"),
    ("GET", "/cron_triggers"), ("GET", "/cron_triggers/{id}"), ("POST", "/cron_triggers"),
    ("DELETE", "/cron_triggers/{id}"),
    ("GET", "/environments"), ("GET", "/environments/{id}"), ("POST", "/environments"), ("PUT", "/environments"),
    ("DELETE", "/environments/{id}"),
]
# Mistral refuses these in its default configuration (allow_action_execution_deletion is off), and
# so do we: only a failing case can be recorded.
FAILING_ONLY = {"DELETE /action_executions/{id}"}
UNSUPPORTED = [("GET", "/event_triggers"), ("POST", "/event_triggers"), ("GET", "/code_sources"),
               ("POST", "/code_sources"), ("GET", "/dynamic_actions"), ("POST", "/dynamic_actions"),
               ("GET", "/workflows/{id}/members")]


def _template(path: str) -> str:
    """``/tasks/{task:t1}/action_executions?x=1`` -> ``/tasks/{id}/action_executions``."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    parts = path.strip("/").split("/")
    shaped = [parts[0]] if parts else []
    for index, part in enumerate(parts[1:], start=1):
        fixed = part in ("validate", "tasks", "executions", "action_executions", "report", "workflow_executions",
                         "members")
        shaped.append(part if fixed and index > 1 or part == "validate" else "{id}")
    return "/" + "/".join(shaped)


def _outcomes(observed: dict[str, Any]) -> Iterator[tuple[str, str, int]]:
    """(method, path template, status) of every request the case made."""
    for entry in observed.get("setup", []):
        path = {"environment": "/environments", "workbook": "/workbooks", "actions": "/actions",
                "workflows": "/workflows"}[entry["what"]]
        yield "POST", path, entry["status"]
    if "start" in observed:
        yield "POST", "/executions", observed["start"]["status"]
    for step in observed.get("steps", []):
        if "request" in step:
            method, _, path = step["request"].partition(" ")
            body = step.get("body")
            # A validation that finds the definition invalid is the endpoint's failing case.
            invalid = path.rstrip("/").endswith("/validate") and isinstance(body, dict) and body.get("valid") is False
            yield method, _template(path), 400 if invalid else step["status"]
        elif "execution" in step:
            yield "PUT", "/executions/{id}", step["status"]
        elif "task" in step:
            yield "PUT", "/tasks/{id}", step["status"]
        elif "complete" in step:
            yield "PUT", "/action_executions/{id}", step["status"]


def _walk_snapshot(snapshot: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield snapshot
    for child in (snapshot.get("children") or {}).values():
        yield from _walk_snapshot(child)


def _kinds(observed: dict[str, Any]) -> tuple[bool, bool]:
    """Whether the case shows a success and whether it shows a failure."""
    statuses = [status for _, _, status in _outcomes(observed)]
    failed = any(status >= 400 for status in statuses)
    succeeded = bool(statuses) and any(status < 400 for status in statuses)
    for snapshot in (observed.get("snapshots") or {}).values():
        for execution in _walk_snapshot(snapshot):
            if "state" not in execution:  # an execution the case deleted
                continue
            states = [execution["state"]] + [t["state"] for t in execution["tasks"].values()]
            failed = failed or "ERROR" in states
            succeeded = succeeded or execution["state"] == "SUCCESS"
    return succeeded, failed


def _keywords(case: Case) -> set[str]:
    found: set[str] = set(case.covers)
    text = case.definitions_text()
    if not text:
        return found
    for document in _documents(case):
        for workflow in _workflows(document):
            found |= {f"workflow:{k}" for k in WORKFLOW_KEYS if k in workflow}
            if workflow.get("type") == "reverse":
                found.add("workflow:type=reverse")
            defaults = workflow.get("task-defaults") or {}
            tasks = workflow.get("tasks") or {}
            for task in [defaults, *[t for t in tasks.values() if isinstance(t, dict)]]:
                found |= {f"task:{k}" for k in TASK_KEYS if k in task}
                retry = task.get("retry")
                if isinstance(retry, dict):
                    found |= {f"retry:{k}" for k in RETRY_KEYS if k in retry}
                for clause in TRANSITION_CLAUSES:
                    for target in _targets(task.get(clause)):
                        if target in ENGINE_COMMANDS and target not in tasks:
                            found.add(f"command:{target}")
        for action in _actions(document):
            found |= {f"adhoc:{k}" for k in ADHOC_KEYS if k in action}
    found |= {f"function:{name}" for name in FUNCTIONS if re.search(rf"\b{name}\(", text)}
    if case.environments or "env" in ((case.start or {}).get("params") or {}):
        found.add("environment")
    return found


def _documents(case: Case) -> Iterator[dict[str, Any]]:
    for _, document in case.documents():
        yield document


def _workflows(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    source: dict[str, Any] = document["workflows"] if isinstance(document.get("workflows"), dict) else document
    for name, value in source.items():
        if name not in ("version", "name", "description", "tags", "actions", "workflows") and isinstance(value, dict):
            if "tasks" in value:
                yield value


def _actions(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    source: dict[str, Any] = document["actions"] if isinstance(document.get("actions"), dict) else document
    for value in source.values():
        if isinstance(value, dict) and "base" in value:
            yield value


def _targets(clause: Any) -> Iterator[str]:
    items = clause if isinstance(clause, list) else [clause] if clause else []
    if isinstance(clause, dict):
        items = clause.get("next") or []
        items = items if isinstance(items, list) else [items]
    for item in items:
        name = next(iter(item)) if isinstance(item, dict) else str(item)
        yield name.split()[0] if name.split() else name


def rows(cases: list[Case]) -> dict[str, list[int]]:
    """Row -> [cases that succeed, cases that fail]."""
    table: dict[str, list[int]] = {}
    for key in rows_named():
        table[key] = [0, 0]
    for case in cases:
        if not case.expected_path.exists():
            continue
        observed = json.loads(case.expected_path.read_text())
        succeeded, failed = _kinds(observed)
        for keyword in _keywords(case):
            counts = table.setdefault(keyword, [0, 0])
            counts[0] += succeeded
            counts[1] += failed
        for method, path, status in _outcomes(observed):
            counts = table.setdefault(f"{method} {path}", [0, 0])
            counts[0 if status < 400 else 1] += 1
    return table


def rows_named() -> list[str]:
    """Every keyword and operation the matrix requires."""
    keywords = ([f"workflow:{k}" for k in WORKFLOW_KEYS] + ["workflow:type=reverse"]
                + [f"task:{k}" for k in TASK_KEYS] + [f"retry:{k}" for k in RETRY_KEYS]
                + [f"command:{c}" for c in ENGINE_COMMANDS] + [f"adhoc:{k}" for k in ADHOC_KEYS]
                + [f"function:{f}" for f in FUNCTIONS] + ["environment"])
    return keywords + [f"{m} {p}" for m, p in OPERATIONS + UNSUPPORTED]


def matrix(cases: list[Case]) -> tuple[str, list[str]]:
    table = rows(cases)
    unsupported = {f"{m} {p}" for m, p in UNSUPPORTED} | FAILING_ONLY
    holes = []
    lines = ["| keyword or operation | succeeding | failing |", "|---|---|---|"]
    listed = set(rows_named()) | unsupported
    for key, (good, bad) in table.items():
        needs_success = key not in unsupported
        if key not in listed:
            # An extra path a case happens to call (an alias, a 405): shown, but not required.
            lines.append(f"| `{key}` | {good} | {bad} |")
            continue
        if (needs_success and not good) or not bad:
            holes.append(key)
        lines.append(f"| `{key}` | {good} | {bad} |")
    return "\n".join(lines), holes


def write(table: str, path: Path = MATRIX_PATH) -> None:
    path.write_text("# Conformance coverage\n\nGenerated by `python -m conformance matrix --write` from the "
                    "recorded corpus: for each language keyword and REST operation, how many cases exercise it "
                    "in a run that succeeds and in one that fails.\n\n" + table + "\n")
