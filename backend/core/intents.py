"""Byte-exact builders of every BLS-signed message (docs/protocol.md, "BLS signatures").

A message is the `abi.encodePacked` of an intent header and a body:
`intent_type:uint8 ‖ intent_version:uint8 ‖ app_id:uint8 ‖ chain_id:uint256 ‖ contract:address ‖
body`. Binding the chain id and the contract address keeps a signature from being replayed on
another deployment; the intent type keeps one kind of message from passing for another.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from backend.core.bls import G1_EIP2537_SIZE, BlsPublicKey
from backend.core.errors import CoreError

INTENT_VERSION: Final = 0
APP_ID: Final = 3
ADDRESS_SIZE: Final = 20
BLOB_ID_SIZE: Final = 32


class IntentType(IntEnum):
    PROOF_OF_POSSESSION = 0
    BLOB_CERTIFICATION = 1
    INVALID_BLOB = 2
    EPOCH_SYNC_DONE = 3


class InvalidIntentFieldError(CoreError):
    """A field of a signed message is out of range or malformed."""


def _uint(value: int, bits: int, name: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidIntentFieldError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise InvalidIntentFieldError(f"{name} must fit in uint{bits}, got {value}")
    return value.to_bytes(bits // 8, "big")


def _address(value: str | bytes, name: str) -> bytes:
    """A 20-byte address from raw bytes or a 0x-prefixed hex string (any letter case)."""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raise InvalidIntentFieldError(f"{name} is not hexadecimal: {value!r}") from None
    else:
        raise InvalidIntentFieldError(f"{name} must be 20 bytes or a 0x-prefixed hex string")
    if len(raw) != ADDRESS_SIZE:
        raise InvalidIntentFieldError(f"{name} must be {ADDRESS_SIZE} bytes, got {len(raw)}")
    return raw


def _blob_id(value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != BLOB_ID_SIZE:
        raise InvalidIntentFieldError(f"blob_id must be {BLOB_ID_SIZE} bytes")
    return bytes(value)


def _header(intent: IntentType, chain_id: int, contract: str | bytes, contract_name: str) -> bytes:
    return (
        bytes([intent, INTENT_VERSION, APP_ID])
        + _uint(chain_id, 256, "chain_id")
        + _address(contract, contract_name)
    )


def proof_of_possession_message(
    chain_id: int, staking: str | bytes, operator: str | bytes, public_key: BlsPublicKey | bytes
) -> bytes:
    """What a node signs to register `public_key` (EIP-2537 form) for `operator` at Staking."""
    if isinstance(public_key, BlsPublicKey):
        key_bytes = public_key.to_eip2537()
    elif isinstance(public_key, bytes | bytearray) and len(public_key) == G1_EIP2537_SIZE:
        key_bytes = bytes(public_key)
    else:
        raise InvalidIntentFieldError(
            f"public_key must be a BlsPublicKey or {G1_EIP2537_SIZE} EIP-2537 bytes"
        )
    return (
        _header(IntentType.PROOF_OF_POSSESSION, chain_id, staking, "staking")
        + _address(operator, "operator")
        + key_bytes
    )


def blob_certification_message(
    chain_id: int,
    registry: str | bytes,
    epoch: int,
    blob_id: bytes,
    deletable: bool,
    token_id: int,
) -> bytes:
    """A node's storage confirmation of `blob_id` in `epoch`; aggregated into a certificate.

    Deletable blobs bind their token id (a deletable blob can be re-registered under a new
    token); permanent blobs must pass token_id 0."""
    if not isinstance(deletable, bool):
        raise InvalidIntentFieldError("deletable must be a bool")
    if not deletable and token_id != 0:
        raise InvalidIntentFieldError("token_id must be 0 for a permanent blob")
    return (
        _header(IntentType.BLOB_CERTIFICATION, chain_id, registry, "registry")
        + _uint(epoch, 32, "epoch")
        + _blob_id(blob_id)
        + bytes([1 if deletable else 0])
        + _uint(token_id, 256, "token_id")
    )


def invalid_blob_message(chain_id: int, registry: str | bytes, epoch: int, blob_id: bytes) -> bytes:
    """A node's attestation, in `epoch`, that `blob_id` was encoded inconsistently."""
    return (
        _header(IntentType.INVALID_BLOB, chain_id, registry, "registry")
        + _uint(epoch, 32, "epoch")
        + _blob_id(blob_id)
    )


def epoch_sync_done_message(chain_id: int, staking: str | bytes, epoch: int, node_id: int) -> bytes:
    """A node's report that it holds all its shards for `epoch`."""
    return (
        _header(IntentType.EPOCH_SYNC_DONE, chain_id, staking, "staking")
        + _uint(epoch, 32, "epoch")
        + _uint(node_id, 256, "node_id")
    )
