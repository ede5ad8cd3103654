"""Initial schema: cursor, blobs, attributes, invalidated blob ids, quilt patches and tags.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_cursor",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("registry_address", sa.String(42), nullable=False),
        sa.Column("next_block", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "blobs",
        sa.Column("token_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("blob_id", sa.String(43), nullable=False, index=True),
        sa.Column("owner", sa.String(42), nullable=False, index=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("encoding_type", sa.Integer, nullable=False),
        sa.Column("encoded_size", sa.BigInteger, nullable=False),
        sa.Column("deletable", sa.Boolean, nullable=False),
        sa.Column("registered_epoch", sa.Integer, nullable=False),
        sa.Column("certified_epoch", sa.Integer, nullable=True),
        sa.Column("end_epoch", sa.Integer, nullable=False, index=True),
        sa.Column("deleted_epoch", sa.Integer, nullable=True),
        sa.Column("burned", sa.Boolean, nullable=False),
        sa.Column("invalidated_epoch", sa.Integer, nullable=True),
    )
    op.create_table(
        "blob_attributes",
        sa.Column("token_id", sa.BigInteger, sa.ForeignKey("blobs.token_id"), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(1024), nullable=False),
    )
    op.create_index("ix_blob_attributes_key", "blob_attributes", ["key"])
    op.create_table(
        "invalidated_blob_ids",
        sa.Column("blob_id", sa.String(43), primary_key=True),
        sa.Column("epoch", sa.Integer, nullable=False),
    )
    op.create_table(
        "quilt_patches",
        sa.Column("quilt_blob_id", sa.String(43), primary_key=True),
        sa.Column("identifier", sa.String(1024), primary_key=True),
        sa.Column("patch_id", sa.String(128), nullable=False, index=True),
    )
    op.create_index("ix_quilt_patches_identifier", "quilt_patches", ["identifier"])
    op.create_table(
        "quilt_patch_tags",
        sa.Column("quilt_blob_id", sa.String(43), primary_key=True),
        sa.Column("identifier", sa.String(1024), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.String(1024), nullable=False, index=True),
    )
    op.create_table(
        "quilt_checked",
        sa.Column("blob_id", sa.String(43), primary_key=True),
        sa.Column("is_quilt", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "quilt_checked",
        "quilt_patch_tags",
        "quilt_patches",
        "invalidated_blob_ids",
        "blob_attributes",
        "blobs",
        "index_cursor",
    ):
        op.drop_table(table)
