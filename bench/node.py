"""Storage node benchmarks (JSON lines, each with a same-run baseline).

1. engines: durable put of one sliver-sized value, for LMDB (synced commit per put, what
   nodes/store.py does), plain files (write tmp, fsync, rename, fsync dir) and SQLite WAL
   (synchronous=FULL); baseline: the same bytes written to one file with fsync.
2. http: sliver PUT (verification + store; fsync deferred to the confirmation) and GET on
   one real node process of a 4-node, 4-shard network on anvil, p50/p99 latency and MiB/s;
   baseline as above. Target (issue 6): PUT >= 50% of the baseline at 1 MiB slivers.
   Also the durable write a client waits for: PUT both slivers of a pair + GET the
   confirmation (fsync + BLS signature), against fsyncing both slivers to files.

Usage: python bench/node.py [--sizes-kib 64,1024,16384] [--repeat N] [--part engines,http]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lmdb
import requests

MIB = 1 << 20
RESULTS = Path(__file__).resolve().parent / "results" / "node.jsonl"


def fsync_file_baseline(directory: Path, data: bytes, repeat: int) -> list[float]:
    path = directory / "baseline.bin"
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        times.append(time.perf_counter() - start)
    return times


def lmdb_puts(directory: Path, data: bytes, repeat: int) -> list[float]:
    env = lmdb.open(str(directory / "lmdb"), map_size=1 << 36, sync=True, metasync=True)
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        with env.begin(write=True) as txn:
            txn.put(i.to_bytes(8, "big"), data)
        times.append(time.perf_counter() - start)
    env.close()
    return times


def file_puts(directory: Path, data: bytes, repeat: int) -> list[float]:
    root = directory / "files"
    root.mkdir(exist_ok=True)
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        tmp = root / f"{i}.tmp"
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, root / f"{i}.sliver")
        dir_fd = os.open(root, os.O_RDONLY)
        os.fsync(dir_fd)
        os.close(dir_fd)
        times.append(time.perf_counter() - start)
    return times


def sqlite_puts(directory: Path, data: bytes, repeat: int) -> list[float]:
    db = sqlite3.connect(directory / "sqlite.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS s (k INTEGER PRIMARY KEY, v BLOB)")
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        with db:
            db.execute("INSERT OR REPLACE INTO s VALUES (?, ?)", (i, data))
        times.append(time.perf_counter() - start)
    db.close()
    return times


def mib_s(size: int, times: list[float]) -> float:
    return round(size * len(times) / sum(times) / MIB, 1)


def percentile_ms(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def engines(sizes: list[int], repeat: int, emit: Callable[[dict[str, object]], None]) -> None:
    for size in sizes:
        data = os.urandom(size)
        count = max(3, min(repeat, (256 * MIB) // size))
        with tempfile.TemporaryDirectory(prefix="walrus-bench-") as raw:
            directory = Path(raw)
            baseline = fsync_file_baseline(directory, data, count)
            row: dict[str, object] = {
                "bench": "node_engines",
                "sliver_kib": size // 1024,
                "puts": count,
                "baseline_fsync_file_mib_s": mib_s(size, baseline),
            }
            for name, run in (
                ("lmdb", lmdb_puts),
                ("files", file_puts),
                ("sqlite_wal", sqlite_puts),
            ):
                row[f"{name}_mib_s"] = mib_s(size, run(directory, data, count))
            emit(row)


def http(sizes: list[int], repeat: int, emit: Callable[[dict[str, object]], None]) -> None:
    sys.path.insert(0, str(RESULTS.parents[2]))  # the fixture lives in tests/integration
    from backend.core import routes
    from backend.core.sliver_kind import SliverKind
    from tests.integration.network import standalone_network

    with standalone_network(n_nodes=4, n_shards=4) as standalone:
        network, directory = standalone.network, standalone.directory
        for size in sizes:
            # n = 4: a primary sliver is s = 3 symbols, the blob p * s = 6 symbols.
            encoded, _ = network.register(os.urandom(2 * size - 64))
            network.upload(encoded)
            primary, _ = encoded.sliver_pair(0)
            node = network.owner_of_pair(encoded, 0)
            url = node.url + routes.sliver_path(encoded.blob_id, 0, SliverKind.PRIMARY)
            wire = primary.to_bytes()
            count = max(3, min(repeat, (128 * MIB) // len(wire)))
            session = requests.Session()
            put_times, get_times = [], []
            for _ in range(count):
                start = time.perf_counter()
                response = session.put(url, data=wire)
                put_times.append(time.perf_counter() - start)
                assert response.status_code == 201, response.text
                start = time.perf_counter()
                got = session.get(url)
                get_times.append(time.perf_counter() - start)
                assert got.content == wire
            # a durable write as a client sees it: both slivers of the pair, then the
            # confirmation (the node fsyncs before signing); baseline: both fsynced
            pair_wires = [sliver.to_bytes() for sliver in encoded.sliver_pair(0)]
            pair_urls = [
                node.url + routes.sliver_path(encoded.blob_id, 0, sliver.kind)
                for sliver in encoded.sliver_pair(0)
            ]
            confirm_url = node.url + routes.confirmation_path(encoded.blob_id)
            cycle_times, cycle_baseline = [], []
            for _ in range(count):
                start = time.perf_counter()
                for pair_url, pair_wire in zip(pair_urls, pair_wires, strict=True):
                    assert session.put(pair_url, data=pair_wire).status_code == 201
                assert session.get(confirm_url).status_code == 200
                cycle_times.append(time.perf_counter() - start)
                cycle_baseline.append(
                    sum(sum(fsync_file_baseline(directory, w, 1)) for w in pair_wires)
                )
            pair_bytes = sum(len(w) for w in pair_wires)
            cycle_rate = mib_s(pair_bytes, cycle_times)
            cycle_baseline_rate = mib_s(pair_bytes, cycle_baseline)
            baseline = fsync_file_baseline(directory, wire, count)
            baseline_rate = mib_s(len(wire), baseline)
            put_rate = mib_s(len(wire), put_times)
            emit(
                {
                    "bench": "node_http",
                    "sliver_kib": round(len(wire) / 1024),
                    "requests": count,
                    "put_mib_s": put_rate,
                    "put_p50_ms": percentile_ms(put_times, 0.5),
                    "put_p99_ms": percentile_ms(put_times, 0.99),
                    "get_mib_s": mib_s(len(wire), get_times),
                    "get_p50_ms": percentile_ms(get_times, 0.5),
                    "get_p99_ms": percentile_ms(get_times, 0.99),
                    "baseline_fsync_file_mib_s": baseline_rate,
                    "put_pct_of_baseline": round(100 * put_rate / baseline_rate, 1),
                    "pair_put_confirm_mib_s": cycle_rate,
                    "pair_put_confirm_p50_ms": percentile_ms(cycle_times, 0.5),
                    "pair_baseline_fsync_mib_s": cycle_baseline_rate,
                    "pair_pct_of_baseline": round(100 * cycle_rate / cycle_baseline_rate, 1),
                }
            )


def fresh(repeat: int, emit: Callable[[dict[str, object]], None]) -> None:
    """A 1 KiB blob stored right after its register tx, before the nodes' event followers
    have seen it: per-phase wall time of the node requests (sequential, keep-alive)."""
    sys.path.insert(0, str(RESULTS.parents[2]))
    from backend.core import routes
    from tests.integration.network import standalone_network

    with standalone_network(n_nodes=4, n_shards=8) as standalone:
        network = standalone.network
        sessions = {node.node_id: requests.Session() for node in network.nodes}
        phases: dict[str, list[float]] = {"metadata": [], "slivers": [], "confirmations": []}
        for _ in range(repeat):
            encoded, _ = network.register(os.urandom(1024))
            blob_id = encoded.blob_id
            start = time.perf_counter()
            for node in network.nodes:
                url = node.url + routes.metadata_path(blob_id)
                response = sessions[node.node_id].put(url, data=encoded.metadata.to_bytes())
                assert response.status_code == 201, response.text
            phases["metadata"].append(time.perf_counter() - start)
            start = time.perf_counter()
            for pair in range(network.n_shards):
                node = network.owner_of_pair(encoded, pair)
                for sliver in encoded.sliver_pair(pair):
                    url = node.url + routes.sliver_path(blob_id, pair, sliver.kind)
                    response = sessions[node.node_id].put(url, data=sliver.to_bytes())
                    assert response.status_code == 201, response.text
            phases["slivers"].append(time.perf_counter() - start)
            start = time.perf_counter()
            for node in network.nodes:
                url = node.url + routes.confirmation_path(blob_id)
                response = sessions[node.node_id].get(url)
                assert response.status_code == 200, response.text
            phases["confirmations"].append(time.perf_counter() - start)
        row: dict[str, object] = {"bench": "node_fresh_1kib", "blobs": repeat, "nodes": 4}
        for phase, times in phases.items():
            row[f"{phase}_p50_ms"] = percentile_ms(times, 0.5)
            row[f"{phase}_p99_ms"] = percentile_ms(times, 0.99)
        row["load_average_1m"] = round(os.getloadavg()[0], 1)
        emit(row)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-kib", default="64,1024,16384")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--part", default="engines,http")
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()
    sizes = [int(kib) * 1024 for kib in arguments.sizes_kib.split(",")]
    run = {"host": platform.node(), "cpus": os.cpu_count(), "time": int(time.time())}

    def emit(row: dict[str, object]) -> None:
        line = json.dumps({**row, **run})
        print(line, flush=True)
        if not arguments.no_save:
            RESULTS.parent.mkdir(exist_ok=True)
            with RESULTS.open("a") as handle:
                handle.write(line + "\n")

    parts = arguments.part.split(",")
    if "engines" in parts:
        engines(sizes, arguments.repeat, emit)
    if "http" in parts:
        http(sizes, arguments.repeat, emit)
    if "fresh" in parts:
        fresh(arguments.repeat, emit)


if __name__ == "__main__":
    main()
