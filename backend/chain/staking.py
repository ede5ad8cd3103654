"""Typed bindings for the `Staking` contract: nodes, stake positions, epochs, committees.

Reads go straight to the contract; writes go through the shared transaction sender, so
a revert surfaces as the project's named-error exception (e.g. `StakingUnknownNode`).
Event decoding turns receipts and log ranges into the dataclasses below, which is how
storage nodes follow epoch changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, TypeAlias, TypeVar

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError, ContractRevert
from backend.chain.events import ContractEvents
from backend.core.bls import BlsSecretKey
from backend.core.intents import proof_of_possession_message

CONTRACT_NAME: Final = "Staking"

_E = TypeVar("_E")


class EpochState(IntEnum):
    """Sync state of the current epoch's committee (mirrors `Staking.EpochState`)."""

    SYNCING = 0
    DONE = 1


@dataclass(frozen=True)
class NodeInfo:
    node_id: int
    operator: ChecksumAddress
    name: str
    http_url: str
    public_key: bytes
    commission_bps: int
    capacity: int
    storage_price_vote: int
    write_price_vote: int


@dataclass(frozen=True)
class StakePosition:
    position_id: int
    owner: ChecksumAddress
    node_id: int
    amount: int
    activation_epoch: int
    withdraw_epoch: int | None
    """Epoch from which the position can be withdrawn; None until a withdrawal is requested."""


@dataclass(frozen=True)
class Committee:
    epoch: int
    node_ids: tuple[int, ...]
    shard_counts: tuple[int, ...]

    @property
    def n_shards(self) -> int:
        return sum(self.shard_counts)

    def shards_of(self, node_id: int) -> int:
        """Shard count of `node_id` in this committee (0 if not a member)."""
        for member, count in zip(self.node_ids, self.shard_counts, strict=True):
            if member == node_id:
                return count
        return 0


@dataclass(frozen=True)
class EpochInfo:
    epoch: int
    state: EpochState
    start_time: int
    duration: int
    sync_done_weight: int

    @property
    def end_time(self) -> int:
        return self.start_time + self.duration


@dataclass(frozen=True)
class Prices:
    storage_price: int
    """FROST per MiB of encoded size per epoch."""
    write_price: int
    """FROST per MiB of encoded size, paid once per write."""
    total_capacity: int
    """Encoded bytes the committee offers."""


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class NodeRegistered:
    node_id: int
    operator: ChecksumAddress
    name: str
    http_url: str
    public_key: bytes
    commission_bps: int
    capacity: int


@dataclass(frozen=True)
class NodeMetadataUpdated:
    node_id: int
    name: str
    http_url: str


@dataclass(frozen=True)
class CommissionUpdated:
    node_id: int
    commission_bps: int


@dataclass(frozen=True)
class VotesCast:
    node_id: int
    storage_price: int
    write_price: int
    capacity: int


@dataclass(frozen=True)
class Staked:
    position_id: int
    staker: ChecksumAddress
    node_id: int
    amount: int
    activation_epoch: int


@dataclass(frozen=True)
class WithdrawalRequested:
    position_id: int
    staker: ChecksumAddress
    node_id: int
    amount: int
    withdraw_epoch: int


@dataclass(frozen=True)
class Withdrawn:
    position_id: int
    staker: ChecksumAddress
    node_id: int
    amount: int


@dataclass(frozen=True)
class EpochChangeStarted:
    epoch: int
    start_time: int


@dataclass(frozen=True)
class CommitteeSelected:
    epoch: int
    node_ids: tuple[int, ...]
    shard_counts: tuple[int, ...]


@dataclass(frozen=True)
class EpochParametersSelected:
    epoch: int
    storage_price: int
    write_price: int
    total_capacity: int


@dataclass(frozen=True)
class EpochSyncDoneReported:
    epoch: int
    node_id: int
    sync_done_weight: int


