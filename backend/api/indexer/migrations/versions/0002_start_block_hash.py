"""The cursor remembers the hash of its start block, so an index of a restarted devnet (same
chain id and contract addresses, different blocks) is recognised instead of extended.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("index_cursor") as table:  # batch: SQLite has no ALTER COLUMN
        table.add_column(sa.Column("start_block_hash", sa.String(66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("index_cursor") as table:
        table.drop_column("start_block_hash")
