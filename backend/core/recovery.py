"""Rebuilding one lost sliver from recovery symbols of other nodes (DESIGN §3.9).

A primary sliver needs s verified symbols (one from each of s distinct secondary
slivers), a secondary sliver p; that is O(|blob| / n) bytes. If the rebuilt sliver does
not hash to its commitment, the writer encoded the blob badly: `SliverRecoveryMismatch`
carries an `InconsistencyProof` for the other nodes.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.core.inconsistency import InconsistencyProof, SliverRecoveryMismatch
from backend.core.metadata import VerifiedMetadata
from backend.core.recovery_symbols import VerifiedRecoverySymbol, rebuild_sliver
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import VerifiedSliver, seal_sliver


def recover_sliver(
    metadata: VerifiedMetadata,
    target_kind: SliverKind,
    target_index: int,
    symbols: Iterable[VerifiedRecoverySymbol],
) -> VerifiedSliver:
    """Decode the target sliver and check it against its committed hash."""
    n = metadata.n_shards
    if not 0 <= target_index < n:
        raise ValueError(f"target sliver index {target_index} out of range [0, {n})")
    rebuilt = rebuild_sliver(metadata, target_kind, target_index, list(symbols))
    if not rebuilt.matches_commitment:
        proof = InconsistencyProof(target_kind, target_index, rebuilt.used)
        raise SliverRecoveryMismatch(
            f"blob {metadata.blob_id} is inconsistent: {target_kind.name.lower()} sliver "
            f"{target_index} recovered from {len(rebuilt.used)} symbols does not match "
            "its committed hash",
            proof,
        )
    return seal_sliver(metadata, target_kind, target_index, rebuilt.symbols)


def recover_primary(
    metadata: VerifiedMetadata, index: int, symbols: Iterable[VerifiedRecoverySymbol]
) -> VerifiedSliver:
    """Primary sliver `index` from s symbols of distinct secondary slivers."""
    return recover_sliver(metadata, SliverKind.PRIMARY, index, symbols)


def recover_secondary(
    metadata: VerifiedMetadata, index: int, symbols: Iterable[VerifiedRecoverySymbol]
) -> VerifiedSliver:
    """Secondary sliver `index` from p symbols of distinct primary slivers."""
    return recover_sliver(metadata, SliverKind.SECONDARY, index, symbols)
