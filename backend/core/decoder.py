"""Reading a blob back from verified slivers, with Walrus' two consistency checks.

- `ConsistencyCheck.DEFAULT`: the data returned is the content of the systematic
  primary slivers 0..p-1 as committed in the metadata. If those very slivers were
  used, they are already verified and nothing more is needed; otherwise the decoded
  source rows are extended and hashed and must match their committed hashes. Every
  reader that passes this check gets the same bytes, even from a badly encoded blob.
- `ConsistencyCheck.STRICT`: re-encode the whole blob and compare blob ids, so a blob
  whose parity slivers were written badly is refused as well.

Either way, a failed check raises `InconsistentBlob`; wrong data is never returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum

import numpy as np

from backend.core.encoder import compute_blob_id_of
from backend.core.errors import InconsistentBlob, InvalidSliver, NotEnoughSlivers
from backend.core.expansion import code_for, sliver_hashes
from backend.core.metadata import VerifiedMetadata
from backend.core.rs import Shards
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import VerifiedSliver


class ConsistencyCheck(Enum):
    DEFAULT = "default"
    STRICT = "strict"


def _pick(slivers: dict[int, VerifiedSliver], count: int) -> list[VerifiedSliver]:
    """`count` slivers, lowest indices first (systematic primaries need no re-check)."""
    return [slivers[i] for i in sorted(slivers)[:count]]


def decode_source(
    metadata: VerifiedMetadata, slivers: Iterable[VerifiedSliver]
) -> tuple[Sequence[Shards], bool]:
    """The p source rows (s, S) from any p primary or any s secondary slivers.

    The flag says whether the rows are just the verified systematic primary slivers
    (then they are returned as they are, without a copy).
    """
    params = metadata.params
    primaries: dict[int, VerifiedSliver] = {}
    secondaries: dict[int, VerifiedSliver] = {}
    for sliver in slivers:
        if sliver.blob_id != metadata.blob_id:
            raise InvalidSliver(
                f"{sliver.kind.name.lower()} sliver {sliver.index} belongs to blob "
                f"{sliver.blob_id}, not to {metadata.blob_id}"
            )
        (primaries if sliver.kind is SliverKind.PRIMARY else secondaries)[sliver.index] = sliver
    size = metadata.symbol_size
    if len(primaries) >= params.p:
        chosen = _pick(primaries, params.p)
        if all(s.index < params.p for s in chosen):
            return [s.symbols for s in chosen], True
        code = code_for(metadata.encoding_type, params, SliverKind.SECONDARY)  # column code
        rows = np.stack([s.symbols for s in chosen]).reshape(params.p, params.s * size)
        source_rows = code.decode([s.index for s in chosen], rows)
        return list(source_rows.reshape(params.p, params.s, size)), False
    if len(secondaries) >= params.s:
        chosen = _pick(secondaries, params.s)
        code = code_for(metadata.encoding_type, params, SliverKind.PRIMARY)  # row code
        columns = np.stack([s.symbols for s in chosen]).reshape(params.s, params.p * size)
        source_columns = code.decode([s.index for s in chosen], columns)
        source = source_columns.reshape(params.s, params.p, size).transpose(1, 0, 2)
        return list(np.ascontiguousarray(source)), False
    raise NotEnoughSlivers(
        f"decoding blob {metadata.blob_id} needs {params.p} distinct primary or "
        f"{params.s} distinct secondary slivers, got {len(primaries)} primary and "
        f"{len(secondaries)} secondary"
    )


def _check_systematic_rows(metadata: VerifiedMetadata, source: Sequence[Shards]) -> None:
    code = code_for(metadata.encoding_type, metadata.params, SliverKind.PRIMARY)
    committed = metadata.metadata.primary_hashes[: metadata.params.p]
    if tuple(sliver_hashes(code, source)) != committed:
        raise InconsistentBlob(
            f"blob {metadata.blob_id} is inconsistent: the decoded systematic primary "
            "slivers do not match their committed hashes"
        )


def decode_blob(
    metadata: VerifiedMetadata,
    slivers: Iterable[VerifiedSliver],
    check: ConsistencyCheck = ConsistencyCheck.DEFAULT,
) -> bytes:
    """The blob's bytes from verified slivers; `InconsistentBlob` if the check fails."""
    source, systematic = decode_source(metadata, slivers)
    length = metadata.unencoded_length
    row_bytes = metadata.params.s * metadata.symbol_size
    parts = []
    for row_index, row in enumerate(source):
        flat = row.reshape(-1)
        keep = min(max(length - row_index * row_bytes, 0), row_bytes)
        if flat[keep:].any():
            raise InconsistentBlob(
                f"blob {metadata.blob_id} is inconsistent: the padding after byte {length} "
                "is not zero"
            )
        parts.append(memoryview(flat[:keep].data))
    data = b"".join(parts)
    if check is ConsistencyCheck.STRICT:
        again = compute_blob_id_of(data, metadata.n_shards, metadata.encoding_type)
        if again != metadata.blob_id:
            raise InconsistentBlob(
                f"blob {metadata.blob_id} is inconsistent: re-encoding the decoded data "
                f"gives blob id {again}"
            )
        return data
    if not systematic:
        _check_systematic_rows(metadata, source)
    return data
