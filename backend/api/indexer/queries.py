"""Read side of the index: typed filters over blobs and quilt patches, paginated by
limit/offset or by a keyset cursor (the last token id seen), plus their JSON forms."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, and_, or_, select, tuple_
from sqlalchemy.orm import Session

from backend.api.indexer.schema import (
    BlobAttribute,
    IndexedBlob,
    InvalidatedBlobId,
    QuiltChecked,
    QuiltPatchRow,
    QuiltPatchTag,
)

STATUSES: Final = ("live", "certified", "expired", "deleted", "invalidated", "all")
"""``live``: stored now or later (not deleted, burned, invalidated or past its end epoch);
``certified``: live and certified; ``expired``: past its end epoch, never deleted;
``deleted``: deleted or burned; ``invalidated``: its blob id was invalidated."""
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000


@dataclass(frozen=True)
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after_token: int | None = None
    """Keyset cursor: only tokens after this one (blobs are ordered by token id)."""


@dataclass(frozen=True)
class BlobFilter:
    epoch: int
    """Reference epoch for status and expiry (default: the chain's current epoch)."""
    owner: str | None = None
    attribute: str | None = None
    value: str | None = None
    expiring_within: int | None = None
    """Certified live blobs whose end epoch is at most `epoch` + this many epochs."""
    status: str = "live"
    blob_id: str | None = None


def _status_clause(status: str, epoch: int) -> Any:
    gone = or_(IndexedBlob.deleted_epoch.is_not(None), IndexedBlob.burned)
    invalid = IndexedBlob.invalidated_epoch.is_not(None)
    live = and_(~gone, ~invalid, IndexedBlob.end_epoch > epoch)
    return {
        "live": live,
        "certified": and_(live, IndexedBlob.certified_epoch.is_not(None)),
        "expired": and_(~gone, ~invalid, IndexedBlob.end_epoch <= epoch),
        "deleted": gone,
        "invalidated": invalid,
        "all": None,
    }[status]


def blob_statement(where: BlobFilter, page: Page) -> Select[Any]:
    statement = select(IndexedBlob)
    clause = _status_clause(where.status, where.epoch)
    if clause is not None:
        statement = statement.where(clause)
    if where.owner is not None:
        statement = statement.where(IndexedBlob.owner == where.owner.lower())
    if where.blob_id is not None:
        statement = statement.where(IndexedBlob.blob_id == where.blob_id)
    if where.attribute is not None:
        attribute = select(BlobAttribute.token_id).where(BlobAttribute.key == where.attribute)
        if where.value is not None:
            attribute = attribute.where(BlobAttribute.value == where.value)
        statement = statement.where(IndexedBlob.token_id.in_(attribute))
    if where.expiring_within is not None:
        statement = statement.where(
            IndexedBlob.certified_epoch.is_not(None),
            IndexedBlob.end_epoch > where.epoch,
            IndexedBlob.end_epoch <= where.epoch + where.expiring_within,
        )
    if page.after_token is not None:
        statement = statement.where(IndexedBlob.token_id > page.after_token)
    return statement.order_by(IndexedBlob.token_id).limit(page.limit).offset(page.offset)


def status_of(blob: IndexedBlob, epoch: int) -> str:
    if blob.deleted_epoch is not None or blob.burned:
        return "deleted"
    if blob.invalidated_epoch is not None:
        return "invalidated"
    if blob.end_epoch <= epoch:
        return "expired"
    return "certified" if blob.certified_epoch is not None else "registered"


def find_blobs(session: Session, where: BlobFilter, page: Page) -> list[dict[str, Any]]:
    blobs: list[IndexedBlob] = list(session.scalars(blob_statement(where, page)))
    attributes: dict[int, dict[str, str]] = defaultdict(dict)
    if blobs:
        rows = session.scalars(
            select(BlobAttribute).where(BlobAttribute.token_id.in_([b.token_id for b in blobs]))
        )
        for row in rows:
            attributes[row.token_id][row.key] = row.value
    return [blob_json(blob, where.epoch, attributes[blob.token_id]) for blob in blobs]


def blob_json(blob: IndexedBlob, epoch: int, attributes: dict[str, str]) -> dict[str, Any]:
    return {
        "tokenId": blob.token_id,
        "blobId": blob.blob_id,
        "owner": blob.owner,
        "status": status_of(blob, epoch),
        "size": blob.size,
        "encodingType": blob.encoding_type,
        "encodedSize": blob.encoded_size,
        "deletable": blob.deletable,
        "registeredEpoch": blob.registered_epoch,
        "certifiedEpoch": blob.certified_epoch,
        "endEpoch": blob.end_epoch,
        "deletedEpoch": blob.deleted_epoch,
        "burned": blob.burned,
        "invalidatedEpoch": blob.invalidated_epoch,
        "attributes": dict(sorted(attributes.items())),
    }


@dataclass(frozen=True)
class PatchFilter:
    epoch: int
    """Only patches of quilts with a live registration at this epoch."""
    identifier: str | None = None
    tag: tuple[str, str] | None = None
    quilt_blob_id: str | None = None


def find_patches(session: Session, where: PatchFilter, page: Page) -> list[dict[str, Any]]:
    live_quilts = select(IndexedBlob.blob_id).where(_status_clause("live", where.epoch))
    statement = select(QuiltPatchRow).where(QuiltPatchRow.quilt_blob_id.in_(live_quilts))
    if where.identifier is not None:
        statement = statement.where(QuiltPatchRow.identifier == where.identifier)
    if where.quilt_blob_id is not None:
        statement = statement.where(QuiltPatchRow.quilt_blob_id == where.quilt_blob_id)
    if where.tag is not None:
        key, value = where.tag
        tagged = select(QuiltPatchTag.quilt_blob_id, QuiltPatchTag.identifier).where(
            QuiltPatchTag.key == key, QuiltPatchTag.value == value
        )
        statement = statement.where(
            tuple_(QuiltPatchRow.quilt_blob_id, QuiltPatchRow.identifier).in_(tagged)
        )
    statement = statement.order_by(QuiltPatchRow.quilt_blob_id, QuiltPatchRow.identifier)
    patches = list(session.scalars(statement.limit(page.limit).offset(page.offset)))
    tags: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for quilt in {patch.quilt_blob_id for patch in patches}:
        for tag in session.scalars(
            select(QuiltPatchTag).where(QuiltPatchTag.quilt_blob_id == quilt)
        ):
            tags[(tag.quilt_blob_id, tag.identifier)][tag.key] = tag.value
    return [
        {
            "quiltBlobId": patch.quilt_blob_id,
            "identifier": patch.identifier,
            "patchId": patch.patch_id,
            "tags": dict(sorted(tags[(patch.quilt_blob_id, patch.identifier)].items())),
        }
        for patch in patches
    ]


def dump(session: Session) -> dict[str, Sequence[tuple[Any, ...]]]:
    """Every indexed row (not the cursor), sorted: two indexes of the same chain prefix
    have equal dumps (what the rebuild test compares)."""
    tables: dict[str, Sequence[tuple[Any, ...]]] = {}
    for model in (
        IndexedBlob,
        BlobAttribute,
        InvalidatedBlobId,
        QuiltPatchRow,
        QuiltPatchTag,
        QuiltChecked,
    ):
        columns = [column.name for column in model.__table__.columns]
        rows = session.scalars(select(model)).all()
        tables[model.__tablename__] = sorted(
            tuple(getattr(row, name) for name in columns) for row in rows
        )
    return tables
