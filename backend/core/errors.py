"""Named errors raised by the pure protocol code.

Every error a caller can provoke with bad input is a `ValueError` subclass with a
message that says what was wrong and what was expected, so that the API, the CLI
and the storage nodes can turn it into a clear answer without a traceback.
"""

from __future__ import annotations


class CoreError(ValueError):
    """Base class of every bad-input error in `backend.core`."""


class InvalidShardCount(CoreError):
    """The number of shards is outside what the protocol or the code supports."""


class UnknownEncodingType(CoreError):
    """An encoding-type byte that is not registered."""


class BlobTooLarge(CoreError):
    """A blob longer than the largest blob the shard count allows."""


class InvalidBlobId(CoreError):
    """Bytes or text that are not a well-formed 32-byte blob id."""


class MalformedMetadata(CoreError):
    """Metadata bytes that do not parse under the canonical serialization."""


class MetadataMismatch(CoreError):
    """Metadata that does not hash to the blob id it was offered for."""


class InvalidSliver(CoreError):
    """A sliver with the wrong kind, index or size for its metadata."""


class SliverHashMismatch(CoreError):
    """A sliver whose contents do not hash to the value committed in the metadata."""


class NotEnoughSlivers(CoreError):
    """Fewer distinct verified slivers than decoding needs."""


class InconsistentBlob(CoreError):
    """The writer encoded the blob badly: decoding would not give every reader the same data."""


class InvalidRecoverySymbol(CoreError):
    """A recovery symbol with a wrong size, index or Merkle proof."""


class NotEnoughRecoverySymbols(CoreError):
    """Fewer distinct verified recovery symbols than recovering a sliver needs."""


class InvalidInconsistencyProof(CoreError):
    """An inconsistency proof that does not show the blob is inconsistent."""
