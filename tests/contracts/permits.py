"""EIP-2612 permits on WAL signed the way a wallet does, independently of backend.chain (the
domain is written out here, not read from the token), so the tests hold the contract to the
standard rather than to the product's own signer."""

from __future__ import annotations

from eth_account import Account
from eth_account.datastructures import SignedMessage
from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.contract.contract import ContractFunction

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def permit_signature(
    wal: Contract, chain_id: int, owner: LocalAccount, spender: str, value: int, deadline: int
) -> SignedMessage:
    """`owner`'s permit for `spender` to pull `value` FROST until `deadline`, at the owner's
    current nonce, in WAL's EIP-712 domain ("Walrus", version "1")."""
    signed: SignedMessage = Account.sign_typed_data(
        owner.key,
        domain_data={
            "name": "Walrus",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": wal.address,
        },
        message_types=PERMIT_TYPES,
        message_data={
            "owner": owner.address,
            "spender": spender,
            "value": value,
            "nonce": wal.functions.nonces(owner.address).call(),
            "deadline": deadline,
        },
    )
    return signed


def signature_parts(signed: SignedMessage) -> tuple[int, bytes, bytes]:
    """(v, r, s) as the contracts take them."""
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def permit_call(
    wal: Contract, owner: str, spender: str, value: int, deadline: int, signed: SignedMessage
) -> ContractFunction:
    """WAL.permit(owner, spender, value, deadline, v, r, s), ready to transact."""
    return wal.functions.permit(owner, spender, value, deadline, *signature_parts(signed))
