"""Action lists and workbooks: the two other kinds of definition documents."""

from __future__ import annotations

from typing import Any

from app.engine.errors import DSLError
from app.engine.language.inline import InlineSyntaxError, split_command
from app.engine.language.parser import (
    Problems,
    check_keys,
    check_version,
    parse_input_decl,
    parse_workflow,
    string_list,
    to_mapping,
)
from app.engine.language.spec import ActionSpec, WorkbookSpec
from app.engine.language.yaml_loader import load_yaml

ACTION_KEYS = {"name", "version", "description", "tags", "base", "base-input", "input", "output"}
WORKBOOK_KEYS = {"version", "name", "description", "tags", "workflows", "actions"}


def _document(text: str, problems: Problems, strict_version: bool) -> dict[str, Any]:
    document = load_yaml(text)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise DSLError(["<root>: the definition must be a mapping"])
    check_version(document, problems, strict=strict_version)
    return document


def parse_actions(text: str) -> list[ActionSpec]:
    """Parse an action list document (``version`` plus one or more ad-hoc actions)."""
    problems = Problems()
    document = _document(text, problems, strict_version=False)
    names = [key for key in document if key != "version"]
    if not names:
        problems.add("<root>", "no action is defined")
    specs = [parse_action(str(name), document[name], str(name), problems) for name in names]
    if problems:
        raise DSLError(problems)
    return [spec for spec in specs if spec is not None]


def parse_action(name: str, raw: Any, path: str, problems: Problems) -> ActionSpec | None:
    if not isinstance(raw, dict):
        problems.add(path, "an action must be a mapping")
        return None
    check_keys(raw, ACTION_KEYS, path, problems)
    base = raw.get("base")
    if not isinstance(base, str) or not base.strip():
        problems.add(f"{path}.base", "is required and must be an action name")
        return None
    try:
        base_name, inline = split_command(base)
    except InlineSyntaxError as exc:
        problems.add(f"{path}.base", f"bad inline parameters: {exc}")
        return None
    return ActionSpec(
        name=name,
        base=base_name,
        base_input={**inline, **to_mapping(raw.get("base-input"), f"{path}.base-input", problems)},
        input=parse_input_decl(raw.get("input"), f"{path}.input", problems),
        output=raw.get("output"),
        description=str(raw.get("description") or ""),
        tags=string_list(raw.get("tags"), f"{path}.tags", problems),
        raw=raw,
    )


def parse_workbook(text: str) -> WorkbookSpec:
    """Parse a workbook; its workflows and actions are named ``<workbook>.<name>``."""
    problems = Problems()
    document = _document(text, problems, strict_version=True)
    check_keys(document, WORKBOOK_KEYS, "<root>", problems)
    name = document.get("name")
    if not isinstance(name, str) or not name.strip() or " " in name:
        problems.add("name", "is required: a workbook name without spaces")
        name = "workbook"
    workflows = []
    for wf_name, raw in to_mapping(document.get("workflows"), "workflows", problems).items():
        spec = parse_workflow(f"{name}.{wf_name}", raw, f"workflows.{wf_name}", problems)
        if spec is not None:
            workflows.append(spec)
    actions = []
    for action_name, raw in to_mapping(document.get("actions"), "actions", problems).items():
        action = parse_action(f"{name}.{action_name}", raw, f"actions.{action_name}", problems)
        if action is not None:
            actions.append(action)
    # A workbook with only its version and name is valid, as in Mistral.
    if problems:
        raise DSLError(problems)
    return WorkbookSpec(name=name, workflows=tuple(workflows), actions=tuple(actions),
                        description=str(document.get("description") or ""),
                        tags=string_list(document.get("tags"), "tags", Problems()))
