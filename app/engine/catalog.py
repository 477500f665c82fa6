"""Ad-hoc actions and workbooks: store them from YAML text, find them, delete them."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.actions import registry
from app.engine.definitions import checksum, find_by_name, input_text, refuse_if_scheduled
from app.engine.errors import Conflict, EngineError, NotFound
from app.engine.language.documents import parse_actions, parse_workbook
from app.engine.language.spec import ActionSpec
from app.engine.language.yaml_loader import dump_yaml
from app.models import ActionDefinition, Workbook, WorkflowDefinition, utc_now


def _check_not_builtin(name: str) -> None:
    if registry.find(name) is not None:
        raise EngineError(f"Attempt to modify a system action: {name}")


def _store_action(session: Session, spec: ActionSpec, definition: str, namespace: str, scope: str,
                  update: bool, workbook: str | None = None) -> ActionDefinition:
    _check_not_builtin(spec.name)
    existing = find_action(session, spec.name, namespace, exact=True)
    if existing is not None and not update:
        raise Conflict(f"Duplicate entry for Action ['name', 'namespace']: {spec.name}, {namespace}")
    row = existing or ActionDefinition(name=spec.name, namespace=namespace)
    row.definition = definition
    row.spec = {"name": spec.name, **spec.raw}
    row.input = input_text(spec.raw)
    row.description = spec.description
    row.tags = list(spec.tags)
    row.scope = scope
    row.workbook_name = workbook
    if existing is not None:
        row.updated_at = utc_now()
    session.add(row)
    return row


def create_actions(session: Session, text: str, namespace: str = "", scope: str = "private",
                   update: bool = False) -> list[ActionDefinition]:
    specs = parse_actions(text)
    rows = []
    for spec in specs:
        definition = text if len(specs) == 1 else dump_yaml({"version": "2.0", spec.name: spec.raw})
        rows.append(_store_action(session, spec, definition, namespace, scope, update))
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


def get_action(session: Session, identifier: str, namespace: str = "") -> ActionDefinition:
    row = session.get(ActionDefinition, identifier) or find_action(session, identifier, namespace)
    if row is None:
        raise NotFound(f"Action not found [action_name={identifier}, namespace={namespace}]")
    return row


def delete_action(session: Session, identifier: str, namespace: str = "") -> None:
    if registry.find(identifier) is not None:
        raise EngineError(f"Attempt to delete a system action: {identifier}")
    session.delete(get_action(session, identifier, namespace))


def validate_actions(text: str) -> None:
    parse_actions(text)


# -- workbooks ----------------------------------------------------------------------------------------


def save_workbook(session: Session, text: str, namespace: str = "", scope: str = "private",
                  update: bool = False) -> Workbook:
    """Store a workbook with its workflows and actions (replacing them on update)."""
    spec = parse_workbook(text)
    existing = get_workbook_or_none(session, spec.name, namespace)
    if existing is not None and not update:
        raise Conflict(f"Duplicate entry for Workbook ['name', 'namespace']: {spec.name}, {namespace}")
    if existing is None and update:
        raise NotFound(f"Workbook not found [name={spec.name}, namespace={namespace}]")
    if existing is not None:
        _delete_contents(session, spec.name, namespace)
    row = existing or Workbook(name=spec.name, namespace=namespace)
    row.definition, row.spec, row.tags, row.scope = text, {"name": spec.name}, list(spec.tags), scope
    if existing is not None:
        row.updated_at = utc_now()
    session.add(row)
    for workflow in spec.workflows:
        if find_by_name(session, workflow.name, namespace, exact=True) is not None:
            raise Conflict(f"Duplicate entry for WorkflowDefinition: {workflow.name}, {namespace}")
        definition = dump_yaml({"version": "2.0", workflow.name: workflow.raw})
        session.add(WorkflowDefinition(
            name=workflow.name, namespace=namespace, definition=definition,
            spec={"name": workflow.name, **workflow.raw}, tags=list(workflow.tags), scope=scope,
            checksum=checksum(definition), workbook_name=spec.name,
        ))
    for action in spec.actions:
        _store_action(session, action, dump_yaml({"version": "2.0", action.name: action.raw}), namespace,
                      scope, update=False, workbook=spec.name)
    session.flush()
    return row


def _delete_contents(session: Session, name: str, namespace: str) -> None:
    session.execute(delete(WorkflowDefinition).where(
        WorkflowDefinition.workbook_name == name, WorkflowDefinition.namespace == namespace))
    session.execute(delete(ActionDefinition).where(
        ActionDefinition.workbook_name == name, ActionDefinition.namespace == namespace))
    session.flush()


def get_workbook_or_none(session: Session, name: str, namespace: str = "") -> Workbook | None:
    return session.scalars(select(Workbook).where(Workbook.name == name, Workbook.namespace == namespace)).first()


def get_workbook(session: Session, name: str, namespace: str = "") -> Workbook:
    row = get_workbook_or_none(session, name, namespace)
    if row is None:
        raise NotFound(f"Workbook not found [name={name}, namespace={namespace}]")
    return row


def delete_workbook(session: Session, name: str, namespace: str = "") -> None:
    row = get_workbook(session, name, namespace)
    refuse_if_scheduled(session, list(session.scalars(select(WorkflowDefinition.name).where(
        WorkflowDefinition.workbook_name == name, WorkflowDefinition.namespace == namespace))), namespace)
    _delete_contents(session, name, namespace)
    session.delete(row)


def validate_workbook(text: str) -> None:
    parse_workbook(text)
