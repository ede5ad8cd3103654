"""Recovery symbols: one symbol of E with a Merkle proof, sent to a node rebuilding a sliver.

Symbol E[i][j] belongs to both primary sliver i (row) and secondary sliver j (column).
A node that holds secondary sliver j serves E[i][j] to whoever rebuilds primary
sliver i, with a proof against secondary hash j (leaf i of the expanded column); a
node that holds primary sliver i serves E[i][j] for secondary sliver j, with a proof
against primary hash i (leaf j). s such symbols rebuild a primary sliver, p a secondary.

Wire form: ``target_kind:u8 || target_index:u32 || source_index:u32 || symbol_size:u32 ||
symbol || proof`` (little-endian; the proof is ceil(log2 n) hashes of 32 bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from backend.core._seal import SEAL, check_seal
from backend.core.errors import CoreError, InvalidRecoverySymbol, NotEnoughRecoverySymbols
from backend.core.expansion import code_for, expanded_leaf_hashes, extend, sliver_hashes
from backend.core.merkle import MerkleProof, MerkleTree, leaf_hash, verify_proof
from backend.core.metadata import VerifiedMetadata
from backend.core.rs import Shards
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import VerifiedSliver, committed_hash

_HEADER = struct.Struct("<BIII")


@dataclass(frozen=True)
class RecoverySymbol:
    """E[target][source] (or E[source][target]) with a proof against the source sliver's hash."""

    target_kind: SliverKind
    target_index: int
    source_index: int
    data: bytes
    proof: MerkleProof

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "target_kind", SliverKind.parse(self.target_kind))
        except CoreError as exc:
            raise InvalidRecoverySymbol(str(exc)) from None

    @property
    def source_kind(self) -> SliverKind:
        return self.target_kind.other

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(
            self.target_kind, self.target_index, self.source_index, len(self.data)
        )
        return header + self.data + self.proof.to_bytes()

    @classmethod
    def from_bytes(cls, raw: bytes, n_shards: int) -> RecoverySymbol:
        """Parse the wire form; raises `InvalidRecoverySymbol` on any malformation."""
        if len(raw) < _HEADER.size:
            raise InvalidRecoverySymbol(
                f"a recovery symbol is at least {_HEADER.size} bytes, got {len(raw)}"
            )
        kind_byte, target, source, size = _HEADER.unpack_from(raw)
        body = raw[_HEADER.size :]
        if len(body) < size:
            raise InvalidRecoverySymbol(
                f"recovery symbol announces {size} symbol bytes but only {len(body)} follow"
            )
        try:
            kind = SliverKind.parse(kind_byte)
            proof = MerkleProof.from_bytes(bytes(body[size:]), n_shards)
        except (CoreError, ValueError) as exc:
            raise InvalidRecoverySymbol(f"malformed recovery symbol: {exc}") from None
        return cls(kind, target, source, bytes(body[:size]), proof)


@dataclass(frozen=True)
class VerifiedRecoverySymbol:
    """A recovery symbol whose proof checks against the verified metadata."""

    metadata: VerifiedMetadata
    symbol: RecoverySymbol
    _seal: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        check_seal(self._seal, "VerifiedRecoverySymbol")


def recovery_symbols(sliver: VerifiedSliver, target_indices: Iterable[int]) -> list[RecoverySymbol]:
    """Symbols of `sliver`'s expansion for rebuilding slivers of the other kind.

    The sliver is extended and hashed once for all targets: O(n * symbol_size) work.
    """
    metadata = sliver.metadata
    n = metadata.n_shards
    targets = list(target_indices)
    for target in targets:
        if not isinstance(target, int) or not 0 <= target < n:
            raise InvalidRecoverySymbol(f"target sliver index {target} out of range [0, {n})")
    code = code_for(metadata.encoding_type, metadata.params, sliver.kind)
    expanded = extend(code, sliver.symbols[np.newaxis])
    tree = MerkleTree(expanded_leaf_hashes(expanded)[0])
    return [
        RecoverySymbol(
            sliver.kind.other,
            target,
            sliver.index,
            expanded[0, target].tobytes(),
            tree.proof(target),
        )
        for target in targets
    ]


