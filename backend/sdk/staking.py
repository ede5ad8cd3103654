"""Delegation and rewards for a wallet: stake with a node, request a withdrawal, withdraw
(stake + rewards), claim rewards and commission, vote prices as an operator, and the
per-node overview behind `walrus info --nodes` (stake, shards, commission, APY estimate).

The rewards contract is found through Staking (`Staking.rewards()`), so any deployment
file that names Staking is enough.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

from backend.chain.compiler import compile_contracts
from backend.chain.rewards import StakingRewardsContract
from backend.chain.staking import StakePosition
from backend.sdk.client import Client
from backend.sdk.errors import InsufficientWal, SdkError

SECONDS_PER_YEAR: Final = 365 * 24 * 3600
APY_EPOCHS: Final = 4
"""Distributed epochs averaged for the APY estimate."""
MIN_ANNUALISED_EPOCH_SECONDS: Final = 3600
"""Shortest epoch for which an annualised yield is given. Below an hour (devnets: seconds
to minutes) annualising multiplies one epoch's test-sized reward by >= 8,760 epochs a year
and shows absurd percentages; the measured reward per epoch is given instead."""


class RewardsNotConfigured(SdkError):
    """The deployment's Staking has no rewards contract attached."""


class NoWallet(SdkError):
    """The command needs a wallet (a private key) and none was given."""


@dataclass(frozen=True)
class PositionRewards:
    position_id: int
    node_id: int
    amount: int
    activation_epoch: int
    withdraw_epoch: int | None
    pending_rewards: int
    """FROST claimable now."""


@dataclass(frozen=True)
class RewardsSummary:
    positions: list[PositionRewards]
    commission: dict[int, int]
    """Node id -> commission claimable by this wallet as the node's operator."""

    @property
    def total(self) -> int:
        return sum(p.pending_rewards for p in self.positions) + sum(self.commission.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "positions": [asdict(p) for p in self.positions],
            "commission": {str(node): amount for node, amount in self.commission.items()},
            "total_frost": self.total,
        }


@dataclass(frozen=True)
class NodeOverview:
    node_id: int
    name: str
    url: str
    commission_bps: int
    stake: int
    """FROST counted in the current epoch."""
    next_stake: int
    """FROST counted in the next epoch (pending changes applied)."""
    shards: int
    """Shards held in the current epoch (0 outside the committee)."""
    reward_per_epoch: float | None
    """Delegators' reward per staked WAL per epoch (a fraction), averaged over the last
    APY_EPOCHS distributed epochs (None when the node earned nothing in them)."""
    apy: float | None
    """`reward_per_epoch` annualised without compounding; None as well when epochs are
    shorter than MIN_ANNUALISED_EPOCH_SECONDS (devnets), where a year of them means nothing."""


@dataclass(frozen=True)
class Withdrawal:
    position_id: int
    stake: int
    rewards: int


