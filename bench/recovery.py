"""Recovery bandwidth of one wiped node, against naive re-download, same run (JSON lines).

anvil + deployment + N real node processes (tests/integration/network.py), one shard per
node by default (the wiped node holds 1/N of the data). Blobs are stored; then every node's
published URL is pointed at a byte-counting proxy (tests/integration/counting_proxy.py),
one node is stopped, its data directory deleted, and it is started again: it rebuilds its
sliver pairs from its peers' recovery symbols. Measured: bytes it downloaded and seconds
until every pair is back. Baseline in the same run: a naive node re-downloads each whole
blob (an SDK read through the same proxy) and re-encodes it to cut out its slivers.

Target (issue 10): recovery moves >= 3x less traffic than the naive re-download.

Usage: python bench/recovery.py [--nodes 10] [--shards 10] [--blobs 4] [--size-mib 4]
       [--no-save]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

MIB = 1 << 20
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, bench/report.py


def run(arguments: argparse.Namespace, emit: Callable[[dict[str, object]], None]) -> None:
    from backend.core import routes
    from backend.core.encoder import encode_blob
    from backend.sdk.client import Client
    from tests.integration.counting_proxy import CountingProxy
    from tests.integration.network import standalone_network, wait_until

    with standalone_network(n_nodes=arguments.nodes, n_shards=arguments.shards) as standalone:
        network, artifacts = standalone.network, standalone.artifacts
        proxy = None
        try:
            env = network.env

            def connect() -> Client:
                return Client.connect(
                    network.user, artifacts, env.staking.address, env.registry.address
                )

            stored = [
                connect().store(os.urandom(int(arguments.size_mib * MIB)), epochs=3)
                for _ in range(arguments.blobs)
            ]
            proxy = CountingProxy([node.url for node in network.nodes])
            for node in network.nodes:
                env.staking.as_account(env.operators[node.index]).set_node_metadata(
                    node.node_id, f"node-{node.index}", proxy.url_for(node.index)
                )
            wiped = network.nodes[0]
            pairs = len(env.staking.shards_of_node(wiped.node_id))

            def recovered() -> bool:
                for blob in stored:
                    path = routes.status_path(blob.blob_id)
                    answer = requests.get(wiped.url + path, timeout=10).json()
                    if len(answer["pairs_stored"]) != pairs:
                        return False
                return True

            wiped.stop()
            shutil.rmtree(wiped.data_dir)
            proxy.reset()
            start = time.perf_counter()
            wiped.start()
            wiped.wait_ready()
            wait_until(recovered, timeout=600, what="recovery of the wiped node")
            recovery_s = time.perf_counter() - start
            recovery_bytes = proxy.total

            proxy.reset()
            naive = connect()  # its node URLs now go through the proxy
            start = time.perf_counter()
            for blob in stored:
                encode_blob(naive.read(blob.blob_id), network.n_shards)
            naive_s = time.perf_counter() - start
            naive_bytes = proxy.total
            total = sum(blob.size for blob in stored)
            emit(
                {
                    "bench": "recovery_wiped_node",
                    "nodes": arguments.nodes,
                    "n_shards": network.n_shards,
                    "wiped_node_pairs_per_blob": pairs,
                    "blobs": len(stored),
                    "blob_mib": arguments.size_mib,
                    "data_mib": round(total / MIB, 2),
                    "recovery_bytes": recovery_bytes,
                    "recovery_s": round(recovery_s, 2),
                    "naive_redownload_bytes": naive_bytes,
                    "naive_redownload_s": round(naive_s, 2),
                    "traffic_ratio_naive_over_recovery": round(naive_bytes / recovery_bytes, 2),
                    "target_ratio": 3.0,
                    "met": naive_bytes / recovery_bytes >= 3.0,
                }
            )
        finally:
            if proxy is not None:
                proxy.close()


def main() -> None:
    from bench.report import bench_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--blobs", type=int, default=4)
    parser.add_argument("--size-mib", type=float, default=4.0)
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()
    with bench_report("recovery", save=not arguments.no_save, incremental=True) as report:
        run(arguments, report.emit)


if __name__ == "__main__":
    main()
