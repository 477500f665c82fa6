"""The console in a real browser, against the real stack (gunicorn, Celery worker, scheduler, Redis).

Covers: a failed execution rerun from its failed task until the graph turns green; login with
authentication on, and logout; a form sent without its CSRF token refused; no horizontal scroll
and no overlapping elements at a phone's 390 px width. ``CONSOLE_SCREENSHOTS=docs/console`` makes
the screenshot test write the documentation's screenshots there (1280x800); without it they go to
the run's temporary folder.
"""

from __future__ import annotations

import os
import struct
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support.browser import console_messages, phone_width, save_screenshot, wait_until
from tests.support.stack import LiveStack

FIXABLE = """
version: '2.0'
{name}:
  description: reads a setting from its env; fails until it is given
  tasks:
    prepare:
      action: std.echo output="ready"
      on-success: check
    check:
      action: std.echo output=<% env().fixed %>
      publish:
        fixed: <% task().result %>
      on-success: report
    report:
      action: std.noop
"""

SHOWCASE = """
version: '2.0'
{name}:
  description: fetch, transform in parallel, wait for approval, publish
  input:
    - items: [1, 2, 3]
    - approver: ops@example.com
  tasks:
    fetch:
      action: std.echo output=<% $.items %>
      publish:
        rows: <% task().result %>
      on-success: [transform, validate]
    transform:
      with-items: row in <% $.rows %>
      action: std.echo output=<% $.row * 2 %>
      on-success: approve
    validate:
      action: std.noop
      on-success: approve
      on-error: fail
    approve:
      join: all
      action: std.async_noop
      on-success: publish
    publish:
      action: std.noop
"""


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _css(driver: webdriver.Chrome, selector: str) -> list[webdriver.remote.webelement.WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def _classes(driver: webdriver.Chrome, task: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'.wf-graph [data-task="{task}"]').get_attribute("class") or ""


def _failed_execution(stack: LiveStack) -> str:
    name = _name("settings_check")
    stack.create_workflow(FIXABLE.format(name=name))
    execution_id: str = stack.start_execution(name)["id"]
    assert stack.wait_for_state(execution_id)["state"] == "ERROR"
    return execution_id


def test_console_reruns_a_failed_task_and_the_graph_turns_green(browser: webdriver.Chrome,
                                                                 stack: LiveStack) -> None:
    execution_id = _failed_execution(stack)
    console_messages(browser)  # what earlier pages logged is theirs
    browser.get(stack.url(f"/console/executions/{execution_id}"))
    assert "env().fixed" in browser.find_element(By.CSS_SELECTOR, ".failure pre").text
    assert "state-error" in _classes(browser, "check")
    browser.find_element(By.CSS_SELECTOR, '[data-failed-task="check"] textarea[name="env"]').send_keys(
        '{"fixed": "yes"}')
    browser.find_element(By.XPATH, '//button[normalize-space()="Rerun check"]').click()
    alert = wait_until(browser, lambda d: d.switch_to.alert, message="the confirmation")
    assert "Rerun the task check" in alert.text
    alert.accept()
    wait_until(browser, lambda d: "runs again" in d.find_element(By.CSS_SELECTOR, ".flash.ok").text,
               message="the answer to the rerun")
    # The page follows the execution live and reads itself again once it has ended.
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-execution-state]").text == "SUCCESS",
               timeout=30, message="the execution to succeed")
    for task in ("prepare", "check", "report"):
        assert "state-success" in _classes(browser, task), task
    assert not _css(browser, ".failure")
    assert stack.wait_for_state(execution_id)["state"] == "SUCCESS"
    assert console_messages(browser) == []


