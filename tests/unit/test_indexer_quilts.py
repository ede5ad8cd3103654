"""QuiltIndexer on a SQLite file: patches come from real quilt blobs (built and parsed by
backend/core/quilt); a blob that is not a quilt is remembered; a quilt whose nodes do not
answer is retried after a back-off, then indexed whole."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

from eth_typing import ChecksumAddress
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.api.indexer.database import open_database, sqlite_url
from backend.api.indexer.follower import apply_event
from backend.api.indexer.quilts import QuiltIndexer
from backend.api.indexer.schema import QuiltChecked, QuiltPatchRow, QuiltPatchTag
from backend.chain.registry import BlobCertified, BlobRegistered
from backend.core.blob_id import BlobId
from backend.core.quilt import PatchEntry, QuiltFile, QuiltPatchId, build_quilt, parse_index
from backend.core.quilt.layout import stream_of_blob

N_SHARDS = 10
OWNER = ChecksumAddress("0x" + "12" * 20)  # type: ignore[arg-type]


def certify(engine: Engine, token_id: int, blob: bytes) -> BlobId:
    blob_id = BlobId(hashlib.sha256(blob).digest())
    with Session(engine) as session, session.begin():
        apply_event(
            session,
            BlobRegistered(
                token_id, blob_id.raw, OWNER, b"r" * 32, len(blob), 1, 1, 1, 3, False, 0
            ),
        )
        session.flush()
        apply_event(session, BlobCertified(token_id, blob_id.raw, 1, 3, False))
    return blob_id


def test_quilts_are_indexed_once_plain_blobs_remembered_failures_retried(
    tmp_path: Path,
) -> None:
    engine = open_database(sqlite_url(tmp_path / "i.sqlite"), 31337, "0x" + "ab" * 20, 0)
    layout = build_quilt(
        [
            QuiltFile("b.txt", b"bee", {"kind": "text"}),
            QuiltFile("a.png", b"\x89PNG" * 50, {"kind": "image", "size": "big"}),
        ],
        N_SHARDS,
    )
    quilt_id = certify(engine, 1, layout.blob)
    plain_id = certify(engine, 2, b"not a quilt" * 100)
    blobs = {quilt_id: layout.blob, plain_id: b"not a quilt" * 100}
    reachable = {plain_id}
    asked: list[BlobId] = []

    def read_index(blob_id: BlobId) -> Sequence[PatchEntry]:
        asked.append(blob_id)
        if blob_id not in reachable:
            raise ConnectionError("no storage node answered")
        return parse_index(stream_of_blob(blobs[blob_id], N_SHARDS))

    quilts = QuiltIndexer(engine, read_index)
    assert quilts.index_pending() == 0
    assert quilts.last_error is not None and "no storage node answered" in quilts.last_error
    assert quilts.pending() == []  # the failed quilt waits for its back-off (2 s)
    reachable.add(quilt_id)
    time.sleep(2.1)
    assert quilts.pending() == [quilt_id.to_base64()]
    assert quilts.index_pending() == 1
    assert quilts.index_pending() == 0 and quilts.pending() == []
    assert asked == [quilt_id, plain_id, quilt_id]  # each blob read once after success

    with Session(engine) as session:
        checked = {row.blob_id: row.is_quilt for row in session.scalars(select(QuiltChecked))}
        assert checked == {quilt_id.to_base64(): True, plain_id.to_base64(): False}
        patches = {row.identifier: row.patch_id for row in session.scalars(select(QuiltPatchRow))}
        assert patches == {
            entry.identifier: str(QuiltPatchId(quilt_id, entry.start, entry.end))
            for entry in layout.patches
        }
        tags = {(t.identifier, t.key): t.value for t in session.scalars(select(QuiltPatchTag))}
        assert tags == {
            ("a.png", "kind"): "image",
            ("a.png", "size"): "big",
            ("b.txt", "kind"): "text",
        }
    engine.dispose()
