"""Errors the SDK raises for things a user can cause or notice; each message is one line."""

from __future__ import annotations

from collections.abc import Sequence


class SdkError(Exception):
    """Base class of every user-facing SDK error."""


class InvalidEpochs(SdkError):
    """An epochs value outside [1, max epochs ahead]."""


class InvalidAddress(SdkError):
    """A recipient or owner that is not a 20-byte 0x address."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(f"{value!r} is not an address (0x followed by 40 hex digits)")


class InsufficientWal(SdkError):
    """The wallet holds less WAL than the operation costs; ``action`` names the operation
    ("the store", "the stake", ...)."""

    def __init__(self, needed: int, available: int, action: str = "the store") -> None:
        self.needed = needed
        self.available = available
        self.missing = needed - available
        super().__init__(
            f"not enough WAL: {action} costs {needed} FROST, the wallet holds {available} "
            f"FROST, {self.missing} FROST missing"
        )


class BlobNotFound(SdkError):
    """No registration of the blob id exists on chain."""


class BlobDeleted(SdkError):
    """Every registration of the blob id was deleted by its owner."""


class BlobExpired(SdkError):
    """The blob was certified but its storage period has ended."""


class BlobNotCertified(SdkError):
    """The blob is registered but no certificate was submitted (yet)."""


class BlobInvalid(SdkError):
    """The blob id was invalidated by the storage nodes (inconsistent encoding)."""


class NodeRequestFailed(SdkError):
    """One storage node request failed after its retries."""

    def __init__(self, node: str, reason: str) -> None:
        self.node = node
        self.reason = reason
        super().__init__(f"{node}: {reason}")


class NotEnoughConfirmations(SdkError):
    """Fewer than the quorum of shards confirmed storage; the registration stays paid for and
    a retry of the same store reuses it."""

    def __init__(
        self, blob_id: str, token_id: int, weight: int, quorum: int, failures: Sequence[str]
    ) -> None:
        self.token_id = token_id
        self.failures = list(failures)
        super().__init__(
            f"blob {blob_id}: only {weight} of the {quorum} shards needed confirmed storage; "
            f"unreachable or failing nodes: {'; '.join(failures) or 'none'} "
            f"(token {token_id} stays registered; storing again reuses it without paying)"
        )


class NotEnoughSlivers(SdkError):
    """Too few verified primary slivers could be fetched to decode the blob."""
