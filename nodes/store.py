"""The node's durable store: LMDB, group-committed sliver writes.

Sub-databases: ``metadata`` (blob id -> canonical metadata bytes), ``slivers``
(blob id || kind:u8 || index:u32 BE -> symbol bytes), ``checksums`` (the metadata or sliver
key -> CRC-32 of its value, u32 BE), ``blobs`` (event-derived records) and ``state`` (small
values such as the event cursor).

Every metadata and sliver read checks the CRC-32 written with the value in the same
transaction: a mismatch (bytes flipped on disk) drops the record, counts it in
`corrupt_records` and calls `on_corruption` (the node queues the blob for recovery), and
the read answers None, so corrupted bytes are never served. Records written before
checksums existed have none; they are served as they are until the start-up scrub
(nodes/scrub.py) verifies them against the blob id and adds one.

Metadata and sliver puts commit without fsync (the bytes are in the OS page cache, so they
survive a crash of the process but not of the machine); `sync` fsyncs everything committed
so far and runs before the node signs a confirmation, so confirmed metadata and slivers are
always on disk. One fsync then covers the metadata and every sliver of the blob instead of
one fsync per PUT. Deletions are fsynced at commit; event records at most a second later
(nodes/follower.py). An unsynced commit lost in a machine crash is lost whole, with the
cursor of its batch (LMDB commits stay atomic without fsync), so the follower re-reads those
events.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lmdb
from isal import isal_zlib

from backend.core.blob_id import BlobId
from backend.core.sliver_kind import SliverKind
from nodes.blob_state import BlobRecord

_MAP_SIZE = 1 << 40  # address space only; the file grows as data is written
_SLIVER_KEY = struct.Struct(">BI")
_CHECKSUM = struct.Struct(">I")
_CURSOR = b"cursor"
_EVENTS_APPLIED = b"events_applied"
_SYNCED_EPOCH = b"synced_epoch"


def _sliver_key(blob_id: BlobId, kind: SliverKind, index: int) -> bytes:
    return blob_id.raw + _SLIVER_KEY.pack(kind, index)


def checksum(value: bytes | memoryview) -> bytes:
    """CRC-32 of a stored value (catches flipped bits on disk; not a defence against an
    attacker, the blob id is). ISA-L's CRC-32 (carry-less multiply) gives zlib's values at
    ~0.02 ms per MiB instead of zlib's ~0.25 ms, paid on every sliver PUT and GET."""
    return _CHECKSUM.pack(isal_zlib.crc32(value))


class Integrity:
    """Outcome of checking one stored value against its checksum."""

    OK = "ok"
    CORRUPT = "corrupt"
    UNCHECKED = "unchecked"  # written before checksums existed


