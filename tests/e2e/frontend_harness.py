"""Browser tests of the web dApp: Debian's Chromium driven by Playwright (never a browser
download), an injected EIP-1193 test wallet backed by anvil, and `walrus serve` serving
frontend/dist over the module's node network.

Use from a test module (fixtures are module-scoped unless said otherwise)::

    from tests.e2e import frontend_harness
    from tests.e2e.frontend_harness import WalletPage, WebStack

    browser = frontend_harness.browser  # the fixtures, as module attributes
    web = frontend_harness.web
    wallet_page = frontend_harness.wallet_page

    def test_something(web: WebStack, wallet_page: WalletPage) -> None:
        wallet_page.open("/upload")
        wallet_page.connect()
        ...

- ``web`` (:class:`WebStack`): the `network` fixture's 4 nodes, `walrus serve` on a free
  port (``web.url``), the deployment file it serves (``web.deployment_file``; pass
  ``extra_contracts`` to :func:`start_web_stack` for more contracts) and funded wallet
  accounts (``web.accounts``: ETH + 1,000 WAL each; ``web.poor``: ETH, no WAL), all
  unlocked in anvil (``anvil_impersonateAccount``) so the test wallet's
  ``eth_sendTransaction`` goes straight to anvil.
- ``wallet_page`` (function scope, :class:`WalletPage`): a fresh browser context and page
  with the test wallet injected; ``wallet_page.wallet`` switches account, rejects (4001) or
  reports another chain id.
- :func:`screenshot` writes docs/screenshots/<name>-desktop.png and -phone.png (390 px).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.devnet import free_port
from backend.chain.seal_trust import SealTrust
from tests.contracts.blob_registry_env import fresh_client
from tests.integration.network import REPO_ROOT, Network
from tests.integration.user_client import publish_node_urls
from tests.processes import spawn_logged, stop_by_pid, wait_answering

CHROMIUM: Final = Path(os.environ.get("WALRUS_CHROMIUM", "/usr/bin/chromium"))
DIST: Final = REPO_ROOT / "frontend" / "dist"
SCREENSHOTS: Final = (
    REPO_ROOT / "docs" / "screenshots"
    if os.environ.get("WALRUS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "walrus-screenshots"
)
"""docs/screenshots only when WALRUS_SCREENSHOTS=1 (refreshing the docs' pictures), so a
plain `make test` leaves the checkout clean."""
DESKTOP: Final = {"width": 1280, "height": 860}
PHONE: Final = {"width": 390, "height": 844}
WALLET_WAL: Final = 1_000 * 10**9
"""FROST given to each test wallet account."""
MAX_BLOB_BYTES: Final = 4 * 2**20
"""`walrus serve --max-blob-bytes` of the test backend (the 'file too large' flows)."""
UI_TIMEOUT_MS: Final = 60_000
"""Waiting for a UI state: uploads on a loaded 2-core machine take seconds."""

_WALLET_SCRIPT: Final = r"""
(() => {
  const config = __CONFIG__;
  const KEY = "__walrusTestWallet";
  const saved = JSON.parse(localStorage.getItem(KEY) || "null");
  const state = saved || {
    account: config.accounts[0], chainId: config.chainId, connected: false, reject: false,
    sendLimit: null, sends: 0,
  };
  const save = () => localStorage.setItem(KEY, JSON.stringify(state));
  const listeners = {};
  const emit = (event, value) => (listeners[event] || []).forEach((listener) => {
    try { listener(value); } catch (error) { console.error(error); }
  });
  let nextId = 1;
  const failure = (code, message, data) => Object.assign(new Error(message), { code, data });
  async function rpc(method, params) {
    const response = await fetch(config.rpcUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params: params || [] }),
    });
    const body = await response.json();
    if (body.error) throw failure(body.error.code, body.error.message, body.error.data);
    return body.result;
  }
  const NEEDS_USER = new Set([
    "eth_requestAccounts", "eth_sendTransaction", "eth_signTypedData_v4", "personal_sign",
    "wallet_switchEthereumChain", "wallet_addEthereumChain",
  ]);
  const hex = (n) => "0x" + n.toString(16);
  window.ethereum = {
    isWalrusTestWallet: true,
    async request({ method, params }) {
      window.__walletCalls = (window.__walletCalls || []).concat([method]);
      if (NEEDS_USER.has(method) && state.reject) {
        throw failure(4001, "User rejected the request.");
      }
      switch (method) {
        case "eth_requestAccounts":
          state.connected = true; save();
          return [state.account];
        case "eth_accounts":
          return state.connected ? [state.account] : [];
        case "eth_chainId":
          return hex(state.chainId);
        case "net_version":
          return String(state.chainId);
        case "wallet_switchEthereumChain":
        case "wallet_addEthereumChain": {
          const wanted = parseInt(params[0].chainId, 16);
          if (wanted !== config.chainId) throw failure(4902, "Unrecognized chain ID");
          state.chainId = wanted; save();
          emit("chainChanged", hex(wanted));
          return null;
        }
        case "eth_sendTransaction":
        case "eth_signTypedData_v4":
          if (state.chainId !== config.chainId) {
            throw failure(4901, "the test wallet is on another chain");
          }
          if (state.sendLimit !== null && state.sends >= state.sendLimit) {
            throw failure(4001, "User rejected the request.");
          }
          state.sends += 1; save();
          return rpc(method, method === "eth_sendTransaction"
            ? [Object.assign({}, params[0], { from: state.account })] : params);
        default:
          return rpc(method, params);
      }
    },
    on(event, listener) { (listeners[event] = listeners[event] || []).push(listener); },
    removeListener(event, listener) {
      listeners[event] = (listeners[event] || []).filter((f) => f !== listener);
    },
  };
  window.__testWallet = {
    state,
    setReject(value) { state.reject = value; save(); },
    limitSends(limit) { state.sendLimit = limit; state.sends = 0; save(); },
    setChain(chainId) { state.chainId = chainId; save(); emit("chainChanged", hex(chainId)); },
    setAccount(account) {
      state.account = account; save();
      emit("accountsChanged", state.connected ? [account] : []);
    },
  };
})();
"""


@dataclass
class WebStack:
    url: str
    """The backend (and web UI) base URL."""
    rpc_url: str
    chain_id: int
    network: Network
    deployment_file: Path
    accounts: list[ChainClient]
    """Funded wallet accounts (ETH + WALLET_WAL), unlocked in anvil."""
    poor: ChainClient
    """An unlocked account with ETH but no WAL."""
    process: subprocess.Popen[bytes]
    log_path: Path
    contracts: dict[str, str] = field(default_factory=dict)

    def address(self, index: int = 0) -> str:
        account = self.accounts[index].account
        assert account is not None
        return account.address

    def wal_balance(self, address: str) -> int:
        wal = self.network.env.wal
        return int(wal.functions.balanceOf(address).call())

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]


def _unlock(chain: ChainClient, address: str) -> None:
    chain.w3.provider.make_request("anvil_impersonateAccount", [address])  # type: ignore[arg-type]


@dataclass
class _StackParts:
    deployment_file: Path
    accounts: list[ChainClient]
    poor: ChainClient
    contracts: dict[str, str]


def _prepare(
    network: Network,
    artifacts: Artifacts,
    chain: ChainClient,
    client_for: Any,
    directory: Path,
    extra_contracts: Mapping[str, str],
    n_accounts: int,
    seal_trust: SealTrust | None = None,
) -> _StackParts:
    publish_node_urls(network)
    contracts = {
        "WAL": str(network.env.wal.address),
        "Staking": str(network.env.staking.address),
        "BlobRegistry": str(network.env.registry.address),
        **extra_contracts,
    }
    deployment = Deployment(
        chain_id=chain.chain_id,
        deploy_block=0,
        abi_hash=artifacts.abi_hash,
        contracts=dict(contracts),  # type: ignore[arg-type]
        seal=seal_trust,
    )
    deployment_file = directory / "deployment.json"
    deployment_file.write_text(json.dumps(deployment.to_json()))
    wal: Contract = network.env.wal
    accounts = [
        fresh_client(chain, wal, client_for, b"web-wallet" + bytes([index]), WALLET_WAL)
        for index in range(n_accounts)
    ]
    poor = fresh_client(chain, wal, client_for, b"web-wallet-poor", 0)
    for client in (*accounts, poor):
        account: LocalAccount | None = client.account
        assert account is not None
        _unlock(chain, account.address)
    return _StackParts(deployment_file, accounts, poor, contracts)


def start_web_stack(
    network: Network,
    artifacts: Artifacts,
    chain: ChainClient,
    client_for: Any,
    directory: Path,
    *,
    extra_contracts: Mapping[str, str] | None = None,
    n_accounts: int = 2,
    max_blob_bytes: int = MAX_BLOB_BYTES,
    seal_trust: SealTrust | None = None,
) -> WebStack:
    """Deployment file (trusting the ``seal_trust`` key servers), wallet accounts and a
    running `walrus serve`; stop with :func:`stop_web_stack`."""
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"{DIST} is not built: run scripts/bootstrap (or npm run build)")
    parts = _prepare(
        network,
        artifacts,
        chain,
        client_for,
        directory,
        extra_contracts or {},
        n_accounts,
        seal_trust,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = directory / "serve.log"
    env = {
        **os.environ,
        "WALRUS_RPC_URL": chain.rpc_url,
        "WALRUS_DEPLOYMENT": str(parts.deployment_file),
        "WALRUS_PRIVATE_KEY": bytes(network.user.account.key).hex(),  # type: ignore[union-attr]
    }
    command = [sys.executable, "-m", "backend.cli.main", "serve", "--port", str(port)]
    command += ["--data-dir", str(directory), "--max-blob-bytes", str(max_blob_bytes)]
    process = spawn_logged(command, log_path, env)
    try:
        wait_answering(process, url + "/v1/api", log_path, 90.0, name="walrus serve", need_ok=False)
    except BaseException:
        stop_by_pid(process)
        raise
    return WebStack(
        url=url,
        rpc_url=chain.rpc_url,
        chain_id=chain.chain_id,
        network=network,
        deployment_file=parts.deployment_file,
        accounts=parts.accounts,
        poor=parts.poor,
        process=process,
        log_path=log_path,
        contracts=parts.contracts,
    )


def stop_web_stack(stack: WebStack) -> None:
    stop_by_pid(stack.process)


@contextmanager
def rebuilt_page(page: Page) -> Iterator[None]:
    """Wait, after the block, until the app has replaced its page element: it renders the
    page again when the wallet's account or chain changes, and a field filled in the page
    being replaced is lost (or mixed with the new page's text: CI once saw two key server
    URLs run together). Use it around an action that changes the wallet's state."""
    page.evaluate(
        "() => document.querySelector('#main section.page')?.setAttribute('data-replaced', '')"
    )
    yield
    expect(page.locator("#main section.page[data-replaced]")).to_have_count(
        0, timeout=UI_TIMEOUT_MS
    )


