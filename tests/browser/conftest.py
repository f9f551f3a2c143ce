"""Playwright fixtures driving Debian's Chromium (never a downloaded browser).

The browser tests run in their own CI leg (.ci/legs/30-browser.sh: `pytest tests/browser -m browser`);
any other run skips them, so `make test` does not run them twice. Scan results are recorded
through checklists.workflow.record_scan_result from the test: the scanners and the worker are
the edge of the world for a UI test, and have their own tests.
"""

import os
from pathlib import Path

import pytest

from tests.helpers.browser import DESKTOP

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _selected(config) -> bool:
    return "browser" in (config.getoption("-m") or "") or bool(os.environ.get("RELEASEGATE_BROWSER_TESTS"))


def pytest_collection_modifyitems(config, items):
    if _selected(config):
        return
    skip = pytest.mark.skip(
        reason="browser tests run in .ci/legs/30-browser.sh: pytest tests/browser -m browser"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: apt-get install -y chromium (the CI leg does)")
    from playwright.sync_api import sync_playwright

    # Sync Playwright runs an event loop in this thread; Django's ORM would refuse to run beside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.problems = problems
    yield page
