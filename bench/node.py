"""Storage node benchmarks (JSON lines, each with a same-run baseline).

1. engines: durable put of one sliver-sized value, for LMDB (synced commit per put, what
   nodes/store.py does), plain files (write tmp, fsync, rename, fsync dir) and SQLite WAL
   (synchronous=FULL); baseline: the same bytes written to one file with fsync.
2. http: sliver PUT (verification + store; fsync deferred to the confirmation) and GET on
   one real node process of a 4-node, 4-shard network on anvil, p50/p99 latency and MiB/s;
   baseline as above. Target (issue 6): PUT >= 50% of the baseline at 1 MiB slivers.
   Also the durable write a client waits for: PUT both slivers of a pair + GET the
   confirmation (fsync + BLS signature), against fsyncing both slivers to files.
3. durable: one node holding several pairs of a blob (4 nodes, --durable-shards 16: 4 pairs
   each) PUTs all their slivers, then confirms (one fsync for all, then the signature);
   baseline: the same bytes written to one file with one fsync.
4. quorum (not in the default parts): the node side of a 1 KiB store on 10 nodes / 20
   shards as the SDK runs it, with per-request-kind node phases and node CPU per blob.
5. fresh (not in the default parts): 1 KiB blobs PUT right after their register tx.

Usage: python bench/node.py [--sizes-kib 64,1024,16384] [--repeat N]
       [--part engines,http,durable,quorum,fresh]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import lmdb
import requests

from nodes.phases import parse_server_timing

MIB = 1 << 20
REPO = Path(__file__).resolve().parents[1]


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


class Connection:
    """One keep-alive HTTP/1.1 connection (http.client: a thin load generator, so the client
    is not what is measured)."""

    def __init__(self, base_url: str) -> None:
        parsed = urlsplit(base_url)
        self._conn = HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, str]:
        """(status, body, Server-Timing header) of one request."""
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        self._conn.request(method, path, body=body, headers=headers)
        response = self._conn.getresponse()
        return response.status, response.read(), response.getheader("Server-Timing") or ""

    def close(self) -> None:
        self._conn.close()


def concurrent_puts(
    base_url: str, path: str, wire: bytes, connections: int, per_connection: int
) -> float:
    """Wall time of `connections` keep-alive connections each PUTting `wire` `per_connection`
    times at once."""

    def run() -> None:
        conn = Connection(base_url)
        for _ in range(per_connection):
            status, body, _ = conn.request("PUT", path, wire)
            assert status == 201, body
        conn.close()

    threads = [threading.Thread(target=run) for _ in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def http(
    sizes: list[int], repeat: int, connections: int, emit: Callable[[dict[str, object]], None]
) -> None:
    sys.path.insert(0, str(REPO))  # the fixture lives in tests/integration
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
            path = routes.sliver_path(encoded.blob_id, 0, SliverKind.PRIMARY)
            wire = primary.to_bytes()
            count = max(3, min(repeat, (128 * MIB) // len(wire)))
            conn = Connection(node.url)
            put_times, get_times = [], []
            phases: dict[str, list[float]] = {}
            # the baseline brackets the PUTs (half before, half after): its fsync latency drifts
            # 20-40 % within a minute on this VM, and bracketing cancels a steady drift; each
            # side is a steady stream (an fsync before every PUT slowed the PUTs ~30 %)
            baseline = fsync_file_baseline(directory, wire, (count + 1) // 2)
            for _ in range(count):
                start = time.perf_counter()
                status, body, timing = conn.request("PUT", path, wire)
                put_times.append(time.perf_counter() - start)
                assert status == 201, body
                for name, ms in parse_server_timing(timing).items():
                    phases.setdefault(name, []).append(ms / 1000)
                start = time.perf_counter()
                status, got, _ = conn.request("GET", path)
                get_times.append(time.perf_counter() - start)
                assert status == 200 and got == wire
            # a durable write as a client sees it: both slivers of the pair, then the
            # confirmation (the node fsyncs before signing); baseline: both fsynced
            pair_wires = [sliver.to_bytes() for sliver in encoded.sliver_pair(0)]
            pair_paths = [
                routes.sliver_path(encoded.blob_id, 0, sliver.kind)
                for sliver in encoded.sliver_pair(0)
            ]
            confirm_path = routes.confirmation_path(encoded.blob_id)
            cycle_times, cycle_baseline = [], []
            for _ in range(count):
                start = time.perf_counter()
                for pair_path, pair_wire in zip(pair_paths, pair_wires, strict=True):
                    assert conn.request("PUT", pair_path, pair_wire)[0] == 201
                assert conn.request("GET", confirm_path)[0] == 200
                cycle_times.append(time.perf_counter() - start)
                cycle_baseline.append(
                    sum(sum(fsync_file_baseline(directory, w, 1)) for w in pair_wires)
                )
            conn.close()
            baseline.extend(fsync_file_baseline(directory, wire, count // 2))
            per_connection = max(2, count // connections)
            concurrent_seconds = concurrent_puts(node.url, path, wire, connections, per_connection)
            concurrent_rate = round(
                len(wire) * connections * per_connection / concurrent_seconds / MIB, 1
            )
            pair_bytes = sum(len(w) for w in pair_wires)
            cycle_rate = mib_s(pair_bytes, cycle_times)
            cycle_baseline_rate = mib_s(pair_bytes, cycle_baseline)
            baseline_rate = mib_s(len(wire), baseline)
            put_rate = mib_s(len(wire), put_times)
            row: dict[str, object] = {
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
                "baseline_p50_ms": percentile_ms(baseline, 0.5),
                "put_pct_of_baseline": round(100 * put_rate / baseline_rate, 1),
                f"put_{connections}conn_mib_s": concurrent_rate,
                f"put_{connections}conn_pct_of_baseline": round(
                    100 * concurrent_rate / baseline_rate, 1
                ),
                "pair_put_confirm_mib_s": cycle_rate,
                "pair_put_confirm_p50_ms": percentile_ms(cycle_times, 0.5),
                "pair_baseline_fsync_mib_s": cycle_baseline_rate,
                "pair_pct_of_baseline": round(100 * cycle_rate / cycle_baseline_rate, 1),
            }
            for name, seconds in phases.items():  # node-side phases of the sequential PUTs
                row[f"node_{name}_p50_ms"] = percentile_ms(seconds, 0.5)
            node_total = sum(percentile_ms(seconds, 0.5) for seconds in phases.values())
            row["outside_handler_p50_ms"] = round(percentile_ms(put_times, 0.5) - node_total, 2)
            row["load_average_1m"] = round(os.getloadavg()[0], 1)
            emit(row)


def fresh(repeat: int, emit: Callable[[dict[str, object]], None]) -> None:
    """A 1 KiB blob stored right after its register tx, before the nodes' event followers
    have seen it: per-phase wall time of the node requests (sequential, keep-alive)."""
    sys.path.insert(0, str(REPO))
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


def put_all(conn: Connection, puts: list[tuple[str, bytes]]) -> None:
    for path, wire in puts:
        status, body, _ = conn.request("PUT", path, wire)
        assert status == 201, body


def durable(
    sizes: list[int],
    repeat: int,
    connections: int,
    n_shards: int,
    emit: Callable[[dict[str, object]], None],
) -> None:
    """What one node's durable write of a blob costs when it holds several pairs (4 nodes,
    `n_shards` shards): PUT every sliver of the node's pairs, then GET the confirmation (one
    fsync for all of them, then the BLS signature), against writing the same bytes to one
    local file with one fsync, same run."""
    sys.path.insert(0, str(REPO))
    from backend.core import routes
    from backend.core.encoder import encode_blob
    from tests.integration.network import standalone_network

    with standalone_network(n_nodes=4, n_shards=n_shards) as standalone:
        network, directory = standalone.network, standalone.directory
        probe = encode_blob(os.urandom(1 << 16), n_shards)
        sliver_per_blob_byte = len(probe.sliver_pair(0)[0].data) / (1 << 16)
        for size in sizes:
            encoded, _ = network.register(os.urandom(int(size / sliver_per_blob_byte)))
            node = max(
                network.nodes,
                key=lambda n: sum(network.owner_of_pair(encoded, p) is n for p in range(n_shards)),
            )
            pairs = [p for p in range(n_shards) if network.owner_of_pair(encoded, p) is node]
            metadata = encoded.metadata.to_bytes()
            conn = Connection(node.url)
            status, body, _ = conn.request("PUT", routes.metadata_path(encoded.blob_id), metadata)
            assert status == 201, body
            puts = [
                (routes.sliver_path(encoded.blob_id, pair, sliver.kind), sliver.to_bytes())
                for pair in pairs
                for sliver in encoded.sliver_pair(pair)
            ]
            node_bytes = sum(len(wire) for _, wire in puts)
            confirm_path = routes.confirmation_path(encoded.blob_id)
            count = max(3, min(repeat, (256 * MIB) // node_bytes))
            sequential, parallel, confirms, baseline = [], [], [], []
            spare = [Connection(node.url) for _ in range(connections)]

            for _ in range(count):
                start = time.perf_counter()
                for path, wire in puts:
                    assert conn.request("PUT", path, wire)[0] == 201
                confirm_start = time.perf_counter()
                assert conn.request("GET", confirm_path)[0] == 200
                sequential.append(time.perf_counter() - start)
                confirms.append(time.perf_counter() - confirm_start)
                start = time.perf_counter()
                threads = [
                    threading.Thread(target=put_all, args=(spare[share], puts[share::connections]))
                    for share in range(connections)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                assert conn.request("GET", confirm_path)[0] == 200
                parallel.append(time.perf_counter() - start)
                baseline.extend(
                    fsync_file_baseline(directory, b"".join(wire for _, wire in puts), 1)
                )
            for other in [conn, *spare]:
                other.close()
            baseline_rate = mib_s(node_bytes, baseline)
            emit(
                {
                    "bench": "node_durable",
                    "sliver_kib": round(len(puts[0][1]) / 1024),
                    "n_shards": n_shards,
                    "pairs_on_node": len(pairs),
                    "node_mib_per_blob": round(node_bytes / MIB, 2),
                    "blobs": count,
                    "durable_mib_s": mib_s(node_bytes, sequential),
                    "durable_p50_ms": percentile_ms(sequential, 0.5),
                    "confirm_p50_ms": percentile_ms(confirms, 0.5),
                    f"durable_{connections}conn_mib_s": mib_s(node_bytes, parallel),
                    "baseline_fsync_file_mib_s": baseline_rate,
                    "baseline_p50_ms": percentile_ms(baseline, 0.5),
                    "durable_pct_of_baseline": round(
                        100 * mib_s(node_bytes, sequential) / baseline_rate, 1
                    ),
                    f"durable_{connections}conn_pct_of_baseline": round(
                        100 * mib_s(node_bytes, parallel) / baseline_rate, 1
                    ),
                    "load_average_1m": round(os.getloadavg()[0], 1),
                }
            )


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (/proc/<pid>/stat, Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(name: str) -> list[int]:
    """Pids of this process's children whose command name is `name` (e.g. its anvil)."""
    me = os.getpid()
    children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
    return [int(pid) for pid in children if Path(f"/proc/{pid}/comm").read_text().strip() == name]


