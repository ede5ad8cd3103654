"""The web dApp's Private files page in Chromium: the TypeScript Seal port against the
Python one, through real key servers and the node network. Python encrypts -> the browser
decrypts identical bytes for a reader the allowlist approves, and shows a refusal to one it
does not; the browser encrypts and stores through the upload relay, paid by the wallet's WAL
(not the backend's), never twice -> Python decrypts identical bytes. The key servers are
registered in the stack's KeyServerRegistry and trusted by its deployment file: the page
lists and uses them with nothing typed, lists an attacker's two registered servers as
untrusted and never contacts them, and refuses one that answers another key than its
registered one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, FilePayload, Page, expect
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.devnet import Devnet, dev_accounts
from backend.chain.keyserver_registry import KeyServerRegistryContract
from backend.chain.policies import PolicyContract, deploy_policy
from backend.chain.seal_trust import SealTrust
from backend.core.seal.envelope import X25519KeyPair
from backend.core.seal.header import parse_header
from backend.sdk.client import Client
from backend.sdk.node_client import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from backend.sdk.seal import SealClient
from tests.contracts.blob_registry_env import fresh_client
from tests.e2e import frontend_harness
from tests.e2e.frontend_harness import (
    DESKTOP,
    UI_TIMEOUT_MS,
    TestWallet,
    WalletPage,
    WebStack,
    overflow_at_phone_width,
    screenshot,
    start_web_stack,
    stop_web_stack,
    wallet_script,
)
from tests.integration.network import Network
from tests.integration.seal_keyservers import (
    KeyServerProcess,
    attacker_key_servers,
    key_servers_running,
)
from tests.integration.user_client import network_client

browser = frontend_harness.browser

ALLOWED, DENIED = dev_accounts(9)[7], dev_accounts(9)[8]
"""Anvil's own dev accounts: anvil signs their eth_signTypedData_v4 (sessions)."""
ID = bytes.fromhex("5e" * 32)


@pytest.fixture(scope="module")
def key_servers(
    anvil: Devnet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[KeyServerProcess]]:
    with key_servers_running(anvil.url, tmp_path_factory.mktemp("web-keyservers")) as servers:
        yield servers


@pytest.fixture(scope="module")
def key_server_registry(
    chain: ChainClient, artifacts: Artifacts, key_servers: list[KeyServerProcess]
) -> KeyServerRegistryContract:
    """A KeyServerRegistry of this module's own, listing its three key servers."""
    contract, _ = chain.deploy(
        artifacts.abi("KeyServerRegistry"), artifacts.bytecode("KeyServerRegistry")
    )
    registry = KeyServerRegistryContract(chain, contract)
    for index, server in enumerate(key_servers):
        registry.register(f"web-ks-{index}", server.url, server.key.public_key)
    return registry


@pytest.fixture(scope="module")
def web(
    network: Network,
    artifacts: Artifacts,
    chain: ChainClient,
    client_for: Callable[[bytes], ChainClient],
    key_server_registry: KeyServerRegistryContract,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebStack]:
    """The harness's web stack, its deployment naming the registry and trusting its three
    key servers (ids 1-3)."""
    stack = start_web_stack(
        network,
        artifacts,
        chain,
        client_for,
        tmp_path_factory.mktemp("web"),
        extra_contracts={"KeyServerRegistry": key_server_registry.address},
        seal_trust=SealTrust((1, 2, 3), 2),
    )
    try:
        yield stack
    finally:
        stop_web_stack(stack)


def _client(network: Network, artifacts: Artifacts, chain: ChainClient) -> Client:
    return network_client(
        network, artifacts, chain=chain, node_timeout=DEFAULT_TIMEOUT, node_retries=DEFAULT_RETRIES
    )


@pytest.fixture(scope="module")
def allowlist(web: WebStack, network: Network, artifacts: Artifacts) -> PolicyContract:
    """Owned by the network's user (the publisher's wallet); ALLOWED is a reader."""
    user = network.user
    policy = PolicyContract.at(
        user, artifacts, "allowlist", deploy_policy(user, artifacts, "allowlist", user.address)
    )
    policy.add_reader(ALLOWED.address)
    return policy


@contextmanager
def private_page(browser: Browser, web: WebStack) -> Iterator[WalletPage]:
    """/private in a fresh context, the wallet (ALLOWED, DENIED) connected."""
    context = browser.new_context(viewport=dict(DESKTOP), accept_downloads=True)  # type: ignore[arg-type]
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(wallet_script(web, [ALLOWED.address, DENIED.address]))
    page = context.new_page()
    session = WalletPage(page, TestWallet(page), web)
    try:
        session.open("/private")
        session.connect()
        yield session
    finally:
        context.close()


