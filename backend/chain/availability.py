"""A blob's point of availability as the chain recorded it, for anyone to re-check.

`find_certifications` reads the `BlobCertified` events of a blob id (or one token) and, for
each, the `certifyBlob` transaction that emitted it: its block, hash, signer bitmap and
aggregate signature come from the transaction input, not from any node. `committee_keys`
reads the committee of the certificate's epoch (node ids, shard counts, BLS keys) from
Staking. `backend.sdk.availability` verifies the two against each other locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hexbytes import HexBytes
from web3 import Web3

from backend.chain.errors import ChainError, ContractRevert
from backend.chain.registry import BlobInfo, BlobRegistryContract
from backend.chain.staking import StakingContract

CERTIFY_FUNCTION: Final = "certifyBlob"
CERTIFIED_EVENT: Final = "BlobCertified(uint256,bytes32,uint32,uint32,bool)"
DELETED_EVENT: Final = "BlobDeleted(uint256,bytes32,uint32,uint256)"


class CertificateNotRecoverable(ChainError):
    """The certifying transaction does not carry a `certifyBlob` call to the registry
    (e.g. it was sent through another contract), so the certificate cannot be re-checked."""


@dataclass(frozen=True)
class CertificationRecord:
    """One certification of one registration, exactly as submitted on chain."""

    token_id: int
    blob_id: bytes
    epoch: int
    """Epoch of the certifying committee (the current epoch when it was submitted)."""
    end_epoch: int
    """End epoch (exclusive) at certification; extensions may have moved it since."""
    deletable: bool
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    signers: bytes
    """Signer bitmap over the epoch's committee (docs/protocol.md)."""
    signature: bytes
    """Aggregate BLS signature, 256-byte EIP-2537 G2 point."""


@dataclass(frozen=True)
class CommitteeKeys:
    """An epoch's committee in committee order, with each member's shards and BLS key."""

    epoch: int
    node_ids: tuple[int, ...]
    shard_counts: tuple[int, ...]
    public_keys: tuple[bytes, ...]
    """128-byte EIP-2537 G1 points."""


def _topic(event_signature: str) -> str:
    return "0x" + bytes(Web3.keccak(text=event_signature)).hex()


def _word(value: int | bytes) -> str:
    raw = value.to_bytes(32, "big") if isinstance(value, int) else bytes(value).rjust(32, b"\0")
    return "0x" + raw.hex()


def find_certifications(
    registry: BlobRegistryContract,
    *,
    blob_id: bytes | None = None,
    token_id: int | None = None,
    from_block: int = 0,
) -> list[CertificationRecord]:
    """Every certification of `blob_id` (or of token `token_id`), oldest first."""
    if (blob_id is None) == (token_id is None):
        raise ValueError("give exactly one of blob_id and token_id")
    topics: list[str | None] = [_topic(CERTIFIED_EVENT)]
    topics += [_word(token_id), None] if token_id is not None else [None, _word(blob_id or b"")]
    w3 = registry.client.w3
    logs = registry.client._rpc(
        lambda: w3.eth.get_logs(
            {
                "address": registry.address,
                "fromBlock": from_block,
                "toBlock": "latest",
                "topics": topics,
            }
        )
    )
    records = []
    for log in logs:
        event = registry.contract.events.BlobCertified().process_log(log)["args"]
        signers, signature = _certificate_from_transaction(registry, log["transactionHash"])
        records.append(
            CertificationRecord(
                token_id=int(event["tokenId"]),
                blob_id=bytes(event["blobId"]),
                epoch=int(event["epoch"]),
                end_epoch=int(event["endEpoch"]),
                deletable=bool(event["deletable"]),
                block_number=int(log["blockNumber"]),
                block_hash=bytes(log["blockHash"]),
                transaction_hash=bytes(log["transactionHash"]),
                signers=signers,
                signature=signature,
            )
        )
    return records


def _certificate_from_transaction(
    registry: BlobRegistryContract, tx_hash: HexBytes | bytes
) -> tuple[bytes, bytes]:
    """(signer bitmap, signature) from the input of the `certifyBlob` transaction."""
    w3 = registry.client.w3
    transaction = registry.client._rpc(lambda: w3.eth.get_transaction(HexBytes(tx_hash)))
    where = f"transaction 0x{bytes(tx_hash).hex()}"
    if transaction.get("to") != registry.address:
        raise CertificateNotRecoverable(
            f"{where} was not sent to the registry {registry.address}: the certificate was "
            "submitted through another contract and cannot be read from its input"
        )
    try:
        function, arguments = registry.contract.decode_function_input(transaction["input"])
    except ValueError as error:
        raise CertificateNotRecoverable(f"{where}: undecodable input ({error})") from None
    if function.fn_name != CERTIFY_FUNCTION:
        raise CertificateNotRecoverable(f"{where} calls {function.fn_name}, not certifyBlob")
    return bytes(arguments["signers"]), bytes(arguments["signature"])


def was_deleted(registry: BlobRegistryContract, blob_id: bytes, from_block: int = 0) -> bool:
    """Whether some registration of `blob_id` was deleted by its owner (`BlobDeleted`)."""
    w3 = registry.client.w3
    logs = registry.client._rpc(
        lambda: w3.eth.get_logs(
            {
                "address": registry.address,
                "fromBlock": from_block,
                "toBlock": "latest",
                "topics": [_topic(DELETED_EVENT), None, _word(blob_id)],
            }
        )
    )
    return bool(logs)


def registration(registry: BlobRegistryContract, token_id: int) -> BlobInfo | None:
    """The live registration `token_id`, or None once deleted or burnt (or never minted)."""
    try:
        return registry.blob_info(token_id)
    except ContractRevert as error:
        if error.name == "BlobRegistryUnknownBlob":
            return None
        raise


def committee_keys(staking: StakingContract, epoch: int) -> CommitteeKeys:
    """The committee of `epoch` with each member's registered BLS key (EIP-2537 form)."""
    committee = staking.committee(epoch)
    keys = tuple(
        staking.committee_member_key(epoch, index) for index in range(len(committee.node_ids))
    )
    return CommitteeKeys(epoch, committee.node_ids, committee.shard_counts, keys)
