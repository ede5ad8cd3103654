"""`IndexService`: what the `/v1/index` routes need (the database, the follower's progress,
the chain's current epoch), kept in ``app.extensions["walrus_index"]``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from backend.api.indexer.database import open_database
from backend.api.indexer.follower import IndexFollower
from backend.api.indexer.quilts import QuiltIndexer, QuiltIndexSource
from backend.chain.registry import BlobRegistryContract

EXTENSION_KEY = "walrus_index"


def block_hash(registry: BlobRegistryContract, number: int) -> str:
    """0x-hex hash of block `number` on the registry's chain."""
    return "0x" + bytes(registry.client.w3.eth.get_block(number)["hash"]).hex()


@dataclass
class IndexService:
    engine: Engine
    follower: IndexFollower
    current_epoch: Callable[[], int]
    quilts: QuiltIndexer | None = None
    _stop: threading.Event | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        database_url: str,
        registry: BlobRegistryContract,
        current_epoch: Callable[[], int],
        *,
        start_block: int,
        confirmations: int = 0,
        quilt_source: QuiltIndexSource | None = None,
    ) -> IndexService:
        """Open (and migrate) the database; raises IndexDatabaseUnreachable/Mismatch.
        Without a `quilt_source` quilt patches are not indexed."""
        engine = open_database(
            database_url,
            registry.client.chain_id,
            registry.address,
            start_block,
            block_hash(registry, start_block),
        )
        quilts = None if quilt_source is None else QuiltIndexer(engine, quilt_source)
        follower = IndexFollower(
            engine,
            registry,
            confirmations=confirmations,
            after_commit=None if quilts is None else quilts.index_pending,
        )
        return cls(engine, follower, current_epoch, quilts)

    def start(self, interval: float = 1.0) -> None:
        """Follow the chain in a background thread until `stop()`."""
        self._thread, self._stop = self.follower.start(interval)

    def stop(self) -> None:
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=30)
        self.engine.dispose()
