"""Typed bindings for the `BlobRegistry` contract: blob tokens, payment, certificates.

Reads go straight to the contract; writes go through the shared transaction sender, so a
revert surfaces as :class:`~backend.chain.errors.ContractRevert` named after the contract's
custom error (``BlobRegistryInvalidBlobId``, ``ERC20InsufficientAllowance``...). Event
decoding turns receipts and log ranges into the dataclasses below, which is how storage
nodes and the indexer follow registrations, certifications and deletions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, TypeVar

from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError
from backend.chain.events import ContractEvents
from backend.core.bls import BlsSignature, aggregate_signatures

CONTRACT_NAME: Final = "BlobRegistry"
BLOB_ID_SIZE: Final = 32


class InvalidSignerSet(ChainError):
    """Signer indices that do not fit the committee (out of range or repeated)."""


@dataclass(frozen=True)
class BlobInfo:
    """One registration (one token), as `BlobRegistry.blobInfo` returns it."""

    token_id: int
    owner: ChecksumAddress
    blob_id: bytes
    root_hash: bytes
    size: int
    encoding_type: int
    encoded_size: int
    registered_epoch: int
    certified_epoch: int | None
    """Epoch of certification; None while not certified."""
    end_epoch: int
    """First epoch the blob is no longer stored (exclusive)."""
    deletable: bool
    invalidated: bool

    @property
    def is_certified(self) -> bool:
        return self.certified_epoch is not None


@dataclass(frozen=True)
class BlobIdStatus:
    """A blob id over all its registrations (what a storage node asks about)."""

    registrations: int
    certified_deletable: int
    permanent_certified_until: int
    deletable_certified_until: int
    invalidated_epoch: int | None
    """Epoch of invalidation; None if the blob id is valid."""

    @property
    def invalidated(self) -> bool:
        return self.invalidated_epoch is not None


@dataclass(frozen=True)
class RegistrationCost:
    storage: int
    """storagePrice x encoded MiB x epochs, in FROST."""
    write: int
    """writePrice x encoded MiB, in FROST."""

    @property
    def total(self) -> int:
        return self.storage + self.write


@dataclass(frozen=True)
class Permit:
    """An EIP-2612 permit signature over `value` FROST for the registry (see `sign_permit`)."""

    value: int
    deadline: int
    v: int
    r: bytes
    s: bytes

    def as_tuple(self) -> tuple[int, int, int, bytes, bytes]:
        return (self.value, self.deadline, self.v, self.r, self.s)


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class BlobRegistered:
    token_id: int
    blob_id: bytes
    owner: ChecksumAddress
    root_hash: bytes
    size: int
    encoding_type: int
    encoded_size: int
    registered_epoch: int
    end_epoch: int
    deletable: bool
    cost: int


@dataclass(frozen=True)
class BlobCertified:
    token_id: int
    blob_id: bytes
    epoch: int
    end_epoch: int
    deletable: bool


@dataclass(frozen=True)
class BlobExtended:
    token_id: int
    blob_id: bytes
    end_epoch: int
    cost: int


@dataclass(frozen=True)
class BlobDeleted:
    token_id: int
    blob_id: bytes
    epoch: int
    refund: int


@dataclass(frozen=True)
class BlobBurned:
    token_id: int
    blob_id: bytes


@dataclass(frozen=True)
class BlobInvalidated:
    blob_id: bytes
    epoch: int


@dataclass(frozen=True)
class BlobAttributeSet:
    token_id: int
    key: str
    value: str


@dataclass(frozen=True)
class BlobAttributeRemoved:
    token_id: int
    key: str


@dataclass(frozen=True)
class EpochRewardsReleased:
    epoch: int
    amount: int


@dataclass(frozen=True)
class MaxEpochsAheadUpdated:
    max_epochs_ahead: int


@dataclass(frozen=True)
class BlobTransferred:
    """ERC-721 `Transfer` of a blob token (mint: sender is the zero address; burn: receiver)."""

    sender: ChecksumAddress
    receiver: ChecksumAddress
    token_id: int


RegistryEvent: TypeAlias = (
    BlobRegistered
    | BlobCertified
    | BlobExtended
    | BlobDeleted
    | BlobBurned
    | BlobInvalidated
    | BlobAttributeSet
    | BlobAttributeRemoved
    | EpochRewardsReleased
    | MaxEpochsAheadUpdated
    | BlobTransferred
)

# Solidity event name -> (dataclass, argument names in dataclass field order).
EVENT_FIELDS: Final[dict[str, tuple[type[Any], tuple[str, ...]]]] = {
    "BlobRegistered": (
        BlobRegistered,
        (
            "tokenId",
            "blobId",
            "owner",
            "rootHash",
            "size",
            "encodingType",
            "encodedSize",
            "registeredEpoch",
            "endEpoch",
            "deletable",
            "cost",
        ),
    ),
    "BlobCertified": (BlobCertified, ("tokenId", "blobId", "epoch", "endEpoch", "deletable")),
    "BlobExtended": (BlobExtended, ("tokenId", "blobId", "endEpoch", "cost")),
    "BlobDeleted": (BlobDeleted, ("tokenId", "blobId", "epoch", "refund")),
    "BlobBurned": (BlobBurned, ("tokenId", "blobId")),
    "BlobInvalidated": (BlobInvalidated, ("blobId", "epoch")),
    "BlobAttributeSet": (BlobAttributeSet, ("tokenId", "key", "value")),
    "BlobAttributeRemoved": (BlobAttributeRemoved, ("tokenId", "key")),
    "EpochRewardsReleased": (EpochRewardsReleased, ("epoch", "amount")),
    "MaxEpochsAheadUpdated": (MaxEpochsAheadUpdated, ("maxEpochsAhead",)),
    "Transfer": (BlobTransferred, ("from", "to", "tokenId")),
}

_E = TypeVar("_E")


class RegistryEvents(ContractEvents["RegistryEvent"]):
    """Decodes `BlobRegistry` logs into the event dataclasses, ignoring other contracts' logs."""

    def __init__(self, contract: Contract) -> None:
        super().__init__(contract, EVENT_FIELDS)


