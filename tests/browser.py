"""Headless Chromium for the browser tests of both suites.

Debian's ``chromium`` package, driven by Playwright (Playwright's own browser builds
cannot be downloaded here). Outside CI a test using these fixtures skips when the
browser or Playwright is missing; in CI (``CI=true``, as ``.ci/run`` sets it) that is
a failure, so the browser tests can never silently stop running.
"""

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
# Playwright's own browser builds cannot be downloaded here; Debian's Chromium is used as is.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _unavailable(reason):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; .ci/run installs it, so CI must have it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    if not shutil.which(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    # Playwright's sync API keeps an event loop running on this thread, which Django
    # would otherwise take for an async context and refuse database access from.
    allow_async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            yield browser
            browser.close()
    finally:
        if allow_async_unsafe is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allow_async_unsafe


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()
