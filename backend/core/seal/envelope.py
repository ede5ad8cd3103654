"""Encrypt a blob for a policy and t-of-m key servers, and the key-server share exchange.

The data key (32 random bytes) encrypts the content with segmented XChaCha20-Poly1305
(stream.py; the header is the associated data of every segment; version-1 blobs, one AEAD
pass, are still read). It is split t of m (shamir.py); share i is encrypted to key server i's
X25519 key with a key derived from X25519(ephemeral, server) and associated data binding
chain id, policy and id, so a key server only releases it for that policy's decision.
Key servers answer with the share encrypted to the requester's session X25519 key.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from nacl import bindings
from nacl.exceptions import CryptoError
from nacl.exceptions import RuntimeError as NaclRuntimeError

from backend.core.seal.errors import InvalidShares, SealError, SealTampered
from backend.core.seal.header import (
    DEFAULT_SEGMENT_SIZE,
    KEY_SIZE,
    NONCE_PREFIX_SIZE,
    NONCE_SIZE,
    VERSION_STREAM,
    SealHeader,
    ShareEntry,
    parse_header,
)
from backend.core.seal.shamir import Share, combine_shares, split_secret
from backend.core.seal.stream import decrypt as decrypt_stream
from backend.core.seal.stream import encrypt as encrypt_stream

_ZERO_NONCE: Final = bytes(NONCE_SIZE)
_SHARE_CONTEXT: Final = b"walrus-seal/v1/share"
_RESPONSE_CONTEXT: Final = b"walrus-seal/v1/response"


@dataclass(frozen=True)
class X25519KeyPair:
    private_key: bytes
    public_key: bytes

    @classmethod
    def generate(cls) -> X25519KeyPair:
        return cls.from_private(secrets.token_bytes(KEY_SIZE))

    @classmethod
    def from_private(cls, private_key: bytes) -> X25519KeyPair:
        if len(private_key) != KEY_SIZE:
            raise SealError("an X25519 private key is 32 bytes")
        return cls(private_key, bindings.crypto_scalarmult_base(private_key))


def _derive_key(
    private_key: bytes, peer_public_key: bytes, sender: bytes, receiver: bytes
) -> bytes:
    if len(peer_public_key) != KEY_SIZE:
        raise SealError("an X25519 public key is 32 bytes")
    try:
        shared = bindings.crypto_scalarmult(private_key, peer_public_key)
    except NaclRuntimeError:
        raise SealError("X25519 public key is a low-order point") from None
    if shared == bytes(KEY_SIZE):
        raise SealError("X25519 public key is a low-order point")
    return hashlib.blake2b(
        shared + sender + receiver, digest_size=KEY_SIZE, person=b"walrus-seal-kdf1"
    ).digest()


def _share_associated_data(header_chain_id: int, policy: bytes, identity: bytes, x: int) -> bytes:
    return _SHARE_CONTEXT + struct.pack(">Q", header_chain_id) + policy + identity + bytes([x])


def _encrypt(key: bytes, plaintext: bytes, associated_data: bytes, nonce: bytes) -> bytes:
    return bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, associated_data, nonce, key
    )


def _decrypt(
    key: bytes, ciphertext: bytes, associated_data: bytes, nonce: bytes, what: str
) -> bytes:
    try:
        return bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext, associated_data, nonce, key
        )
    except CryptoError:
        raise SealTampered(f"{what} does not authenticate (altered or wrong key)") from None


def encrypt_blob(
    plaintext: bytes | bytearray | memoryview,
    *,
    chain_id: int,
    policy: bytes,
    identity: bytes,
    server_public_keys: Sequence[bytes],
    threshold: int,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> bytes:
    """Version-2 header + segmented ciphertext of ``plaintext``, decryptable with shares of
    ``threshold`` of the key servers once the ``policy`` contract approves ``identity`` for
    the requester."""
    data_key = secrets.token_bytes(KEY_SIZE)
    shares = split_secret(data_key, threshold, len(server_public_keys))
    ephemeral = X25519KeyPair.generate()
    entries = []
    for share, server_key in zip(shares, server_public_keys, strict=True):
        key = _derive_key(ephemeral.private_key, server_key, ephemeral.public_key, server_key)
        aad = _share_associated_data(chain_id, policy, identity, share.x)
        entries.append(ShareEntry(server_key, _encrypt(key, share.value, aad, _ZERO_NONCE)))
    header = SealHeader(
        chain_id=chain_id,
        policy=policy,
        identity=identity,
        threshold=threshold,
        ephemeral_public_key=ephemeral.public_key,
        nonce=secrets.token_bytes(NONCE_PREFIX_SIZE),
        entries=tuple(entries),
        version=VERSION_STREAM,
        segment_size=segment_size,
    )
    return encrypt_stream(
        plaintext,
        key=data_key,
        prefix=header.nonce,
        segment_size=segment_size,
        header=header.to_bytes(),
    )


def open_share(header: SealHeader, server: X25519KeyPair) -> Share:
    """Key-server side: this server's share of the data key; SealError when the header has
    no share for it, SealTampered when the share is not bound to the header's
    chain, policy and id."""
    index = header.index_of(server.public_key)
    if index is None:
        raise SealError("the Seal header has no share for this key server")
    key = _derive_key(
        server.private_key,
        header.ephemeral_public_key,
        header.ephemeral_public_key,
        server.public_key,
    )
    aad = _share_associated_data(header.chain_id, header.policy, header.identity, index + 1)
    value = _decrypt(key, header.entries[index].encrypted_share, aad, _ZERO_NONCE, "key share")
    return Share(index + 1, value)


def _response_associated_data(header: SealHeader, server_public_key: bytes) -> bytes:
    return (
        _RESPONSE_CONTEXT
        + struct.pack(">Q", header.chain_id)
        + header.policy
        + header.identity
        + server_public_key
    )


def seal_response(
    share: Share, header: SealHeader, server_public_key: bytes, session_public_key: bytes
) -> bytes:
    """The share encrypted to the requester's session key: ephemeral public key (32) +
    AEAD ciphertext; only the session key's holder can open it."""
    ephemeral = X25519KeyPair.generate()
    key = _derive_key(
        ephemeral.private_key, session_public_key, ephemeral.public_key, session_public_key
    )
    aad = _response_associated_data(header, server_public_key) + bytes([share.x])
    return ephemeral.public_key + _encrypt(key, share.value, aad, _ZERO_NONCE)