@pytest.fixture
def reader_page(
    browser: Browser, web: WebStack, key_servers: list[KeyServerProcess]
) -> Iterator[WalletPage]:
    with private_page(browser, web) as session:
        session.page.fill("#key-servers", ", ".join(server.url for server in key_servers))
        yield session


def decrypt_in_browser(page: Page, blob_id: str, tmp_path: Path) -> bytes:
    page.fill("#open-blob-id", blob_id)
    page.click("#open-submit")
    link = page.locator("#decrypted-download")
    expect(link).to_be_visible(timeout=UI_TIMEOUT_MS)
    with page.expect_download() as download:
        link.click()
    target = tmp_path / "decrypted.bin"
    download.value.save_as(target)
    return target.read_bytes()


def test_python_sealed_file_decrypts_in_the_browser_for_allowed_readers_only(
    network: Network,
    artifacts: Artifacts,
    allowlist: PolicyContract,
    key_servers: list[KeyServerProcess],
    reader_page: WalletPage,
    tmp_path: Path,
) -> None:
    content = b"PRIVATE-WEB-MARKER " + os.urandom(1_100_000)  # two 1 MiB segments
    writer = SealClient(_client(network, artifacts, network.user), [s.url for s in key_servers])
    stored = writer.store(content, policy=allowlist.address, identity=ID, threshold=2)
    page = reader_page.page

    assert decrypt_in_browser(page, str(stored.blob_id), tmp_path) == content
    expect(page.locator("#decrypted")).to_contain_text("Decrypted 1.05 MiB")

    reader_page.wallet.use_account(DENIED.address)
    page.fill("#key-servers", ", ".join(server.url for server in key_servers))
    page.fill("#open-blob-id", str(stored.blob_id))
    page.click("#open-submit")
    refusal = page.locator("#decrypt-error")
    expect(refusal).to_contain_text("Not allowed by the policy", timeout=UI_TIMEOUT_MS)
    refusal.locator("summary").click()
    expect(refusal).to_contain_text("AccessDenied")
    expect(page.locator("#decrypted-download")).to_have_count(0)
    screenshot(page, "private")
    assert overflow_at_phone_width(page) == 0

    plain = writer.client.store(b"not a secret " + os.urandom(100), epochs=1)
    page.fill("#open-blob-id", str(plain.blob_id))
    page.click("#open-submit")
    expect(page.locator("#decrypt-error")).to_contain_text("not encrypted")
    expect(page.locator("#open-submit")).to_be_enabled()


def test_browser_sealed_file_is_paid_by_the_wallet_once_and_decrypts_in_python(
    network: Network,
    web: WebStack,
    artifacts: Artifacts,
    allowlist: PolicyContract,
    key_servers: list[KeyServerProcess],
    reader_page: WalletPage,
    client_for: Callable[[bytes], ChainClient],
) -> None:
    content = b"sealed in the browser " + os.urandom(70_000)
    page, wallet = reader_page.page, reader_page.wallet
    payer = web.address(0)  # funded with WAL (the dev readers hold none)
    wallet.use_account(payer)
    backend_wallet = network.user.address
    before, backend_before = web.wal_balance(payer), web.wal_balance(backend_wallet)
    page.fill("#key-servers", ", ".join(server.url for server in key_servers))
    page.fill("#seal-policy", allowlist.address)
    page.fill("#seal-id", "0x" + ID.hex())
    page.fill("#seal-epochs", "3")
    note: FilePayload = {
        "name": "note.bin",
        "mimeType": "application/octet-stream",
        "buffer": content,
    }
    page.set_input_files("#seal-file", files=[note])

    # approve + register go through, certify is rejected: paid once, not stored yet
    wallet.approve_only(2)
    page.click("#seal-submit")
    failure = page.locator("#seal-result")
    expect(failure).to_contain_text("Certify on chain (your wallet) failed", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#sealed-blob-id")).to_have_count(0)
    paid = before - web.wal_balance(payer)
    assert paid > 0

    # the retry stores the same ciphertext: the registration is re-used, nothing more paid
    wallet.approve_only(None)
    page.click("#seal-submit")
    blob_id = page.locator("#sealed-blob-id")
    expect(blob_id).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator('#seal-steps [data-step="register"]')).to_contain_text("nothing to pay")
    certify = page.locator('#seal-steps [data-step="certify"]')
    expect(certify).to_have_attribute("data-state", "done")

    reader = SealClient(
        _client(network, artifacts, client_for(bytes(ALLOWED.key))),
        [server.url for server in key_servers],
    )
    raw = reader.client.read(blob_id.inner_text())
    assert paid == network.env.registry.registration_cost(len(raw), 3).total
    assert before - web.wal_balance(payer) == paid
    assert web.wal_balance(backend_wallet) == backend_before  # the backend paid nothing
    header = parse_header(raw)
    assert (header.policy.hex(), header.identity, header.threshold) == (
        allowlist.address[2:].lower(),
        ID,
        2,
    )
    assert content not in raw
    assert reader.read(blob_id.inner_text()) == content
    screenshot(page, "private-store")


