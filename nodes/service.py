"""Start-up checks and the serving loop of one node process."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError
from backend.core.blob_id import BlobId
from backend.core.bls import BlsSecretKey
from backend.core.errors import CoreError
from nodes.app import NodeContext, create_app
from nodes.chain_view import ChainView
from nodes.challenges import start_responder
from nodes.config import NodeConfig, NodeConfigError, read_secret
from nodes.epoch_sync import EpochSync
from nodes.follower import EventFollower
from nodes.gc import collect_garbage
from nodes.http_server import create_node_server
from nodes.inconsistency import InconsistencyMonitor
from nodes.memory import keep_freed_heap_memory
from nodes.metrics import NodeMetrics
from nodes.recovery import Recoverer
from nodes.scrub import Scrubber
from nodes.store import NodeStore

MAX_REQUEST_BODY = 64 << 20
"""Waitress's own cap; per-endpoint limits derived from the metadata are checked first."""


RECV_BYTES = 256 << 10
"""Waitress's socket read size. A 1 MiB sliver PUT through bare waitress (load ~10): p50
0.75 ms at 256 KiB and 0.8 ms at 128 KiB, 2-4 ms at the 8 KiB default and 4.1-4.7 ms at
1 MiB (each 1 MiB recv allocates and trims a 1 MiB bytes object); see docs/node.md."""

log = logging.getLogger("walrus-node")


class StartupError(Exception):
    """A start-up check failed; the message is the one line the operator sees."""


def prepare(config_path: Path) -> tuple[NodeConfig, NodeContext]:
    """Load config and keys, reach the chain, and check the node is registered with this key."""
    try:
        config = NodeConfig.load(config_path)
        bls_raw = read_secret(Path(config.bls_key_file), "BLS key file")
        operator_key = read_secret(Path(config.operator_key_file), "operator key file")
    except NodeConfigError as error:
        raise StartupError(str(error)) from None
    try:
        signing_key = BlsSecretKey.from_bytes(bls_raw)
    except CoreError as error:
        raise StartupError(f"BLS key file {config.bls_key_file}: {error}") from None
    try:
        client = ChainClient.connect(config.rpc_url, operator_key.decode().strip())
        chain = ChainView(client, config.staking, config.registry, config.node_id)
        if not chain.is_registered_node():
            raise StartupError(f"node {config.node_id} is not registered in Staking")
        on_chain_key = chain.staking.node(config.node_id).public_key
    except ChainError as error:
        raise StartupError(f"chain at {config.rpc_url}: {error}") from None
    except (OSError, ValueError) as error:
        raise StartupError(f"chain at {config.rpc_url} is not usable: {error}") from None
    if on_chain_key != signing_key.public_key().to_eip2537():
        raise StartupError(f"node {config.node_id} is registered with another BLS key")
    store = NodeStore(Path(config.data_dir))
    return config, NodeContext(store, chain, signing_key, NodeMetrics())


def run(config_path: Path) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    keep_freed_heap_memory()  # PUTs re-use their temporaries' pages (nodes/memory.py)
    try:
        config, context = prepare(config_path)
    except StartupError as error:
        print(f"walrus node: {error}", file=sys.stderr)
        return 2
    store, chain = context.store, context.chain
    recoverer = Recoverer(store, chain)
    monitor = InconsistencyMonitor(store, chain, context.signing_key, recoverer)
    epoch_sync = EpochSync(store, chain, recoverer)

    def sweep(changed: list[BlobId] | None = None) -> None:
        """GC of blobs no longer live; shard hand-over at a new epoch; recovery of certified
        blobs missing data; blobs that stay unrecovered are checked for an inconsistent
        encoding. `changed`: only the blobs of an event batch (a full pass over every
        record after each batch cost O(blobs) per block); None: every blob (idle sweep)."""
        epoch = chain.current_epoch()
        for blob_id in collect_garbage(store, epoch, changed):
            log.info("collected blob %s", blob_id)
        epoch_sync.run_once()
        if epoch_sync.pending():  # gained shards come from their previous holders first
            return
        missing = [
            blob_id
            for blob_id, record in store.blob_records(changed)
            if record.is_certified(epoch) and recoverer.needs_recovery(blob_id)
        ]
        if changed is None:  # the monitor tracks how long the whole set has been missing
            monitor.sweep(missing)  # before resubmitting: an idle pool has given up on these
        for blob_id in missing:
            recoverer.submit(blob_id)

    # after an event batch: that batch's blobs; when idle: all of them
    follower = EventFollower(store, chain, config.start_block, sweep, sweep)
    store.on_corruption = recoverer.submit  # a record dropped as corrupt is rebuilt from peers
    scrubber = Scrubber(store)
    context.scrubber = scrubber
    context.recoverer = recoverer
    context.follower = follower
    context.epoch_sync = epoch_sync
    server = create_node_server(
        create_app(context),
        host=config.host,
        port=config.port,
        threads=4,
        max_request_body_size=MAX_REQUEST_BODY,
        inbuf_overflow=MAX_REQUEST_BODY,  # keep bodies in memory, not in a temp file
        outbuf_overflow=MAX_REQUEST_BODY,
        recv_bytes=RECV_BYTES,
        send_bytes=1 << 20,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        server.close()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    follower.start()
    scrubber.start()
    responder = start_responder(store, chain, config.challenges) if config.challenges else None
    log.info("node %d serving on http://%s:%d", config.node_id, config.host, config.port)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        follower.stop()
        scrubber.stop()
        if responder is not None:
            responder.stop()
        recoverer.shutdown()
        store.close()
    return 0
