"""Typed binding of `StorageChallenges` and the answer a node builds from a sliver it holds.

A challenge names a blob id, a sliver (primary or secondary, by index) and a symbol index of
that sliver's expansion. The answer is the symbol with its Merkle proof to the sliver hash,
the metadata leaf of that sliver index (primary hash ‖ secondary hash) with its proof to the
blob root, and the blob's size and encoding type: the contract recomputes the blob id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError
from backend.chain.events import ContractEvents
from backend.core.merkle import MerkleTree, leaf_hash
from backend.core.metadata import VerifiedMetadata
from backend.core.recovery_symbols import recovery_symbol
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import VerifiedSliver

CONTRACT_NAME: Final = "StorageChallenges"
DEFAULT_RESPONSE_WINDOW: Final = 120
"""Seconds a node has to answer (devnet epochs last 300 s)."""
MAX_BPS: Final = 10_000


@dataclass(frozen=True)
class Challenge:
    epoch: int
    node_id: int
    blob_id: bytes
    sliver_index: int
    secondary: bool
    symbol_index: int
    answered: bool

    @property
    def kind(self) -> SliverKind:
        return SliverKind.SECONDARY if self.secondary else SliverKind.PRIMARY


@dataclass(frozen=True)
class Round:
    deadline: int
    """Unix seconds; answers are accepted until then."""
    challenged: int
    passed: int
    issued: bool
    closed: bool


@dataclass(frozen=True)
class NodeRecord:
    passed: int
    failed: int
    """Counted when a round is closed (`closeChallenges`)."""


@dataclass(frozen=True)
class ChallengeIssued:
    epoch: int
    node_id: int
    blob_id: bytes
    sliver_index: int
    secondary: bool
    symbol_index: int
    deadline: int


@dataclass(frozen=True)
class ChallengePassed:
    epoch: int
    node_id: int


@dataclass(frozen=True)
class ChallengeFailed:
    epoch: int
    node_id: int


EVENT_FIELDS: Final[dict[str, tuple[type[Any], tuple[str, ...]]]] = {
    "ChallengeIssued": (
        ChallengeIssued,
        ("epoch", "nodeId", "blobId", "sliverIndex", "secondary", "symbolIndex", "deadline"),
    ),
    "ChallengePassed": (ChallengePassed, ("epoch", "nodeId")),
    "ChallengeFailed": (ChallengeFailed, ("epoch", "nodeId")),
}


@dataclass(frozen=True)
class ChallengeAnswer:
    """What `respond` takes (the contract's `Answer` struct)."""

    symbol: bytes
    symbol_proof: tuple[bytes, ...]
    primary_hash: bytes
    secondary_hash: bytes
    leaf_proof: tuple[bytes, ...]
    size: int
    encoding_type: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.symbol,
            list(self.symbol_proof),
            self.primary_hash,
            self.secondary_hash,
            list(self.leaf_proof),
            self.size,
            self.encoding_type,
        )


def build_answer(sliver: VerifiedSliver, symbol_index: int) -> ChallengeAnswer:
    """The answer proving `sliver` is held: symbol `symbol_index` of its expansion."""
    metadata: VerifiedMetadata = sliver.metadata
    hashes = metadata.metadata
    symbol = recovery_symbol(sliver, symbol_index)  # the expanded symbol with its sliver proof
    leaves = np.frombuffer(
        b"".join(
            leaf_hash(p + s)
            for p, s in zip(hashes.primary_hashes, hashes.secondary_hashes, strict=True)
        ),
        dtype=np.uint8,
    ).reshape(-1, 32)
    return ChallengeAnswer(
        symbol=symbol.data,
        symbol_proof=symbol.proof.siblings,
        primary_hash=hashes.primary_hashes[sliver.index],
        secondary_hash=hashes.secondary_hashes[sliver.index],
        leaf_proof=MerkleTree(leaves).proof(sliver.index).siblings,
        size=metadata.unencoded_length,
        encoding_type=int(metadata.encoding_type),
    )


class StorageChallengesContract:
    """The `StorageChallenges` contract as seen by one account."""

    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.events: ContractEvents[Any] = ContractEvents(contract, EVENT_FIELDS)

    @classmethod
    def at(
        cls, client: ChainClient, address: str, abi: Sequence[dict[str, Any]]
    ) -> StorageChallengesContract:
        return cls(client, client.contract(address, abi))

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def as_account(self, client: ChainClient) -> StorageChallengesContract:
        return StorageChallengesContract(
            client, client.w3.eth.contract(self.address, abi=self.contract.abi)
        )

    # ------------------------------------------------------------ writes

    def issue_challenges(self, epoch: int) -> list[ChallengeIssued]:
        """Issue the current epoch's challenges (anyone, once per epoch)."""
        receipt = self.client.transact(self.contract.functions.issueChallenges(epoch))
        return [e for e in self.events.from_receipt(receipt) if isinstance(e, ChallengeIssued)]

    def respond(self, epoch: int, node_id: int, answer: ChallengeAnswer) -> TxReceipt:
        """Answer `node_id`'s challenge (from its operator account)."""
        return self.client.transact(
            self.contract.functions.respond(epoch, node_id, answer.as_tuple())
        )

    def close_challenges(self, epoch: int) -> list[ChallengeFailed]:
        """After the deadline: record unanswered challenges as failed (anyone, once)."""
        receipt = self.client.transact(self.contract.functions.closeChallenges(epoch))
        return [e for e in self.events.from_receipt(receipt) if isinstance(e, ChallengeFailed)]

    # ------------------------------------------------------------ views

    def _call(self, name: str, *args: Any) -> Any:
        return self.client.call(self.contract.functions[name](*args))

    def challenge_of(self, epoch: int, node_id: int) -> Challenge | None:
        """`node_id`'s challenge of `epoch`, or None if it has none."""
        blob_id, sliver, symbol, secondary, answered = self._call("challengeOf", epoch, node_id)
        if bytes(blob_id) == bytes(32):
            return None
        return Challenge(
            epoch, node_id, bytes(blob_id), int(sliver), bool(secondary), int(symbol), answered
        )

    def round_of(self, epoch: int) -> Round:
        deadline, challenged, passed, issued, closed = self._call("roundOf", epoch)
        return Round(int(deadline), int(challenged), int(passed), bool(issued), bool(closed))

    def node_record(self, node_id: int) -> NodeRecord:
        passed, failed = self._call("nodeRecord", node_id)
        return NodeRecord(int(passed), int(failed))

    def reward_weight_bps(self, epoch: int, node_id: int) -> int:
        return int(self._call("rewardWeightBps", epoch, node_id))

    def response_window(self) -> int:
        return int(self._call("responseWindow"))


def deploy_challenges(
    client: ChainClient,
    abi: Sequence[dict[str, Any]],
    bytecode: str,
    staking: str,
    registry: str,
    response_window: int = DEFAULT_RESPONSE_WINDOW,
) -> StorageChallengesContract:
    """Deploy `StorageChallenges` over the given Staking and BlobRegistry."""
    if response_window <= 0:
        raise ChainError(f"the response window must be positive, got {response_window}")
    contract, _ = client.deploy(
        abi,
        bytecode,
        Web3.to_checksum_address(staking),
        Web3.to_checksum_address(registry),
        response_window,
    )
    return StorageChallengesContract(client, contract)
