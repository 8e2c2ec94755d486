"""Browser tests: Playwright (PyPI) driving Debian's Chromium, headless, against real roles."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from core.dashboard.users import create_user
from core.storage.postgres import Handle

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path("test-artifacts/screenshots")
# axe-core from the npm registry (tests/e2e/axe/package-lock.json; scripts/setup.sh runs `npm ci`).
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Any table cut off: its content wider than the box that shows it.
CUT_OFF = """() => Array.from(document.querySelectorAll('.table-wrap'))
  .filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => `${(w.querySelector('th') || w).textContent.trim().slice(0, 40)} (${w.scrollWidth} > ${w.clientWidth}px,`
    + ` widest cell: ${[...w.querySelectorAll('td')]
        .sort((a, b) => b.offsetWidth - a.offsetWidth)[0]?.innerHTML.slice(0, 80)})`)"""
PASSWORD = "a long browser password"
BLOCKING = ("serious", "critical")

# Inputs, selects and textareas a person fills in that no <label> names.
UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button'].includes(el.type))
  .filter(el => !(el.labels && el.labels.length && el.labels[0].textContent.trim()))
  .map(el => el.name || el.id || el.outerHTML)"""


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    # bypass_csp: only so the test can inject axe-core; the pages' own CSP allows no scripts
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    tab = await context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    await context.close()


async def check_page(page: Page, name: str) -> None:
    """Accessibility basics on the page as shown, then a screenshot artifact named `name`."""
    title = (await page.title()).strip()
    assert title and not title.startswith("·"), f"{page.url}: empty title"
    assert await page.evaluate(UNLABELLED) == [], f"{page.url}: fields without a label"
    assert await page.locator('meta[name="viewport"]').count() == 1
    assert await page.evaluate(CUT_OFF) == [], f"{page.url}: a table is cut off at this width"
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("async () => (await axe.run(document)).violations")
    serious = [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:120]}" for v in found if v["impact"] in BLOCKING]
    assert serious == [], f"{page.url}: axe-core found {serious}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def new_user(db: Handle, role: str, merchant_id: str | None = None) -> str:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    await create_user(db, email, PASSWORD, role, merchant_id)
    return email


async def sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/signin")
    await check_page(page, "signin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r".*/(manage/merchants)?$"))


@pytest.fixture
def frontend(start_role: Any) -> Any:
    return start_role("frontend")