def test_console_shows_a_task_beside_the_graph(browser: webdriver.Chrome, stack: LiveStack) -> None:
    execution_id = _failed_execution(stack)
    browser.get(stack.url(f"/console/executions/{execution_id}"))
    browser.find_element(By.CSS_SELECTOR, '.wf-graph [data-task="prepare"]').click()
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#task-panel h2").text == "prepare",
               message="the task in the panel")
    panel = browser.find_element(By.ID, "task-panel")
    assert "std.echo" in panel.text and "ready" in panel.text
    assert browser.current_url.endswith(execution_id)  # shown in place, not followed
    # A task the server refuses to show (here: of an execution that does not exist) opens as its own
    # page with the refusal, not as a whole page nested in the panel.
    missing = stack.url("/console/executions/no-such-execution/tasks/prepare")
    browser.execute_script("arguments[0].setAttribute('href', arguments[1])",
                           browser.find_element(By.CSS_SELECTOR, '.wf-graph [data-task="check"]'), missing)
    browser.find_element(By.CSS_SELECTOR, '.wf-graph [data-task="check"]').click()
    wait_until(browser, lambda d: d.current_url == missing, message="the refused task's own page")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"


WAITING = """
version: '2.0'
{name}:
  tasks:
    wait:
      action: std.async_noop
      on-success: done
    done:
      action: std.noop
"""


def _running_action(stack: LiveStack, execution_id: str) -> dict[str, Any] | None:
    for task in stack.tasks_of(execution_id):
        for action in stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"]:
            if action["state"] == "RUNNING":
                return action
    return None


def test_console_follows_running_executions_live(browser: webdriver.Chrome, stack: LiveStack) -> None:
    """The list's running rows and the execution's graph change without a reload when the action completes."""
    name = _name("console_live")
    stack.create_workflow(WAITING.format(name=name))
    execution_id = stack.start_execution(name)["id"]
    action: dict[str, Any] = wait_until(browser, lambda d: _running_action(stack, execution_id),
                                        message="the async action to run")
    browser.get(stack.url(f"/console/executions?workflow={name}"))
    row_state = f'//tr[.//a[contains(@href, "{execution_id}")]]//span[contains(@class, "state")]'
    assert browser.find_element(By.XPATH, row_state).text == "RUNNING"
    browser.execute_script("window.notReloaded = true")
    answer = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": {"ok": True}})
    assert answer.status_code == 200, answer.text
    wait_until(browser, lambda d: d.find_element(By.XPATH, row_state).text == "SUCCESS", timeout=20,
               message="the row to show SUCCESS")
    assert browser.execute_script("return window.notReloaded") is True
    # A finished list stops following rows, but its first page still shows an execution started elsewhere.
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "tbody[data-poll]").get_attribute("data-live")
               == "false", message="the list to stop following rows")
    newer_id = stack.start_execution(name)["id"]
    wait_until(browser, lambda d: d.find_elements(By.XPATH, f'//tr[.//a[contains(@href, "{newer_id}")]]'),
               timeout=30, message="the execution started elsewhere to appear")
    assert browser.execute_script("return window.notReloaded") is True


def test_console_is_usable_with_the_keyboard(browser: webdriver.Chrome, stack: LiveStack) -> None:
    """Tab reaches the navigation, the graph's tasks and every recovery control of a failed execution."""
    execution_id = _failed_execution(stack)
    browser.get(stack.url(f"/console/executions/{execution_id}"))
    reached = []
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(60):
        body.send_keys(Keys.TAB)
        reached.append(browser.execute_script(
            "const e = document.activeElement;"
            "return e.dataset.task ? 'task:' + e.dataset.task : (e.textContent || e.name || e.id || '').trim();"))
    for wanted in ("Skip to content", "Executions", "Workflows", "Rerun check", "Skip check", "reset", "env",
                   "task:prepare", "task:check", "task:report"):
        assert any(item == wanted or item.startswith(wanted) for item in reached), (wanted, reached)
    # Enter on a task of the graph shows it in the panel.
    node = browser.find_element(By.CSS_SELECTOR, '.wf-graph [data-task="check"]')
    node.send_keys(Keys.ENTER)
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#task-panel h2").text == "check")



