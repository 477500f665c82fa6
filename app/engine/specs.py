"""Parsed workflow specs, kept per process.

An execution runs the spec snapshot it started with (its ``spec`` column). Parsing that snapshot,
and before it loading and decoding it, costs a start and the first step of every execution on each
process about as much as the rest of a short workflow's step. Executions of one definition
version share one snapshot, so a process keeps its parse by *version*: the definition's id and the
time of its last change (``updated_at``, set by every update that changes anything). A start writes
that version into the execution's runtime context; a worker that already parsed it skips loading
the spec column altogether (a sub-workflow's start records its version too). An execution without
a version (one started before versions were recorded) is parsed from its own snapshot, as before.

The specs are shared between executions and threads: nothing may change a spec or its raw dict.
What expressions see of a spec, and an input's default values, are copies (``expression_functions.to_plain``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from app.engine.errors import EngineError, NotFound
from app.engine.language.parser import Problems, parse_workflow
from app.engine.language.spec import WorkflowSpec
from app.engine.task_runtime import SPEC_VERSION
from app.models import WorkflowDefinition, WorkflowExecution

K = TypeVar("K")
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """At most ``size`` entries, the oldest dropped first (a dict's operations need no lock here)."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        while len(self._entries) > self._size:
            try:
                self._entries.popitem(last=False)
            except KeyError:  # another thread emptied it meanwhile
                break


_BY_EXECUTION: _Recent[str, WorkflowSpec] = _Recent(512)
_BY_VERSION: _Recent[str, tuple[dict[str, Any], WorkflowSpec]] = _Recent(256)


def version_of(definition: WorkflowDefinition) -> str:
    changed = definition.updated_at.isoformat() if definition.updated_at is not None else ""
    return f"{definition.id}@{changed}"


def of_definition(definition: WorkflowDefinition) -> tuple[str, dict[str, Any]]:
    """The version of ``definition`` and its spec, the raw dict a new execution snapshots.

    ``definition`` may have its ``spec`` column deferred: it is loaded only when this process has
    not parsed the version yet."""
    version = version_of(definition)
    known = _BY_VERSION.get(version)
    if known is not None:
        return version, known[0]
    # The spec and the time of the change it belongs to, read together: a definition updated
    # between two reads would otherwise pair this version with the next one's spec.
    session: Session | None = inspect(definition).session
    if session is not None:
        try:
            session.refresh(definition, ["spec", "updated_at"])
        except InvalidRequestError as exc:  # deleted since it was found
            raise NotFound(f"Workflow not found [workflow_identifier={definition.name}]") from exc
    version, raw = version_of(definition), definition.spec
    _BY_VERSION.put(version, (raw, _parse(raw, definition.name)))
    return version, raw


def spec_of(wf_ex: WorkflowExecution) -> WorkflowSpec:
    """The parsed spec snapshot of an execution, parsed once per process and definition version."""
    spec = _BY_EXECUTION.get(wf_ex.id)
    if spec is not None:
        return spec
    version = (wf_ex.runtime_context or {}).get(SPEC_VERSION)
    known = _BY_VERSION.get(version) if version else None
    if known is not None:
        spec = known[1]
    else:
        raw = wf_ex.spec
        spec = _parse(raw, wf_ex.workflow_name)
        if version:
            _BY_VERSION.put(version, (raw, spec))
    _BY_EXECUTION.put(wf_ex.id, spec)
    return spec


def _parse(raw: dict[str, Any], workflow_name: str) -> WorkflowSpec:
    problems = Problems()
    parsed = parse_workflow(raw.get("name") or workflow_name, dict(raw), workflow_name, problems)
    if parsed is None or problems:
        raise EngineError("Stored workflow spec is invalid: " + "; ".join(problems))
    return parsed
