from __future__ import annotations

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("path", ["/v2/event_triggers", "/v2/code_sources/x", "/v2/dynamic_actions",
                                  "/v2/workflows/some-id/members"])
def test_parts_of_mistral_not_offered_answer_501(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 501
    assert "not supported" in response.get_json()["faultstring"]
