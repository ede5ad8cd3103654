"""The web dApp's Upload, My blobs and Blob pages in Chromium with the test wallet: a wallet
user stores, lists, downloads, extends, transfers and deletes a blob, and every bad input
(rejected in the wallet, too little WAL, wrong network, file too large, backend down) shows
a message, leaves the UI usable and never pays twice."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, FileChooser, FilePayload, Locator, Page, expect

from backend.chain.compiler import Artifacts
from backend.core.encoder import encode_blob
from backend.sdk.client import Client
from backend.sdk.relay import RegistrationMismatch, UnknownUpload, UploadRelay
from tests.e2e import frontend_harness
from tests.e2e.frontend_harness import (
    MAX_BLOB_BYTES,
    WalletPage,
    WebStack,
    new_wallet_page,
    overflow_at_phone_width,
    screenshot,
)

browser = frontend_harness.browser
web = frontend_harness.web
wallet_page = frontend_harness.wallet_page


def choose_file(page: Page, name: str, data: bytes) -> None:
    file: FilePayload = {"name": name, "mimeType": "application/octet-stream", "buffer": data}
    page.set_input_files("#file-input", files=[file])


def store(page: Page, name: str, data: bytes, *, epochs: int = 2, deletable: bool = True) -> str:
    """Store through the Upload page; returns the blob id the page shows."""
    choose_file(page, name, data)
    page.fill("#epochs", str(epochs))
    page.locator("#deletable").set_checked(deletable)
    page.click("#store")
    result = page.locator("#upload-result")
    expect(result).to_be_visible()
    return page.locator("#result-blob-id").inner_text().strip()


def blob_card(page: Page, blob_id: str) -> Locator:
    return page.locator(f'li.blob[data-blob-id="{blob_id}"]')


def test_connect_shows_the_account_and_disconnect_forgets_it(
    web: WebStack, wallet_page: WalletPage
) -> None:
    page = wallet_page.page
    # listen before anything happens: Playwright turns on file chooser interception
    # asynchronously, and a loaded machine could open the picker before it is on
    choosers: list[FileChooser] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    wallet_page.open("/")
    page.keyboard.press("Tab")  # the skip link first, then the brand, the nav, the wallet
    expect(page.locator(".skip-link")).to_be_focused()
    page.focus("#choose-file")
    page.keyboard.press("Enter")  # the file picker opens from the keyboard
    deadline = time.monotonic() + 30
    while not choosers and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert choosers, "Enter on 'Choose a file' did not open the file picker"
    wallet_page.connect()
    expect(page.locator("#account")).to_have_attribute("title", web.address(0))
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("button", name="Connect wallet")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Connect wallet")).to_be_visible()


def test_store_list_download_extend_transfer_delete(
    web: WebStack, wallet_page: WalletPage, tmp_path: Path
) -> None:
    page = wallet_page.page
    wallet_page.open("/upload")
    wallet_page.connect()
    data = os.urandom(150_000)
    before = web.wal_balance(web.address(0))
    blob_id = store(page, "photo.bin", data, epochs=2)
    assert blob_id == str(encode_blob(data, web.network.n_shards).blob_id)
    assert web.wal_balance(web.address(0)) < before  # the wallet paid
    aggregator = page.locator("#aggregator-link").get_attribute("href")
    assert aggregator == f"{web.url}/v1/blobs/{blob_id}"
    assert requests.get(aggregator, timeout=30).content == data

    # My blobs lists it, with its size and end epoch as a date
    page.get_by_role("link", name="My blobs").first.click()
    card = blob_card(page, blob_id)
    expect(card).to_be_visible()
    expect(card.locator('[data-field="size"]')).to_have_text("146.48 KiB")
    end_epoch = int(card.locator('[data-field="end-epoch"]').get_attribute("data-end-epoch") or 0)
    expect(card.locator('[data-field="end-epoch"]')).to_contain_text(f"epoch {end_epoch} (≈ ")
    expect(card.locator(".badge.ok")).to_have_text("certified")

    # the blob page: available, and Download gives the same bytes
    card.locator(f'a[href="/blob/{blob_id}"]').click()
    expect(page.locator("#availability-badge")).to_have_text("available")
    with page.expect_download() as download:
        page.click("#download")
    assert Path(download.value.path()).read_bytes() == data

    # extend by 3 epochs
    page.go_back()
    card = blob_card(page, blob_id)
    card.locator("summary", has_text="Extend").click()
    card.locator(f"#extend-epochs-{card.get_attribute('data-token-id')}").fill("3")
    expect(card).to_contain_text("costs ")
    card.locator('[data-action="extend"]').click()
    expect(blob_card(page, blob_id).locator('[data-field="end-epoch"]')).to_have_attribute(
        "data-end-epoch", str(end_epoch + 3)
    )

    # an attribute, set and listed
    card = blob_card(page, blob_id)
    card.locator("summary", has_text="Attributes").click()
    card.get_by_label("Attribute key").fill("filename")
    card.get_by_label("Attribute value").fill("photo.bin")
    card.locator('[data-action="set-attribute"]').click()
    expect(blob_card(page, blob_id).locator("summary", has_text="Attributes (1)")).to_be_visible()

    # transfer to the second account: it leaves this list and shows in theirs
    card = blob_card(page, blob_id)
    card.locator("summary", has_text="Transfer").click()
    card.locator("input[id^=transfer-to-]").fill("0x" + "00" * 20)
    card.locator('[data-action="transfer"]').click()  # the contract refuses: shown by name
    expect(card.get_by_role("alert")).to_contain_text("(ERC721InvalidReceiver)")
    card.locator("input[id^=transfer-to-]").fill(web.address(1))
    card.locator('[data-action="transfer"]').click()
    expect(blob_card(page, blob_id)).to_have_count(0)
    wallet_page.wallet.use_account(web.address(1))
    card = blob_card(page, blob_id)
    expect(card).to_be_visible()

    # the new owner deletes it: gone from the list, the aggregator no longer serves it
    card.locator('[data-action="delete"]').click()
    card.locator('[data-action="confirm-delete"]').click()
    expect(blob_card(page, blob_id)).to_have_count(0)
    assert requests.get(aggregator, timeout=30).status_code in (404, 410)


def test_rejected_in_the_wallet_pays_nothing_and_a_retry_never_pays_twice(
    web: WebStack, wallet_page: WalletPage
) -> None:
    page, wallet = wallet_page.page, wallet_page.wallet
    wallet_page.open("/upload")
    wallet_page.connect()
    address = web.address(0)
    before = web.wal_balance(address)
    text = f"shopping list {os.urandom(8).hex()}\n" + "milk, bread, ünïcode\n" * 500
    choose_file(page, "notes.txt", text.encode())
    page.fill("#epochs", "2")
    page.locator("#deletable").set_checked(False)

    wallet.reject_requests()
    page.click("#store")
    message = page.locator("#upload-message")
    expect(message).to_contain_text("You rejected the request in your wallet")
    expect(page.locator("#store")).to_be_enabled()
    assert web.wal_balance(address) == before

    # approve and register go through, certify is rejected: paid once, not certified
    wallet.reject_requests(False)
    wallet.approve_only(2)
    page.click("#store")
    expect(message).to_contain_text("Certify on chain (your wallet) failed")
    expect(message).to_contain_text("rejected")
    paid = before - web.wal_balance(address)
    assert paid > 0

    # trying again re-uses the registration: certified, and nothing more paid
    wallet.approve_only(None)
    page.click("#store")
    expect(page.locator("#upload-result")).to_be_visible()
    expect(page.locator('[data-step="register"]')).to_contain_text("nothing to pay")
    assert before - web.wal_balance(address) == paid

    # the blob page previews it as text (content sniffing: blobs carry no type)
    page.get_by_role("link", name="Open blob page").click()
    page.click("#preview")
    expect(page.locator('.preview[data-kind="text"] pre')).to_contain_text(text.splitlines()[0])


def test_too_little_wal_wrong_network_and_no_wallet_are_explained(
    web: WebStack, wallet_page: WalletPage, browser: Browser
) -> None:
    page, wallet = wallet_page.page, wallet_page.wallet
    wallet_page.open("/upload")
    wallet_page.connect()
    wallet.use_account(web.poor.address)
    choose_file(page, "poor.bin", os.urandom(5_000))
    page.click("#store")
    expect(page.locator("#upload-message")).to_contain_text("Not enough WAL")
    assert "eth_sendTransaction" not in wallet.calls()

    wallet.report_chain(1)
    switch = page.locator("#switch-network")
    expect(switch).to_be_visible()
    choose_file(page, "poor.bin", os.urandom(5_000))
    page.click("#store")
    expect(page.locator("#upload-message")).to_contain_text(f"chain {web.chain_id}")
    switch.click()
    expect(switch).to_have_count(0)

    bare = new_wallet_page(browser, web, wallet=False)
    try:
        bare.open("/upload")
        expect(bare.page.locator("#wallet")).to_contain_text("No wallet found")
        choose_file(bare.page, "x.bin", b"x" * 100)
        bare.page.click("#store")
        expect(bare.page.locator("#upload-message")).to_contain_text("No browser wallet found")
    finally:
        bare.page.context.close()


def test_a_file_too_large_is_refused_before_anything_is_paid(
    web: WebStack, wallet_page: WalletPage
) -> None:
    page = wallet_page.page
    wallet_page.open("/upload")
    choose_file(page, "huge.bin", b"\0" * (MAX_BLOB_BYTES + 1))
    expect(page.locator("#upload-message")).to_contain_text("too large")
    expect(page.locator("#store")).to_be_disabled()
    refused = requests.post(
        f"{web.url}/v1/relay/uploads", data=b"\0" * (MAX_BLOB_BYTES + 1), timeout=60
    )
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "RequestEntityTooLarge"


def test_backend_unreachable_shows_a_message_and_recovers(
    web: WebStack, wallet_page: WalletPage
) -> None:
    page = wallet_page.page
    page.route("**/v1/**", lambda route: route.abort())
    page.goto(web.url + "/upload")
    expect(page.get_by_role("alert")).to_contain_text("The backend does not answer")
    page.unroute("**/v1/**")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", name="Upload a file")).to_be_visible()

    wallet_page.connect()
    before = web.wal_balance(web.address(0))
    page.route("**/v1/relay/**", lambda route: route.abort())
    choose_file(page, "offline.bin", os.urandom(3_000))
    page.click("#store")
    expect(page.locator("#upload-message")).to_contain_text("does not answer")
    expect(page.locator("#store")).to_be_enabled()
    assert web.wal_balance(web.address(0)) == before


def test_relay_and_routing_errors_are_json(web: WebStack) -> None:
    unknown = requests.post(
        f"{web.url}/v1/relay/uploads/nope/certificate", json={"tokenId": 1}, timeout=30
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "UnknownUpload")
    prepared = requests.post(
        f"{web.url}/v1/relay/uploads", params={"epochs": 1}, data=os.urandom(999), timeout=60
    ).json()
    certificate = f"{web.url}/v1/relay/uploads/{prepared['uploadId']}/certificate"
    stranger = requests.post(certificate, json={"tokenId": 10**9}, timeout=30)
    assert (stranger.status_code, stranger.json()["error"]["code"]) == (
        409,
        "RegistrationMismatch",
    )
    malformed = requests.post(certificate, data=b"token 1", timeout=30)
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "BadRequest")
    epochs = requests.post(
        f"{web.url}/v1/relay/uploads", params={"epochs": 0}, data=b"x", timeout=30
    )
    assert (epochs.status_code, epochs.json()["error"]["code"]) == (400, "InvalidEpochs")
    missing = requests.get(f"{web.url}/v1/no-such-route", timeout=30)
    assert missing.status_code == 404 and "no API route" in missing.json()["error"]["message"]
    spa = requests.get(f"{web.url}/blob/some-id", timeout=30)
    assert spa.status_code == 200 and '<div id="notices"' in spa.text
    escape = requests.get(f"{web.url}/assets/..%2f..%2f..%2fpyproject.toml", timeout=30)
    assert escape.status_code == 404 and "walrus-evm" not in escape.text
    deployment = requests.get(f"{web.url}/v1/deployment", timeout=30).json()
    assert deployment["chainId"] == web.chain_id
    assert deployment["contracts"]["BlobRegistry"]["address"] == web.contracts["BlobRegistry"]
    assert any(
        item.get("name") == "registerBlob"
        for item in deployment["contracts"]["BlobRegistry"]["abi"]
    )


def png(width: int, height: int) -> bytes:
    """A small RGB gradient PNG (an image to preview)."""
    rows = b"".join(
        b"\0" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 160))
        for y in range(height)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_screenshots_of_each_page(web: WebStack, wallet_page: WalletPage) -> None:
    """docs/screenshots/{upload,my-blobs,blob}-{desktop,phone}.png, with a stored image."""
    page = wallet_page.page
    wallet_page.open("/upload")
    wallet_page.connect()
    blob_id = store(page, "gradient.png", png(240, 120), epochs=4, deletable=True)
    assert overflow_at_phone_width(page) == 0
    screenshot(page, "upload")
    page.get_by_role("link", name="My blobs").first.click()
    card = blob_card(page, blob_id)
    card.locator('[data-action="preview"]').click()
    expect(card.locator('.preview[data-kind="image"] img')).to_be_visible()
    assert overflow_at_phone_width(page) == 0
    screenshot(page, "my-blobs")
    card.locator(f'a[href="/blob/{blob_id}"]').click()
    expect(page.locator("#availability-badge")).to_have_text("available")
    page.click("#preview")
    expect(page.locator(".preview img")).to_be_visible()
    assert overflow_at_phone_width(page) == 0
    screenshot(page, "blob")


def test_relay_cache_expires_and_evicts_the_oldest(web: WebStack, artifacts: Artifacts) -> None:
    now = [0.0]
    client = Client.connect(
        web.network.user, artifacts, web.contracts["Staking"], web.contracts["BlobRegistry"]
    )
    relay = UploadRelay(client, ttl=60.0, max_uploads=2, clock=lambda: now[0])
    first, second, third = (
        relay.prepare(os.urandom(1000), epochs=1, deletable=True).upload_id for _ in range(3)
    )
    assert first and second and third
    assert relay.pending() == 2
    with pytest.raises(UnknownUpload):
        relay.certificate(first, 1)  # evicted: the least recently used
    now[0] = 30.0
    with pytest.raises(RegistrationMismatch):
        relay.certificate(second, 10**9)  # still there (and now used more recently)
    now[0] = 80.0
    with pytest.raises(RegistrationMismatch):
        relay.certificate(second, 10**9)  # used 50 s ago: kept
    with pytest.raises(UnknownUpload):
        relay.certificate(third, 1)  # unused for 80 s: expired
    assert relay.pending() == 1


def test_relay_offers_an_unfinished_registration_and_answers_its_certificate_again(
    web: WebStack,
) -> None:
    """The API a wallet uses, driven from Python: a registration left uncertified is offered
    again (nothing to pay), a certificate asked twice is the same, and once certified the
    blob needs nothing more."""
    account = web.accounts[1]
    owner = account.address
    registry = web.network.env.registry.as_account(account)
    data = os.urandom(4_000)
    uploads = f"{web.url}/v1/relay/uploads"
    query = {"epochs": "2", "owner": owner}
    prepared = requests.post(uploads, params=query, data=data, timeout=60).json()
    assert prepared["reusableRegistration"] is None and int(prepared["cost"]) > 0
    wal = web.network.env.wal
    account.transact(wal.functions.approve(registry.address, int(prepared["cost"])))
    registered = registry.register_blob(
        bytes.fromhex(prepared["blobIdHex"][2:]),
        bytes.fromhex(prepared["rootHash"][2:]),
        prepared["size"],
        prepared["encodingType"],
        2,
        deletable=False,
    )
    again = requests.post(uploads, params=query, data=data, timeout=60).json()
    assert again["reusableRegistration"]["tokenId"] == registered.token_id
    assert again["cost"] == "0"
    certificate = f"{uploads}/{again['uploadId']}/certificate"
    first = requests.post(certificate, json={"tokenId": registered.token_id}, timeout=60)
    assert first.status_code == 200, first.text
    second = requests.post(certificate, json={"tokenId": str(registered.token_id)}, timeout=60)
    assert second.json() == first.json()
    answer = first.json()
    registry.certify_blob(
        registered.token_id,
        bytes.fromhex(answer["signers"][2:]),
        bytes.fromhex(answer["signature"][2:]),
    )
    done = requests.post(uploads, params=query, data=data, timeout=60).json()
    assert done["uploadId"] is None and done["alreadyCertified"]["endEpoch"] >= done["endEpoch"]
    certified = requests.post(certificate, json={"tokenId": registered.token_id}, timeout=60)
    assert (certified.status_code, certified.json()["error"]["code"]) == (
        409,
        "RegistrationCertified",
    )