def open_response(
    response: bytes, header: SealHeader, server_public_key: bytes, session: X25519KeyPair
) -> Share:
    """Requester side: the share a key server sent back (SealTampered if altered)."""
    index = header.index_of(server_public_key)
    if index is None:
        raise SealError("the answering key server is not in the Seal header")
    if len(response) != KEY_SIZE + KEY_SIZE + 16:
        raise SealTampered(f"key server response has {len(response)} bytes, expected 80")
    ephemeral_public = response[:KEY_SIZE]
    key = _derive_key(session.private_key, ephemeral_public, ephemeral_public, session.public_key)
    aad = _response_associated_data(header, server_public_key) + bytes([index + 1])
    value = _decrypt(key, response[KEY_SIZE:], aad, _ZERO_NONCE, "key server response")
    return Share(index + 1, value)


def decrypt_blob(data: bytes | bytearray | memoryview, shares: Sequence[Share]) -> bytes:
    """The plaintext of a Seal blob (version 1 or 2) from at least ``threshold`` shares of
    its data key; SealTampered if the header or ciphertext was altered (no partial
    plaintext). Version 2 decrypts straight into the returned bytes, over all cores."""
    header = parse_header(data)
    distinct = list({share.x: share for share in shares}.values())
    if len(distinct) < header.threshold:
        raise InvalidShares(f"need {header.threshold} distinct shares, got {len(distinct)}")
    data_key = combine_shares(distinct[: header.threshold])
    view = memoryview(data)
    header_bytes = bytes(view[: header.size])
    if header.version == VERSION_STREAM:
        return decrypt_stream(
            view[header.size :],
            key=data_key,
            prefix=header.nonce,
            segment_size=header.segment_size,
            associated_data=header_bytes,
        )
    return _decrypt(data_key, bytes(view[header.size :]), header_bytes, header.nonce, "Seal blob")
