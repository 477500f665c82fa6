"""The seed's story in a real browser against the real stack (gunicorn, Celery worker, Redis): a
workflow sends a request to a third party and waits; the inbox shows what was sent; a person
completes the action there; the execution's graph turns green. And a completion that comes second
gets the service's refusal, shown plainly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions

from tests.support.browser import console_messages, wait_until
from tests.support.stack import LiveStack
from tests.support.third_party import ThirdParty

# The seed's workflow: the sum of a and b is computed by a web service that answers later.
SEED = """
version: '2.0'
{name}:
  tasks:
    one_plus_two:
      action: mistral_http url={url}
      input:
        params:
          a: 1
          b: 2
        headers:
          Authorization: Bearer s3cret-of-the-service
      publish:
        sum: <% task().result %>
      on-success: report
    report:
      action: std.noop
  output:
    sum: <% $.sum %>
"""


@pytest.fixture()
def third_party() -> Iterator[ThirdParty]:
    # It takes the request and answers at once; the result comes later, from the browser.
    with ThirdParty(callback_route="") as party:
        yield party


def _started(stack: LiveStack, third_party: ThirdParty, name: str | None = None) -> tuple[str, str, str]:
    """Start the seed's workflow (defined first unless ``name`` is given); (workflow name, execution
    id, action execution id) once its request was received and recorded."""
    if name is None:
        name = f"console_inbox_{uuid.uuid4().hex[:8]}"
        stack.create_workflow(SEED.format(name=name, url=f"{third_party.url}/sum"))
    sent_before = len(third_party.requests)
    execution_id: str = stack.start_execution(name)["id"]
    _wait_for(lambda: len(third_party.requests) > sent_before, "the third party to receive the request")
    action_id: str = third_party.requests[-1]["headers"]["Mistral-Action-Execution-Id"]
    _wait_for(lambda: stack.get(f"/v2/action_executions/{action_id}").json()["sent_request"],
              "the request to be recorded")
    return name, execution_id, action_id


def _wait_for(condition: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


def _card(browser: webdriver.Chrome, action_id: str) -> WebElement:
    return wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'article[data-action="{action_id}"]'),
                      message=f"the inbox card of {action_id}")


def _in_card(browser: webdriver.Chrome, action_id: str, selector: str) -> WebElement:
    return wait_until(browser, lambda d: _card(d, action_id).find_element(By.CSS_SELECTOR, selector),
                      message=f"{selector} in the inbox card of {action_id}")


def _submit(card: WebElement, label: str) -> None:
    card.find_element(By.XPATH, f'.//button[normalize-space()="{label}"]').click()


def test_the_seed_story_waits_in_the_inbox_is_completed_there_and_the_graph_turns_green(
        browser: webdriver.Chrome, stack: LiveStack, third_party: ThirdParty) -> None:
    name, execution_id, action_id = _started(stack, third_party)
    received = third_party.requests[-1]["headers"]

    browser.get(stack.url("/console/inbox"))
    unfiltered = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "f-workflow").send_keys(name)
    browser.find_element(By.XPATH, '//button[normalize-space()="Filter"]').click()
    # The unfiltered page lists the card too: only a card of the filtered page may be kept.
    wait_until(browser, expected_conditions.staleness_of(unfiltered), message="the filtered inbox")
    card = _card(browser, action_id)
    assert f"{name} › one_plus_two" in card.find_element(By.TAG_NAME, "h2").text
    # The page's poll replaces a card's facts and request every few seconds: each read finds them
    # again (wait_until takes a stale element for "not yet").
    assert _in_card(browser, action_id, "[data-age]").text[0].isdigit()
    # What the third party received: method, URL, the Mistral-* headers; the credential hidden.
    summary = _in_card(browser, action_id, ".sent-request summary")
    assert summary.text == f"Request sent: GET {third_party.url}/sum?a=1&b=2"
    wait_until(browser, lambda d: _in_card(d, action_id, ".sent-request summary").click() or True,
               message="the request's details to open")
    headers = wait_until(browser, lambda d: {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in _card(d, action_id).find_elements(By.CSS_SELECTOR, ".sent-request tbody tr")},
        message="the headers sent")
    for header in ("Mistral-Workflow-Name", "Mistral-Workflow-Execution-Id", "Mistral-Task-Id",
                   "Mistral-Action-Execution-Id", "Mistral-Callback-URL", "Mistral-Callback-Full-URL"):
        assert headers[header] == received[header], header
    assert received["Authorization"] == "Bearer s3cret-of-the-service" and headers["Authorization"] == "***"
    assert "s3cret" not in browser.page_source

    # Invalid JSON is shown at the field and nothing is sent (no confirmation is even asked).
    output = card.find_element(By.CSS_SELECTOR, "textarea[name=output]")
    output.send_keys("{oops")
    _submit(card, "Complete with SUCCESS")
    wait_until(browser, lambda d: "Not valid JSON" in card.find_element(By.CSS_SELECTOR, ".field-error").text,
               message="the JSON error at the field")
    assert stack.get(f"/v2/action_executions/{action_id}").json()["state"] == "RUNNING"

    output.clear()
    output.send_keys("3")
    _submit(card, "Complete with SUCCESS")
    alert = wait_until(browser, lambda d: d.switch_to.alert, message="the confirmation")
    assert f"Complete {name} › one_plus_two with SUCCESS" in alert.text
    alert.accept()
    flash = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".flash.ok"), message="the answer")
    assert f"{name} › one_plus_two: completed with SUCCESS" in flash.text
    assert not browser.find_elements(By.CSS_SELECTOR, f'article[data-action="{action_id}"]')

    # The workflow goes on in the worker: its graph turns green.
    browser.get(stack.url(f"/console/executions/{execution_id}"))
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-execution-state]").text == "SUCCESS",
               timeout=30, message="the execution to succeed")
    for task in ("one_plus_two", "report"):
        node = browser.find_element(By.CSS_SELECTOR, f'.wf-graph [data-task="{task}"]')
        assert "state-success" in node.get_attribute("class"), task
    assert stack.get(f"/v2/executions/{execution_id}").json()["output"] == '{"sum": 3}'
    assert console_messages(browser) == []


def test_a_completion_that_comes_second_shows_the_refusal(
        browser: webdriver.Chrome, stack: LiveStack, third_party: ThirdParty) -> None:
    name, _, action_id = _started(stack, third_party)
    browser.get(stack.url(f"/console/inbox?workflow={name}"))
    card = _card(browser, action_id)
    card.find_element(By.CSS_SELECTOR, "input[name=error]").send_keys("the approver said no")

    # Meanwhile the third party calls back first.
    answered = stack.put(f"/v2/action_executions/{action_id}", json={"state": "SUCCESS", "output": 3})
    assert answered.status_code == 200

    _submit(card, "Fail with ERROR")
    wait_until(browser, lambda d: d.switch_to.alert, message="the confirmation").accept()
    flash = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".flash.error"), message="the refusal")
    assert flash.text == (f"Refused (409 Conflict): Action execution {action_id} is already completed "
                          "[state=SUCCESS]; the completion was refused.")
    action = stack.get(f"/v2/action_executions/{action_id}").json()
    assert (action["state"], action["output"]) == ("SUCCESS", '{"result": 3}')
    assert console_messages(browser) == []


def test_the_inbox_follows_new_and_completed_actions_without_losing_what_is_typed(
        browser: webdriver.Chrome, stack: LiveStack, third_party: ThirdParty) -> None:
    name, _, first = _started(stack, third_party)
    browser.get(stack.url(f"/console/inbox?workflow={name}"))
    _card(browser, first)
    count = browser.find_element(By.CSS_SELECTOR, "[data-inbox-count]")
    assert count.text == "1 action is waiting."

    _, _, second = _started(stack, third_party, name)
    typed = _card(browser, second)  # appears by itself, after the first (oldest first)
    cards = [c.get_attribute("data-action") for c in browser.find_elements(By.CSS_SELECTOR, "article[data-action]")]
    assert cards == [first, second]
    wait_until(browser, lambda d: count.text == "2 actions are waiting.", message="the new count")
    typed.find_element(By.CSS_SELECTOR, "textarea[name=output]").send_keys('{"approved": true}')

    # Both are completed elsewhere: the untouched card goes, the one being filled in stays and says so.
    for action_id in (first, second):
        assert stack.put(f"/v2/action_executions/{action_id}", json={"state": "SUCCESS"}).status_code == 200
    wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'article[data-action="{first}"]'),
               message="the completed card to go")
    wait_until(browser, lambda d: "completed elsewhere" in typed.text, message="the note on the card in use")
    assert typed.find_element(By.CSS_SELECTOR, "textarea[name=output]").get_attribute("value") == '{"approved": true}'
    assert count.text == "Nothing is waiting for a callback."
    assert console_messages(browser) == []
