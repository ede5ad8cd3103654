"""CPU seconds of one large store, per process, on a local network (JSON lines).

On a 2-core machine an end-to-end store pays CPU seconds, not wall time: the client, the
node processes and anvil share the same cores. This bench starts anvil + N node processes
(tests/integration/network.py `standalone_network`), stores `--size-mib` of random bytes
`--repeat` times through the SDK and, for each store, counts:

- `client_user_s` / `client_sys_s`: this process (getrusage), split into `encode_*` (the
  SpilledUpload, i.e. encoding and spilling the primary parity; `encode_page_faults`: the
  minor page faults of this process meanwhile) and the rest of the store;
- `phases_s`: wall seconds of the store's steps (encode, register_blob,
  collect_confirmations: metadata + sliver PUTs + confirmations until the quorum,
  certify_blob);
- `nodes_user_s` / `nodes_sys_s`: sum over the node processes of /proc/<pid>/stat
  utime + stime, until they are idle again (uploads to the nodes beyond the quorum go on
  after `store` returns, and the store pays for them too);
- `anvil_s`: the same for anvil (register + certify transactions, eth_calls);
- `nodes_io_thread_s`: the part of the nodes' CPU spent in their main thread, which runs
  waitress's socket loop: receiving the request bodies (and sending answers); the rest is
  the request handlers (4 worker threads) and background threads (event follower...);
- `nodes_idle_cpu_per_s`: what the nodes burn per second with no request (event follower
  polling and the like), sampled for a second before each store;
- `node_phases_s`: sums over the node requests of the store of their Server-Timing phases,
  as `<request>.<phase>` (sliver: read the body from the WSGI input, check, verify against
  the blob id, store in LMDB; metadata; confirmation: fsync, sign...): wall times inside
  the handlers, summed over requests that run at the same time, so only their proportions
  say where the handlers' CPU goes;
- `cpu_per_mib_ms`: total CPU milliseconds per MiB of blob; `cores_needed_for_target`:
  the total CPU seconds / the target's wall time (`--target-mib-s`), i.e. how many fully
  busy cores the target needs at this CPU cost.

Usage: python bench/store_cpu.py [--size-mib 64] [--nodes 10] [--shards 20] [--repeat 3]
       [--target-mib-s 50] [--no-save]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodes.phases import parse_server_timing

if TYPE_CHECKING:
    from backend.sdk.client import Client

MIB = 1 << 20
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, bench/report.py
TICKS = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 0.6
IDLE_SAMPLE_SECONDS = 1.0
"""Nodes count as idle once their CPU grew by less than 2 ticks each over this long."""


def process_cpu(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of `pid` from /proc/<pid>/stat."""
    return process_cpu_of(Path(f"/proc/{pid}/stat"))


def process_cpu_of(stat: Path) -> tuple[float, float]:
    text = stat.read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def children_named(name: str) -> list[int]:
    """Pids of this process's own children whose command is `name` (never anyone else's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        parent = int(text[text.rindex(")") + 2 :].split()[1])
        if parent == os.getpid() and command == name:
            found.append(int(entry.name))
    return found


def io_thread_cpu(pids: list[int]) -> float:
    """CPU seconds of the processes' main threads (waitress's socket loop in a node)."""
    return sum(sum(process_cpu_of(Path(f"/proc/{pid}/task/{pid}/stat"))) for pid in pids)


def total_cpu(pids: list[int]) -> tuple[float, float]:
    user = system = 0.0
    for pid in pids:
        u, s = process_cpu(pid)
        user, system = user + u, system + s
    return user, system


def wait_idle(pids: list[int], timeout: float = 60.0) -> None:
    """Until the processes' CPU stops growing (the background uploads are done)."""
    deadline = time.monotonic() + timeout
    last = sum(total_cpu(pids))
    while time.monotonic() < deadline:
        time.sleep(IDLE_SECONDS)
        now = sum(total_cpu(pids))
        if now - last < 2 * len(pids) / TICKS:
            return
        last = now


