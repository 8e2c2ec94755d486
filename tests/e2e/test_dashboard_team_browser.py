"""The Team page in a real browser (issue 22): an owner invites a viewer, the viewer sets its
password through the one-time link and signs in, cannot create a key; disabled, its session ends."""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import PASSWORD, check_page, new_user, sign_in


async def test_an_owner_invites_a_viewer_who_can_read_but_not_create_a_key(
    page: Page, browser: Browser, frontend: Any, make_merchant: Any, db: Any
) -> None:
    merchant = await make_merchant()
    owner = await new_user(db, "merchant", merchant.merchant_id)
    invitee = f"viewer-{secrets.token_hex(4)}@example.com"
    await sign_in(page, frontend.url, owner)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    await expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    await page.get_by_label("Email", exact=True).fill(invitee)
    await page.locator("#invite-role").select_option("viewer")
    await page.get_by_role("button", name="Invite").click()
    link = (await page.get_by_test_id("invite-link").inner_text()).strip()
    assert re.fullmatch(r"http://[^/]+/reset/pwl_[A-Za-z0-9_-]{43}", link), link
    await expect(page.locator(f'tr[data-member="{invitee}"]')).to_contain_text("invited")
    await check_page(page, "team")
    await page.set_viewport_size({"width": 360, "height": 780})  # a phone: the table scrolls, the page does not
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await check_page(page, "team-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # axe-core
    viewer = await context.new_page()
    viewer.set_default_timeout(10_000)
    await viewer.goto(link)
    await check_page(viewer, "set-password")
    await viewer.get_by_label("New password").fill(PASSWORD)
    await viewer.get_by_label("Repeat it").fill(PASSWORD)
    await viewer.get_by_role("button", name="Set password").click()
    await expect(viewer.get_by_role("status")).to_contain_text("Your password is set")
    await sign_in(viewer, frontend.url, invitee)
    assert await viewer.get_by_role("link", name="Team").count() == 0  # a viewer does not manage the team
    await viewer.goto(f"{frontend.url}/keys")
    await expect(viewer.get_by_test_id("read-only")).to_be_visible()
    assert await viewer.get_by_role("button", name="Create a key").count() == 0
    token = await viewer.locator('input[name="csrf_token"]').first.get_attribute("value")
    forced = await context.request.post(f"{frontend.url}/keys", form={"csrf_token": token or ""})
    assert forced.status == 403 and "not available to your account" in await forced.text()

    await page.reload()
    row = page.locator(f'tr[data-member="{invitee}"]')
    await expect(row).to_contain_text("active")
    await row.get_by_role("button", name="Disable").click()
    await expect(page.locator(f'tr[data-member="{invitee}"]')).to_contain_text("disabled")
    await viewer.goto(f"{frontend.url}/keys")
    await viewer.wait_for_url(re.compile(r".*/signin$"))  # its session ended with the disable
    await context.close()
