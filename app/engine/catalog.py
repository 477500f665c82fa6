"""Ad-hoc actions and workbooks: store them from YAML text, find them, delete them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions import registry
from app.engine.definitions import find_by_name, input_text
from app.engine.errors import Conflict, EngineError, NotFound
from app.engine.language.documents import parse_actions, parse_workbook
from app.engine.language.spec import ActionSpec, WorkflowSpec
from app.models import ActionDefinition, Workbook, WorkflowDefinition, utc_now


def _check_not_builtin(name: str) -> None:
    if registry.find(name) is not None:
        raise EngineError(f"Attempt to modify a system action: {name}")


def _store_action(session: Session, spec: ActionSpec, definition: str, namespace: str, scope: str,
                  update: bool, workbook: str | None = None) -> ActionDefinition:
    existing = find_action(session, spec.name, namespace, exact=True)
    if existing is None and not update:
        _check_not_builtin(spec.name)
    if existing is None and update:
        raise NotFound(f"Action definition not found [action_name={spec.name}, namespace={namespace}]")
    if existing is not None and not update:
        raise Conflict(f"Duplicate entry for Action ['name', 'namespace', 'project_id']: {spec.name}, "
                       f"{namespace}, None")
    row = existing or ActionDefinition(name=spec.name, namespace=namespace)
    changed = _assign(row, definition=definition, spec={"name": spec.name, **spec.raw}, input=input_text(spec.raw),
                      description=spec.description, tags=list(spec.tags), scope=scope, workbook_name=workbook)
    if existing is not None and changed:
        row.updated_at = utc_now()
    session.add(row)
    return row


def _assign(row: object, **values: object) -> bool:
    """Set the values; whether any differed (an update that changes nothing keeps ``updated_at``)."""
    changed = False
    for key, value in values.items():
        if getattr(row, key, None) != value:
            setattr(row, key, value)
            changed = True
    return changed


def create_actions(session: Session, text: str, namespace: str = "", scope: str = "private",
                   update: bool = False) -> list[ActionDefinition]:
    specs = parse_actions(text)
    rows = []
    for spec in specs:
        # Each action keeps the whole upload as its definition, as in Mistral.
        rows.append(_store_action(session, spec, text, namespace, scope, update))
    session.flush()
    return rows


def find_action(session: Session, name: str, namespace: str = "", exact: bool = False) -> ActionDefinition | None:
    namespaces = [namespace] if exact or not namespace else [namespace, ""]
    for candidate in namespaces:
        row = session.scalars(select(ActionDefinition).where(
            ActionDefinition.name == name, ActionDefinition.namespace == candidate)).first()
        if row is not None:
            return row
    return None


def get_action(session: Session, name: str, namespace: str = "") -> ActionDefinition:
    """An ad-hoc action by its name in exactly that namespace (the API reads actions by name only)."""
    row = find_action(session, name, namespace, exact=True)
    if row is None:
        raise NotFound(f"Action not found [name={name}, namespace={namespace}]")
    return row


def delete_action(session: Session, name: str, namespace: str = "") -> None:
    """Built-in actions have no definition to delete: Mistral answers them as not found."""
    row = find_action(session, name, namespace, exact=True)
    if row is None:
        raise NotFound(f"Action definition not found [action_name={name}, namespace={namespace}]")
    session.delete(row)


def validate_actions(text: str) -> None:
    parse_actions(text)


# -- workbooks ----------------------------------------------------------------------------------------


def save_workbook(session: Session, text: str, namespace: str = "", scope: str = "private",
                  update: bool = False) -> Workbook:
    """Store a workbook and create or update its workflows and actions (named ``<book>.<name>``)."""
    spec = parse_workbook(text)
    existing = get_workbook_or_none(session, spec.name, namespace)
    if existing is not None and not update:
        raise Conflict(f"Duplicate entry for WorkbookDefinition ['name', 'namespace', 'project_id']: {spec.name}, "
                       f"{namespace}, None")
    if existing is None and update:
        raise NotFound(f"Workbook not found [name={spec.name}, namespace={namespace}]")
    row = existing or Workbook(name=spec.name, namespace=namespace)
    changed = _assign(row, definition=text, spec={"name": spec.name}, tags=list(spec.tags), scope=scope)
    if existing is not None and changed:
        row.updated_at = utc_now()
    session.add(row)
    prefix = len(spec.name) + 1
    for workflow in spec.workflows:
        _store_book_workflow(session, workflow, workbook_section(text, "workflows", workflow.name[prefix:]),
                             spec.name, namespace, scope)
    for action in spec.actions:
        _store_action(session, action, workbook_section(text, "actions", action.name[prefix:]), namespace, scope,
                      update=find_action(session, action.name, namespace, exact=True) is not None,
                      workbook=spec.name)
    session.flush()
    return row


def _store_book_workflow(session: Session, workflow: WorkflowSpec, definition: str, book: str, namespace: str,
                         scope: str) -> None:
    existing = find_by_name(session, workflow.name, namespace, exact=True)
    row = existing or WorkflowDefinition(name=workflow.name, namespace=namespace)
    # Mistral keeps no checksum for a workbook's workflows; the column wants a value, the API shows null.
    changed = _assign(row, definition=definition, spec={"name": workflow.name, **workflow.raw},
                      tags=list(workflow.tags), scope=scope, workbook_name=book)
    if existing is None:
        row.checksum = ""
    if existing is not None and changed:
        row.updated_at = utc_now()
    session.add(row)


def workbook_section(text: str, section: str, name: str) -> str:
    """The text of one workflow or action of a workbook: its own lines, dedented (``name:`` first)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == f"{section}:"), None)
    if start is None:
        return ""
    found = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == f"{name}:"), None)
    if found is None:
        return ""
    indent = lines[found].index(name)
    kept = [lines[found].lstrip()]
    for line in lines[found + 1:]:
        stripped = line.strip()
        if not stripped:
            kept.append(line)
        elif stripped.startswith("#"):
            kept.append(line if indent > line.index("#") else line[indent:])
        elif len(line) - len(line.lstrip()) > indent:
            kept.append(line[indent:])
        else:
            break
    return "".join(kept).rstrip() + "\n"


def get_workbook_or_none(session: Session, name: str, namespace: str = "") -> Workbook | None:
    return session.scalars(select(Workbook).where(Workbook.name == name, Workbook.namespace == namespace)).first()


def get_workbook(session: Session, name: str, namespace: str = "") -> Workbook:
    row = get_workbook_or_none(session, name, namespace)
    if row is None:
        raise NotFound(f"Workbook not found [name={name}, namespace={namespace}]")
    return row


def delete_workbook(session: Session, name: str, namespace: str = "") -> None:
    """Only the workbook goes: its workflows and actions stay, as in Mistral (DECISIONS.md)."""
    row = session.scalars(select(Workbook).where(Workbook.name == name, Workbook.namespace == namespace)).first()
    if row is None:
        raise NotFound(f"Workbook not found [workbook_name={name}, namespace={namespace}]")
    session.delete(row)


def validate_workbook(text: str) -> None:
    parse_workbook(text)
