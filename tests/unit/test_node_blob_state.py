"""Blob records built from registry events: liveness, certification, deletion, expiry."""

from __future__ import annotations

from backend.chain.registry import (
    BlobCertified,
    BlobDeleted,
    BlobExtended,
    BlobInvalidated,
    BlobRegistered,
)
from nodes.blob_state import BlobRecord

BLOB = b"\x07" * 32
OWNER = "0x0000000000000000000000000000000000000001"


def _registered(token_id: int, end_epoch: int, deletable: bool) -> BlobRegistered:
    return BlobRegistered(token_id, BLOB, OWNER, b"\0" * 32, 10, 1, 100, 1, end_epoch, deletable, 1)  # type: ignore[arg-type]


def test_registered_then_certified_then_expired() -> None:
    record = BlobRecord()
    record.apply(_registered(1, end_epoch=4, deletable=False))
    assert record.is_live(1) and not record.is_certified(1)
    record.apply(BlobCertified(1, BLOB, 1, 4, False))
    assert record.is_certified(3)
    assert not record.is_live(4) and not record.is_certified(4)
    record.apply(BlobExtended(1, BLOB, 6, 0))
    assert record.is_certified(5)


def test_deleting_one_registration_keeps_the_blob_while_another_lives() -> None:
    record = BlobRecord()
    record.apply(_registered(1, end_epoch=5, deletable=True))
    record.apply(_registered(2, end_epoch=5, deletable=True))
    record.apply(BlobDeleted(1, BLOB, 1, 0))
    assert record.is_live(1)
    record.apply(BlobDeleted(2, BLOB, 1, 0))
    assert not record.is_live(1)


def test_invalidated_blob_is_never_live_and_json_round_trips() -> None:
    record = BlobRecord()
    record.apply(_registered(3, end_epoch=9, deletable=False))
    record.apply(BlobCertified(3, BLOB, 1, 9, False))
    assert BlobRecord.from_json(record.to_json()) == record
    record.apply(BlobInvalidated(BLOB, 2))
    assert not record.is_live(2) and not record.is_certified(2)
    assert BlobRecord.from_json(record.to_json()) == record


def test_expired_only_when_every_registration_has_ended() -> None:
    record = BlobRecord()
    assert not record.is_expired(1)  # nothing known
    record.apply(_registered(1, end_epoch=3, deletable=False))
    record.apply(_registered(2, end_epoch=5, deletable=True))
    assert not record.is_expired(3)
    assert record.is_expired(5) and not record.is_live(5)
    record.apply(BlobDeleted(2, BLOB, 1, 0))
    assert record.is_expired(3)
    record.apply(BlobInvalidated(BLOB, 4))
    assert not record.is_expired(9)  # invalidated, not expired