def test_console_login_and_logout_with_auth_on(browser: webdriver.Chrome,
                                               secured_api: tuple[str, str]) -> None:
    base, token = secured_api
    browser.delete_all_cookies()
    browser.get(f"{base}/console/workflows")
    wait_until(browser, lambda d: "/console/login" in d.current_url, message="the login page")
    field = browser.find_element(By.ID, "token")
    assert browser.find_element(By.CSS_SELECTOR, 'label[for="token"]').text == "API token"
    field.send_keys("trm_not-a-token")
    field.submit()
    wait_until(browser, lambda d: "not valid" in d.find_element(By.CSS_SELECTOR, ".flash.error").text)
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.XPATH, '//button[normalize-space()="Log in"]').click()
    wait_until(browser, lambda d: d.current_url.endswith("/console/workflows"), message="the page asked for")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Workflows"
    # The session cookie is out of the page's reach (HttpOnly) and strict.
    assert "tramontane_console" not in browser.execute_script("return document.cookie")
    cookie = browser.get_cookie("tramontane_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    browser.find_element(By.XPATH, '//button[normalize-space()="Log out"]').click()
    wait_until(browser, lambda d: "/console/login" in d.current_url, message="the login page after logout")
    browser.get(f"{base}/console/executions")
    wait_until(browser, lambda d: "/console/login" in d.current_url, message="the login page again")


def test_console_refuses_a_form_without_its_csrf_token(browser: webdriver.Chrome, stack: LiveStack) -> None:
    name = _name("console_csrf")
    browser.get(stack.url("/console/environments"))
    browser.find_element(By.ID, "env-name").send_keys(name)
    browser.execute_script("document.querySelector('form[action$=\"/environments\"] [name=csrf_token]').remove()")
    browser.find_element(By.XPATH, '//button[normalize-space()="Create"]').click()
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Form refused")
    assert "security token" in browser.find_element(By.CSS_SELECTOR, ".flash.error").text
    assert stack.get(f"/v2/environments/{name}").status_code == 404


# What must not overlap: the elements a user reads or operates.
LEAVES = "a, button, input, select, textarea, label, h1, h2, h3, p, th, td, dt, dd, summary, .state, pre"
OVERLAPS = """
const selector = arguments[0];
const width = document.documentElement.clientWidth;
const visible = (e) => {
  const r = e.getBoundingClientRect();
  // checkVisibility: false inside a closed <details> too.
  return r.width > 0 && r.height > 0 && e.checkVisibility({visibilityProperty: true})
    && !e.closest('[hidden], svg, .visually-hidden, .skip, datalist');
};
// Inside a box that scrolls by itself (code, the graph), content may be wider than the page.
const scrolled = (e) => e.parentElement && e.parentElement.closest('.wf-graph-scroll, .hl');
const items = [...document.querySelectorAll(selector)].filter(visible);
const overlaps = [];
// An inline element broken over lines has a box per line: its bounding box would cover its neighbours.
const boxes = items.map(e => [...e.getClientRects()]);
const meet = (p, q) => Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1
  && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 1;
for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
  const a = items[i], b = items[j];
  if (a.contains(b) || b.contains(a)) continue;
  if (boxes[i].some(p => boxes[j].some(q => meet(p, q)))) {
    overlaps.push([a.outerHTML.slice(0, 80), b.outerHTML.slice(0, 80)]);
  }
}
const wider = [...document.querySelectorAll('body *')].filter(visible).filter(e => !scrolled(e))
  .filter(e => e.getBoundingClientRect().right > width + 1).map(e => e.outerHTML.slice(0, 80));
return {overlaps: overlaps.slice(0, 5), wider: wider.slice(0, 5), width: width,
        scroll: document.documentElement.scrollWidth};
"""


def _main_pages(stack: LiveStack) -> dict[str, str]:
    """The console's main pages, on data made for them: name -> path."""
    # A readable name, as the screenshots show it; the definition is replaced if a run left it.
    name = "nightly_export"
    text = SHOWCASE.format(name=name)
    answer = stack.post("/v2/workflows", data=text, headers={"Content-Type": "text/plain"})
    if answer.status_code == 409:
        answer = stack.put("/v2/workflows", data=text, headers={"Content-Type": "text/plain"})
    assert answer.status_code in (200, 201), answer.text
    workflow = answer.json()["workflows"][0]
    stack.delete("/v2/environments/staging")
    assert stack.post("/v2/environments", json={
        "name": "staging", "description": "the staging endpoints",
        "variables": {"base_url": "https://staging.example.com", "api_token": "not-shown"}}).status_code == 201
    stack.delete("/v2/cron_triggers/nightly")
    assert stack.post("/v2/cron_triggers", json={
        "name": "nightly", "workflow_name": name, "pattern": "0 2 * * *",
        "workflow_input": {"items": [1, 2, 3]}}).status_code == 201
    running = stack.start_execution(name, description="nightly export")["id"]
    wait_until_waiting(stack, running)
    failed = _failed_execution(stack)
    return {
        "executions": "/console/executions",
        "execution": f"/console/executions/{running}",
        "failed-execution": f"/console/executions/{failed}",
        "inbox": "/console/inbox",
        "workflows": "/console/workflows",
        "workflow": f"/console/workflows/{workflow['id']}",
        "upload": "/console/workflows/new",
        "cron-triggers": "/console/cron-triggers",
        "environments": "/console/environments",
    }


def wait_until_waiting(stack: LiveStack, execution_id: str) -> None:
    """Until the showcase's approval waits for its callback (its other tasks have run)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = {task["name"]: task["state"] for task in stack.tasks_of(execution_id)}
        if states.get("approve") == "RUNNING":
            return
        time.sleep(0.1)
    raise AssertionError(f"the approval of {execution_id} never started: {stack.tasks_of(execution_id)}")


@pytest.fixture(scope="module")
def main_pages(stack: LiveStack) -> dict[str, str]:
    return _main_pages(stack)


def test_console_at_phone_width_has_no_overlap_and_no_horizontal_scroll(
        browser: webdriver.Chrome, stack: LiveStack, main_pages: dict[str, str]) -> None:
    with phone_width(browser):
        for page, path in main_pages.items():
            browser.get(stack.url(path))
            wait_until(browser, lambda d: d.execute_script("return document.readyState") == "complete")
            found = browser.execute_script(OVERLAPS, LEAVES)
            assert found["width"] <= 390
            assert found["scroll"] <= found["width"], (page, found)
            assert found["wider"] == [], (page, found["wider"])
            assert found["overlaps"] == [], (page, found["overlaps"])


def test_console_controls_are_labelled(browser: webdriver.Chrome, stack: LiveStack,
                                       main_pages: dict[str, str]) -> None:
    unlabelled = """
    return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')].filter(e =>
      !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.textContent || '').trim()
    ).map(e => e.outerHTML.slice(0, 100));"""
    for page, path in main_pages.items():
        browser.get(stack.url(path))
        assert browser.execute_script(unlabelled) == [], page


def test_console_screenshots(browser: webdriver.Chrome, stack: LiveStack, main_pages: dict[str, str],
                             tmp_path: Path) -> None:
    """Screenshots of the main pages at 1280x800 (docs/console/ with CONSOLE_SCREENSHOTS set)."""
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    # The viewport itself at 1280x800, whatever room the window's frame takes.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    try:
        for page in ("executions", "execution", "failed-execution", "inbox", "workflows", "workflow", "upload",
                     "cron-triggers", "environments"):
            browser.get(stack.url(main_pages[page]))
            wait_until(browser, lambda d: d.execute_script("return document.readyState") == "complete")
            path = save_screenshot(browser, folder / f"{page}.png")
            header = path.read_bytes()[:24]
            assert header[:8] == b"\x89PNG\r\n\x1a\n"
            assert struct.unpack(">II", header[16:24]) == (1280, 800), page
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
