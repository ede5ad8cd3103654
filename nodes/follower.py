"""Follows BlobRegistry events from the cursor persisted in the node store.

Each batch of blocks updates the blob records and the cursor in one transaction, so a
restart resumes exactly after the last committed batch. Batches are fsynced at most once a
second: a machine crash can lose the last ones, whole (records with their cursor), and the
follower then reads those blocks again. Side effects (recovery, garbage
collection) are derived from the stored records, not from the events, so they are
idempotent and never replayed from old events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from backend.chain.errors import ChainError
from backend.core.blob_id import BlobId
from nodes.blob_state import BLOB_EVENTS, BlobRecord
from nodes.chain_view import ChainView
from nodes.store import NodeStore

BLOCK_RANGE = 2_000
"""Most blocks asked for in one eth_getLogs."""
POLL_SECONDS = 0.5
SYNC_EVERY_SECONDS = 1.0
"""Batches are fsynced at most this often (one per block cost each node an fsync per
transaction on chain); confirmations and deletions fsync everything committed anyway."""
IDLE_EVERY_SECONDS = 3.0
"""How often `on_idle` (recovery sweep, expiry GC) runs while caught up."""

log = logging.getLogger("walrus-node.follower")


class EventFollower:
    def __init__(
        self,
        store: NodeStore,
        chain: ChainView,
        start_block: int,
        after_batch: Callable[[list[BlobId]], None],
        on_idle: Callable[[], None],
    ) -> None:
        self.store = store
        self.chain = chain
        self.start_block = start_block
        self.after_batch = after_batch
        self.on_idle = on_idle
        self.head = 0
        self._synced_at = 0.0
        self._unsynced = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-follower", daemon=True)

    def lag_blocks(self) -> int:
        cursor = self.store.cursor() or self.start_block
        return max(0, self.head + 1 - cursor)

    def poll_once(self) -> int:
        """Apply one bounded batch of blocks; returns the number of blocks read."""
        cursor = self.store.cursor()
        first = self.start_block if cursor is None else cursor
        self.head = self.chain.head_block()
        if first > self.head:
            self._sync_if_due()
            return 0
        last = min(self.head, first + BLOCK_RANGE - 1)
        events = self.chain.registry.events.in_blocks(first, last)
        records: dict[BlobId, BlobRecord] = {}
        count = 0
        for event in events:
            if not isinstance(event, BLOB_EVENTS):
                continue
            blob_id = BlobId(event.blob_id)
            record = records.get(blob_id) or self.store.blob_record(blob_id) or BlobRecord()
            record.apply(event)
            records[blob_id] = record
            count += 1
        self.store.commit_events(records, last + 1, count, sync=False)
        self._unsynced = True
        self._sync_if_due()
        if records:
            self.after_batch(list(records))
        return last + 1 - first

    def _sync_if_due(self) -> None:
        """Fsync committed batches once SYNC_EVERY_SECONDS have passed since the last fsync."""
        now = time.monotonic()
        if self._unsynced and now - self._synced_at >= SYNC_EVERY_SECONDS:
            self.store.sync()
            self._synced_at = now
            self._unsynced = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last_idle = 0.0
        while not self._stop.is_set():
            try:
                caught_up = self.poll_once() < BLOCK_RANGE
            except ChainError as error:
                log.warning("reading events failed: %s", error)
                caught_up = True
            except Exception:
                log.exception("event follower failed")
                caught_up = True
            if caught_up:
                if time.monotonic() - last_idle > IDLE_EVERY_SECONDS:
                    last_idle = time.monotonic()
                    try:
                        self.on_idle()
                    except Exception:
                        log.exception("maintenance failed")
                self._stop.wait(POLL_SECONDS)
