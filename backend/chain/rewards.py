"""Typed bindings for the `StakingRewards` contract: epoch reward distribution, burn,
subsidies, position rewards and operator commission.

Distribution itself needs no call: it runs inside `Staking.initiateEpochChange`. What users
do here is claim (positions, commission) and read; the owner (the governance timelock) sets
the burn share, the subsidy rate and the availability score contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, TypeVar

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError
from backend.chain.events import ContractEvents
from backend.chain.staking import checked_function

CONTRACT_NAME: Final = "StakingRewards"
BPS: Final = 10_000
ZERO_ADDRESS: Final = Web3.to_checksum_address("0x" + "00" * 20)

_E = TypeVar("_E")


@dataclass(frozen=True)
class NodeEpoch:
    """A committee member's stake and its stakers' reward (commission excluded) in an epoch."""

    epoch: int
    node_id: int
    stake: int
    stakers_reward: int

    def yield_per_epoch(self) -> float | None:
        """Stakers' reward per unit of stake in this epoch (None without stake)."""
        return self.stakers_reward / self.stake if self.stake else None


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class EpochRewardsDistributed:
    epoch: int
    storage_pool: int
    subsidy: int
    pool: int
    """storage_pool + subsidy (+ WAL sent to the contract directly) = distributed + burned."""
    distributed: int
    burned: int


@dataclass(frozen=True)
class NodeRewarded:
    epoch: int
    node_id: int
    reward: int
    commission: int
    stake: int
    weight_bps: int


@dataclass(frozen=True)
class RewardsClaimed:
    position_id: int
    owner: ChecksumAddress
    amount: int


@dataclass(frozen=True)
class CommissionClaimed:
    node_id: int
    operator: ChecksumAddress
    amount: int


@dataclass(frozen=True)
class StakerDustSwept:
    node_id: int
    amount: int


@dataclass(frozen=True)
class BurnShareUpdated:
    burn_share_bps: int


@dataclass(frozen=True)
class SubsidyRateUpdated:
    subsidy_rate: int


@dataclass(frozen=True)
class AvailabilityScoreUpdated:
    availability_score: ChecksumAddress


RewardsEvent: TypeAlias = (
    EpochRewardsDistributed
    | NodeRewarded
    | RewardsClaimed
    | CommissionClaimed
    | StakerDustSwept
    | BurnShareUpdated
    | SubsidyRateUpdated
    | AvailabilityScoreUpdated
)

_EVENTS: Final[dict[str, tuple[type[Any], tuple[str, ...]]]] = {
    "EpochRewardsDistributed": (
        EpochRewardsDistributed,
        ("epoch", "storagePool", "subsidy", "pool", "distributed", "burned"),
    ),
    "NodeRewarded": (
        NodeRewarded,
        ("epoch", "nodeId", "reward", "commission", "stake", "weightBps"),
    ),
    "RewardsClaimed": (RewardsClaimed, ("positionId", "owner", "amount")),
    "CommissionClaimed": (CommissionClaimed, ("nodeId", "operator", "amount")),
    "StakerDustSwept": (StakerDustSwept, ("nodeId", "amount")),
    "BurnShareUpdated": (BurnShareUpdated, ("burnShareBps",)),
    "SubsidyRateUpdated": (SubsidyRateUpdated, ("subsidyRate",)),
    "AvailabilityScoreUpdated": (AvailabilityScoreUpdated, ("availabilityScore",)),
}


class RewardsEvents(ContractEvents["RewardsEvent"]):
    """Decodes `StakingRewards` logs into the event dataclasses."""

    def __init__(self, contract: Contract) -> None:
        super().__init__(contract, _EVENTS)


