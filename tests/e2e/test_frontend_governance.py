"""The web dApp's Governance page in Chromium with the test wallet: a WAL holder delegates,
proposes a longer storage horizon, votes, queues and executes it across anvil time warps,
and the change is on chain; an account without delegated votes sees the contract's
refusal by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.devnet import dev_accounts
from backend.chain.governance import DEVNET_GOVERNANCE, warp
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

browser = frontend_harness.browser


@pytest.fixture(scope="module")
def web(
    network: Network,
    deployment: Deployment,
    artifacts: Artifacts,
    chain: ChainClient,
    client_for: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebStack]:
    """`walrus serve` for the module network with the devnet governor, its timelock owning
    Staking and BlobRegistry as a deployment hands them over (the chain is restored after
    the module)."""
    timelock = deployment.address("WalrusTimelock")
    for contract in (network.env.staking.contract, network.env.registry.contract):
        chain.transact(contract.functions.transferOwnership(timelock))
    stack = start_web_stack(
        network,
        artifacts,
        chain,
        client_for,
        tmp_path_factory.mktemp("web-gov"),
        extra_contracts={
            "WalrusGovernor": deployment.address("WalrusGovernor"),
            "WalrusTimelock": timelock,
        },
    )
    try:
        yield stack
    finally:
        stop_web_stack(stack)


HOLDER = dev_accounts(1)[0].address
"""Dev account 0: the community reserve, enough WAL for the 4% quorum."""


@pytest.fixture
def holder_page(browser: Browser, web: WebStack, chain: ChainClient) -> Iterator[WalletPage]:
    """A page whose test wallet holds the reserve's account (first) and a funded one."""
    chain.w3.provider.make_request("anvil_impersonateAccount", [HOLDER])  # type: ignore[arg-type]
    context = browser.new_context(viewport=dict(DESKTOP))  # type: ignore[arg-type]
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(wallet_script(web, [HOLDER, web.address(0)]))
    page = context.new_page()
    try:
        yield WalletPage(page, TestWallet(page), web)
    finally:
        context.close()


def reload(page: Page) -> None:
    page.reload()
    expect(page.locator("#my-votes")).to_be_visible(timeout=UI_TIMEOUT_MS)


def test_propose_vote_queue_and_execute_a_parameter_change(
    web: WebStack, holder_page: WalletPage, network: Network, chain: ChainClient
) -> None:
    registry = network.env.registry
    old_horizon = int(registry.contract.functions.maxEpochsAhead().call())
    new_horizon = old_horizon + 7
    holder_page.open("/governance")
    holder_page.connect()
    page = holder_page.page
    expect(page.locator("#no-proposals")).to_be_visible()

    page.click("#delegate-self")
    expect(page.locator("#my-delegate")).to_have_text("to yourself", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#my-votes")).not_to_have_text("0 WAL")
    expect(page.locator("#delegate-self")).to_have_count(0)

    page.fill("#proposal-value", "seven")
    page.click("#propose-submit")
    expect(page.locator(".notice-error").last).to_contain_text("not a whole number")

    page.select_option("#proposal-parameter", "max_epochs_ahead")
    page.fill("#proposal-value", str(new_horizon))
    page.fill("#proposal-description", "Longer storage horizon")
    page.click("#propose-submit")
    proposal = page.locator("#proposals .proposal")
    expect(proposal).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(proposal).to_contain_text("Longer storage horizon")
    expect(proposal.locator(".proposal-state")).to_have_text("pending")
    expect(proposal.locator(".proposal-time")).to_contain_text("Voting opens")

    warp(chain, DEVNET_GOVERNANCE.voting_delay + 1)
    reload(page)
    expect(proposal.locator(".proposal-state")).to_have_text("active")

    # An account that never delegated: the governor refuses, by name, and nothing counts.
    holder_page.wallet.use_account(web.address(0))
    expect(page.locator("#my-delegate")).to_contain_text("not delegated", timeout=UI_TIMEOUT_MS)
    proposal.locator(".vote-against").click()
    refusal = page.locator(".notice-error").last
    expect(refusal).to_contain_text("WalrusGovernorNoVotingPower", timeout=UI_TIMEOUT_MS)
    expect(proposal.locator(".votes-against")).to_have_text("0 WAL")

    holder_page.wallet.use_account(HOLDER)
    expect(page.locator("#my-delegate")).to_have_text("to yourself", timeout=UI_TIMEOUT_MS)
    proposal.locator(".vote-for").click()
    expect(proposal.locator(".votes-for")).not_to_have_text("0 WAL", timeout=UI_TIMEOUT_MS)
    expect(proposal.locator(".you-voted")).to_be_visible()
    screenshot(page, "governance")
    assert overflow_at_phone_width(page) == 0

    warp(chain, DEVNET_GOVERNANCE.voting_period + 1)
    reload(page)
    expect(proposal.locator(".proposal-state")).to_have_text("succeeded")
    proposal.locator(".queue").click()
    expect(proposal.locator(".proposal-state")).to_have_text("queued", timeout=UI_TIMEOUT_MS)
    expect(proposal.locator(".execute")).to_be_disabled()
    expect(proposal.locator(".proposal-time")).to_contain_text("executable from")
    assert int(registry.contract.functions.maxEpochsAhead().call()) == old_horizon

    warp(chain, DEVNET_GOVERNANCE.timelock_delay + 1)
    reload(page)
    proposal.locator(".execute").click()
    expect(proposal.locator(".proposal-state")).to_have_text("executed", timeout=UI_TIMEOUT_MS)
    assert int(registry.contract.functions.maxEpochsAhead().call()) == new_horizon


def test_a_bad_parameter_change_is_a_named_400(web: WebStack) -> None:
    unknown = requests.post(
        f"{web.url}/v1/governance/calls", json={"set": {"n_shards": 9}}, timeout=30
    )
    assert unknown.status_code == 400
    assert "fixed at deployment" in unknown.json()["error"]["message"]
    empty = requests.post(f"{web.url}/v1/governance/calls", data=b"nope", timeout=30)
    assert empty.status_code == 400 and "max_epochs_ahead" in empty.json()["error"]["message"]