@dataclass(frozen=True)
class EpochChangeDone:
    epoch: int


@dataclass(frozen=True)
class EpochDurationUpdated:
    epoch_duration: int


@dataclass(frozen=True)
class CommitteeParametersUpdated:
    min_stake: int
    max_committee_size: int
    max_shard_share_bps: int


StakingEvent: TypeAlias = (
    NodeRegistered
    | NodeMetadataUpdated
    | CommissionUpdated
    | VotesCast
    | Staked
    | WithdrawalRequested
    | Withdrawn
    | EpochChangeStarted
    | CommitteeSelected
    | EpochParametersSelected
    | EpochSyncDoneReported
    | EpochChangeDone
    | EpochDurationUpdated
    | CommitteeParametersUpdated
)

# Solidity event name -> (dataclass, argument names in dataclass field order).
_EVENTS: Final[dict[str, tuple[type[Any], tuple[str, ...]]]] = {
    "NodeRegistered": (
        NodeRegistered,
        ("nodeId", "operator", "name", "httpUrl", "publicKey", "commissionBps", "capacity"),
    ),
    "NodeMetadataUpdated": (NodeMetadataUpdated, ("nodeId", "name", "httpUrl")),
    "CommissionUpdated": (CommissionUpdated, ("nodeId", "commissionBps")),
    "VotesCast": (VotesCast, ("nodeId", "storagePrice", "writePrice", "capacity")),
    "Staked": (Staked, ("positionId", "staker", "nodeId", "amount", "activationEpoch")),
    "WithdrawalRequested": (
        WithdrawalRequested,
        ("positionId", "staker", "nodeId", "amount", "withdrawEpoch"),
    ),
    "Withdrawn": (Withdrawn, ("positionId", "staker", "nodeId", "amount")),
    "EpochChangeStarted": (EpochChangeStarted, ("epoch", "startTime")),
    "CommitteeSelected": (CommitteeSelected, ("epoch", "nodeIds", "shardCounts")),
    "EpochParametersSelected": (
        EpochParametersSelected,
        ("epoch", "storagePrice", "writePrice", "totalCapacity"),
    ),
    "EpochSyncDoneReported": (EpochSyncDoneReported, ("epoch", "nodeId", "syncDoneWeight")),
    "EpochChangeDone": (EpochChangeDone, ("epoch",)),
    "EpochDurationUpdated": (EpochDurationUpdated, ("epochDuration",)),
    "CommitteeParametersUpdated": (
        CommitteeParametersUpdated,
        ("minStake", "maxCommitteeSize", "maxShardShareBps"),
    ),
}


class StakingEvents(ContractEvents["StakingEvent"]):
    """Decodes `Staking` logs into the event dataclasses, ignoring other contracts' logs."""

    def __init__(self, contract: Contract) -> None:
        super().__init__(contract, _EVENTS)


class StakingArgumentError(ChainError):
    """An argument does not fit its Solidity type (e.g. a negative amount)."""


def _check_uint(function: str, parameter: str, solidity_type: str, value: Any) -> None:
    if not solidity_type.startswith("uint") or solidity_type.endswith("]"):
        return
    bits = int(solidity_type[4:] or 256)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StakingArgumentError(
            f"{function}: {parameter} must be an integer, got {type(value).__name__}"
        )
    if not 0 <= value < 2**bits:
        raise StakingArgumentError(
            f"{function}: {parameter} must be between 0 and 2**{bits} - 1, got {value}"
        )


def checked_function(contract: Contract, name: str, *args: Any) -> ContractFunction:
    """The bound contract function, after checking integer arguments against their
    Solidity types so that bad input is a named error, not a web3 encoding failure."""
    for entry in contract.abi:
        if entry.get("type") == "function" and entry.get("name") == name:
            inputs: list[dict[str, Any]] = list(entry.get("inputs", []))  # type: ignore[call-overload]
            if len(inputs) == len(args):
                for parameter, value in zip(inputs, args, strict=True):
                    _check_uint(name, parameter["name"], parameter["type"], value)
                break
    return contract.functions[name](*args)


