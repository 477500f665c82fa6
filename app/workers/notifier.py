"""Delivers one execution notification to its webhook (see app.engine.notifications).

Like Mistral, a delivery is tried once: a webhook that is down misses the event, and the workflow
goes on regardless. The worker's outbound HTTP policy applies.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from app.actions.base import ActionError
from app.actions.egress import EgressSession, policy_from_settings
from app.config import Settings

log = logging.getLogger(__name__)
TIMEOUT = (3.0, 10.0)  # connect, read


def deliver(settings: Settings, url: str, headers: dict[str, str], body: dict[str, Any]) -> bool:
    """POST the event; True when the webhook answered 2xx."""
    try:
        with EgressSession(policy_from_settings(settings)) as http:
            response = http.post(url, json=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
    except (requests.RequestException, OSError, ValueError, ActionError) as exc:
        log.warning("notification %s of %s to %s failed: %s", body.get("event"), body.get("id"), url, exc)
        return False
    if not 200 <= response.status_code < 300:
        log.warning("notification %s of %s to %s answered %s", body.get("event"), body.get("id"), url,
                    response.status_code)
        return False
    return True