class TestWallet:
    """Controls the injected wallet of one page (state survives reloads of the origin)."""

    __test__ = False  # not a pytest test class

    def __init__(self, page: Page) -> None:
        self.page = page

    def use_account(self, address: str) -> None:
        """Switch the wallet to `address`; when the app shows another account, wait until it
        has rebuilt the page for this one (see `rebuilt_page`)."""
        shown = self.page.locator("#account")
        current = shown.get_attribute("title") if shown.count() else None
        if current is None or current.lower() == address.lower():
            self.page.evaluate("(a) => window.__testWallet.setAccount(a)", address)
            return
        with rebuilt_page(self.page):
            self.page.evaluate("(a) => window.__testWallet.setAccount(a)", address)
            expect(shown).to_have_attribute(
                "title", re.compile(f"^{address}$", re.IGNORECASE), timeout=UI_TIMEOUT_MS
            )

    def reject_requests(self, reject: bool = True) -> None:
        """Every request needing the user's approval fails with code 4001."""
        self.page.evaluate("(r) => window.__testWallet.setReject(r)", reject)

    def approve_only(self, transactions: int | None) -> None:
        """Approve the next `transactions` transactions, then reject (4001) every later one;
        None approves all again."""
        self.page.evaluate("(n) => window.__testWallet.limitSends(n)", transactions)

    def report_chain(self, chain_id: int) -> None:
        self.page.evaluate("(c) => window.__testWallet.setChain(c)", chain_id)

    def calls(self) -> list[str]:
        """The JSON-RPC methods the page asked the wallet for since it loaded."""
        return list(self.page.evaluate("() => window.__walletCalls || []"))


