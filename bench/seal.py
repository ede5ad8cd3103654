"""Seal overhead benchmark (JSON lines): encrypt+store and read+decrypt vs plain store and
read of the same size in the same run, the crypto alone (encrypt, decrypt of the segmented
version-2 format, and the single-pass version-1 decrypt it replaced), and the key-server
round trip for one share.

Starts anvil + deployment + N node processes (tests/integration/network.py) and 3 key
server processes (2-of-3), deploys an AllowlistPolicy owned by the writer, then per repeat
alternates plain and sealed operations on fresh random bytes (so no store is "already
certified"). Reports medians and overhead = sealed / plain - 1. Target (issue 9): overhead
<= 15% for 64 MiB. Crypto alone, per repeat, on the same bytes: `encrypt_s` (SealClient.seal:
header + segmented AEAD over all cores), `decrypt_s` (decrypt_blob with two shares already
in hand), `single_pass_decrypt_s` (the same plaintext as a version-1 blob: one AEAD call on
one core plus the copies of the old path), `unseal_s` (SealClient.decrypt of the sealed bytes
in memory: session signature, two share requests in parallel, decrypt: all a sealed read adds
to a plain read); load averages at the start and the end.
Key-server round trip: p50 of `--rtt-samples` POST /v1/seal/share
answers (session signature check, eth_call sealApprove, re-encryption, HTTP).

Usage: python bench/seal.py [--size-mib 64] [--repeat 3] [--nodes 4] [--shards 8]
       [--rtt-samples 50] [--no-save]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIB = 1 << 20
KINDS = ("store", "read", "sstore", "sread", "encrypt", "decrypt", "decrypt_v1", "unseal")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, bench/report.py


def timed(action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - start, result


def run(arguments: argparse.Namespace, emit: Callable[[dict[str, object]], None]) -> None:
    import requests

    from backend.chain.policies import deploy_policy
    from backend.chain.seal_session import sign_session
    from backend.core.routes import KEYSERVER_SHARE
    from backend.core.seal.envelope import X25519KeyPair, decrypt_blob, open_share
    from backend.core.seal.header import parse_header
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
            times: dict[str, list[float]] = {kind: [] for kind in KINDS}
            sealer.key_servers()  # their public keys, cached as in a long-lived client
            load_start = os.getloadavg()[0]
            for _ in range(arguments.repeat):
                plain = os.urandom(size)
                spent, stored = timed(client.store, plain)
                times["store"].append(spent)
                spent, back = timed(client.read, stored.blob_id)
                times["read"].append(spent)
                assert back == plain
                secret = os.urandom(size)
                spent, sealed = timed(sealer.seal, secret, policy=policy, identity=identity)
                times["encrypt"].append(spent)
                header = parse_header(sealed)
                shares = [open_share(header, server.key) for server in key_servers[:2]]
                spent, opened = timed(decrypt_blob, sealed, shares)
                times["decrypt"].append(spent)
                assert opened == secret
                del opened
                single_pass = _version_1_blob(sealed, shares, secret)
                spent, opened = timed(decrypt_blob, single_pass, shares)
                times["decrypt_v1"].append(spent)
                assert opened == secret
                del opened
                spent, opened = timed(sealer.decrypt, sealed)
                times["unseal"].append(spent)
                assert opened == secret
                del opened, sealed, single_pass
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
                    "encrypt_s": round(medians["encrypt"], 3),
                    "decrypt_s": round(medians["decrypt"], 3),
                    "single_pass_decrypt_s": round(medians["decrypt_v1"], 3),
                    "decrypt_speedup": round(medians["decrypt_v1"] / medians["decrypt"], 2),
                    "decrypt_vs_plain_read": round(medians["decrypt"] / medians["read"], 3),
                    "unseal_s": round(medians["unseal"], 3),
                    "unseal_vs_plain_read": round(medians["unseal"] / medians["read"], 3),
                    "load_start": round(load_start, 2),
                    "load_end": round(os.getloadavg()[0], 2),
                }
            )

            small = sealer.seal(b"rtt", policy=policy, identity=identity)
            header_bytes = small[: parse_header(small).size]
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
                        json={"header": header_bytes.hex(), "session": session},
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


def _version_1_blob(sealed: bytes, shares: list[Any], plaintext: bytes) -> bytes:
    """``plaintext`` under the same data key and shares as ``sealed``, in the single-pass
    version-1 format (what encrypt_blob wrote before segments)."""
    from nacl import bindings

    from backend.core.seal.header import VERSION_SINGLE, SealHeader, parse_header
    from backend.core.seal.shamir import combine_shares

    nonce = os.urandom(24)
    fields = {**parse_header(sealed).__dict__, "version": VERSION_SINGLE, "segment_size": 0}
    header = SealHeader(**{**fields, "nonce": nonce}).to_bytes()
    key = combine_shares(shares)
    return header + bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, header, nonce, key
    )


def main() -> None:
    from bench.report import bench_report

    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=float, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rtt-samples", type=int, default=50)
    parser.add_argument("--node-timeout", type=float, default=60.0)
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()
    with bench_report("seal", save=not arguments.no_save) as report:
        run(arguments, report.emit)


if __name__ == "__main__":
    main()
