"""The index database on SQLite files: Alembic migrations (an index from before 0002 is
upgraded in place), and databases of another chain, registry or restarted devnet refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from backend.api.indexer.database import CURSOR_ROW, MIGRATIONS, open_database, sqlite_url
from backend.api.indexer.errors import IndexDatabaseMismatch, IndexDatabaseUnreachable
from backend.api.indexer.schema import IndexCursor

REGISTRY = "0x" + "Ab" * 20
HASH_A = "0x" + "aa" * 32
HASH_B = "0x" + "bb" * 32


def test_a_new_database_gets_every_table_and_its_cursor(tmp_path: Path) -> None:
    engine = open_database(sqlite_url(tmp_path / "i.sqlite"), 31337, REGISTRY, 12, HASH_A)
    tables = set(inspect(engine).get_table_names())
    assert {"index_cursor", "blobs", "blob_attributes", "quilt_patches"} <= tables
    with Session(engine) as session:
        cursor = session.get_one(IndexCursor, CURSOR_ROW)
        assert (cursor.next_block, cursor.registry_address) == (12, REGISTRY.lower())
        assert cursor.start_block_hash == HASH_A
    engine.dispose()


def test_an_index_from_migration_0001_is_upgraded_and_keeps_its_cursor(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.sqlite")
    old = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with old.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO index_cursor (id, chain_id, registry_address, next_block) "
                "VALUES (1, 31337, :registry, 500)"
            ),
            {"registry": REGISTRY.lower()},
        )
    old.dispose()

    engine = open_database(url, 31337, REGISTRY, 12, HASH_A)
    with Session(engine) as session:
        cursor = session.get_one(IndexCursor, CURSOR_ROW)
        assert (cursor.next_block, cursor.start_block_hash) == (500, HASH_A)
    engine.dispose()


def test_another_chain_registry_or_restarted_devnet_is_refused(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "i.sqlite")
    open_database(url, 31337, REGISTRY, 12, HASH_A).dispose()
    open_database(url, 31337, REGISTRY, 12, HASH_A).dispose()  # same chain: fine
    with pytest.raises(IndexDatabaseMismatch, match="block 12 differs"):
        open_database(url, 31337, REGISTRY, 12, HASH_B)
    with pytest.raises(IndexDatabaseMismatch, match="not 0x1111"):
        open_database(url, 31337, "0x" + "11" * 20, 12, HASH_A)
    with pytest.raises(IndexDatabaseMismatch, match=r"on chain 1$"):
        open_database(url, 1, REGISTRY, 12, HASH_A)


def test_a_password_never_appears_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(IndexDatabaseUnreachable) as raised:
        open_database("postgresql://walrus:hunter2@127.0.0.1:1/index", 1, REGISTRY, 0)
    assert "hunter2" not in str(raised.value)
    assert "postgresql://walrus:***@127.0.0.1:1/index" in str(raised.value)
