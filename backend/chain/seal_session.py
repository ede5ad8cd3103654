"""EIP-712 Seal sessions: a wallet authorises a session X25519 key to receive key shares.

The wallet signs ``SealSession(address requester, address policy, bytes32 sessionKey,
uint64 expiresAt)`` in the domain ``{name: "WalrusSeal", version: "1", chainId}``. A key
server recovers the signer, checks it is ``requester``, that the chain id is its own and that
the session has not expired, then encrypts shares only to ``sessionKey``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from backend.chain.errors import ChainError

DOMAIN_NAME: Final = "WalrusSeal"
DOMAIN_VERSION: Final = "1"
MAX_SESSION_SECONDS: Final = 24 * 3600
"""Longest session a key server accepts (a leaked session key stays useful at most this long)."""


class InvalidSession(ChainError):
    """A session a key server must refuse: bad signature, other chain, expired or too long."""


@dataclass(frozen=True)
class SealSession:
    requester: ChecksumAddress
    policy: ChecksumAddress
    session_key: bytes
    """The requester's X25519 public key shares are encrypted to."""
    expires_at: int
    chain_id: int
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "requester": self.requester,
            "policy": self.policy,
            "session_key": self.session_key.hex(),
            "expires_at": self.expires_at,
            "chain_id": self.chain_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, raw: Any) -> SealSession:
        try:
            return cls(
                requester=Web3.to_checksum_address(raw["requester"]),
                policy=Web3.to_checksum_address(raw["policy"]),
                session_key=bytes.fromhex(str(raw["session_key"]).removeprefix("0x")),
                expires_at=int(raw["expires_at"]),
                chain_id=int(raw["chain_id"]),
                signature=bytes.fromhex(str(raw["signature"]).removeprefix("0x")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidSession(f"malformed session ({error})") from None


def _typed_data(
    requester: str, policy: str, session_key: bytes, expires_at: int, chain_id: int
) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "SealSession": [
                {"name": "requester", "type": "address"},
                {"name": "policy", "type": "address"},
                {"name": "sessionKey", "type": "bytes32"},
                {"name": "expiresAt", "type": "uint64"},
            ],
        },
        "primaryType": "SealSession",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id},
        "message": {
            "requester": requester,
            "policy": policy,
            "sessionKey": session_key,
            "expiresAt": expires_at,
        },
    }


def sign_session(
    account: LocalAccount, policy: str, session_key: bytes, expires_at: int, chain_id: int
) -> SealSession:
    """The wallet ``account`` authorising ``session_key`` for ``policy`` until ``expires_at``."""
    policy = Web3.to_checksum_address(policy)
    typed = _typed_data(account.address, policy, session_key, expires_at, chain_id)
    signed = account.sign_message(encode_typed_data(full_message=typed))
    return SealSession(
        account.address, policy, session_key, expires_at, chain_id, bytes(signed.signature)
    )


def verify_session(session: SealSession, chain_id: int, now: int) -> None:
    """InvalidSession unless ``session`` is signed by its requester, for ``chain_id``,
    unexpired at ``now`` and at most MAX_SESSION_SECONDS long."""
    if session.chain_id != chain_id:
        raise InvalidSession(
            f"session is for chain {session.chain_id}, this key server serves chain {chain_id}"
        )
    if session.expires_at <= now:
        raise InvalidSession(f"session expired at {session.expires_at} (now {now})")
    if session.expires_at > now + MAX_SESSION_SECONDS:
        raise InvalidSession(f"session lasts more than {MAX_SESSION_SECONDS} s")
    if len(session.session_key) != 32:
        raise InvalidSession("session key must be a 32-byte X25519 public key")
    typed = _typed_data(
        session.requester, session.policy, session.session_key, session.expires_at, chain_id
    )
    try:
        signer = Account.recover_message(
            encode_typed_data(full_message=typed), signature=session.signature
        )
    except Exception:  # eth-account raises several types for garbage signatures
        raise InvalidSession("session signature is malformed") from None
    if signer != session.requester:
        raise InvalidSession(f"session is signed by {signer}, not by {session.requester}")