def signer_bitmap(committee_size: int, signer_indices: Iterable[int]) -> bytes:
    """The certificate's signer bitmap: member i (committee order) is bit i % 8 of byte i // 8.

    Raises InvalidSignerSet for an index outside the committee or a repeated index."""
    if committee_size <= 0:
        raise InvalidSignerSet(f"committee size must be positive, got {committee_size}")
    bitmap = bytearray((committee_size + 7) // 8)
    for index in signer_indices:
        if not 0 <= index < committee_size:
            raise InvalidSignerSet(
                f"signer index {index} is outside the committee of {committee_size} members"
            )
        if bitmap[index // 8] >> (index % 8) & 1:
            raise InvalidSignerSet(f"signer index {index} appears twice")
        bitmap[index // 8] |= 1 << (index % 8)
    return bytes(bitmap)


@dataclass(frozen=True)
class Certificate:
    """What `certifyBlob` / `invalidateBlob` take: signer bitmap and aggregate signature."""

    signers: bytes
    signature: bytes
    """256-byte EIP-2537 G2 point."""


def aggregate_certificate(
    committee_size: int, signatures: Mapping[int, BlsSignature]
) -> Certificate:
    """A certificate from members' signatures of one message, keyed by committee index.

    Raises InvalidSignerSet for an index outside the committee or no signature at all."""
    if not signatures:
        raise InvalidSignerSet("a certificate needs at least one signature")
    indices = sorted(signatures)
    return Certificate(
        signer_bitmap(committee_size, indices),
        aggregate_signatures([signatures[i] for i in indices]).to_eip2537(),
    )


def _blob_id_bytes(blob_id: bytes) -> bytes:
    if len(blob_id) != BLOB_ID_SIZE:
        raise ValueError(f"a blob id has {BLOB_ID_SIZE} bytes, got {len(blob_id)}")
    return bytes(blob_id)


def sign_permit(
    client: ChainClient, wal: Contract, spender: str, value: int, deadline: int
) -> Permit:
    """An EIP-2612 permit by `client`'s account letting `spender` (the registry) pull `value`
    FROST of the token `wal` until `deadline` (unix seconds); the domain is read from the
    token (EIP-5267) and the nonce is the owner's current one."""
    account = client.account
    if account is None:
        raise ChainError("signing a permit needs a client with a private key")
    _, name, version, chain_id, verifying_contract, _, _ = client.call(wal.functions.eip712Domain())
    nonce = int(client.call(wal.functions.nonces(account.address)))
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": name,
            "version": version,
            "chainId": int(chain_id),
            "verifyingContract": verifying_contract,
        },
        "message": {
            "owner": account.address,
            "spender": Web3.to_checksum_address(spender),
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    signed = account.sign_message(encode_typed_data(full_message=typed))
    return Permit(
        value, deadline, int(signed.v), signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")
    )


class BlobRegistryContract:
    """The `BlobRegistry` contract as seen by one account of a :class:`ChainClient`."""

    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.events = RegistryEvents(contract)

    @classmethod
    def at(
        cls, client: ChainClient, address: str, abi: Sequence[dict[str, Any]]
    ) -> BlobRegistryContract:
        return cls(client, client.contract(address, abi))

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def as_account(self, client: ChainClient) -> BlobRegistryContract:
        """The same contract, sending from `client`'s account."""
        return BlobRegistryContract(
            client, client.w3.eth.contract(self.address, abi=self.contract.abi)
        )

    # ------------------------------------------------------------ blobs

    def register_blob(
        self,
        blob_id: bytes,
        root_hash: bytes,
        size: int,
        encoding_type: int,
        epochs: int,
        *,
        deletable: bool,
        permit: Permit | None = None,
    ) -> BlobRegistered:
        """Register a blob for `epochs` epochs from the current one, paying from this account
        (needs a WAL allowance of `registration_cost(...).total`, or a `permit`)."""
        args = (_blob_id_bytes(blob_id), bytes(root_hash), size, encoding_type, epochs, deletable)
        functions = self.contract.functions
        call = (
            functions.registerBlob(*args)
            if permit is None
            else functions.registerBlobWithPermit(*args, permit.as_tuple())
        )
        return self._one(self.client.transact(call), BlobRegistered)

    def certify_blob(self, token_id: int, signers: bytes, signature: bytes) -> BlobCertified:
        """Certify with the current committee's aggregate signature (EIP-2537, 256 bytes)
        from the members in the `signers` bitmap (see `signer_bitmap`)."""
        receipt = self.client.transact(
            self.contract.functions.certifyBlob(token_id, signers, signature)
        )
        return self._one(receipt, BlobCertified)

    def extend_blob(
        self, token_id: int, extra_epochs: int, *, permit: Permit | None = None
    ) -> BlobExtended:
        """Pay for `extra_epochs` more epochs (token owner or approved operator)."""
        functions = self.contract.functions
        call = (
            functions.extendBlob(token_id, extra_epochs)
            if permit is None
            else functions.extendBlobWithPermit(token_id, extra_epochs, permit.as_tuple())
        )
        return self._one(self.client.transact(call), BlobExtended)

    def delete_blob(self, token_id: int) -> BlobDeleted:
        """Delete a deletable blob; the unused future epochs are paid back to its owner."""
        receipt = self.client.transact(self.contract.functions.deleteBlob(token_id))
        return self._one(receipt, BlobDeleted)

    def burn_blob(self, token_id: int) -> BlobBurned:
        """Burn the token of an expired or invalidated blob."""
        return self._one(
            self.client.transact(self.contract.functions.burnBlob(token_id)), BlobBurned
        )

    def invalidate_blob(self, blob_id: bytes, signers: bytes, signature: bytes) -> BlobInvalidated:
        """Invalidate a blob id with f + 1 shard weight of invalid-blob attestations."""
        receipt = self.client.transact(
            self.contract.functions.invalidateBlob(_blob_id_bytes(blob_id), signers, signature)
        )
        return self._one(receipt, BlobInvalidated)

    def set_attribute(self, token_id: int, key: str, value: str) -> None:
        self.client.transact(self.contract.functions.setAttribute(token_id, key, value))

    def remove_attribute(self, token_id: int, key: str) -> None:
        self.client.transact(self.contract.functions.removeAttribute(token_id, key))

    def transfer(self, token_id: int, to: str) -> None:
        """Give the blob token (and with it the blob's delete/extend rights) to `to`."""
        self.client.transact(
            self.contract.functions.transferFrom(
                self.client.address, Web3.to_checksum_address(to), token_id
            )
        )

    def approve(self, operator: str, token_id: int) -> None:
        """Let `operator` act on this one blob token (ERC-721 approval)."""
        self.client.transact(
            self.contract.functions.approve(Web3.to_checksum_address(operator), token_id)
        )

    def release_epoch_rewards(self, epoch: int) -> int:
        """Hand a finished epoch's pool to the staking contract; returns the FROST moved."""
        receipt = self.client.transact(self.contract.functions.releaseEpochRewards(epoch))
        return self._one(receipt, EpochRewardsReleased).amount

    def set_max_epochs_ahead(self, max_epochs_ahead: int) -> None:
        self.client.transact(self.contract.functions.setMaxEpochsAhead(max_epochs_ahead))

    # ------------------------------------------------------------ views

    def _call(self, name: str, *args: Any) -> Any:
        return self.client.call(self.contract.functions[name](*args))

    def blob_info(self, token_id: int) -> BlobInfo:
        info = self._call("blobInfo", token_id)
        return BlobInfo(
            token_id=token_id,
            owner=Web3.to_checksum_address(info[0]),
            blob_id=bytes(info[1]),
            root_hash=bytes(info[2]),
            size=int(info[3]),
            encoding_type=int(info[4]),
            encoded_size=int(info[5]),
            registered_epoch=int(info[6]),
            certified_epoch=int(info[7]) or None,
            end_epoch=int(info[8]),
            deletable=bool(info[9]),
            invalidated=bool(info[10]),
        )

    def blob_id_status(self, blob_id: bytes) -> BlobIdStatus:
        raw = self._call("blobIdStatus", _blob_id_bytes(blob_id))
        registrations, deletable, permanent_until, deletable_until, invalidated_epoch, invalid = raw
        return BlobIdStatus(
            registrations=int(registrations),
            certified_deletable=int(deletable),
            permanent_certified_until=int(permanent_until),
            deletable_certified_until=int(deletable_until),
            invalidated_epoch=int(invalidated_epoch) if invalid else None,
        )

    def certified_until(self, blob_id: bytes) -> int:
        """End epoch (exclusive) of the blob id's certified storage; 0 if none or invalid."""
        return int(self._call("certifiedUntil", _blob_id_bytes(blob_id)))

    def is_certified(self, blob_id: bytes, epoch: int | None = None) -> bool:
        """Whether the blob id is certified and stored in `epoch` (default: the current one)."""
        if epoch is None:
            return bool(self._call("isCertified", _blob_id_bytes(blob_id)))
        return bool(self._call("isCertifiedAt", _blob_id_bytes(blob_id), epoch))

    def attribute(self, token_id: int, key: str) -> str | None:
        exists, value = self._call("attribute", token_id, key)
        return str(value) if exists else None

    def owner_of(self, token_id: int) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call("ownerOf", token_id))

    def balance_of(self, owner: str) -> int:
        """Number of blob tokens `owner` holds."""
        return int(self._call("balanceOf", Web3.to_checksum_address(owner)))

    def encoded_size(self, n_shards: int, size: int) -> int:
        return int(self._call("encodedSize", n_shards, size))

    def compute_blob_id(self, encoding_type: int, size: int, root_hash: bytes) -> bytes:
        return bytes(self._call("computeBlobId", encoding_type, size, bytes(root_hash)))

    def registration_cost(self, size: int, epochs: int) -> RegistrationCost:
        storage, write = self._call("registrationCost", size, epochs)
        return RegistrationCost(int(storage), int(write))

    def extension_cost(self, token_id: int, extra_epochs: int) -> int:
        return int(self._call("extensionCost", token_id, extra_epochs))

    def certification_message(
        self, epoch: int, blob_id: bytes, deletable: bool, token_id: int
    ) -> bytes:
        return bytes(
            self._call("certificationMessage", epoch, _blob_id_bytes(blob_id), deletable, token_id)
        )

    def invalid_blob_message(self, epoch: int, blob_id: bytes) -> bytes:
        return bytes(self._call("invalidBlobMessage", epoch, _blob_id_bytes(blob_id)))

    def n_shards(self) -> int:
        """Shards the blobs are encoded for (Staking's n, fixed)."""
        return int(self._call("nShards"))

    def max_epochs_ahead(self) -> int:
        return int(self._call("maxEpochsAhead"))

    def next_token_id(self) -> int:
        return int(self._call("nextTokenId"))

    def next_epoch_to_release(self) -> int:
        return int(self._call("nextEpochToRelease"))

    def epoch_pool(self, epoch: int) -> int:
        """FROST held for `epoch`'s rewards (0 once released)."""
        return int(self._call("epochPool", epoch))

    def epoch_pools(self, from_epoch: int, count: int) -> list[int]:
        """The pools of `count` consecutive epochs from `from_epoch` (one call)."""
        return [int(amount) for amount in self._call("epochPools", from_epoch, count)]

    def unreleased_total(self) -> int:
        """Sum of the unreleased pools: equals the registry's WAL balance."""
        return int(self._call("unreleasedTotal"))

    def staking_address(self) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call("staking"))

    def wal_address(self) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call("wal"))

    # ------------------------------------------------------------ helpers

    def _one(self, receipt: TxReceipt, kind: type[_E]) -> _E:
        for event in self.events.from_receipt(receipt):
            if isinstance(event, kind):
                return event
        raise ChainError(f"transaction emitted no {kind.__name__} event")


@dataclass(frozen=True)
class RegistryParameters:
    """Constructor parameters of `BlobRegistry` beyond its token and staking contract."""

    max_epochs_ahead: int = 53
    """Storage may be bought at most this many epochs ahead (Walrus: 53 two-week epochs)."""

    def constructor_args(self, wal: str, staking: str, owner: str) -> list[Any]:
        """`BlobRegistry` constructor arguments, in order."""
        return [
            Web3.to_checksum_address(wal),
            Web3.to_checksum_address(staking),
            Web3.to_checksum_address(owner),
            self.max_epochs_ahead,
        ]


def deploy_registry(
    client: ChainClient,
    abi: Sequence[dict[str, Any]],
    bytecode: str,
    wal: str,
    staking: str,
    owner: str,
    parameters: RegistryParameters = RegistryParameters(),
) -> BlobRegistryContract:
    """Deploy `BlobRegistry` paying in the WAL at `wal`, following the Staking at `staking`."""
    contract, _ = client.deploy(abi, bytecode, *parameters.constructor_args(wal, staking, owner))
    return BlobRegistryContract(client, contract)
