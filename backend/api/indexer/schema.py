"""The indexer's tables as typed SQLAlchemy 2 ORM classes (migrations/ creates them).

Blob ids are stored in their URL-safe base64 text form (what users type), addresses in
lowercase hex; a registration is one row per blob token, kept after deletion or burn
(``deleted_epoch`` / ``burned``) so the history stays queryable.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class IndexCursor(Base):
    """The one row saying which chain/registry is indexed and the next block to read."""

    __tablename__ = "index_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    registry_address: Mapped[str] = mapped_column(String(42))
    next_block: Mapped[int] = mapped_column(BigInteger)
    start_block_hash: Mapped[str | None] = mapped_column(String(66))
    """Hash of the first indexed block (None in databases from before migration 0002)."""


class IndexedBlob(Base):
    __tablename__ = "blobs"

    token_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    blob_id: Mapped[str] = mapped_column(String(43), index=True)
    owner: Mapped[str] = mapped_column(String(42), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    encoding_type: Mapped[int] = mapped_column(Integer)
    encoded_size: Mapped[int] = mapped_column(BigInteger)
    deletable: Mapped[bool] = mapped_column(Boolean)
    registered_epoch: Mapped[int] = mapped_column(Integer)
    certified_epoch: Mapped[int | None] = mapped_column(Integer)
    end_epoch: Mapped[int] = mapped_column(Integer, index=True)
    deleted_epoch: Mapped[int | None] = mapped_column(Integer)
    burned: Mapped[bool] = mapped_column(Boolean, default=False)
    invalidated_epoch: Mapped[int | None] = mapped_column(Integer)


class BlobAttribute(Base):
    __tablename__ = "blob_attributes"

    token_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("blobs.token_id"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))


class InvalidatedBlobId(Base):
    """Invalidation is per blob id (all its registrations, also later ones in the index)."""

    __tablename__ = "invalidated_blob_ids"

    blob_id: Mapped[str] = mapped_column(String(43), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)


class QuiltPatchRow(Base):
    """One file of a certified quilt blob, from the quilt's index (read from the nodes)."""

    __tablename__ = "quilt_patches"

    quilt_blob_id: Mapped[str] = mapped_column(String(43), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(1024), primary_key=True)
    patch_id: Mapped[str] = mapped_column(String(128), index=True)


class QuiltPatchTag(Base):
    __tablename__ = "quilt_patch_tags"

    quilt_blob_id: Mapped[str] = mapped_column(String(43), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(1024), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024), index=True)


class QuiltChecked(Base):
    """A certified blob id whose quilt index was looked for (``is_quilt`` says what was
    found), so a restart does not fetch it again."""

    __tablename__ = "quilt_checked"

    blob_id: Mapped[str] = mapped_column(String(43), primary_key=True)
    is_quilt: Mapped[bool] = mapped_column(Boolean)
