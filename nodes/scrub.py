"""Start-up scrub: every stored metadata and sliver record checked once, at a bounded rate.

Records with a checksum are checked against it (a mismatch drops the record and queues the
blob for recovery, see `NodeStore.on_corruption`). Records written before checksums existed
are verified against the blob id (metadata) or the metadata's sliver hashes (slivers) and
then given a checksum, or dropped when they do not verify: a one-time migration.
"""

from __future__ import annotations

import logging
import threading
import time

from backend.core.blob_id import BlobId
from backend.core.errors import CoreError
from backend.core.metadata import UnverifiedMetadata, VerifiedMetadata, verify_metadata
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, sliver_size, verify_sliver
from nodes.store import Integrity, NodeStore

SCRUB_BYTES_PER_SECOND = 64 << 20
"""Read rate cap, so the scrub does not starve client requests of the disk."""

log = logging.getLogger("walrus-node.scrub")


class Scrubber:
    def __init__(self, store: NodeStore, bytes_per_second: int = SCRUB_BYTES_PER_SECOND) -> None:
        self.store = store
        self.bytes_per_second = bytes_per_second
        self.records_checked = 0
        self.finished = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scrub", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        started = time.monotonic()
        try:
            self.run_once()
        except Exception:
            log.exception("scrub failed")
        log.info(
            "scrub checked %d records in %.1f s (%d corrupt records dropped so far)",
            self.records_checked,
            time.monotonic() - started,
            self.store.corrupt_records,
        )

    def run_once(self) -> None:
        """Check every record once (stops early when `stop` is called)."""
        window_start = time.monotonic()
        window_bytes = 0
        for blob_id in self.store.metadata_ids():
            if self._stop.is_set():
                return
            metadata = self._checked_metadata(blob_id)
            if metadata is None:
                continue
            for kind, index in self.store.sliver_indexes(blob_id):
                if self._stop.is_set():
                    return
                window_bytes += self._check_sliver(metadata, kind, index)
                self.records_checked += 1
                # bounded rate: sleep off whatever the window is ahead of the cap
                ahead = window_bytes / self.bytes_per_second - (time.monotonic() - window_start)
                if ahead > 0:
                    self._stop.wait(ahead)
        self.finished = True

    def _checked_metadata(self, blob_id: BlobId) -> VerifiedMetadata | None:
        self.records_checked += 1
        integrity = self.store.metadata_integrity(blob_id)
        raw = self.store.metadata(blob_id)  # drops it when its checksum does not match
        if raw is None:
            return None
        try:
            verified = verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))
        except CoreError:
            if integrity == Integrity.UNCHECKED:
                self.store.drop_metadata(blob_id)
            return None
        if integrity == Integrity.UNCHECKED:
            self.store.add_checksum(blob_id)
        return verified

    def _check_sliver(self, metadata: VerifiedMetadata, kind: SliverKind, index: int) -> int:
        """Check one sliver; returns the bytes read."""
        blob_id = metadata.blob_id
        integrity = self.store.sliver_integrity(blob_id, kind, index)
        if integrity is None or integrity == Integrity.OK:
            return 0 if integrity is None else sliver_size(metadata, kind)
        data = self.store.sliver(blob_id, kind, index)  # drops it when corrupt
        if data is None or integrity == Integrity.CORRUPT:
            return 0 if data is None else len(data)
        try:
            verify_sliver(metadata, UnverifiedSliver(kind, index, data))
        except CoreError:
            self.store.drop_sliver(blob_id, kind, index)
            return len(data)
        self.store.add_checksum((blob_id, kind, index))
        return len(data)
