"""List arguments are loaded by each collection's query schema, and refused in Mistral's words."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient

WORKFLOW = """
version: '2.0'
{name}:
  tasks:
    only:
      action: std.noop
"""


def _error(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 400, response.get_json()
    text: str = response.get_json()["faultstring"]
    return text


@pytest.mark.parametrize(("path", "message"), [
    ("/v2/executions?limit=abc", "Invalid input for field/attribute limit. Value: 'abc'. unable to convert to int. "
                                 "Error: invalid literal for int() with base 10: 'abc'"),
    ("/v2/tasks?limit=0", "Limit must be positive."),
    ("/v2/executions?sort_keys=created_at&sort_dirs=asc,desc",
     "Length of sort_keys must be equal or greater than sort_dirs."),
    ("/v2/executions?sort_dirs=up", "Unknown sort direction, must be 'desc' or 'asc'."),
    # The count of directions is checked before the directions themselves, as Mistral checks them.
    ("/v2/executions?sort_dirs=up,down", "Length of sort_keys must be equal or greater than sort_dirs."),
    ("/v2/executions?limit=x&sort_dirs=up", "Invalid input for field/attribute limit. Value: 'x'. unable to convert "
                                            "to int. Error: invalid literal for int() with base 10: 'x'"),
    ("/v2/executions?sort_keys=nope", "Sort key supplied is invalid: nope"),
    ("/v2/workflows?colour=red", 'Unknown argument: "colour"'),
    # A filter is one of the collection's filters, not any column: the engine's own columns are not offered.
    ("/v2/executions?context=x", 'Unknown argument: "context"'),
    ("/v2/tasks?in_context=x", 'Unknown argument: "in_context"'),
    ("/v2/environments?id=x&colour=red", 'Unknown argument: "id"'),
    ("/v2/actions?limit=-1", "Limit must be positive."),
    ("/v2/actions?sort_dirs=sideways", "Unknown sort direction, must be 'desc' or 'asc'."),
])
def test_bad_list_arguments_are_refused_in_mistrals_words(client: FlaskClient, path: str, message: str) -> None:
    assert _error(client, path) == message


def test_arguments_mistrals_client_sends_everywhere_are_taken(client: FlaskClient) -> None:
    for path in ("/v2/tasks?all_projects=false&project_id=p&include_output=true",
                 "/v2/cron_triggers?all_projects=true", "/v2/environments?scope=private&namespace="):
        assert client.get(path).status_code == 200, path


def test_filters_limits_sorts_and_fields_are_applied(client: FlaskClient) -> None:
    run = uuid.uuid4().hex[:8]
    names = [f"list_args_{run}_{letter}" for letter in "abc"]
    for name in names:
        assert client.post("/v2/workflows", data=WORKFLOW.format(name=name),
                           content_type="text/plain").status_code == 201
    page = client.get(f"/v2/workflows?name=in:{','.join(names)}&sort_keys=NAME&sort_dirs=DESC&limit=2"
                      f"&fields=name").get_json()
    assert [item["name"] for item in page["workflows"]] == [names[2], names[1]]
    assert all(set(item) == {"id", "name"} for item in page["workflows"])
    assert f"name=in:{','.join(names)}" in page["next"] and "limit=2" in page["next"]
    rest = client.get(f"/v2/workflows?name=in:{','.join(names)}&sort_keys=name&sort_dirs=desc&limit=2"
                      f"&marker={page['workflows'][-1]['id']}").get_json()
    assert [item["name"] for item in rest["workflows"]] == [names[0]]
    assert "next" not in rest
    others = client.get(f"/v2/workflows?name=neq:{names[0]}&fields=name").get_json()["workflows"]
    assert names[0] not in [item["name"] for item in others] and names[1] in [item["name"] for item in others]
