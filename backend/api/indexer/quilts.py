"""`QuiltIndexer`: the patches (identifier, tags, patch id) of every certified quilt blob.

Quilt indexes live in the blob's data, not on chain, so each certified blob id is looked at
once through a `QuiltIndexSource` (in `walrus serve`: the SDK's QuiltClient, which fetches
only the columns holding the index). A blob that is not a quilt is remembered as such; a
blob whose nodes cannot be reached now is retried later (backing off up to 10 minutes).
The rows of one blob are written in one transaction: the table holds whole indexes only.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.api.indexer.schema import IndexedBlob, QuiltChecked, QuiltPatchRow, QuiltPatchTag
from backend.core.blob_id import BlobId
from backend.core.quilt import MalformedQuilt, PatchEntry, QuiltPatchId

log = logging.getLogger(__name__)

QuiltIndexSource = Callable[[BlobId], Sequence[PatchEntry]]
"""The index of a quilt blob; raises MalformedQuilt when the blob is not a quilt."""
BLOBS_PER_PASS = 64
MAX_RETRY_SECONDS = 600.0
"""A blob whose index could not be read is retried after 2, 4, 8... seconds, at most this."""


class QuiltIndexer:
    def __init__(
        self, engine: Engine, source: QuiltIndexSource, *, blobs_per_pass: int = BLOBS_PER_PASS
    ) -> None:
        self.engine = engine
        self.source = source
        self.blobs_per_pass = blobs_per_pass
        self.last_error: str | None = None
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}

    def pending(self) -> list[str]:
        """Certified, live blob ids not looked at yet (oldest registration first)."""
        checked = select(QuiltChecked.blob_id)
        statement = (
            select(IndexedBlob.blob_id)
            .where(
                IndexedBlob.certified_epoch.is_not(None),
                IndexedBlob.deleted_epoch.is_(None),
                ~IndexedBlob.burned,
                IndexedBlob.invalidated_epoch.is_(None),
                IndexedBlob.blob_id.not_in(checked),
            )
            .group_by(IndexedBlob.blob_id)
            .order_by(func.min(IndexedBlob.token_id))
        )
        now = time.monotonic()
        with Session(self.engine) as session:
            due = (b for b in session.scalars(statement) if self._retry_at.get(b, 0.0) <= now)
            return list(itertools.islice(due, self.blobs_per_pass))

    def index_pending(self) -> int:
        """Look at up to `blobs_per_pass` pending blobs; returns how many quilts were added."""
        added = 0
        for text in self.pending():
            blob_id = BlobId.from_base64(text)
            try:
                entries: Sequence[PatchEntry] = self.source(blob_id)
                is_quilt = True
            except MalformedQuilt:
                entries, is_quilt = (), False
            except Exception as error:  # nodes away: retried later, backing off
                self.last_error = f"quilt index of {text}: {type(error).__name__}: {error}"
                log.warning("indexer: %s", self.last_error)
                failures = self._failures[text] = self._failures.get(text, 0) + 1
                delay = min(MAX_RETRY_SECONDS, 2.0**failures)
                self._retry_at[text] = time.monotonic() + delay
                continue
            self._failures.pop(text, None)
            self._retry_at.pop(text, None)
            with Session(self.engine) as session, session.begin():
                session.add(QuiltChecked(blob_id=text, is_quilt=is_quilt))
                for entry in entries:
                    patch_id = QuiltPatchId(blob_id, entry.start, entry.end)
                    session.add(
                        QuiltPatchRow(
                            quilt_blob_id=text, identifier=entry.identifier, patch_id=str(patch_id)
                        )
                    )
                    for key, value in entry.tags.items():
                        session.add(
                            QuiltPatchTag(
                                quilt_blob_id=text,
                                identifier=entry.identifier,
                                key=key,
                                value=value,
                            )
                        )
            added += is_quilt
        return added
