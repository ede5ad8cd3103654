"""End-to-end store/read benchmark through the SDK on a local network (JSON lines).

anvil + deployment + N real node processes (tests/integration/network.py), then for each
size: store and read throughput (MiB/s of blob bytes; the median of `--throughput-repeat`
runs, each a new blob, the first on nodes that have stored nothing large yet, every run in
`store_mib_s_runs` / `read_mib_s_runs`), chain transactions per store (the
wallet's nonce delta), and the client's peak RSS (ru_maxrss of this process, which also
holds the harness; nodes are separate processes), read before the baseline runs, and the
client's extra memory over the blob it was given, in blob sizes:
(peak RSS - RSS with the blob in hand) / blob size. p50 latency of store and read for the
`--latency-kib` sizes over `--repeat` runs. Same-run baseline: encode + decode of the same
bytes in memory (no chain, no HTTP).

Memory per operation: `store_extra_rss_x_blob` / `read_extra_rss_x_blob` are (VmHWM during
the store or read - VmRSS before it) / blob size, with VmHWM reset through
/proc/self/clear_refs before each (the data in hand is already in "before"); the largest
over the runs. Per-phase
wall times (median ms; `store_phases_ms`, `read_phases_ms`, `phase_p50_ms`): encode,
current_epoch, registration_cost, _wallet_state (WAL balance, allowance, block time: these
three overlap the encoding), blob_id_status, _payment (the EIP-2612 permit),
register_blob, collect_confirmations (metadata + sliver PUTs + signed confirmations until
the quorum), certify_blob; check_readable, _metadata, _gather_slivers, decode (reads: the
first three overlap).

Cost per operation in the latency rows (p50 over `--repeat`): `store_client_cpu_ms` /
`read_client_cpu_ms` this process's CPU time (user + system, all threads: on 2 shared cores
CPU seconds, not wall time, are what a store pays for; uploads to the nodes slower than the
quorum go on after a store returns and are counted in the read that follows),
`store_node_cpu_ms` / `read_node_cpu_ms` the node processes' CPU time summed over all of
them (own network only; null with --rpc-url), `store_rpcs` / `read_rpcs` JSON-RPC requests
the client sent to the chain, `store_node_requests` / `read_node_requests` HTTP requests it
sent to the nodes (including those after the quorum), `load_average` the 1-minute load
average at the end of the row.

Targets (issue 7): 64 MiB store >= 50 MiB/s, read >= 100 MiB/s; 1 KiB store p50 <= 150 ms,
read p50 <= 20 ms; client peak RSS <= 3x blob size.

Usage: python bench/e2e.py [--sizes-mib 1,16,64,256] [--nodes 10] [--shards 20]
       [--latency-kib 1,1024] [--repeat 10] [--throughput-repeat 3] [--no-save]
       [--rpc-url URL --deployment FILE]   # the network `make up` runs, paying as dev account 7
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.sdk.client import Client

MIB = 1 << 20
BENCH_ACCOUNT = 7
"""Dev account paying with --rpc-url (make up's publisher pays from 8, the CLI from 0)."""
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, bench/report.py


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / MIB, 1)


def status_mib(field: str) -> float:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> None:
    """VmHWM := VmRSS (Linux >= 4.0), so that one operation's peak can be read alone."""
    Path("/proc/self/clear_refs").write_text("5")


def node_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the node processes (/proc/<pid>/stat), summed."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class RequestCounter:
    """JSON-RPC requests to the chain and HTTP requests to the nodes sent by one client
    (wrapping its provider and the NodeClient class)."""

    def __init__(self, client: Client) -> None:
        from backend.sdk.node_client import NodeClient

        self.rpcs = 0
        self.node_requests = 0
        provider = client.chain.w3.provider
        send_rpc = provider._make_request  # type: ignore[attr-defined]
        send_node = NodeClient._request

        def counted_rpc(*args: object, **kwargs: object) -> object:
            self.rpcs += 1
            return send_rpc(*args, **kwargs)

        def counted_node(*args: Any, **kwargs: Any) -> Any:
            self.node_requests += 1
            return send_node(*args, **kwargs)

        provider._make_request = counted_rpc  # type: ignore[attr-defined]
        NodeClient._request = counted_node  # type: ignore[method-assign]

    def snapshot(self) -> tuple[int, int]:
        return self.rpcs, self.node_requests


def medians_ms(seconds: dict[str, list[float]]) -> dict[str, float]:
    return {name: round(statistics.median(times) * 1000, 1) for name, times in seconds.items()}


