"""Workflow definitions: create, update, find and delete them from YAML text."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer

from app.engine.errors import Conflict, DSLError, EngineError, NotFound, WorkflowNotFound
from app.engine.language.parser import parse_workflows
from app.engine.language.spec import WorkflowSpec
from app.engine.language.yaml_loader import dump_yaml
from app.models import CronTrigger, WorkflowDefinition, WorkflowExecution, utc_now

UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def checksum(text: str) -> str:
    """The MD5 hex digest Mistral shows (a change marker, not a security measure)."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _definition_text(text: str, spec: WorkflowSpec, count: int) -> str:
    """The stored text of one workflow: the upload itself, or its part when it held several."""
    if count == 1:
        return text
    return dump_yaml({"version": "2.0", spec.name: spec.raw})


def validate_workflows(text: str) -> list[WorkflowSpec]:
    specs = parse_workflows(text)
    problems = [
        f"{spec.name}: a workflow name must not look like a UUID"
        for spec in specs if UUID_PATTERN.match(spec.name)
    ]
    if problems:
        raise DSLError(problems)
    return specs


def create_workflows(session: Session, text: str, namespace: str = "", scope: str = "private",
                     update: bool = False) -> list[WorkflowDefinition]:
    """Store every workflow of ``text``; all or none. ``update`` replaces existing ones."""
    specs = validate_workflows(text)
    rows = []
    for spec in specs:
        existing = find_by_name(session, spec.name, namespace, exact=True)
        if existing is not None and not update:
            raise Conflict(f"Duplicate entry for WorkflowDefinition ['name', 'namespace', 'project_id']: "
                           f"{spec.name}, {namespace}, None")
        if existing is None and update:
            raise NotFound(f"Workflow not found [workflow_identifier={spec.name}, namespace={namespace}]")
        row = existing or WorkflowDefinition(name=spec.name, namespace=namespace)
        definition = _definition_text(text, spec, len(specs))
        values = {"definition": definition, "spec": {"name": spec.name, **spec.raw}, "tags": list(spec.tags),
                  "scope": scope, "checksum": checksum(definition)}
        # An update that changes nothing keeps updated_at, as in Mistral.
        changed = [key for key, value in values.items() if getattr(row, key, None) != value]
        for key in changed:
            setattr(row, key, values[key])
        if existing is not None and changed:
            row.updated_at = utc_now()
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def find_by_name(session: Session, name: str, namespace: str = "",
                 exact: bool = False, without_text: bool = False) -> WorkflowDefinition | None:
    """Find ``name`` in ``namespace``, then (unless ``exact``) in the default namespace.

    ``without_text``: the definition's text and spec load on first use only."""
    namespaces = [namespace] if exact or not namespace else [namespace, ""]
    for candidate in namespaces:
        row = session.scalars(_BY_NAME[without_text], {"name": name, "namespace": candidate}).first()
        if row is not None:
            return row
    return None


_TEXT = (defer(WorkflowDefinition.definition), defer(WorkflowDefinition.spec))
# Built once: every start looks its workflow up by name, and building the statement (and walking it
# for SQLAlchemy's cache key) cost more than running it. Keyed by ``without_text``.
_BY_NAME = {without_text: select(WorkflowDefinition).where(
    WorkflowDefinition.name == bindparam("name"), WorkflowDefinition.namespace == bindparam("namespace"),
).options(*(_TEXT if without_text else ())) for without_text in (False, True)}


def get_workflow(session: Session, identifier: str, namespace: str = "", exact: bool = False,
                 without_text: bool = False) -> WorkflowDefinition:
    """By id, or by name in ``namespace`` (then, unless ``exact``, in the default namespace);
    ``without_text`` as in :func:`find_by_name`."""
    row = session.get(WorkflowDefinition, identifier, options=_TEXT if without_text else ()) \
        if UUID_PATTERN.match(identifier) else None
    if row is None:
        row = find_by_name(session, identifier, namespace, exact=exact, without_text=without_text)
    if row is None:
        raise NotFound(f"Workflow not found [workflow_identifier={identifier}, namespace={namespace}]")
    return row


def delete_workflow(session: Session, identifier: str, namespace: str = "") -> None:
    row = get_workflow(session, identifier, namespace, exact=True)
    refuse_if_scheduled(session, [row.name], row.namespace)
    session.delete(row)


def refuse_if_scheduled(session: Session, workflow_names: list[str], namespace: str) -> None:
    """A cron trigger starts its workflow by name: deleting the workflow would break it silently."""
    rows = session.execute(select(CronTrigger.workflow_name, CronTrigger.id).where(
        CronTrigger.workflow_name.in_(workflow_names), CronTrigger.workflow_namespace == namespace,
    ).order_by(CronTrigger.workflow_name, CronTrigger.created_at, CronTrigger.id)).all()
    if rows:
        workflow = rows[0].workflow_name
        triggers = [row.id for row in rows if row.workflow_name == workflow]
        raise EngineError(
            f"Can't delete workflow that has cron triggers associated. [workflow_identifier={workflow}, "
            f"namespace={namespace}], [cron_trigger_id(s)={', '.join(triggers)}]"
        )


def input_text(spec: dict[str, Any]) -> str:
    """Mistral's ``input`` string of a workflow, e.g. ``name, greeting="hi"``."""
    parts = []
    for item in spec.get("input") or []:
        if isinstance(item, dict):
            (key, default), = item.items()
            # Mistral quotes every default as Python prints it: y="2", z="None".
            parts.append(f'{key}="{default}"')
        else:
            parts.append(str(item))
    return ", ".join(parts)


def interface(spec: dict[str, Any]) -> dict[str, Any]:
    output = spec.get("output")
    return {
        "input": list(spec.get("input") or []),
        "output": list(output) if isinstance(output, dict) else [],
    }


def resolve_for_execution(session: Session, name: str, parent: WorkflowExecution) -> WorkflowDefinition:
    """Find the workflow a task of ``parent`` names: its own workbook first, then its namespace."""
    candidates = [name]
    if "." in parent.workflow_name and not name.startswith(parent.workflow_name.rsplit(".", 1)[0] + "."):
        candidates.insert(0, f"{parent.workflow_name.rsplit('.', 1)[0]}.{name}")
    for candidate in candidates:
        # Its spec comes from this process's parse of the version (app.engine.specs).
        row = find_by_name(session, candidate, parent.workflow_namespace, without_text=True)
        if row is not None:
            return row
    raise WorkflowNotFound(f"Failed to find workflow [name={name}] [namespace={parent.workflow_namespace}]")
