"""Credentials at scale through quilts (issue 11), JSON lines.

Generates `--count` credentials (JSON, 1 KiB each) as files, stores them with the bulk
ingestion of `walrus store-quilt --batch` (backend.sdk.quilt_batch.ingest: quilts of up
to 666 files, `--concurrency` at once) on a local network of its own (anvil + deployment +
`--nodes` node processes, tests/integration/network.py) and measures:

- wall time of the ingestion and chain transactions sent (the wallet's nonce delta),
  extrapolated linearly to 1,000,000 credentials;
- WAL cost per credential vs one blob per credential (BlobRegistry.registrationCost of a
  1 KiB blob: computed, not stored 100,000 times);
- storage overhead: encoded bytes the nodes keep (sum of registrations' encoded sizes)
  over raw credential bytes, and the same for one blob per credential;
- p50/p99 of reading a random credential by identifier through the aggregator
  (`walrus serve`'s app under waitress, HTTP on 127.0.0.1): "cold" = first read of a quilt
  (verified metadata and index fetched), "warm" = later reads. Same-run baseline: reading a
  1 KiB blob stored on its own through the same aggregator (GET /v1/blobs/{id}).

Targets: 100,000 stored in <= 5 minutes with <= 400 chain transactions; read p50 <= 30 ms;
cost per credential >= 100x lower than one blob per credential.

Usage: python bench/credentials.py [--count 100000] [--nodes 10] [--shards 20]
       [--concurrency 4] [--reads 300] [--no-save]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, bench/report.py
CREDENTIAL_BYTES = 1024
TARGET_COUNT = 1_000_000


def credential(index: int, rng: random.Random) -> bytes:
    """A 1 KiB JSON credential (W3C-VC-like), padded to exactly 1024 bytes."""
    body = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential", "StudentCard"],
        "id": f"urn:uuid:{rng.getrandbits(128):032x}",
        "issuer": "did:example:university",
        "issuanceDate": "2026-11-26T00:00:00Z",
        "credentialSubject": {"id": f"did:example:student{index}", "enrolled": True},
        "proof": {"type": "Ed25519Signature2020", "proofValue": rng.randbytes(64).hex()},
    }
    raw = json.dumps(body).encode()
    pad = CREDENTIAL_BYTES - len(raw) - len(', "pad": ""')
    body["pad"] = "x" * pad
    data = json.dumps(body).encode()
    assert len(data) == CREDENTIAL_BYTES, len(data)
    return data


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def serve(app: Any) -> tuple[str, Callable[[], None]]:
    import waitress.server

    from backend.chain.devnet import free_port

    port = free_port()
    server = waitress.server.create_server(app, host="127.0.0.1", port=port, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}", server.close


def measure(
    arguments: argparse.Namespace, client: Any, emit: Callable[[dict[str, Any]], None]
) -> None:
    from backend.api.app import create_app
    from backend.core.params import encoded_length
    from backend.sdk.quilt import QuiltClient
    from backend.sdk.quilt_batch import ingest, scan_directory

    count = arguments.count
    n = client.n_shards
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="walrus-bench-") as raw:
        folder = Path(raw) / "credentials"
        for start in range(0, count, 1000):
            sub = folder / f"batch-{start // 1000:04d}"
            sub.mkdir(parents=True)
            for i in range(start, min(count, start + 1000)):
                (sub / f"cred-{i:07d}.json").write_bytes(credential(i, rng))
        files = scan_directory(folder)
        quilts = QuiltClient(client)
        nonce_before = client.chain.w3.eth.get_transaction_count(client.chain.address)
        began = time.perf_counter()
        result = ingest(
            quilts, files, Path(raw) / "manifest.jsonl", concurrency=arguments.concurrency
        )
        wall = time.perf_counter() - began
        transactions = client.chain.w3.eth.get_transaction_count(client.chain.address)
        transactions -= nonce_before

    raw_bytes = count * CREDENTIAL_BYTES
    encoded = sum(
        client.registry.blob_info(record["token_id"]).encoded_size for record in result.quilts
    )
    per_blob_cost = client.registry.registration_cost(CREDENTIAL_BYTES, 1).total
    quilt_cost = result.cost / count
    scale = TARGET_COUNT / count
    emit(
        {
            "bench": "credentials_store",
            "n_shards": n,
            "credentials": count,
            "quilts": len(result.quilts),
            "wall_s": round(wall, 1),
            "credentials_per_s": round(count / wall),
            "chain_transactions": transactions,
            "extrapolated_1m_wall_s": round(wall * scale),
            "extrapolated_1m_transactions": round(transactions * scale),
            "cost_frost_per_credential": round(quilt_cost, 1),
            "baseline_cost_frost_one_blob_per_credential": per_blob_cost,
            "cost_ratio": round(per_blob_cost / quilt_cost, 1),
            "storage_overhead": round(encoded / raw_bytes, 2),
            "baseline_storage_overhead_one_blob_per_credential": round(
                encoded_length(n, CREDENTIAL_BYTES) / CREDENTIAL_BYTES, 1
            ),
            "target_wall_s_100k": 300,
            "target_transactions_100k": 400,
        }
    )

    app = create_app(client)
    url, stop = serve(app)
    try:
        session = requests.Session()
        baseline = []
        for i in range(20):
            stored = client.store(credential(count + i, rng))
            began = time.perf_counter()
            response = session.get(f"{url}/v1/blobs/{stored.blob_id}")
            baseline.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200 and len(response.content) == CREDENTIAL_BYTES
        by_quilt = {record["blob_id"]: record for record in result.quilts}
        cold: list[float] = []
        warm: list[float] = []
        seen: set[str] = set()
        for _ in range(arguments.reads):
            quilt_id = rng.choice(list(by_quilt))
            index = rng.randrange(by_quilt[quilt_id]["files"])
            first = by_quilt[quilt_id]["first"]
            number = int(first.rsplit("-", 1)[1].split(".")[0]) + index
            identifier = f"batch-{number // 1000:04d}/cred-{number:07d}.json"
            began = time.perf_counter()
            response = session.get(f"{url}/v1/blobs/by-quilt-id/{quilt_id}/{identifier}")
            elapsed = (time.perf_counter() - began) * 1000
            assert response.status_code == 200, response.text
            assert len(response.content) == CREDENTIAL_BYTES
            (warm if quilt_id in seen else cold).append(elapsed)
            seen.add(quilt_id)
    finally:
        stop()
    for name, values in (("warm", warm), ("cold", cold), ("baseline_blob", baseline)):
        if values:
            emit(
                {
                    "bench": "credentials_read",
                    "kind": name,
                    "reads": len(values),
                    "p50_ms": round(statistics.median(values), 1),
                    "p99_ms": round(percentile(values, 0.99), 1),
                    "target_p50_ms": 30,
                }
            )


def run(arguments: argparse.Namespace, emit: Callable[[dict[str, Any]], None]) -> None:
    from backend.sdk.client import Client
    from tests.integration.network import NodeProcess, standalone_network

    # ten node processes importing numpy and web3 at once on a busy 2-core machine can take
    # longer than the test harness's 60 s to answer /v1/health
    NodeProcess.wait_ready.__defaults__ = (arguments.start_timeout,)
    with standalone_network(n_nodes=arguments.nodes, n_shards=arguments.shards) as standalone:
        network, artifacts = standalone.network, standalone.artifacts
        client = Client.connect(
            network.user, artifacts, network.env.staking.address, network.env.registry.address
        )
        measure(arguments, client, emit)


def main() -> None:
    from bench.report import bench_report

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()
    with bench_report("credentials", save=not arguments.no_save) as report:
        run(arguments, report.emit)


if __name__ == "__main__":
    main()
