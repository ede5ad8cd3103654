"""The web dApp's Staking page in Chromium with the test wallet: the nodes' overview (reward
per epoch; the APY only with epochs of an hour or more), stake, claim rewards, request a
withdrawal and withdraw across real epoch changes, and the bad input (not a number, more WAL
than the wallet has, a rejected signature) that pays nothing."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from backend.chain.compiler import Artifacts
from backend.chain.rewards import StakingRewardsContract
from backend.sdk.staking import APY_EPOCHS, SECONDS_PER_YEAR
from tests.e2e import frontend_harness
from tests.e2e.frontend_harness import (
    UI_TIMEOUT_MS,
    WALLET_WAL,
    WalletPage,
    WebStack,
    overflow_at_phone_width,
    screenshot,
)
from tests.integration.network import Network
from tests.integration.network_contracts import attach_rewards

browser = frontend_harness.browser
web = frontend_harness.web
wallet_page = frontend_harness.wallet_page

FROST_PER_WAL = 10**9
SUBSIDY = 1_000 * FROST_PER_WAL
"""Subsidy per epoch, so rewards flow without storage payments."""


@pytest.fixture(scope="module")
def rewards(network: Network, artifacts: Artifacts) -> StakingRewardsContract:
    """StakingRewards attached to the module network's Staking (rewards from 2 epochs on)."""
    return attach_rewards(
        network, artifacts, subsidy_seed=b"web-staking-subsidies", subsidy_rate=SUBSIDY
    )


def expect_error(page: Page, text: str) -> None:
    """An error notice saying `text` appears (earlier notices may still be shown)."""
    notice = page.locator(".notice-error").filter(has_text=re.compile(text, re.IGNORECASE))
    expect(notice.last).to_be_visible(timeout=UI_TIMEOUT_MS)


def open_staking(session: WalletPage) -> Page:
    session.open("/staking")
    session.connect()
    page = session.page
    expect(page.locator("#wal-balance")).to_be_visible(timeout=UI_TIMEOUT_MS)
    return page


def reload(page: Page) -> None:
    page.reload()
    expect(page.locator("#wal-balance")).to_be_visible(timeout=UI_TIMEOUT_MS)


def test_nodes_show_stake_shards_commission_and_challenges(
    web: WebStack, wallet_page: WalletPage, network: Network
) -> None:
    wallet_page.open("/staking")
    page = wallet_page.page
    cards = page.locator("#nodes .node")
    expect(cards).to_have_count(len(network.env.staking.nodes()))
    first = cards.first
    stake = network.env.staking.node_stake_at(1, network.env.epoch())
    whole_wal = f"{stake // FROST_PER_WAL:,} WAL"
    expect(first.locator(".node-stake")).to_have_text(re.compile("^" + re.escape(whole_wal)))
    expect(first).to_contain_text("Commission")
    expect(first).to_contain_text("Shards")
    expect(page.locator("#positions")).to_contain_text("Connect your wallet")
    expect(page.locator("#yield-note")).to_contain_text(
        f"Devnet epochs are {network.env.staking.epoch_info().duration} s long; "
        "annualised figures are not meaningful"
    )
    expect(first).not_to_contain_text("/ year")


def measured_reward_per_epoch(rewards: StakingRewardsContract, node_id: int) -> float:
    """Delegators' mean reward per staked WAL over the last APY_EPOCHS distributed epochs,
    read from StakingRewards' own per-epoch records."""
    last = rewards.last_distributed_epoch()
    first = max(rewards.first_epoch(), last - APY_EPOCHS + 1)
    yields = [
        rewards.node_epoch(epoch, node_id).yield_per_epoch() for epoch in range(first, last + 1)
    ]
    measured = [value for value in yields if value is not None]
    assert measured, "no distributed epoch with stake on the node"
    return sum(measured) / len(measured)


def shown_percent(text: str, unit: str) -> float:
    match = re.search(r"≈ ([\d.,]+) % / " + unit, text)
    assert match, text
    return float(match.group(1).replace(",", "")) / 100


def check_yields_shown(
    web: WebStack, page: Page, network: Network, rewards: StakingRewardsContract
) -> None:
    """Short epochs: reward per epoch only. An hour-long epoch: the APY too. Restores the
    module network's epoch duration."""
    card = page.locator('#nodes .node[data-node-id="2"]')
    expected = measured_reward_per_epoch(rewards, 2)
    nodes = requests.get(f"{web.url}/v1/staking/nodes", timeout=30).json()
    [node] = [n for n in nodes["nodes"] if n["nodeId"] == 2]
    assert nodes["yieldBasis"]["annualised"] is False and node["apy"] is None
    assert node["rewardPerEpoch"] == pytest.approx(expected, rel=1e-9)
    shown = shown_percent(card.locator(".node-reward-epoch").inner_text(), "epoch")
    assert shown == pytest.approx(expected, rel=5e-3)  # 3 significant digits
    expect(card.locator(".node-apy")).to_have_count(0)

    staking = network.env.staking
    short_epoch = staking.epoch_info().duration
    assert short_epoch < 3600
    staking.set_epoch_duration(3600)
    try:
        reload(page)
        expect(page.locator("#yield-note")).to_contain_text("epochs in a year")
        nodes = requests.get(f"{web.url}/v1/staking/nodes", timeout=30).json()
        [node] = [n for n in nodes["nodes"] if n["nodeId"] == 2]
        assert nodes["yieldBasis"] == {
            "epochsAveraged": APY_EPOCHS,
            "annualised": True,
            "minEpochSecondsToAnnualise": 3600,
            "note": None,
        }
        assert node["apy"] == pytest.approx(expected * SECONDS_PER_YEAR / 3600, rel=1e-9)
        apy = shown_percent(card.locator(".node-apy").inner_text(), "year")
        assert apy == pytest.approx(expected * SECONDS_PER_YEAR / 3600, rel=5e-3)
        screenshot(page, "staking-hour-epochs")
    finally:
        staking.set_epoch_duration(short_epoch)
    reload(page)