class PhaseTimer:
    """Wall time per phase of the client's store and read (wrapping its collaborators on
    this one client object: the SDK has no timing hooks of its own)."""

    def __init__(self, client: Client) -> None:
        import backend.sdk.client as sdk_client

        self.seconds: dict[str, list[float]] = {}
        registry = client.registry
        for name in ("blob_id_status", "registration_cost", "register_blob", "certify_blob"):
            setattr(registry, name, self._timed(name, getattr(registry, name)))
        for name in (
            "_wallet_state",
            "_payment",
            "collect_confirmations",
            "check_readable",
            "_metadata",
            "_gather_slivers",
        ):
            setattr(client, name, self._timed(name, getattr(client, name)))
        epochs: Any = client.epochs  # an instance attribute shadows the method
        epochs.current_epoch = self._timed("current_epoch", epochs.current_epoch)
        for name, phase in (("SpilledUpload", "encode"), ("decode_blob", "decode")):
            setattr(sdk_client, name, self._timed(phase, getattr(sdk_client, name)))

    def _timed(self, name: str, function: Callable[..., object]) -> Callable[..., object]:
        def timed(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds.setdefault(name, []).append(time.perf_counter() - start)

        return timed

    def medians_ms(self) -> dict[str, float]:
        return medians_ms(self.seconds)

    def move_to(self, phases: dict[str, list[float]]) -> None:
        """Add the times so far to `phases` and start again."""
        for name, times in self.seconds.items():
            phases.setdefault(name, []).extend(times)
        self.seconds.clear()

    def clear(self) -> None:
        self.seconds.clear()


def run(arguments: argparse.Namespace, emit: Callable[[dict[str, object]], None]) -> None:
    """Against the running network at --rpc-url (e.g. `make up`), else a network of its own:
    anvil + deployment + N node processes (tests/integration/network.py)."""
    if arguments.rpc_url:
        from backend.chain.devnet import dev_accounts
        from backend.sdk.config import ClientSettings, load_client

        key_file = Path(tempfile.mkdtemp()) / "bench.key"
        key_file.write_text(bytes(dev_accounts()[BENCH_ACCOUNT].key).hex())
        client = load_client(ClientSettings(arguments.rpc_url, key_file, arguments.deployment))
        measure(arguments, client, len(client.committee_nodes()), emit, node_pids=None)
        return

    from backend.sdk.client import Client
    from tests.integration.network import standalone_network

    with standalone_network(n_nodes=arguments.nodes, n_shards=arguments.shards) as standalone:
        network, artifacts = standalone.network, standalone.artifacts
        client = Client.connect(
            network.user, artifacts, network.env.staking.address, network.env.registry.address
        )
        pids = [node.pid for node in network.nodes if node.pid is not None]
        measure(arguments, client, arguments.nodes, emit, node_pids=pids)


def measure(
    arguments: argparse.Namespace,
    client: Client,
    nodes: int,
    emit: Callable[[dict[str, object]], None],
    *,
    node_pids: list[int] | None,
) -> None:
    from backend.core.decoder import decode_blob
    from backend.core.encoder import encode_blob
    from backend.core.params import EncodingParams

    user = client.chain.address
    w3 = client.chain.w3
    n = client.n_shards
    p = EncodingParams(n).p
    timer = PhaseTimer(client)
    counter = RequestCounter(client)

    for size_mib in arguments.sizes_mib:
        runs: dict[str, list[float]] = {}
        store_phases: dict[str, list[float]] = {}
        read_phases: dict[str, list[float]] = {}
        for _ in range(arguments.throughput_repeat):
            data = os.urandom(int(size_mib * MIB))  # new bytes: a new blob each run
            rss_before = current_rss_mib()
            nonce = w3.eth.get_transaction_count(user)
            reset_peak_rss()
            timer.clear()
            start = time.perf_counter()
            result = client.store(data, epochs=arguments.epochs)
            stored = time.perf_counter() - start
            store_peak = status_mib("VmHWM")
            transactions = w3.eth.get_transaction_count(user) - nonce
            timer.move_to(store_phases)
            rss_before_read = status_mib("VmRSS")
            reset_peak_rss()
            start = time.perf_counter()
            back = client.read(result.blob_id)
            read = time.perf_counter() - start
            read_peak = status_mib("VmHWM")
            timer.move_to(read_phases)
            assert back == data
            del back
            for name, value in (
                ("store_s", stored),
                ("read_s", read),
                ("transactions", transactions),
                ("store_extra", (store_peak - rss_before) / size_mib),
                ("read_extra", (read_peak - rss_before_read) / size_mib),
                ("client_extra", (peak_rss_mib() - rss_before) / size_mib),
            ):
                runs.setdefault(name, []).append(value)
        peak = peak_rss_mib()  # ru_maxrss: measured before the baseline allocates its copy
        start = time.perf_counter()
        encoded = encode_blob(data, n)
        decode_blob(encoded.metadata, encoded.primary_slivers[:p])
        baseline = time.perf_counter() - start
        del encoded
        store_s, read_s = statistics.median(runs["store_s"]), statistics.median(runs["read_s"])
        emit(
            {
                "bench": "e2e_throughput",
                "size_mib": size_mib,
                "nodes": nodes,
                "n_shards": n,
                "runs": arguments.throughput_repeat,
                "store_mib_s": round(size_mib / store_s, 1),
                "read_mib_s": round(size_mib / read_s, 1),
                "store_mib_s_runs": [round(size_mib / t, 1) for t in runs["store_s"]],
                "read_mib_s_runs": [round(size_mib / t, 1) for t in runs["read_s"]],
                "store_s": round(store_s, 3),
                "read_s": round(read_s, 3),
                "chain_transactions_per_store": max(runs["transactions"]),
                "client_rss_before_mib": rss_before,
                "client_peak_rss_mib": peak,
                "client_extra_rss_x_blob": round(max(runs["client_extra"]), 1),
                "store_extra_rss_x_blob": round(max(runs["store_extra"]), 2),
                "read_extra_rss_x_blob": round(max(runs["read_extra"]), 2),
                "store_phases_ms": medians_ms(store_phases),
                "read_phases_ms": medians_ms(read_phases),
                "baseline_encode_decode_mib_s": round(size_mib / baseline, 1),
            }
        )
        del data

    for size_kib in arguments.latency_kib:
        costs: dict[str, list[float]] = {}
        timer.clear()
        for _ in range(arguments.repeat):
            data = os.urandom(size_kib * 1024)
            for kind in ("store", "read"):
                requests_before, cpu_before = counter.snapshot(), time.process_time()
                nodes_before = node_cpu_seconds(node_pids or [])
                start = time.perf_counter()
                if kind == "store":
                    blob_id = client.store(data, epochs=arguments.epochs).blob_id
                else:
                    assert client.read(blob_id) == data
                wall = time.perf_counter() - start
                rpcs, node_requests = counter.snapshot()
                for name, value in (
                    ("ms", wall * 1000),
                    ("client_cpu_ms", (time.process_time() - cpu_before) * 1000),
                    ("node_cpu_ms", (node_cpu_seconds(node_pids or []) - nodes_before) * 1000),
                    ("rpcs", rpcs - requests_before[0]),
                    ("node_requests", node_requests - requests_before[1]),
                ):
                    costs.setdefault(f"{kind}_{name}", []).append(value)
        phases = timer.medians_ms()
        start = time.perf_counter()
        for _ in range(arguments.repeat):
            encoded = encode_blob(data, n)
            decode_blob(encoded.metadata, encoded.primary_slivers[:p])
        baseline = (time.perf_counter() - start) / arguments.repeat
        medians: dict[str, float | None] = {
            name: round(statistics.median(values), 1) for name, values in costs.items()
        }
        if node_pids is None:  # not our processes: not measured
            medians["store_node_cpu_ms"] = medians["read_node_cpu_ms"] = None
        emit(
            {
                "bench": "e2e_latency",
                "size_kib": size_kib,
                "runs": arguments.repeat,
                "nodes": nodes,
                "n_shards": n,
                "store_p50_ms": medians.pop("store_ms"),
                "read_p50_ms": medians.pop("read_ms"),
                **medians,
                "baseline_encode_decode_ms": round(baseline * 1000, 2),
                "phase_p50_ms": phases,
                "load_average": round(os.getloadavg()[0], 1),
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes-mib", type=lambda t: [float(x) for x in t.split(",")], default=[1, 16, 64, 256]
    )
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument(
        "--latency-kib", type=lambda t: [int(x) for x in t.split(",")], default=[1, 1024]
    )
    parser.add_argument("--repeat", type=int, default=10, help="stores and reads per latency row")
    parser.add_argument(
        "--throughput-repeat",
        type=int,
        default=3,
        help="stores and reads per throughput row (median; the first one is on cold nodes)",
    )
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--rpc-url", help="measure the running network there (e.g. make up's)")
    parser.add_argument("--deployment", type=Path, help="its deployment file (with --rpc-url)")
    parser.add_argument("--epochs", type=int, default=1)
    arguments = parser.parse_args()
    from bench.report import bench_report

    with bench_report("e2e", save=not arguments.no_save) as report:
        run(arguments, report.emit)


if __name__ == "__main__":
    main()