class StakingContract:
    """The `Staking` contract as seen by one account of a :class:`ChainClient`.

    Writes raise :class:`~backend.chain.errors.ContractRevert` named after the contract's
    custom error (``StakingUnknownNode``, ``ERC20InsufficientAllowance``...).
    """

    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.events = StakingEvents(contract)

    @classmethod
    def at(
        cls, client: ChainClient, address: str, abi: Sequence[dict[str, Any]]
    ) -> StakingContract:
        return cls(client, client.contract(address, abi))

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def as_account(self, client: ChainClient) -> StakingContract:
        """The same contract, sending from `client`'s account."""
        return StakingContract(client, client.w3.eth.contract(self.address, abi=self.contract.abi))

    # ------------------------------------------------------------ nodes

    def proof_of_possession(self, secret_key: BlsSecretKey, operator: str | None = None) -> bytes:
        """The 256-byte proof of possession `operator` (default: this account) registers."""
        message = proof_of_possession_message(
            self.client.chain_id,
            self.address,
            operator or self.client.address,
            secret_key.public_key(),
        )
        return secret_key.sign(message).to_eip2537()

    def register_node(
        self,
        name: str,
        http_url: str,
        secret_key: BlsSecretKey,
        *,
        commission_bps: int = 0,
        capacity: int = 0,
    ) -> int:
        """Register a node operated by this account, signing its proof of possession with
        `secret_key`. Returns the node id."""
        return self.register_node_with_proof(
            name,
            http_url,
            secret_key.public_key().to_eip2537(),
            self.proof_of_possession(secret_key),
            commission_bps=commission_bps,
            capacity=capacity,
        )

    def register_node_with_proof(
        self,
        name: str,
        http_url: str,
        public_key: bytes,
        proof_of_possession: bytes,
        *,
        commission_bps: int = 0,
        capacity: int = 0,
    ) -> int:
        """Register a node from an EIP-2537 public key and an already made proof."""
        receipt = self.client.transact(
            self._function(
                "registerNode",
                name,
                http_url,
                public_key,
                proof_of_possession,
                commission_bps,
                capacity,
            )
        )
        return self._one(receipt, NodeRegistered).node_id

    def set_node_metadata(self, node_id: int, name: str, http_url: str) -> None:
        self.client.transact(self._function("setNodeMetadata", node_id, name, http_url))

    def set_commission(self, node_id: int, commission_bps: int) -> None:
        self.client.transact(self._function("setCommission", node_id, commission_bps))

    def cast_votes(
        self, node_id: int, *, storage_price: int, write_price: int, capacity: int
    ) -> None:
        """Set the node's price and capacity votes; they count from the next epoch change."""
        self.client.transact(
            self._function("castVotes", node_id, storage_price, write_price, capacity)
        )

    # ------------------------------------------------------------ stake

    def stake(self, node_id: int, amount: int) -> StakePosition:
        """Stake `amount` FROST with `node_id` (needs a WAL allowance for Staking)."""
        receipt = self.client.transact(self._function("stake", node_id, amount))
        staked = self._one(receipt, Staked)
        return StakePosition(
            staked.position_id, staked.staker, node_id, amount, staked.activation_epoch, None
        )

    def stake_with_permit(
        self, node_id: int, amount: int, deadline: int, v: int, r: bytes, s: bytes
    ) -> StakePosition:
        """Like `stake`, approving with an EIP-2612 permit signature in the same transaction."""
        receipt = self.client.transact(
            self._function("stakeWithPermit", node_id, amount, deadline, v, r, s)
        )
        staked = self._one(receipt, Staked)
        return StakePosition(
            staked.position_id, staked.staker, node_id, amount, staked.activation_epoch, None
        )

    def request_withdraw(self, position_id: int, amount: int) -> StakePosition:
        """Request the withdrawal of `amount` from a position; returns the position that
        waits for withdrawal (a new one when `amount` is a part of the position)."""
        receipt = self.client.transact(self._function("requestWithdraw", position_id, amount))
        return self.position(self._one(receipt, WithdrawalRequested).position_id)

    def withdraw(self, position_id: int) -> int:
        """Pay back a position whose withdraw epoch has come; returns the FROST paid."""
        receipt = self.client.transact(self._function("withdraw", position_id))
        return self._one(receipt, Withdrawn).amount

    # ------------------------------------------------------------ epochs

    def initiate_epoch_change(self) -> Committee:
        """Start the next epoch; returns its committee."""
        receipt = self.client.transact(self._function("initiateEpochChange"))
        selected = self._one(receipt, CommitteeSelected)
        return Committee(selected.epoch, selected.node_ids, selected.shard_counts)

    def epoch_sync_done(self, node_id: int, epoch: int) -> bool:
        """Report that `node_id` has its shards for `epoch`; True if that completed the
        epoch change."""
        receipt = self.client.transact(self._function("epochSyncDone", node_id, epoch))
        return any(
            isinstance(event, EpochChangeDone) for event in self.events.from_receipt(receipt)
        )

    def set_rewards(self, rewards: str) -> None:
        """Attach the `StakingRewards` contract (owner only, once)."""
        self.client.transact(self._function("setRewards", Web3.to_checksum_address(rewards)))

    def rewards_address(self) -> ChecksumAddress | None:
        """The attached rewards contract, or None."""
        address = Web3.to_checksum_address(self._call("rewards"))
        return None if int(address, 16) == 0 else address

    def set_epoch_duration(self, seconds: int) -> None:
        self.client.transact(self._function("setEpochDuration", seconds))

    def set_committee_parameters(
        self, *, min_stake: int, max_committee_size: int, max_shard_share_bps: int
    ) -> None:
        self.client.transact(
            self._function(
                "setCommitteeParameters", min_stake, max_committee_size, max_shard_share_bps
            )
        )

    # ------------------------------------------------------------ views

    def _call(self, name: str, *args: Any) -> Any:
        return self.client.call(self._function(name, *args))

    def _function(self, name: str, *args: Any) -> ContractFunction:
        return checked_function(self.contract, name, *args)

    @property
    def n_shards(self) -> int:
        return int(self._call("nShards"))

    def current_epoch(self) -> int:
        return int(self._call("currentEpoch"))

    def epoch_info(self) -> EpochInfo:
        return EpochInfo(
            epoch=int(self._call("currentEpoch")),
            state=EpochState(self._call("epochState")),
            start_time=int(self._call("epochStartTime")),
            duration=int(self._call("epochDuration")),
            sync_done_weight=int(self._call("syncDoneWeight")),
        )

    def prices(self) -> Prices:
        return Prices(
            storage_price=int(self._call("storagePrice")),
            write_price=int(self._call("writePrice")),
            total_capacity=int(self._call("totalCapacity")),
        )

    def stake_change_epoch(self) -> int:
        """Epoch in which a stake or withdrawal request made now takes effect."""
        return int(self._call("stakeChangeEpoch"))

    def quorum_weight(self) -> int:
        return int(self._call("quorumWeight"))

    def node_count(self) -> int:
        return int(self._call("nodeCount"))

    def node(self, node_id: int) -> NodeInfo:
        info = self._call("node", node_id)
        return NodeInfo(node_id, info[0], info[1], info[2], bytes(info[3]), *map(int, info[4:8]))

    def nodes(self) -> list[NodeInfo]:
        """Every registered node, by id."""
        return [self.node(node_id) for node_id in range(1, self.node_count() + 1)]

    def candidate_node_ids(self) -> set[int]:
        """Nodes the next committee selection considers."""
        return {int(node_id) for node_id in self._call("candidateNodeIds")}

    def node_stake_at(self, node_id: int, epoch: int) -> int:
        """The node's stake in `epoch` (the current epoch or later)."""
        return int(self._call("nodeStakeAt", node_id, epoch))

    def position(self, position_id: int) -> StakePosition:
        owner, activation, withdraw_epoch, amount, node_id = self._call("position", position_id)
        return StakePosition(
            position_id, owner, int(node_id), int(amount), int(activation), withdraw_epoch or None
        )

    def positions_of(self, owner: str) -> list[StakePosition]:
        """The owner's positions that still exist (withdrawn ones are gone)."""
        ids = self._call("positionIdsOf", Web3.to_checksum_address(owner))
        positions = []
        for position_id in ids:
            try:
                positions.append(self.position(int(position_id)))
            except ContractRevert as error:
                if error.name != "StakingUnknownPosition":
                    raise
        return positions

    def committee(self, epoch: int | None = None) -> Committee:
        """The committee of `epoch` (default: the current epoch)."""
        epoch = self.current_epoch() if epoch is None else epoch
        node_ids, counts = self._call("committeeOf", epoch)
        return Committee(epoch, tuple(map(int, node_ids)), tuple(map(int, counts)))

    def shard_assignment(self, epoch: int | None = None) -> tuple[int, ...]:
        """Node id owning each shard index in `epoch` (default: the current epoch)."""
        epoch = self.current_epoch() if epoch is None else epoch
        return tuple(int(owner) for owner in self._call("shardAssignment", epoch))

    def shards_of_node(self, node_id: int, epoch: int | None = None) -> tuple[int, ...]:
        """Shard indices `node_id` holds in `epoch` (default: the current epoch)."""
        return tuple(
            shard for shard, owner in enumerate(self.shard_assignment(epoch)) if owner == node_id
        )

    def committee_aggregate_key(self, epoch: int) -> bytes:
        return bytes(self._call("committeeAggregateKey", epoch))

    def committee_member_key(self, epoch: int, member_index: int) -> bytes:
        return bytes(self._call("committeeMemberKey", epoch, member_index))

    def sync_reported(self, epoch: int, node_id: int) -> bool:
        return bool(self._call("syncReported", epoch, node_id))

    # ------------------------------------------------------------ helpers

    def _one(self, receipt: TxReceipt, kind: type[_E]) -> _E:
        for event in self.events.from_receipt(receipt):
            if isinstance(event, kind):
                return event
        raise ChainError(f"transaction emitted no {kind.__name__} event")


