"""Seal overhead benchmark (JSON lines): encrypt+store and read+decrypt vs plain store and
read of the same size in the same run, and the key-server round trip for one share.

Starts anvil + deployment + N node processes (tests/integration/network.py) and 3 key
server processes (2-of-3), deploys an AllowlistPolicy owned by the writer, then per repeat
alternates plain and sealed operations on fresh random bytes (so no store is "already
certified"). Reports medians and overhead = sealed / plain - 1. Target (issue 9): overhead
<= 15% for 64 MiB. Key-server round trip: p50 of `--rtt-samples` POST /v1/seal/share
answers (session signature check, eth_call sealApprove, re-encryption, HTTP).

Usage: python bench/seal.py [--size-mib 64] [--repeat 3] [--nodes 4] [--shards 8]
       [--rtt-samples 50] [--no-save]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIB = 1 << 20
RESULTS = Path(__file__).resolve().parent / "results" / "seal.jsonl"
sys.path.insert(0, str(RESULTS.parents[2]))  # the network helpers live in tests/integration


def timed(action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - start, result


def run(arguments: argparse.Namespace, emit: Callable[[dict[str, object]], None]) -> None:
    import requests

    from backend.chain.policies import deploy_policy
    from backend.chain.seal_session import sign_session
    from backend.core.routes import KEYSERVER_SHARE
    from backend.core.seal.envelope import X25519KeyPair
    from backend.sdk.client import Client
    from backend.sdk.seal import SealClient
    from tests.integration.network import standalone_network
    from tests.integration.seal_keyservers import start_key_servers

    with standalone_network(n_nodes=arguments.nodes, n_shards=arguments.shards) as standalone:
        network, artifacts = standalone.network, standalone.artifacts
        key_servers = []
        try:
            key_servers = start_key_servers(network.env.chain.rpc_url, standalone.directory)
            user = network.user
            client = Client.connect(
                user,
                artifacts,
                network.env.staking.address,
                network.env.registry.address,
                node_timeout=arguments.node_timeout,
            )
            sealer = SealClient(client, [server.url for server in key_servers])
            policy = deploy_policy(user, artifacts, "allowlist", user.address)
            identity = os.urandom(32)
            size = int(arguments.size_mib * MIB)
            times: dict[str, list[float]] = {k: [] for k in ("store", "read", "sstore", "sread")}
            for _ in range(arguments.repeat):
                plain = os.urandom(size)
                spent, stored = timed(client.store, plain)
                times["store"].append(spent)
                spent, back = timed(client.read, stored.blob_id)
                times["read"].append(spent)
                assert back == plain
                secret = os.urandom(size)
                spent, stored = timed(sealer.store, secret, policy=policy, identity=identity)
                times["sstore"].append(spent)
                spent, back = timed(sealer.read, stored.blob_id)
                times["sread"].append(spent)
                assert back == secret
            medians = {name: statistics.median(values) for name, values in times.items()}
            emit(
                {
                    "bench": "seal_overhead",
                    "size_mib": arguments.size_mib,
                    "repeat": arguments.repeat,
                    "nodes": arguments.nodes,
                    "shards": arguments.shards,
                    "plain_store_s": round(medians["store"], 3),
                    "sealed_store_s": round(medians["sstore"], 3),
                    "store_overhead": round(medians["sstore"] / medians["store"] - 1, 3),
                    "plain_read_s": round(medians["read"], 3),
                    "sealed_read_s": round(medians["sread"], 3),
                    "read_overhead": round(medians["sread"] / medians["read"] - 1, 3),
                    "target_overhead": 0.15,
                }
            )

            header = sealer.seal(b"rtt", policy=policy, identity=identity)[: 124 + 80 * 3]
            account = user.account
            assert account is not None
            session = sign_session(
                account,
                policy,
                X25519KeyPair.generate().public_key,
                int(time.time()) + 600,
                user.chain_id,
            ).to_json()
            samples = []
            with requests.Session() as http:
                for _ in range(arguments.rtt_samples):
                    spent, answer = timed(
                        http.post,
                        key_servers[0].url + KEYSERVER_SHARE,
                        json={"header": header.hex(), "session": session},
                        timeout=10,
                    )
                    assert answer.status_code == 200
                    samples.append(spent)
            emit(
                {
                    "bench": "seal_keyserver_rtt",
                    "samples": len(samples),
                    "p50_ms": round(statistics.median(samples) * 1000, 2),
                    "p90_ms": round(statistics.quantiles(samples, n=10)[-1] * 1000, 2),
                }
            )
        finally:
            for server in key_servers:
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=float, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rtt-samples", type=int, default=50)
    parser.add_argument("--node-timeout", type=float, default=60.0)
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()
    context = {"host": platform.node(), "cpus": os.cpu_count(), "time": int(time.time())}
    lines: list[str] = []

    def emit(row: dict[str, object]) -> None:
        line = json.dumps({**row, **context})
        print(line, flush=True)
        lines.append(line)

    run(arguments, emit)
    if not arguments.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