@dataclass
class WalletPage:
    page: Page
    wallet: TestWallet
    stack: WebStack

    def open(self, path: str = "/") -> None:
        self.page.goto(self.stack.url + path)
        expect(self.page.locator("#main")).not_to_contain_text(
            "Loading the deployment", timeout=UI_TIMEOUT_MS
        )

    def connect(self) -> None:
        with rebuilt_page(self.page):  # the app renders the page again for the account
            self.page.get_by_role("button", name="Connect wallet").click()
            expect(self.page.locator("#account")).to_be_visible(timeout=UI_TIMEOUT_MS)


def wallet_script(stack: WebStack, accounts: list[str] | None = None) -> str:
    config = {
        "rpcUrl": stack.rpc_url,
        "chainId": stack.chain_id,
        "accounts": accounts or [stack.address(i) for i in range(len(stack.accounts))],
    }
    return _WALLET_SCRIPT.replace("__CONFIG__", json.dumps(config))


def new_wallet_page(
    browser: Browser, stack: WebStack, *, viewport: Mapping[str, int] = DESKTOP, wallet: bool = True
) -> WalletPage:
    context = browser.new_context(
        viewport=dict(viewport),  # type: ignore[arg-type]
        accept_downloads=True,
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    if wallet:
        context.add_init_script(wallet_script(stack))
    page = context.new_page()
    return WalletPage(page, TestWallet(page), stack)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> list[Path]:
    """docs/screenshots/<name>-desktop.png and <name>-phone.png of the page as it is now
    (toasts dismissed: they float over whatever is under them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => document.getElementById('notices')?.replaceChildren()")
    written = []
    original = page.viewport_size or DESKTOP
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(dict(size))  # type: ignore[arg-type]
        page.wait_for_timeout(150)  # layout settles
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=full_page)
        written.append(path)
    page.set_viewport_size(dict(original))  # type: ignore[arg-type]
    return written


def overflow_at_phone_width(page: Page) -> int:
    """How many CSS pixels the page is wider than a 390 px phone screen (0: it fits)."""
    original = page.viewport_size or DESKTOP
    page.set_viewport_size(dict(PHONE))  # type: ignore[arg-type]
    page.wait_for_timeout(150)
    width = int(page.evaluate("() => document.documentElement.scrollWidth"))
    page.set_viewport_size(dict(original))  # type: ignore[arg-type]
    return max(0, width - PHONE["width"])


def launch_chromium(playwright: Playwright) -> Browser:
    if not CHROMIUM.is_file():
        raise RuntimeError(
            f"{CHROMIUM} is missing: run scripts/bootstrap as root (apt-get install chromium)"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    )


# ------------------------------------------------------------------ pytest fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def web(
    network: Network,
    artifacts: Artifacts,
    chain: ChainClient,
    client_for: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebStack]:
    stack = start_web_stack(network, artifacts, chain, client_for, tmp_path_factory.mktemp("web"))
    try:
        yield stack
    finally:
        stop_web_stack(stack)


@pytest.fixture
def wallet_page(browser: Browser, web: WebStack) -> Iterator[WalletPage]:
    made = new_wallet_page(browser, web)
    try:
        yield made
    finally:
        made.page.context.close()