class NodeStore:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(
            str(directory / "store.lmdb"),
            map_size=_MAP_SIZE,
            max_dbs=8,
            subdir=True,
            sync=False,  # fsync explicitly: per commit for records, per confirmation for slivers
            metasync=True,
        )
        self._metadata = self._env.open_db(b"metadata")
        self._slivers = self._env.open_db(b"slivers")
        self._state = self._env.open_db(b"state")
        self._blobs = self._env.open_db(b"blobs")
        self._checksums = self._env.open_db(b"checksums")
        self._corrupt_lock = threading.Lock()
        self.corrupt_records = 0
        """Metadata and sliver records dropped because their checksum did not match."""
        self.on_corruption: Callable[[BlobId], None] | None = None

    def close(self) -> None:
        self._env.sync(True)
        self._env.close()

    def sync(self) -> None:
        """Fsync every committed write (slivers are committed without it)."""
        self._env.sync(True)

    def put_metadata(self, blob_id: BlobId, metadata: bytes) -> None:
        """Commit without fsync, like slivers: the confirmation's `sync` covers both."""
        with self._env.begin(write=True) as txn:
            txn.put(blob_id.raw, metadata, db=self._metadata)
            txn.put(blob_id.raw, checksum(metadata), db=self._checksums)

    def metadata(self, blob_id: BlobId) -> bytes | None:
        """The stored metadata bytes; None when absent or found corrupted (then dropped)."""
        with self._env.begin() as txn:
            value = txn.get(blob_id.raw, db=self._metadata)
            if value is None:
                return None
            data = bytes(value)
            integrity = self._integrity(txn, blob_id.raw, data)
        if integrity == Integrity.CORRUPT:
            self._drop(blob_id, blob_id.raw, self._metadata)
            return None
        return data

    def metadata_integrity(self, blob_id: BlobId) -> str | None:
        """`Integrity` of the stored metadata without dropping it; None when absent."""
        with self._env.begin() as txn:
            value = txn.get(blob_id.raw, db=self._metadata)
            return None if value is None else self._integrity(txn, blob_id.raw, value)

    def _integrity(self, txn: lmdb.Transaction, key: bytes, value: bytes | memoryview) -> str:
        expected = txn.get(key, db=self._checksums)
        if expected is None:
            return Integrity.UNCHECKED
        return Integrity.OK if checksum(value) == bytes(expected) else Integrity.CORRUPT

    def _drop(self, blob_id: BlobId, key: bytes, db: Any, *, unchecked: bool = False) -> None:
        """Remove a record whose bytes no longer match their checksum (re-checked in the write
        transaction, so a good value written meanwhile stays); `unchecked`: a legacy value
        without a checksum that the caller found invalid."""
        with self._env.begin(write=True) as txn:
            value = txn.get(key, db=db)
            if value is None:
                return
            if not unchecked and self._integrity(txn, key, value) != Integrity.CORRUPT:
                return
            txn.delete(key, db=db)
            txn.delete(key, db=self._checksums)
        self.sync()
        with self._corrupt_lock:
            self.corrupt_records += 1
        if self.on_corruption is not None:
            self.on_corruption(blob_id)

    def add_checksum(self, key_of: tuple[BlobId, SliverKind, int] | BlobId) -> None:
        """Record the checksum of a legacy value the caller has verified (scrub migration)."""
        if isinstance(key_of, BlobId):
            key, db = key_of.raw, self._metadata
        else:
            key, db = _sliver_key(*key_of), self._slivers
        with self._env.begin(write=True) as txn:
            value = txn.get(key, db=db)
            if value is not None:
                txn.put(key, checksum(value), db=self._checksums)
        self.sync()

    def drop_metadata(self, blob_id: BlobId) -> None:
        """Drop legacy metadata the scrub found invalid (counted as corrupt)."""
        self._drop(blob_id, blob_id.raw, self._metadata, unchecked=True)

    def drop_sliver(self, blob_id: BlobId, kind: SliverKind, index: int) -> None:
        """Drop a legacy sliver the scrub found invalid (counted as corrupt)."""
        self._drop(blob_id, _sliver_key(blob_id, kind, index), self._slivers, unchecked=True)

    def put_sliver(
        self, blob_id: BlobId, kind: SliverKind, index: int, data: bytes | memoryview
    ) -> None:
        """Commit without fsync; call `sync` before relying on it after a machine crash."""
        key = _sliver_key(blob_id, kind, index)
        with self._env.begin(write=True) as txn:
            txn.put(key, data, db=self._slivers)
            txn.put(key, checksum(data), db=self._checksums)

    def sliver(self, blob_id: BlobId, kind: SliverKind, index: int) -> bytes | None:
        """The stored symbols; None when absent or found corrupted (then dropped)."""
        key = _sliver_key(blob_id, kind, index)
        with self._env.begin() as txn:
            value = txn.get(key, db=self._slivers)
            if value is None:
                return None
            data = bytes(value)
            integrity = self._integrity(txn, key, data)
        if integrity == Integrity.CORRUPT:
            self._drop(blob_id, key, self._slivers)
            return None
        return data

    def sliver_integrity(self, blob_id: BlobId, kind: SliverKind, index: int) -> str | None:
        """`Integrity` of a stored sliver without dropping it; None when absent."""
        key = _sliver_key(blob_id, kind, index)
        with self._env.begin(buffers=True) as txn:
            value = txn.get(key, db=self._slivers)
            return None if value is None else self._integrity(txn, key, value)

    def has_sliver(self, blob_id: BlobId, kind: SliverKind, index: int) -> bool:
        # buffers=True: a view into the map instead of a copy of the whole sliver
        with self._env.begin(db=self._slivers, buffers=True) as txn:
            return txn.get(_sliver_key(blob_id, kind, index)) is not None

    def delete_blob(self, blob_id: BlobId) -> int:
        """Remove the blob's metadata and slivers; returns the number of slivers removed."""
        removed = 0
        with self._env.begin(write=True) as txn:
            txn.delete(blob_id.raw, db=self._metadata)
            cursor = txn.cursor(db=self._slivers)
            if cursor.set_range(blob_id.raw):
                while cursor.key()[: len(blob_id.raw)] == blob_id.raw:
                    removed += 1
                    if not cursor.delete():
                        break
            cursor = txn.cursor(db=self._checksums)  # the metadata's and every sliver's
            if cursor.set_range(blob_id.raw):
                while cursor.key()[: len(blob_id.raw)] == blob_id.raw:
                    if not cursor.delete():
                        break
        self.sync()
        return removed

    def sliver_indexes(self, blob_id: BlobId) -> list[tuple[SliverKind, int]]:
        """(kind, index) of every sliver of the blob stored here."""
        found = []
        prefix = blob_id.raw
        with self._env.begin(db=self._slivers) as txn:
            cursor = txn.cursor()
            if cursor.set_range(prefix):
                for key in cursor.iternext(values=False):
                    if key[: len(prefix)] != prefix:
                        break
                    kind, index = _SLIVER_KEY.unpack_from(key, len(prefix))
                    found.append((SliverKind(kind), index))
        return found

    def delete_slivers(self, blob_id: BlobId, slivers: list[tuple[SliverKind, int]]) -> None:
        with self._env.begin(write=True) as txn:
            for kind, index in slivers:
                txn.delete(_sliver_key(blob_id, kind, index), db=self._slivers)
                txn.delete(_sliver_key(blob_id, kind, index), db=self._checksums)
        self.sync()

    def metadata_ids(self) -> list[BlobId]:
        """Every blob id with stored metadata."""
        with self._env.begin(db=self._metadata) as txn:
            return [BlobId(bytes(key)) for key in txn.cursor().iternext(values=False)]

    def sliver_stats(self) -> tuple[int, int]:
        """(slivers stored, bytes of sliver data)."""
        count = 0
        total = 0
        with self._env.begin(db=self._slivers) as txn:
            for _, value in txn.cursor():
                count += 1
                total += len(value)
        return count, total

    # ------------------------------------------------------------ chain state

    def cursor(self) -> int | None:
        """The next block the event follower reads; None before the first batch."""
        with self._env.begin(db=self._state) as txn:
            value = txn.get(_CURSOR)
        return None if value is None else int(value)

    def synced_epoch(self) -> int:
        """The last epoch whose shard hand-over this node finished (0: none yet)."""
        with self._env.begin(db=self._state) as txn:
            value = txn.get(_SYNCED_EPOCH)
        return 0 if value is None else int(value)

    def set_synced_epoch(self, epoch: int) -> None:
        with self._env.begin(write=True, db=self._state) as txn:
            txn.put(_SYNCED_EPOCH, str(epoch).encode())
        self.sync()

    def events_applied(self) -> int:
        with self._env.begin(db=self._state) as txn:
            value = txn.get(_EVENTS_APPLIED)
        return 0 if value is None else int(value)

    def blob_record(self, blob_id: BlobId) -> BlobRecord | None:
        with self._env.begin(db=self._blobs) as txn:
            value = txn.get(blob_id.raw)
        return None if value is None else BlobRecord.from_json(bytes(value))

    def blob_records(
        self, blob_ids: Iterable[BlobId] | None = None
    ) -> list[tuple[BlobId, BlobRecord]]:
        """Every blob record, or those of `blob_ids` that have one."""
        with self._env.begin(db=self._blobs) as txn:
            if blob_ids is not None:
                found = ((blob_id, txn.get(blob_id.raw)) for blob_id in blob_ids)
                return [
                    (blob_id, BlobRecord.from_json(bytes(value)))
                    for blob_id, value in found
                    if value is not None
                ]
            return [
                (BlobId(bytes(key)), BlobRecord.from_json(bytes(value)))
                for key, value in txn.cursor()
            ]

    def commit_events(
        self,
        records: dict[BlobId, BlobRecord],
        next_cursor: int,
        event_count: int,
        *,
        sync: bool = True,
    ) -> None:
        """Store changed blob records, the cursor and the event count in one transaction;
        `sync=False` leaves the fsync to a later `sync` (the follower batches them)."""
        with self._env.begin(write=True) as txn:
            for blob_id, record in records.items():
                txn.put(blob_id.raw, record.to_json(), db=self._blobs)
            applied = txn.get(_EVENTS_APPLIED, db=self._state)
            total = (0 if applied is None else int(applied)) + event_count
            txn.put(_EVENTS_APPLIED, str(total).encode(), db=self._state)
            txn.put(_CURSOR, str(next_cursor).encode(), db=self._state)
        if sync:
            self.sync()
