"""A real browser for the tests: Debian's chromium driven through its chromedriver by Selenium.

Nothing here downloads anything: the browser and the driver are the Debian packages `chromium` and
`chromium-driver` (./test.sh installs them when missing), named by path, so Selenium Manager never
runs (it would fetch a browser and a driver from the network). The browser starts headless with a
fresh profile and without the background traffic Chromium makes on its own (component updates,
sync, first-run pages), so whatever requests a test sees come from the page under test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.selenium_manager import SeleniumManager
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
DESKTOP = (1280, 800)
PHONE_WIDTH = 390

T = TypeVar("T")
# What Selenium raises while a page is still changing under a wait: "not yet", not a failure.
_CHANGING = (NoSuchElementException, StaleElementReferenceException)


class BrowserMissing(RuntimeError):
    """Raised when chromium or chromedriver is not installed where the tests look for them."""


def chromium_options(profile: Path) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",                      # runs as root in CI containers, where the sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",           # small /dev/shm in containers crashes tabs otherwise
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--password-store=basic",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    # The page's console messages, readable with console_messages().
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@contextmanager
def _no_selenium_manager() -> Iterator[None]:
    """Make any call to Selenium Manager fail loudly instead of reaching the network."""
    original = SeleniumManager.binary_paths

    def refuse(self: SeleniumManager, args: list[str]) -> dict[str, str]:
        raise BrowserMissing(f"Selenium Manager must not run (asked for {args}); give the driver's path")

    SeleniumManager.binary_paths = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        SeleniumManager.binary_paths = original  # type: ignore[method-assign]


def start_chromium(profile: Path, log_path: Path | None = None) -> webdriver.Chrome:
    """Start headless chromium with a fresh profile in `profile`, at the desktop size."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise BrowserMissing(
                f"{path} is missing: install Debian's chromium and chromium-driver "
                "(apt-get install chromium chromium-driver; ./test.sh does it), or set CHROMIUM_BINARY and "
                "CHROMEDRIVER")
    if profile.exists():
        shutil.rmtree(profile)
    profile.mkdir(parents=True)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(log_path) if log_path else None)
    with _no_selenium_manager():
        driver = webdriver.Chrome(options=chromium_options(profile), service=service)
    driver.set_window_size(*DESKTOP)
    return driver


def wait_until(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], T], timeout: float = 15,
               message: str = "") -> T:
    """Wait until `condition(driver)` returns something truthy, and return it.

    `condition` may be one of Selenium's expected_conditions or any callable; exceptions Selenium
    raises while the page changes under it (an element not there yet) count as "not yet". On timeout
    the error names what was awaited and the page's address.
    """
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=_CHANGING).until(condition)
    except TimeoutException:
        what = message or getattr(condition, "__name__", repr(condition))
        raise AssertionError(f"waited {timeout} s for {what} on {driver.current_url}") from None


def save_screenshot(driver: webdriver.Chrome, path: Path | str) -> Path:
    """Save a PNG of the viewport to `path` (folders made as needed) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(target)):
        raise AssertionError(f"the browser could not save a screenshot to {target}")
    return target


def resize(driver: webdriver.Chrome, width: int, height: int = DESKTOP[1]) -> None:
    """Set the window size and wait until the page sees the new width."""
    driver.set_window_size(width, height)
    # The page sees the new size a moment later (the resize reaches it asynchronously).
    wait_until(driver, lambda d: d.execute_script("return window.innerWidth") <= width, timeout=5,
               message=f"the page to be {width} px wide")


@contextmanager
def phone_width(driver: webdriver.Chrome, width: int = PHONE_WIDTH) -> Iterator[webdriver.Chrome]:
    """Show the page 390 px wide (a phone) inside the block, at the desktop size again after it."""
    resize(driver, width, 844)
    try:
        yield driver
    finally:
        resize(driver, *DESKTOP)


def console_messages(driver: webdriver.Chrome, level: str = "SEVERE") -> list[dict[str, Any]]:
    """The page's console messages of `level` (SEVERE: errors) since the last call."""
    return [entry for entry in driver.get_log("browser") if entry.get("level") == level]


def resource_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the current page loaded: the document itself and each resource it fetched."""
    return list(driver.execute_script(
        "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name))"))
