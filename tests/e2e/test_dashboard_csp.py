"""The dashboard's own Content-Security-Policy in a real browser: its styles still apply, and
nothing on the page is blocked (issue 17, item 12)."""

from __future__ import annotations

from typing import Any

from playwright.async_api import ConsoleMessage, Page

from core.resources import Resources
from tests.e2e.conftest import new_user, sign_in


async def test_pages_render_styled_under_their_policy_with_no_violation(
    page: Page, frontend: Any, make_merchant: Any, resources: Resources
) -> None:
    blocked: list[str] = []
    page.on("console", lambda msg: _collect(msg, blocked))
    await page.add_init_script(  # injected by the browser's debugger protocol, not subject to the policy
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('CSP violation ' + e.violatedDirective))"
    )
    merchant = await make_merchant()
    email = await new_user(resources.db, "merchant", merchant.merchant_id)
    await sign_in(page, frontend.url, email)  # the sign-in page, then the overview (with its chart)
    for path in ("/", "/payins", "/settings/whitelist"):
        answer = await page.goto(frontend.url + path)
        assert answer is not None and "'nonce-" in (await answer.header_value("content-security-policy") or "")
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(245, 246, 248)", path  # the nonce'd style block applied
    assert blocked == []


def _collect(message: ConsoleMessage, into: list[str]) -> None:
    if "Content Security Policy" in message.text or "CSP violation" in message.text:
        into.append(message.text)
