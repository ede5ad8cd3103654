"""The node's LMDB store: slivers, metadata, blob records and the event cursor."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from backend.core.blob_id import BlobId
from backend.core.sliver_kind import SliverKind
from nodes.blob_state import BlobRecord, Registration
from nodes.store import NodeStore, checksum

BLOB_A = BlobId(b"\x01" * 32)
BLOB_B = BlobId(b"\x01" * 31 + b"\x02")  # shares a 31-byte prefix with A


def test_slivers_and_metadata_survive_reopening(tmp_path: Path) -> None:
    store = NodeStore(tmp_path)
    store.put_metadata(BLOB_A, b"meta")
    store.put_sliver(BLOB_A, SliverKind.SECONDARY, 7, b"symbols")
    store.close()
    reopened = NodeStore(tmp_path)
    assert reopened.metadata(BLOB_A) == b"meta"
    assert reopened.sliver(BLOB_A, SliverKind.SECONDARY, 7) == b"symbols"
    assert reopened.sliver(BLOB_A, SliverKind.PRIMARY, 7) is None
    assert reopened.sliver_stats() == (1, len(b"symbols"))


def test_delete_blob_removes_only_that_blob(tmp_path: Path) -> None:
    store = NodeStore(tmp_path)
    for blob in (BLOB_A, BLOB_B):
        store.put_metadata(blob, b"m")
        for index in range(3):
            store.put_sliver(blob, SliverKind.PRIMARY, index, b"x")
    assert store.delete_blob(BLOB_A) == 3
    assert store.metadata(BLOB_A) is None
    assert not store.has_sliver(BLOB_A, SliverKind.PRIMARY, 0)
    assert store.has_sliver(BLOB_B, SliverKind.PRIMARY, 2)
    assert store.delete_blob(BLOB_A) == 0


def test_events_commit_records_cursor_and_count_together(tmp_path: Path) -> None:
    store = NodeStore(tmp_path)
    assert store.cursor() is None
    record = BlobRecord({5: Registration(end_epoch=4, deletable=True, certified=True)})
    store.commit_events({BLOB_A: record}, next_cursor=120, event_count=2)
    store.commit_events({}, next_cursor=130, event_count=0, sync=False)  # close() syncs
    store.close()
    reopened = NodeStore(tmp_path)
    assert reopened.cursor() == 130
    assert reopened.events_applied() == 2
    assert reopened.blob_record(BLOB_A) == record
    assert reopened.blob_records() == [(BLOB_A, record)]
    assert reopened.blob_records([BLOB_B, BLOB_A]) == [(BLOB_A, record)]  # B has no record
    assert reopened.blob_records([]) == []


def test_sliver_indexes_list_one_blob_and_delete_slivers_removes_only_those(
    tmp_path: Path,
) -> None:
    store = NodeStore(tmp_path)
    store.put_sliver(BLOB_A, SliverKind.PRIMARY, 3, b"a")
    store.put_sliver(BLOB_A, SliverKind.SECONDARY, 5, b"b")
    store.put_sliver(BLOB_B, SliverKind.PRIMARY, 3, b"c")
    assert store.sliver_indexes(BLOB_A) == [(SliverKind.PRIMARY, 3), (SliverKind.SECONDARY, 5)]
    store.delete_slivers(BLOB_A, [(SliverKind.PRIMARY, 3)])
    assert store.sliver_indexes(BLOB_A) == [(SliverKind.SECONDARY, 5)]
    assert store.sliver_indexes(BLOB_B) == [(SliverKind.PRIMARY, 3)]


def test_synced_epoch_persists(tmp_path: Path) -> None:
    store = NodeStore(tmp_path)
    assert store.synced_epoch() == 0
    store.set_synced_epoch(4)
    store.close()
    assert NodeStore(tmp_path).synced_epoch() == 4


def test_checksums_keep_zlib_crc32_values_so_existing_records_still_verify() -> None:
    data = os.urandom((1 << 20) + 3)
    for value in (b"", b"x", data[:5000], data, memoryview(data)[5:]):
        assert checksum(value) == struct.pack(">I", zlib.crc32(value))