def test_trusted_key_servers_are_used_by_default_never_an_attackers(
    browser: Browser,
    web: WebStack,
    network: Network,
    artifacts: Artifacts,
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    allowlist: PolicyContract,
    key_servers: list[KeyServerProcess],
    key_server_registry: KeyServerRegistryContract,
    tmp_path: Path,
) -> None:
    deployment = Deployment.from_json(json.loads(web.deployment_file.read_text()))
    writer = SealClient.from_deployment(
        _client(network, artifacts, network.user), deployment, artifacts
    )
    content = b"REGISTERED-KEY-SERVERS " + os.urandom(2000)
    stored = writer.store(content, policy=allowlist.address, identity=ID)
    urls = [server.url for server in key_servers]
    trusted_keys = [server.key.public_key for server in key_servers]
    attacker = key_server_registry.as_account(
        fresh_client(chain, wal, client_for, b"web-seal-attacker")
    )
    with attacker_key_servers(chain.chain_id) as theirs:  # registered as ids 4 and 5
        for index, server in enumerate(theirs):
            attacker.register(f"evil-{index}", server.url, server.key.public_key)
        # id 6 names a trusted server's URL with another key: it must not make the page
        # refuse that server (its trusted entry's key is the one checked)
        attacker.register("evil-shadow", urls[0], X25519KeyPair.generate().public_key)
        served = requests.get(f"{web.url}/v1/keyservers", timeout=30).json()
        assert (served["source"], served["registry"], served["urls"], served["threshold"]) == (
            "deployment",
            key_server_registry.address,
            urls,
            2,
        )
        assert [(entry["id"], entry["trusted"]) for entry in served["servers"]] == [
            (1, True),
            (2, True),
            (3, True),
            (4, False),
            (5, False),
            (6, False),
        ]
        assert [entry["public_key"] for entry in served["servers"][:3]] == [
            key.hex() for key in trusted_keys
        ]
        with private_page(browser, web) as session:  # nothing typed: the trusted ones prefill
            page = session.page
            listed = page.locator("#registered-key-servers li")
            expect(listed).to_have_count(6)
            expect(listed.nth(1)).to_contain_text(f"web-ks-1: {urls[1]}")
            expect(listed.nth(1)).to_have_attribute("data-trusted", "true")
            expect(listed.nth(3)).to_contain_text("evil-0")
            expect(listed.nth(3)).to_contain_text("untrusted: not used")
            expect(listed.nth(3)).to_have_attribute("data-trusted", "false")
            expect(page.locator("#key-servers")).to_have_value(", ".join(urls))
            assert decrypt_in_browser(page, str(stored.blob_id), tmp_path) == content

            # the browser encrypts to the trusted keys only, with the deployment's t
            session.wallet.use_account(web.address(0))  # holds WAL to pay
            page.fill("#seal-policy", allowlist.address)
            page.fill("#seal-id", "0x" + ID.hex())
            note: FilePayload = {"name": "n.bin", "mimeType": "text/plain", "buffer": b"web"}
            page.set_input_files("#seal-file", files=[note])
            page.click("#seal-submit")
            blob_id = page.locator("#sealed-blob-id")
            expect(blob_id).to_be_visible(timeout=UI_TIMEOUT_MS)
            header = parse_header(writer.client.read(blob_id.inner_text()))
            assert [entry.server_public_key for entry in header.entries] == trusted_keys
            assert header.threshold == 2

            page.fill("#key-servers", f"{urls[0]}, {urls[0]}/, {urls[2]}")  # one server twice
            page.click("#open-submit")
            expect(page.locator("#decrypt-error")).to_contain_text("have the same public key")
        assert [server.requests for server in theirs] == [[], []]  # never contacted

    # key server 1 now answers another key than the one registered for its URL
    one = key_servers[1]
    one.stop()
    one.key_file.write_text(X25519KeyPair.generate().private_key.hex())
    one.start()
    try:
        with private_page(browser, web) as session:
            page = session.page
            expect(page.locator("#key-servers")).to_have_value(", ".join(urls))
            page.fill("#open-blob-id", str(stored.blob_id))
            page.click("#open-submit")
            refusal = page.locator("#decrypt-error")
            expect(refusal).to_contain_text("KeyServerKeyMismatch", timeout=UI_TIMEOUT_MS)
            expect(refusal).to_contain_text(one.key.public_key.hex())
            expect(page.locator("#decrypted-download")).to_have_count(0)
    finally:
        one.stop()
        one.key_file.write_text(one.key.private_key.hex())
        one.start()
