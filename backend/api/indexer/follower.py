"""`IndexFollower`: reads `BlobRegistry` events block range by block range and applies them
to the index, each range in one database transaction together with the cursor (the next
block to read), so a restart resumes exactly where the last commit ended and a crash never
applies a range twice or half."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from backend.api.indexer.database import CURSOR_ROW
from backend.api.indexer.schema import BlobAttribute, IndexCursor, IndexedBlob, InvalidatedBlobId
from backend.chain.registry import (
    BlobAttributeRemoved,
    BlobAttributeSet,
    BlobBurned,
    BlobCertified,
    BlobDeleted,
    BlobExtended,
    BlobInvalidated,
    BlobRegistered,
    BlobRegistryContract,
    BlobTransferred,
    RegistryEvent,
)
from backend.core.blob_id import BlobId

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
BLOCKS_PER_TRANSACTION = 2000
"""Blocks whose events are applied in one database transaction (one eth_getLogs call)."""


def blob_id_text(raw: bytes) -> str:
    return BlobId(raw).to_base64()


def apply_event(session: Session, event: RegistryEvent) -> None:
    """Apply one decoded event to the index rows (events of tokens the index never saw
    registered, e.g. before its start block, are ignored)."""
    if isinstance(event, BlobRegistered):
        blob_id = blob_id_text(event.blob_id)
        invalidated = session.get(InvalidatedBlobId, blob_id)
        session.merge(
            IndexedBlob(
                token_id=event.token_id,
                blob_id=blob_id,
                owner=event.owner.lower(),
                size=event.size,
                encoding_type=event.encoding_type,
                encoded_size=event.encoded_size,
                deletable=event.deletable,
                registered_epoch=event.registered_epoch,
                certified_epoch=None,
                end_epoch=event.end_epoch,
                deleted_epoch=None,
                burned=False,
                invalidated_epoch=None if invalidated is None else invalidated.epoch,
            )
        )
        return
    if isinstance(event, BlobInvalidated):
        blob_id = blob_id_text(event.blob_id)
        session.merge(InvalidatedBlobId(blob_id=blob_id, epoch=event.epoch))
        session.execute(
            update(IndexedBlob)
            .where(IndexedBlob.blob_id == blob_id)
            .values(invalidated_epoch=event.epoch)
        )
        return
    if isinstance(
        event,
        BlobTransferred
        | BlobCertified
        | BlobExtended
        | BlobDeleted
        | BlobBurned
        | BlobAttributeSet
        | BlobAttributeRemoved,
    ):
        token_id = event.token_id
    else:
        return  # rewards, parameters: not indexed
    blob = session.get(IndexedBlob, token_id)
    if blob is None:
        return
    if isinstance(event, BlobCertified):
        blob.certified_epoch = event.epoch
        blob.end_epoch = event.end_epoch
    elif isinstance(event, BlobExtended):
        blob.end_epoch = event.end_epoch
    elif isinstance(event, BlobDeleted):
        blob.deleted_epoch = event.epoch
    elif isinstance(event, BlobBurned):
        blob.burned = True
    elif isinstance(event, BlobAttributeSet):
        session.merge(BlobAttribute(token_id=token_id, key=event.key, value=event.value))
    elif isinstance(event, BlobAttributeRemoved):
        session.execute(
            delete(BlobAttribute).where(
                BlobAttribute.token_id == token_id, BlobAttribute.key == event.key
            )
        )
    elif ZERO_ADDRESS not in (event.sender.lower(), event.receiver.lower()):
        # mints come with BlobRegistered, burns with BlobDeleted/BlobBurned: the row keeps
        # its last owner so "my deleted blobs" stays answerable
        blob.owner = event.receiver.lower()


class IndexFollower:
    """Follows one registry's events into the database behind `engine`."""

    def __init__(
        self,
        engine: Engine,
        registry: BlobRegistryContract,
        *,
        confirmations: int = 0,
        blocks_per_transaction: int = BLOCKS_PER_TRANSACTION,
        after_commit: Callable[[], object] | None = None,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.confirmations = confirmations
        self.blocks_per_transaction = blocks_per_transaction
        self.after_commit = after_commit
        """Called after each sync that read blocks (the quilt indexer hooks in here)."""
        self.last_error: str | None = None

    def next_block(self) -> int:
        with Session(self.engine) as session:
            return session.get_one(IndexCursor, CURSOR_ROW).next_block

    def safe_head(self) -> int:
        return self.registry.client.block_number() - self.confirmations

    def sync(self, until_block: int | None = None) -> int:
        """Apply every event up to `until_block` (default: the chain head minus the
        confirmations); returns the number of blocks read."""
        head = self.safe_head() if until_block is None else until_block
        read = 0
        while True:
            with Session(self.engine) as session, session.begin():
                cursor = session.get_one(IndexCursor, CURSOR_ROW, with_for_update=True)
                start = cursor.next_block
                if start > head:
                    break
                end = min(head, start + self.blocks_per_transaction - 1)
                for event in self.registry.events.in_blocks(start, end):
                    apply_event(session, event)
                    session.flush()
                cursor.next_block = end + 1
            read += end - start + 1
        if self.after_commit is not None:
            self.after_commit()  # also when no block was new: retries failed quilt reads
        return read

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Sync every `interval` seconds until `stop` is set; errors (chain or database
        briefly away) are logged, kept in `last_error`, and retried."""
        while not stop.is_set():
            try:
                self.sync()
                self.last_error = None
            except Exception as error:  # keep following; reported by /v1/index/status
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("indexer: %s", self.last_error)
            stop.wait(interval)

    def start(self, interval: float = 1.0) -> tuple[threading.Thread, threading.Event]:
        """Run in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self.run, args=(stop, interval), name="walrus-indexer", daemon=True
        )
        thread.start()
        return thread, stop
