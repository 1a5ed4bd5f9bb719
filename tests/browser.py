"""Debian's Chromium driven by Playwright, for the tests of pages (the QR display page, the
desk). A test module calls `needs_chromium` first: without the browser or Playwright it is
skipped with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
# Debian's browser, never one downloaded by `playwright install`; no network but loopback.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def needs_chromium(what: str) -> ModuleType:
    """Skip the calling module unless Chromium and Playwright are here; Playwright's API."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at /usr/bin/chromium, so {what} "
                    "cannot be tested in a browser (.ci/run installs it: apt-get install "
                    "chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.async_api", reason="the playwright package is not "
                               "installed: pip install -e '.[test]'")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