def test_bad_stake_input_pays_nothing(web: WebStack, wallet_page: WalletPage) -> None:
    page = open_staking(wallet_page)
    address = web.address(1)
    wallet_page.wallet.use_account(address)
    expect(page.locator("#wal-balance")).to_contain_text("1,000 WAL", timeout=UI_TIMEOUT_MS)
    before = web.wal_balance(address)

    page.fill("#stake-amount", "lots")
    page.click("#stake-submit")
    expect_error(page, "is not a WAL amount")

    page.fill("#stake-amount", "5000")
    page.click("#stake-submit")
    expect_error(page, "Not enough WAL")

    wallet_page.wallet.reject_requests()
    page.fill("#stake-amount", "1")
    page.click("#stake-submit")
    expect_error(page, "rejected")
    expect(page.locator("#stake-submit")).to_be_enabled()
    assert web.wal_balance(address) == before
    expect(page.locator("#no-positions")).to_be_visible()


def test_stake_claim_request_withdraw_and_withdraw(
    web: WebStack,
    wallet_page: WalletPage,
    network: Network,
    rewards: StakingRewardsContract,
) -> None:
    env = network.env
    address = web.address(0)
    page = open_staking(wallet_page)
    expect(page.locator("#stake-node option")).to_have_count(len(env.staking.nodes()))

    page.select_option("#stake-node", "2")
    page.fill("#stake-amount", "100")
    page.click("#stake-submit")
    position = page.locator("#position-list .position")
    expect(position).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(position.locator(".position-amount")).to_have_text("100 WAL")
    expect(position.locator(".position-status")).to_contain_text(
        f"counts from epoch {env.epoch() + 1}"
    )
    assert web.wal_balance(address) == WALLET_WAL - 100 * FROST_PER_WAL
    [staked] = env.staking.positions_of(address)
    assert (staked.node_id, staked.amount) == (2, 100 * FROST_PER_WAL)

    # Active in a rewarded epoch, then that epoch distributed: rewards become claimable.
    while env.epoch() <= rewards.first_epoch():
        env.next_epoch()
    reload(page)
    expect(position.locator(".position-status")).to_contain_text("active since epoch")
    pending = rewards.pending_rewards(staked.position_id)
    assert pending > 0
    check_yields_shown(web, page, network, rewards)
    screenshot(page, "staking")
    assert overflow_at_phone_width(page) == 0
    before_claim = web.wal_balance(address)
    position.locator(".claim").click()
    expect(page.locator(".notice-success").last).to_contain_text("confirmed")
    assert web.wal_balance(address) >= before_claim + pending

    reload(page)
    position.locator(".request-withdraw").click()
    withdraw_epoch = env.epoch() + 1
    expect(position.locator(".position-status")).to_contain_text(
        f"withdrawable from epoch {withdraw_epoch}", timeout=UI_TIMEOUT_MS
    )
    expect(position.locator(".withdraw")).to_be_disabled()

    env.next_epoch()
    reload(page)
    expect(position.locator(".position-status")).to_have_text("withdrawable now")
    before_withdraw = web.wal_balance(address)
    position.locator(".withdraw").click()
    expect(page.locator("#no-positions")).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert web.wal_balance(address) >= before_withdraw + 100 * FROST_PER_WAL
    assert env.staking.positions_of(address) == []


def test_read_views_answer_bad_input_with_named_json_errors(web: WebStack) -> None:
    bad = requests.get(f"{web.url}/v1/staking/positions/0x1234", timeout=30)
    assert bad.status_code == 400 and "not an Ethereum address" in bad.json()["error"]["message"]
    # This stack's deployment has no governor: the Governance views say so by name.
    missing = requests.get(f"{web.url}/v1/governance/proposals", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotDeployed"
    calls = requests.post(f"{web.url}/v1/governance/calls", json={"set": {}}, timeout=30)
    assert calls.status_code == 404
    listed = requests.get(f"{web.url}/v1/api", timeout=30).json()["paths"]
    assert "/v1/staking/nodes" in listed and "/v1/governance/proposals" in listed
    servers = requests.get(f"{web.url}/v1/keyservers", timeout=30).json()
    assert isinstance(servers["urls"], list)