@dataclass(frozen=True)
class StakingParameters:
    """Constructor parameters of `Staking` (defaults suit a devnet)."""

    n_shards: int = 10
    epoch_duration: int = 300
    """Seconds."""
    storage_price: int = 1_000
    """Initial FROST per MiB of encoded size per epoch."""
    write_price: int = 100
    """Initial FROST per MiB of encoded size per write."""
    min_stake: int = 1_000_000_000
    """1 WAL."""
    max_committee_size: int = 10
    max_shard_share_bps: int = 10_000

    def constructor_args(self, wal: str, owner: str) -> list[Any]:
        """`Staking` constructor arguments, in order."""
        return [
            Web3.to_checksum_address(wal),
            Web3.to_checksum_address(owner),
            self.n_shards,
            self.epoch_duration,
            self.storage_price,
            self.write_price,
            self.min_stake,
            self.max_committee_size,
            self.max_shard_share_bps,
        ]


def deploy_staking(
    client: ChainClient,
    abi: Sequence[dict[str, Any]],
    bytecode: str,
    wal: str,
    owner: str,
    parameters: StakingParameters = StakingParameters(),
) -> StakingContract:
    """Deploy `Staking` for the WAL token at `wal`, parameters owned by `owner`."""
    contract, _ = client.deploy(abi, bytecode, *parameters.constructor_args(wal, owner))
    return StakingContract(client, contract)
