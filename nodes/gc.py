"""Garbage collection: drop data of blobs that are deleted, invalidated or expired."""

from __future__ import annotations

from collections.abc import Iterable

from backend.core.blob_id import BlobId
from nodes.store import NodeStore


def collect_garbage(
    store: NodeStore, epoch: int, blob_ids: Iterable[BlobId] | None = None
) -> list[BlobId]:
    """Delete metadata and slivers of every known blob (or of `blob_ids`) no longer live in
    `epoch`.

    Idempotent: run at start-up, after each event batch (its blobs) and at epoch changes."""
    removed = []
    for blob_id, record in store.blob_records(blob_ids):
        if not record.is_live(epoch) and store.metadata(blob_id) is not None:
            store.delete_blob(blob_id)
            removed.append(blob_id)
    return removed
