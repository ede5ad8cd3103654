"""Inconsistency proofs: evidence, checkable with core code alone, that a blob was encoded badly.

A proof names a target sliver and carries the minimum number of recovery symbols for
it (s for a primary, p for a secondary), each with its Merkle proof against the
committed hash of the sliver it came from. If the blob was encoded correctly, any such
set of symbols decodes to the target sliver, whose hash is then the committed one. So a
set of valid symbols that decodes to a sliver with a *different* hash proves that the
writer's commitments do not describe one codeword. Storage nodes attest to a valid proof
(BLS intent 2), and f + 1 shards of attestations mark the blob invalid on chain.

Wire form: ``target_kind:u8 || target_index:u32 || count:u32 || count x (len:u32 || symbol)``
where each symbol is a `RecoverySymbol` in its own wire form.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from backend.core.errors import (
    CoreError,
    InconsistentBlob,
    InvalidInconsistencyProof,
)
from backend.core.metadata import VerifiedMetadata
from backend.core.recovery_symbols import (
    RecoverySymbol,
    rebuild_sliver,
    symbols_needed,
    verify_recovery_symbol,
)
from backend.core.sliver_kind import SliverKind

_HEADER = struct.Struct("<BII")
_LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class InconsistencyProof:
    """Recovery symbols for one sliver that do not decode to its committed hash."""

    target_kind: SliverKind
    target_index: int
    symbols: tuple[RecoverySymbol, ...]

    def to_bytes(self) -> bytes:
        parts = [_HEADER.pack(self.target_kind, self.target_index, len(self.symbols))]
        for symbol in self.symbols:
            raw = symbol.to_bytes()
            parts += [_LENGTH.pack(len(raw)), raw]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, raw: bytes, n_shards: int) -> InconsistencyProof:
        """Parse the wire form; raises `InvalidInconsistencyProof` on any malformation."""
        try:
            kind_byte, target, count = _HEADER.unpack_from(raw)
            kind = SliverKind.parse(kind_byte)
            if count > n_shards:
                raise InvalidInconsistencyProof(
                    f"an inconsistency proof has at most n = {n_shards} symbols, got {count}"
                )
            offset = _HEADER.size
            symbols = []
            for _ in range(count):
                (length,) = _LENGTH.unpack_from(raw, offset)
                offset += _LENGTH.size
                if offset + length > len(raw):
                    raise InvalidInconsistencyProof("inconsistency proof is truncated")
                symbols.append(RecoverySymbol.from_bytes(raw[offset : offset + length], n_shards))
                offset += length
        except (struct.error, CoreError) as exc:
            raise InvalidInconsistencyProof(f"malformed inconsistency proof: {exc}") from None
        if offset != len(raw):
            raise InvalidInconsistencyProof(
                f"{len(raw) - offset} unexpected bytes after the inconsistency proof"
            )
        return cls(kind, target, tuple(symbols))


class SliverRecoveryMismatch(InconsistentBlob):
    """Recovered symbols do not match the sliver's committed hash; `proof` shows it to others."""

    def __init__(self, message: str, proof: InconsistencyProof) -> None:
        super().__init__(message)
        self.proof = proof


def verify_inconsistency_proof(metadata: VerifiedMetadata, proof: InconsistencyProof) -> None:
    """Return if the proof shows an inconsistency; else raise `InvalidInconsistencyProof`."""
    n = metadata.n_shards
    if not 0 <= proof.target_index < n:
        raise InvalidInconsistencyProof(f"target sliver index {proof.target_index} out of [0, {n})")
    needed = symbols_needed(metadata, proof.target_kind)
    sources = {s.source_index for s in proof.symbols}
    if len(proof.symbols) != needed or len(sources) != needed:
        raise InvalidInconsistencyProof(
            f"an inconsistency proof for a {proof.target_kind.name.lower()} sliver carries "
            f"exactly {needed} symbols from distinct slivers, got {len(proof.symbols)} symbols "
            f"from {len(sources)} slivers"
        )
    verified = []
    for symbol in proof.symbols:
        if symbol.target_kind is not proof.target_kind or symbol.target_index != proof.target_index:
            raise InvalidInconsistencyProof(
                "every symbol of an inconsistency proof must target the proof's sliver"
            )
        try:
            verified.append(verify_recovery_symbol(metadata, symbol))
        except CoreError as exc:
            raise InvalidInconsistencyProof(
                f"invalid symbol in inconsistency proof: {exc}"
            ) from None
    rebuilt = rebuild_sliver(metadata, proof.target_kind, proof.target_index, verified)
    if rebuilt.matches_commitment:
        raise InvalidInconsistencyProof(
            f"the symbols decode to {proof.target_kind.name.lower()} sliver "
            f"{proof.target_index} exactly as committed: no inconsistency shown"
        )
