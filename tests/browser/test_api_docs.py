"""/v2/docs in a real browser: Swagger UI from the service's own assets, every operation of
/v2/openapi.json rendered, and "Try it out" working once a user has pasted a token."""

from __future__ import annotations

import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.support.browser import console_messages, resource_urls, wait_until

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")



def _operations(base_url: str) -> set[tuple[str, str]]:
    document = requests.get(f"{base_url}/v2/openapi.json", timeout=10).json()
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in METHODS}


def _rendered_operations(driver: webdriver.Chrome) -> set[tuple[str, str]]:
    found = driver.execute_script("""
        return Array.from(document.querySelectorAll('.opblock')).map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary-path').getAttribute('data-path')]);""")
    return {(method, path) for method, path in found}


def _open_docs(driver: webdriver.Chrome, base_url: str) -> None:
    driver.get(f"{base_url}/v2/docs")
    wait_until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 0,
               message="Swagger UI to render the operations")


def _operation(driver: webdriver.Chrome, method: str, path: str) -> WebElement:
    found = driver.find_elements(By.XPATH, f"//div[contains(@class, 'opblock-{method.lower()}')]"
                                           f"[.//*[@data-path='{path}']]")
    assert len(found) == 1, f"{len(found)} blocks of {method} {path} on the page"
    return found[0]


def _try_it(driver: webdriver.Chrome, method: str, path: str) -> tuple[str, str]:
    """Run an operation with "Try it out" and return the status and body the page shows."""
    block = _operation(driver, method, path)
    if not block.find_elements(By.CSS_SELECTOR, ".opblock-body"):
        block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    try_out = wait_until(driver, lambda d: block.find_element(By.CSS_SELECTOR, ".try-out__btn"))
    if try_out.text.strip() == "Try it out":
        try_out.click()
    for stale in block.find_elements(By.CSS_SELECTOR, ".btn-clear"):
        stale.click()  # forget the previous answer, so the one awaited below is new
    wait_until(driver, lambda d: block.find_element(By.CSS_SELECTOR, "button.execute")).click()
    status = wait_until(
        driver, lambda d: block.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"),
        message=f"the answer of {method} {path}")
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description")
    return status.text.strip(), body.text


def test_the_page_renders_every_operation_from_the_services_own_assets(
        browser: webdriver.Chrome, secured_api: tuple[str, str]) -> None:
    base_url, _ = secured_api
    console_messages(browser)  # drop what earlier pages logged
    _open_docs(browser, base_url)

    expected = _operations(base_url)
    assert len(expected) > 50
    wait_until(browser, lambda d: _rendered_operations(d) == expected,
               message=f"the {len(expected)} operations of /v2/openapi.json")
    assert browser.title == "Tramontane API v2"
    assert "Tramontane" in browser.find_element(By.CSS_SELECTOR, ".info .title").text

    loaded = resource_urls(browser)
    assert {url.rsplit("/", 1)[-1] for url in loaded} >= {
        "docs", "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "init.js",
        "openapi.json"}
    outside = [url for url in loaded if not url.startswith(base_url + "/")]
    assert outside == [], "the page reached outside the service"
    assert console_messages(browser) == []


def test_a_pasted_token_lets_try_it_out_call_the_api(
        browser: webdriver.Chrome, secured_api: tuple[str, str]) -> None:
    base_url, token = secured_api
    _open_docs(browser, base_url)

    status, _ = _try_it(browser, "GET", "/v2/workflows")
    assert status == "401", "without a token the API refuses"

    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    dialog = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".modal-ux"))
    schemes = dialog.find_elements(By.CSS_SELECTOR, ".auth-container")
    assert [s.find_element(By.CSS_SELECTOR, "h4").text.split(" ")[0] for s in schemes] == ["token", "bearer"]
    schemes[0].find_element(By.CSS_SELECTOR, "input").send_keys(token)
    schemes[0].find_element(By.CSS_SELECTOR, "button.authorize").click()
    wait_until(browser, lambda d: "Authorized" in d.find_element(By.CSS_SELECTOR, ".modal-ux .auth-container").text,
               message="the dialog to take the token")
    dialog.find_element(By.CSS_SELECTOR, "button.btn-done").click()
    wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal-ux"))

    status, body = _try_it(browser, "GET", "/v2/workflows")
    assert status == "200", body
    assert '"workflows"' in body
