"""Contract reverts a CLI user causes, in plain words: `walrus delete 3` on someone else's
token says whose it is not instead of only `BlobRegistryNotAuthorized(3, 0x...)`. The
Solidity error name stays at the end of the line, in parentheses, for scripts and searches.
Errors not listed here keep the decoded form `Name(arguments)`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backend.chain.errors import ContractRevert

Explain = Callable[[Sequence[Any]], str]

NOT_STARTED = (
    "the network has no storage committee yet (epoch 0): register and stake nodes, then start "
    "epoch 1; make up does all of it"
)

EXPLANATIONS: dict[str, Explain] = {
    "BlobRegistryUnknownBlob": lambda a: f"no blob token {a[0]} exists on this network",
    "BlobRegistryNotAuthorized": lambda a: (
        f"{a[1]} may not change token {a[0]}: it is not the token's owner or an approved "
        "operator; walrus list-blobs shows your tokens"
    ),
    "BlobRegistryNotDeletable": lambda a: (
        f"token {a[0]} is a permanent blob: only blobs stored with --deletable can be deleted"
    ),
    "BlobRegistryBlobExpired": lambda a: f"token {a[0]} expired at epoch {a[1]}",
    "ERC721InvalidReceiver": lambda a: f"a blob token cannot be sent to {a[0]}",
    "ERC721NonexistentToken": lambda a: f"no blob token {a[0]} exists on this network",
    "BlobRegistryNoCommittee": lambda a: NOT_STARTED,
    "StakingUnknownEpoch": lambda a: NOT_STARTED if a[0] == 0 else f"epoch {a[0]} is not known",
    "StakingUnknownNode": lambda a: f"no storage node {a[0]}; walrus info --nodes lists them",
    "StakingNotOperator": lambda a: f"{a[1]} is not the operator of node {a[0]}",
    "StakingUnknownPosition": lambda a: f"no stake position {a[0]}; walrus rewards lists yours",
    "StakingNotPositionOwner": lambda a: f"stake position {a[0]} does not belong to {a[1]}",
    "StakingAmountExceedsPosition": lambda a: (
        f"stake position {a[0]} holds {a[2]} FROST, less than the {a[1]} FROST asked for"
    ),
    "StakingWithdrawalAlreadyRequested": lambda a: (
        f"a withdrawal of stake position {a[0]} was already requested"
    ),
    "StakingWithdrawalNotRequested": lambda a: (
        f"stake position {a[0]}: run walrus request-withdraw-stake first"
    ),
    "StakingWithdrawalNotReady": lambda a: (
        f"stake position {a[0]} can be withdrawn from epoch {a[1]} on"
    ),
    "SharedBlobNotShared": lambda a: (
        f"token {a[0]} is not a shared blob; walrus share-blob {a[0]} shares it"
    ),
    "SharedBlobExpired": lambda a: (
        f"shared blob {a[0]} expired at epoch {a[1]}: funds sent now could never be spent"
    ),
    "SharedBlobInvalidated": lambda a: (
        f"shared blob {a[0]} was invalidated: it can never be extended, so it takes no funds"
    ),
    "SharedBlobInsufficientFunds": lambda a: (
        f"shared blob {a[0]} holds {a[2]} FROST, {a[1]} FROST needed; "
        "walrus fund-shared-blob adds funds"
    ),
}


def explain_revert(error: ContractRevert) -> str:
    """One line for the user: the plain-words reason and the error name, or `str(error)`."""
    explain = EXPLANATIONS.get(error.name)
    if explain is None:
        return str(error)
    try:
        reason = explain(error.arguments)
    except IndexError:  # an error of that name with other arguments (another contract)
        return str(error)
    return f"{reason} ({error.name})"
