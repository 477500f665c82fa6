"""What to do next, appended to the refusals newcomers meet most.

Each refusal keeps Mistral's own text as its first line, so clients and scripts that match on it go
on working; the hint follows on a line of its own, ``Hint: ...``.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import definitions
from app.engine.errors import NotFound
from app.models import WorkflowDefinition

SEPARATOR = "\nHint: "
SEND_JSON = ("this endpoint reads a JSON body: send it with the header 'Content-Type: application/json' "
             "(curl -d sends a form unless given -H 'Content-Type: application/json')")
# Enough of a body to recognise it, not a wall of text in an error.
SHOWN_CHARACTERS = 200
# Names compared with an unknown one: a bounded query, whatever the number of workflows.
COMPARED_NAMES = 5000


def hinted(text: str, hint: str | None) -> str:
    return f"{text}{SEPARATOR}{hint}" if hint else text


def yaml_body(body: str) -> str | None:
    """The hint for a body that is not JSON, when it reads as YAML (None otherwise)."""
    try:
        parsed = yaml.safe_load(body)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    if not isinstance(parsed, (dict, list)):
        return None
    if isinstance(parsed, dict) and "version" in parsed:
        return ("the body is a workflow definition in YAML: upload it with POST /v2/workflows "
                "(Content-Type: text/plain), then start it here with a JSON body such as "
                '{"workflow_name": "<name>", "input": {}}')
    try:
        as_json = json.dumps(parsed, default=str)
    except (TypeError, ValueError, RecursionError):
        return "the body reads as YAML, but this endpoint takes JSON (Content-Type: application/json)"
    if len(as_json) > SHOWN_CHARACTERS:
        as_json = as_json[:SHOWN_CHARACTERS] + "..."
    return f"the body reads as YAML, but this endpoint takes JSON (Content-Type: application/json): {as_json}"


def unknown_workflow(session: Session, name: str, namespace: str) -> str:
    """Close names in the namespace asked (and the default one), or where the name does exist."""
    if definitions.UUID_PATTERN.match(name):
        return "no workflow has this id; GET /v2/workflows lists the workflows with their ids"
    elsewhere = session.scalars(
        select(WorkflowDefinition.namespace).where(WorkflowDefinition.name == name).limit(3)).all()
    if elsewhere:
        spaces = ", ".join(repr(space) for space in elsewhere)
        return (f"a workflow named {name!r} exists in namespace {spaces}: give it as \"workflow_namespace\" "
                "to start that one")
    namespaces = {namespace, ""}
    names = session.scalars(
        select(WorkflowDefinition.name).where(WorkflowDefinition.namespace.in_(namespaces))
        .limit(COMPARED_NAMES)).all()
    close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.6)
    listing = "GET /v2/workflows lists the workflows; POST /v2/workflows uploads one"
    if not close:
        return f"no workflow has a name close to {name!r}; {listing}"
    return f"did you mean {' or '.join(repr(c) for c in close)}? {listing}"


def workflow_input(session: Session, identifier: str, namespace: str, given: dict[str, Any]) -> str | None:
    """The input the workflow declares, the required names first, and what the request gave."""
    try:
        row = definitions.get_workflow(session, identifier, namespace)
    except NotFound:
        return None
    declared = definitions.input_text(row.spec) or "none"
    required = [str(item) for item in row.spec.get("input") or [] if not isinstance(item, dict)]
    return (f"{row.name} takes the input {declared}; required (no default): {', '.join(required) or 'none'}; "
            f"given: {', '.join(sorted(given)) or 'none'}. Give the input as a JSON object in \"input\", "
            'e.g. "input": {"<input name>": <value>}')