class StakingClient:
    """Stake, withdraw, rewards and votes for the wallet of `client`."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.staking = client.staking
        self._rewards: StakingRewardsContract | None = None

    @property
    def rewards(self) -> StakingRewardsContract:
        if self._rewards is None:
            address = self.staking.rewards_address()
            if address is None:
                raise RewardsNotConfigured(
                    f"Staking {self.staking.address} has no rewards contract; redeploy with "
                    "`walrus devnet deploy`"
                )
            abi = compile_contracts().abi("StakingRewards")
            self._rewards = StakingRewardsContract.at(self.client.chain, address, abi)
        return self._rewards

    def _address(self) -> str:
        if self.client.chain.account is None:
            raise NoWallet("this needs a wallet: pass --private-key-file or WALRUS_PRIVATE_KEY")
        return self.client.chain.address

    # ------------------------------------------------------------ stake

    def stake(self, node_id: int, amount: int) -> StakePosition:
        """Stake `amount` FROST with `node_id` (approving Staking for exactly that first)."""
        owner = self._address()
        self.staking.node(node_id)  # StakingUnknownNode before any approval
        balance = self.client.wal_balance(owner)
        if balance < amount:
            raise InsufficientWal(amount, balance, "the stake")
        self.client.chain.transact(self.client.wal.functions.approve(self.staking.address, amount))
        return self.staking.stake(node_id, amount)

    def request_withdraw(self, position_id: int, amount: int | None = None) -> StakePosition:
        """Ask to withdraw `amount` (default: all) of a position; returns the position that
        becomes withdrawable at its withdraw epoch."""
        self._address()
        if amount is None:
            amount = self.staking.position(position_id).amount
        return self.staking.request_withdraw(position_id, amount)

    def withdraw(self, position_id: int) -> Withdrawal:
        """Pay back a position whose withdraw epoch has come, with its unclaimed rewards."""
        self._address()
        rewards = (
            self.rewards.pending_rewards(position_id)
            if self.staking.rewards_address() is not None
            else 0
        )
        stake = self.staking.withdraw(position_id)
        return Withdrawal(position_id, stake, rewards)

    def positions(self, owner: str | None = None) -> list[StakePosition]:
        return self.staking.positions_of(owner or self._address())

    # ------------------------------------------------------------ rewards

    def rewards_summary(self, owner: str | None = None) -> RewardsSummary:
        """Claimable rewards of every live position of `owner` (default: the wallet) and the
        commission of the nodes it operates."""
        owner = owner or self._address()
        positions = [
            PositionRewards(
                p.position_id,
                p.node_id,
                p.amount,
                p.activation_epoch,
                p.withdraw_epoch,
                self.rewards.pending_rewards(p.position_id),
            )
            for p in self.staking.positions_of(owner)
        ]
        commission = {
            node.node_id: self.rewards.commission_balance(node.node_id)
            for node in self.staking.nodes()
            if node.operator == owner
        }
        return RewardsSummary(positions, commission)

    def claim_all(self) -> int:
        """Claim every position's rewards and every operated node's commission; FROST paid."""
        summary = self.rewards_summary()
        paid = 0
        for position in summary.positions:
            if position.pending_rewards:
                paid += self.rewards.claim(position.position_id)
        for node_id, amount in summary.commission.items():
            if amount:
                paid += self.rewards.claim_commission(node_id)
        return paid

    # ------------------------------------------------------------ operators

    def vote(self, node_id: int, *, storage_price: int, write_price: int, capacity: int) -> None:
        """Set the node's votes (operator only); they count from the next epoch change."""
        self._address()
        self.staking.cast_votes(
            node_id, storage_price=storage_price, write_price=write_price, capacity=capacity
        )

    # ------------------------------------------------------------ overview

    def node_overview(self) -> list[NodeOverview]:
        """Every registered node with its stake, shards, commission and APY estimate."""
        epoch = self.staking.current_epoch()
        info = self.staking.epoch_info()
        committee = self.staking.committee(epoch) if epoch > 0 else None
        has_rewards = self.staking.rewards_address() is not None
        overview = []
        for node in self.staking.nodes():
            per_epoch = self.reward_per_epoch(node.node_id) if has_rewards else None
            overview.append(
                NodeOverview(
                    node_id=node.node_id,
                    name=node.name,
                    url=node.http_url,
                    commission_bps=node.commission_bps,
                    stake=self.staking.node_stake_at(node.node_id, epoch),
                    next_stake=self.staking.node_stake_at(node.node_id, epoch + 1),
                    shards=committee.shards_of(node.node_id) if committee else 0,
                    reward_per_epoch=per_epoch,
                    apy=annualised(per_epoch, info.duration),
                )
            )
        return overview

    def reward_per_epoch(self, node_id: int) -> float | None:
        """Delegators' reward per staked WAL per epoch, averaged over the last distributed
        epochs (up to APY_EPOCHS); None when the node earned nothing in them."""
        last = self.rewards.last_distributed_epoch()
        first = max(self.rewards.first_epoch(), last - APY_EPOCHS + 1)
        yields = []
        for epoch in range(first, last + 1):
            earned = self.rewards.node_epoch(epoch, node_id).yield_per_epoch()
            if earned is not None:
                yields.append(earned)
        return sum(yields) / len(yields) if yields else None


def annualised(per_epoch: float | None, epoch_seconds: int) -> float | None:
    """A per-epoch yield per year without compounding, or None when there is none or epochs
    are too short for a yearly figure to mean anything (MIN_ANNUALISED_EPOCH_SECONDS)."""
    if per_epoch is None or epoch_seconds < MIN_ANNUALISED_EPOCH_SECONDS:
        return None
    return per_epoch * SECONDS_PER_YEAR / epoch_seconds
