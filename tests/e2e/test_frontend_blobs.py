"""The web dApp's Upload, My blobs and Blob pages in Chromium with the test wallet."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e import frontend_harness
from tests.e2e.frontend_harness import UI_TIMEOUT_MS, WalletPage, WebStack

browser = frontend_harness.browser
web = frontend_harness.web
wallet_page = frontend_harness.wallet_page


def test_connect_shows_the_account_and_disconnect_forgets_it(
    web: WebStack, wallet_page: WalletPage
) -> None:
    wallet_page.open("/")
    wallet_page.connect()
    page = wallet_page.page
    address = web.address(0)
    expect(page.locator("#account")).to_have_attribute("title", address)
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("button", name="Connect wallet")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Connect wallet")).to_be_visible(timeout=UI_TIMEOUT_MS)
