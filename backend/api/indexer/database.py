"""Opening the index database: engine from a URL, Alembic migrations to head, and the
check that the database indexes the expected chain and registry."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session

from backend.api.indexer.errors import IndexDatabaseMismatch, IndexDatabaseUnreachable
from backend.api.indexer.schema import IndexCursor

MIGRATIONS = Path(__file__).parent / "migrations"
CURSOR_ROW = 1


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        if url.startswith("postgresql://"):  # psycopg 3, not the psycopg2 default
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        raise IndexDatabaseUnreachable(f"invalid database URL {_redacted(url)}: {error}") from None


def _sqlite_pragmas(connection: object, _record: object) -> None:
    """WAL lets the API read while the follower writes; fsync on every commit (FULL)."""
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user, has_password, _ = credentials.partition(":")
        return f"{scheme}{sep}{user}{':***' if has_password else ''}@{host}"
    return url


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(
    url: str, chain_id: int, registry: str, start_block: int, start_block_hash: str | None = None
) -> Engine:
    """An engine on `url` with the schema migrated and the cursor row present: a new
    database starts at `start_block`; an existing one must index the same chain, registry
    and (when known) the same block at `start_block`.
    Raises IndexDatabaseUnreachable / IndexDatabaseMismatch."""
    engine = _engine(url)
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            cursor = session.scalars(
                select(IndexCursor).where(IndexCursor.id == CURSOR_ROW)
            ).first()
            if cursor is None:
                session.add(
                    IndexCursor(
                        id=CURSOR_ROW,
                        chain_id=chain_id,
                        registry_address=registry.lower(),
                        next_block=start_block,
                        start_block_hash=start_block_hash,
                    )
                )
            elif (cursor.chain_id, cursor.registry_address) != (chain_id, registry.lower()):
                raise IndexDatabaseMismatch(
                    f"database {_redacted(url)} indexes registry {cursor.registry_address} "
                    f"on chain {cursor.chain_id}, not {registry.lower()} on chain {chain_id}"
                )
            elif start_block_hash is not None and cursor.start_block_hash != start_block_hash:
                if cursor.start_block_hash is not None:
                    raise IndexDatabaseMismatch(
                        f"database {_redacted(url)} indexes another chain with the same id: "
                        f"block {start_block} differs (was the devnet restarted?); remove it "
                        "or pass another --database-url"
                    )
                cursor.start_block_hash = start_block_hash
    except SQLAlchemyError as error:
        engine.dispose()
        reason = str(getattr(error, "orig", None) or error).strip()
        reason = reason.splitlines()[0] if reason else type(error).__name__
        raise IndexDatabaseUnreachable(
            f"cannot open index database {_redacted(url)}: {reason}"
        ) from None
    except IndexDatabaseMismatch:
        engine.dispose()
        raise
    return engine