def self_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class Recorder:
    """Wraps the SDK's collaborators on this one process to time the encode and collect
    the nodes' Server-Timing phases of sliver PUTs (the SDK has no hooks of its own)."""

    def __init__(self) -> None:
        import backend.sdk.client as sdk_client
        from backend.sdk.node_client import NodeClient

        self.encode_cpu = (0.0, 0.0)
        self.encode_faults = 0
        self.encode_wall = 0.0
        self.steps: dict[str, float] = {}
        self.phases: dict[str, float] = {}
        self.sliver_puts = 0
        spilled = sdk_client.SpilledUpload  # type: ignore[attr-defined]

        def timed_encode(*args: Any, **kwargs: Any) -> Any:
            before, start = self_cpu(), time.perf_counter()
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            try:
                return spilled(*args, **kwargs)
            finally:
                after = self_cpu()
                self.encode_faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
                self.encode_wall += time.perf_counter() - start
                self.encode_cpu = (
                    self.encode_cpu[0] + after[0] - before[0],
                    self.encode_cpu[1] + after[1] - before[1],
                )

        setattr(sdk_client, "SpilledUpload", timed_encode)  # noqa: B010
        request = NodeClient._request

        def recorded(node: NodeClient, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            response = request(node, method, path, *args, **kwargs)
            timing = header_of(response, "Server-Timing")
            kind = request_kind(path)
            if timing and kind:
                self.sliver_puts += kind == "sliver" and method == "PUT"
                for name, ms in parse_server_timing(timing).items():
                    key = f"{kind}.{name}"
                    self.phases[key] = self.phases.get(key, 0.0) + ms / 1000
            return response

        setattr(NodeClient, "_request", recorded)  # noqa: B010

    def time_steps(self, client: Client) -> None:
        """Wall time of the store's steps on this one client object."""
        targets: list[tuple[object, str]] = [(client, "collect_confirmations")]
        targets += [(client.registry, "register_blob"), (client.registry, "certify_blob")]
        for owner, name in targets:
            setattr(owner, name, self._timed(name, getattr(owner, name)))

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - start

        return timed

    def clear(self) -> None:
        self.encode_cpu, self.encode_wall, self.encode_faults = (0.0, 0.0), 0.0, 0
        self.steps.clear()
        self.phases.clear()
        self.sliver_puts = 0


def header_of(answer: Any, name: str) -> str | None:
    """A header of NodeClient._request's answer, whichever HTTP library made it: a
    `headers` mapping (requests, urllib3) or node_client.Answer's http.client response."""
    headers = getattr(answer, "headers", None)
    if headers is not None:
        value = headers.get(name)
    else:
        response = getattr(answer, "_response", None)
        value = None if response is None else response.getheader(name)
    return None if value is None else str(value)


def request_kind(path: str) -> str | None:
    """Which node request a path is (the ones a store makes)."""
    if "/slivers/" in path:
        return "sliver"
    if path.endswith("/metadata"):
        return "metadata"
    if "/confirmation" in path:
        return "confirmation"
    return None


def measure(arguments: argparse.Namespace, emit: Callable[[dict[str, object]], None]) -> None:
    from backend.sdk.client import Client
    from tests.integration.network import standalone_network

    recorder = Recorder()
    with standalone_network(n_nodes=arguments.nodes, n_shards=arguments.shards) as standalone:
        network, artifacts = standalone.network, standalone.artifacts
        client = Client.connect(
            network.user, artifacts, network.env.staking.address, network.env.registry.address
        )
        recorder.time_steps(client)
        node_pids = [node.pid for node in network.nodes if node.pid is not None]
        anvil_pids = children_named("anvil")
        client.store(os.urandom(1024), epochs=1)  # connections, committee and threads warm
        wait_idle(node_pids)
        for repetition in range(arguments.repeat):
            idle_before = sum(total_cpu(node_pids))
            time.sleep(IDLE_SAMPLE_SECONDS)
            idle_rate = (sum(total_cpu(node_pids)) - idle_before) / IDLE_SAMPLE_SECONDS
            data = os.urandom(int(arguments.size_mib * MIB))
            recorder.clear()
            client_before, nodes_before = self_cpu(), total_cpu(node_pids)
            anvil_before = sum(total_cpu(anvil_pids))
            io_before = io_thread_cpu(node_pids)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            client.store(data, epochs=1)
            wall = time.perf_counter() - start
            wait_idle(node_pids)
            client_after, nodes_after = self_cpu(), total_cpu(node_pids)
            anvil_s = sum(total_cpu(anvil_pids)) - anvil_before
            io_s = io_thread_cpu(node_pids) - io_before
            client_user = client_after[0] - client_before[0]
            client_sys = client_after[1] - client_before[1]
            nodes_user = nodes_after[0] - nodes_before[0]
            nodes_sys = nodes_after[1] - nodes_before[1]
            total = client_user + client_sys + nodes_user + nodes_sys + anvil_s
            target_wall = arguments.size_mib / arguments.target_mib_s
            emit(
                {
                    "bench": "store_cpu",
                    "repetition": repetition,
                    "size_mib": arguments.size_mib,
                    "nodes": arguments.nodes,
                    "n_shards": arguments.shards,
                    "store_s": round(wall, 3),
                    "store_mib_s": round(arguments.size_mib / wall, 1),
                    "phases_s": {
                        "encode": round(recorder.encode_wall, 3),
                        **{name: round(s, 3) for name, s in recorder.steps.items()},
                    },
                    "encode_user_s": round(recorder.encode_cpu[0], 3),
                    "encode_sys_s": round(recorder.encode_cpu[1], 3),
                    "encode_page_faults": recorder.encode_faults,
                    "client_user_s": round(client_user, 3),
                    "client_sys_s": round(client_sys, 3),
                    "nodes_user_s": round(nodes_user, 3),
                    "nodes_sys_s": round(nodes_sys, 3),
                    "nodes_io_thread_s": round(io_s, 3),
                    "nodes_idle_cpu_per_s": round(idle_rate, 3),
                    "anvil_s": round(anvil_s, 3),
                    "total_cpu_s": round(total, 3),
                    "cpu_per_mib_ms": round(total / arguments.size_mib * 1000, 1),
                    "cores_needed_for_target": round(total / target_wall, 2),
                    "sliver_puts": recorder.sliver_puts,
                    "node_phases_s": {k: round(v, 3) for k, v in sorted(recorder.phases.items())},
                    "load_1min": round(load, 2),
                }
            )
            del data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=float, default=64)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target-mib-s", type=float, default=50.0)
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()
    from bench.report import bench_report

    with bench_report("store_cpu", save=not arguments.no_save) as report:
        measure(arguments, report.emit)


if __name__ == "__main__":
    main()