class StakingRewardsContract:
    """The `StakingRewards` contract as seen by one account of a :class:`ChainClient`.

    Writes raise :class:`~backend.chain.errors.ContractRevert` named after the custom error
    (``StakingRewardsNotPositionOwner``, ``StakingRewardsInvalidBurnShare``...).
    """

    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.events = RewardsEvents(contract)

    @classmethod
    def at(
        cls, client: ChainClient, address: str, abi: Sequence[dict[str, Any]]
    ) -> StakingRewardsContract:
        return cls(client, client.contract(address, abi))

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def as_account(self, client: ChainClient) -> StakingRewardsContract:
        """The same contract, sending from `client`'s account."""
        return StakingRewardsContract(
            client, client.w3.eth.contract(self.address, abi=self.contract.abi)
        )

    # ------------------------------------------------------------ claims

    def claim(self, position_id: int) -> int:
        """Pay the position's rewards so far to its owner (this account); returns FROST."""
        receipt = self.client.transact(self._function("claim", position_id))
        claimed = self._maybe_one(receipt, RewardsClaimed)
        return 0 if claimed is None else claimed.amount

    def claim_commission(self, node_id: int) -> int:
        """Pay the node's commission to its operator (this account); returns FROST."""
        receipt = self.client.transact(self._function("claimCommission", node_id))
        claimed = self._maybe_one(receipt, CommissionClaimed)
        return 0 if claimed is None else claimed.amount

    # ------------------------------------------------------------ owner

    def set_burn_share(self, burn_share_bps: int) -> None:
        self.client.transact(self._function("setBurnShare", burn_share_bps))

    def set_subsidy_rate(self, subsidy_rate: int) -> None:
        self.client.transact(self._function("setSubsidyRate", subsidy_rate))

    def set_availability_score(self, score: str | None) -> None:
        """Weight rewards by `score`'s `rewardWeightBps` (None: full weight for every node)."""
        address = ZERO_ADDRESS if score is None else Web3.to_checksum_address(score)
        self.client.transact(self._function("setAvailabilityScore", address))

    # ------------------------------------------------------------ views

    def pending_rewards(self, position_id: int) -> int:
        """FROST the position could claim now."""
        return int(self._call("pendingRewards", position_id))

    def commission_balance(self, node_id: int) -> int:
        return int(self._call("commissionBalance", node_id))

    def staker_reserve(self, node_id: int) -> int:
        """WAL set aside for the node's positions and not yet paid."""
        return int(self._call("stakerReserve", node_id))

    def node_epoch(self, epoch: int, node_id: int) -> NodeEpoch:
        stake, stakers_reward = self._call("nodeEpoch", epoch, node_id)
        return NodeEpoch(epoch, node_id, int(stake), int(stakers_reward))

    def reward_per_stake(self, node_id: int) -> int:
        return int(self._call("rewardPerStake", node_id))

    def precision(self) -> int:
        return int(self._call("PRECISION"))

    def liabilities(self) -> int:
        """WAL the contract owes (commission balances + stakers' reserves)."""
        return int(self._call("liabilities"))

    def total_burned(self) -> int:
        return int(self._call("totalBurned"))

    def total_subsidies(self) -> int:
        return int(self._call("totalSubsidies"))

    def burn_share_bps(self) -> int:
        return int(self._call("burnShareBps"))

    def subsidy_rate(self) -> int:
        return int(self._call("subsidyRate"))

    def max_subsidy_rate(self) -> int:
        return int(self._call("MAX_SUBSIDY_RATE"))

    def subsidy_source(self) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call("subsidySource"))

    def availability_score(self) -> ChecksumAddress | None:
        address = Web3.to_checksum_address(self._call("availabilityScore"))
        return None if address == ZERO_ADDRESS else address

    def first_epoch(self) -> int:
        return int(self._call("firstEpoch"))

    def last_distributed_epoch(self) -> int:
        return int(self._call("lastDistributedEpoch"))

    # ------------------------------------------------------------ helpers

    def _call(self, name: str, *args: Any) -> Any:
        return self.client.call(self._function(name, *args))

    def _function(self, name: str, *args: Any) -> ContractFunction:
        return checked_function(self.contract, name, *args)

    def _maybe_one(self, receipt: TxReceipt, kind: type[_E]) -> _E | None:
        for event in self.events.from_receipt(receipt):
            if isinstance(event, kind):
                return event
        return None

    def _one(self, receipt: TxReceipt, kind: type[_E]) -> _E:
        found = self._maybe_one(receipt, kind)
        if found is None:
            raise ChainError(f"transaction emitted no {kind.__name__} event")
        return found


@dataclass(frozen=True)
class RewardsParameters:
    """Constructor parameters of `StakingRewards` (defaults suit a devnet)."""

    subsidy_rate: int = 1_000 * 10**9
    """FROST pulled from the subsidy source per epoch (1,000 WAL)."""
    burn_share_bps: int = 1_000
    """10% of every epoch's pool is burned."""

    def constructor_args(
        self, wal: str, staking: str, registry: str | None, subsidy_source: str | None, owner: str
    ) -> list[Any]:
        """`StakingRewards` constructor arguments, in order."""
        return [
            Web3.to_checksum_address(wal),
            Web3.to_checksum_address(staking),
            ZERO_ADDRESS if registry is None else Web3.to_checksum_address(registry),
            ZERO_ADDRESS if subsidy_source is None else Web3.to_checksum_address(subsidy_source),
            self.subsidy_rate,
            self.burn_share_bps,
            Web3.to_checksum_address(owner),
        ]


DEVNET_REWARDS: Final = RewardsParameters()


def deploy_rewards(
    client: ChainClient,
    abi: Sequence[dict[str, Any]],
    bytecode: str,
    *,
    wal: str,
    staking: str,
    registry: str | None,
    subsidy_source: str | None,
    owner: str,
    parameters: RewardsParameters = RewardsParameters(),
) -> StakingRewardsContract:
    """Deploy `StakingRewards` for `staking` (whose owner must then call `set_rewards`)."""
    contract, _ = client.deploy(
        abi,
        bytecode,
        *parameters.constructor_args(wal, staking, registry, subsidy_source, owner),
    )
    return StakingRewardsContract(client, contract)