def recovery_symbol(sliver: VerifiedSliver, target_index: int) -> RecoverySymbol:
    """The symbol `sliver` contributes to rebuilding sliver `target_index` of the other kind."""
    return recovery_symbols(sliver, [target_index])[0]


def verify_recovery_symbol(
    metadata: VerifiedMetadata, symbol: RecoverySymbol
) -> VerifiedRecoverySymbol:
    """Check indices, size and the Merkle proof against the source sliver's committed hash."""
    n = metadata.n_shards
    for name, index in (("target", symbol.target_index), ("source", symbol.source_index)):
        if not 0 <= index < n:
            raise InvalidRecoverySymbol(f"{name} sliver index {index} out of range [0, {n})")
    if len(symbol.data) != metadata.symbol_size:
        raise InvalidRecoverySymbol(
            f"a symbol of blob {metadata.blob_id} is {metadata.symbol_size} bytes, "
            f"got {len(symbol.data)}"
        )
    root = committed_hash(metadata, symbol.source_kind, symbol.source_index)
    leaf = leaf_hash(symbol.data)
    if not verify_proof(root, leaf, symbol.target_index, symbol.proof, n):
        raise InvalidRecoverySymbol(
            f"recovery symbol from {symbol.source_kind.name.lower()} sliver "
            f"{symbol.source_index} for {symbol.target_kind.name.lower()} sliver "
            f"{symbol.target_index} does not match the committed hash"
        )
    return VerifiedRecoverySymbol(metadata, symbol, SEAL)


def symbols_needed(metadata: VerifiedMetadata, target_kind: SliverKind) -> int:
    """s symbols rebuild a primary sliver, p symbols a secondary one."""
    params = metadata.params
    return params.s if target_kind is SliverKind.PRIMARY else params.p


@dataclass(frozen=True)
class RebuiltSliver:
    """A sliver decoded from recovery symbols, and whether it matches its committed hash."""

    symbols: Shards
    matches_commitment: bool
    used: tuple[RecoverySymbol, ...]


def rebuild_sliver(
    metadata: VerifiedMetadata,
    target_kind: SliverKind,
    target_index: int,
    symbols: Sequence[VerifiedRecoverySymbol],
) -> RebuiltSliver:
    """Decode a sliver from the minimum number of verified symbols and hash it."""
    distinct: dict[int, RecoverySymbol] = {}
    for verified in symbols:
        symbol = verified.symbol
        if verified.metadata.blob_id != metadata.blob_id:
            raise InvalidRecoverySymbol(
                f"recovery symbol belongs to blob {verified.metadata.blob_id}, "
                f"not to {metadata.blob_id}"
            )
        if symbol.target_kind is target_kind and symbol.target_index == target_index:
            distinct.setdefault(symbol.source_index, symbol)
    needed = symbols_needed(metadata, target_kind)
    if len(distinct) < needed:
        raise NotEnoughRecoverySymbols(
            f"rebuilding {target_kind.name.lower()} sliver {target_index} of blob "
            f"{metadata.blob_id} needs {needed} symbols from distinct "
            f"{target_kind.other.name.lower()} slivers, got {len(distinct)}"
        )
    used = tuple(distinct[i] for i in sorted(distinct)[:needed])
    code = code_for(metadata.encoding_type, metadata.params, target_kind)
    stacked = np.frombuffer(b"".join(s.data for s in used), dtype=np.uint8)
    decoded = code.decode(
        [s.source_index for s in used], stacked.reshape(needed, metadata.symbol_size)
    )
    actual = sliver_hashes(code, [decoded])[0]
    matches = actual == committed_hash(metadata, target_kind, target_index)
    return RebuiltSliver(decoded, matches, used)