def thread_cpu_seconds(base_url: str) -> dict[str, float]:
    """A node's CPU seconds by thread role (`walrus_node_thread_cpu_seconds_total`)."""
    seconds = {}
    for line in requests.get(base_url + "/metrics", timeout=10).text.splitlines():
        if line.startswith('walrus_node_thread_cpu_seconds_total{thread="'):
            labels, _, value = line.rpartition(" ")
            seconds[labels.split('"')[1]] = float(value)
    return seconds


def thread_cpu_of(urls: list[str]) -> dict[str, float]:
    """CPU seconds by thread role summed over nodes."""
    total: dict[str, float] = {}
    for url in urls:
        for thread_role, seconds in thread_cpu_seconds(url).items():
            total[thread_role] = total.get(thread_role, 0.0) + seconds
    return total


def quorum(
    n_nodes: int, n_shards: int, repeat: int, emit: Callable[[dict[str, object]], None]
) -> None:
    """The node side of a 1 KiB store as the SDK runs it (backend/sdk/client.py
    collect_confirmations): every node at once gets its metadata PUT, then all its sliver
    PUTs in parallel, then the confirmation GET, right after the register tx (before the
    nodes' followers saw it). Wall time until the confirming nodes hold the quorum weight and
    until every node confirmed, each request kind's wall time and node-side phases
    (Server-Timing), and the node processes' CPU seconds per blob."""
    sys.path.insert(0, str(REPO))
    from backend.core import routes
    from backend.core.encoder import EncodedBlob
    from tests.integration.network import standalone_network

    with standalone_network(n_nodes=n_nodes, n_shards=n_shards) as standalone:
        network = standalone.network
        staking = network.env.staking
        quorum_weight = staking.quorum_weight()
        assignment = staking.shard_assignment()
        weight_of = {node.node_id: assignment.count(node.node_id) for node in network.nodes}
        pids = [node.pid for node in network.nodes if node.pid is not None]
        pool = ThreadPoolExecutor(4 * n_shards + n_nodes)
        sessions = {node.node_id: requests.Session() for node in network.nodes}
        request_times: dict[str, list[float]] = {"metadata": [], "sliver": [], "confirmation": []}
        phase_times: dict[str, list[float]] = {}
        times_lock = threading.Lock()

        def timed_request(
            kind: str, method: str, session: requests.Session, url: str, body: bytes | None = None
        ) -> None:
            start = time.perf_counter()
            response = session.request(method, url, data=body)
            elapsed = time.perf_counter() - start
            assert response.ok, response.text
            with times_lock:
                request_times[kind].append(elapsed)
                for name, ms in parse_server_timing(
                    response.headers.get("Server-Timing", "")
                ).items():
                    phase_times.setdefault(f"{kind}_{name}", []).append(ms / 1000)

        def upload(node_id: int, url: str, encoded: EncodedBlob, pairs: list[int]) -> None:
            session, blob_id = sessions[node_id], encoded.blob_id
            metadata = encoded.metadata.to_bytes()
            timed_request("metadata", "PUT", session, url + routes.metadata_path(blob_id), metadata)
            puts = [
                pool.submit(
                    timed_request,
                    "sliver",
                    "PUT",
                    session,
                    url + routes.sliver_path(blob_id, pair, sliver.kind),
                    sliver.to_bytes(),
                )
                for pair in pairs
                for sliver in encoded.sliver_pair(pair)
            ]
            for put in puts:
                put.result()
            timed_request("confirmation", "GET", session, url + routes.confirmation_path(blob_id))

        anvil_pids = child_pids("anvil")
        quorum_times, all_times = [], []
        # CPU of the whole loop, register txs and the followers' reaction to them included
        urls = [node.url for node in network.nodes]
        roles_before = thread_cpu_of(urls)
        node_cpu = -sum(process_cpu_seconds(pid) for pid in pids)
        anvil_cpu = -sum(process_cpu_seconds(pid) for pid in anvil_pids)
        for _ in range(repeat):
            encoded, _ = network.register(os.urandom(1024))
            pairs_of: dict[int, list[int]] = {node.node_id: [] for node in network.nodes}
            for pair in range(network.n_shards):
                pairs_of[network.owner_of_pair(encoded, pair).node_id].append(pair)
            start = time.perf_counter()
            uploads = {
                pool.submit(upload, node.node_id, node.url, encoded, pairs_of[node.node_id]): node
                for node in network.nodes
            }
            weight = 0
            for done in as_completed(uploads):
                done.result()
                weight += weight_of[uploads[done].node_id]
                if weight >= quorum_weight > weight - weight_of[uploads[done].node_id]:
                    quorum_times.append(time.perf_counter() - start)
            all_times.append(time.perf_counter() - start)
        node_cpu += sum(process_cpu_seconds(pid) for pid in pids)
        roles_after = thread_cpu_of(urls)
        anvil_cpu += sum(process_cpu_seconds(pid) for pid in anvil_pids)
        pool.shutdown()
        row: dict[str, object] = {
            "bench": "node_quorum_1kib",
            "blobs": repeat,
            "nodes": n_nodes,
            "n_shards": n_shards,
            "quorum_p50_ms": percentile_ms(quorum_times, 0.5),
            "quorum_p99_ms": percentile_ms(quorum_times, 0.99),
            "all_nodes_p50_ms": percentile_ms(all_times, 0.5),
            "node_cpu_ms_per_blob": round(node_cpu / repeat * 1000, 1),
            "anvil_cpu_ms_per_blob": round(anvil_cpu / repeat * 1000, 1),
        }
        for thread_role, seconds in sorted(roles_after.items()):
            spent = seconds - roles_before.get(thread_role, 0.0)
            row[f"node_cpu_ms_per_blob_{thread_role}"] = round(spent / repeat * 1000, 1)
        for kind, times in request_times.items():
            row[f"{kind}_p50_ms"] = percentile_ms(times, 0.5)
        for name, times in sorted(phase_times.items()):
            row[f"node_{name}_p50_ms"] = percentile_ms(times, 0.5)
            row[f"node_{name}_mean_ms"] = round(sum(times) / len(times) * 1000, 2)
        row["load_average_1m"] = round(os.getloadavg()[0], 1)
        emit(row)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-kib", default="64,1024,16384")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--part", default="engines,http,durable")
    parser.add_argument("--connections", type=int, default=4, help="concurrent PUT connections")
    parser.add_argument(
        "--durable-shards", type=int, default=16, help="shards of --part durable (4 nodes)"
    )
    parser.add_argument("--nodes", type=int, default=10, help="nodes of --part quorum")
    parser.add_argument("--shards", type=int, default=20, help="shards of --part quorum")
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()
    sizes = [int(kib) * 1024 for kib in arguments.sizes_kib.split(",")]
    sys.path.insert(0, str(REPO))  # bench/report.py
    from bench.report import bench_report

    with bench_report("node", save=not arguments.no_save, incremental=True) as report:
        emit = report.emit
        parts = arguments.part.split(",")
        if "engines" in parts:
            engines(sizes, arguments.repeat, emit)
        if "http" in parts:
            http(sizes, arguments.repeat, arguments.connections, emit)
        if "fresh" in parts:
            fresh(arguments.repeat, emit)
        if "durable" in parts:
            durable(sizes, arguments.repeat, arguments.connections, arguments.durable_shards, emit)
        if "quorum" in parts:
            quorum(arguments.nodes, arguments.shards, arguments.repeat, emit)


if __name__ == "__main__":
    main()
