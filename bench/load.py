"""Load: bounded concurrent clients storing and reading mixed sizes against a running network
(`make up`), every read compared byte for byte (JSON lines + a table).

Each client loops until the time or the operation budget is spent, picking one operation:
a read of a blob stored earlier in this run (half of the operations once something is
stored), a re-store of content stored earlier (1 in 10: exercises ``alreadyCertified``) or a
store of new random content of 1 KiB / 64 KiB / 1 MiB / 8 MiB (weights 40/30/20/10).
Content is regenerated from its seed for the comparison, so the tool's memory does not grow
with what it stored. Every error is counted by its kind and printed; a read that returns
other bytes is the error ``read: bytes differ``.

After the load, every blob stored in the run is read back (8 at a time) and compared: one
that does not come back identical is *lost* (``--no-verify`` skips this).
``--record-reliability`` adds the run as the "Load" rows of tests/reliability/results.json
(rendered into docs/reliability.md by ``python -m tests.reliability.render``).

Same-run baseline: the same mix with 1 client for ``--baseline-seconds`` first; the table
gives load/baseline ratios of throughput and p50 latency. Meanwhile a sampler reads the RSS
of every process of the network once a second (pids from make up's ``processes.json``, each
with its descendants), reported as start / peak / end MiB and written as a time series.

Modes: ``--backend URL`` (default http://127.0.0.1:8080): HTTP to the publisher/aggregator
(``PUT /v1/blobs``, ``GET /v1/blobs/<id>``); every store is paid by its one wallet.
``--sdk``: the SDK straight to the nodes, clients spread over dev accounts 3-6 (own nonces),
chain and deployment from ``--rpc-url`` / ``--deployment`` (defaults as the CLI's).

Usage: python bench/load.py [--clients 32] [--seconds 60] [--max-ops 20000]
       [--baseline-seconds 15] [--backend URL | --sdk [--rpc-url URL] [--deployment FILE]]
       [--processes .devnet/processes.json] [--no-save] [--no-verify] [--record-reliability]
Only 127.0.0.1 is contacted (other hosts are refused).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlparse

import requests

if TYPE_CHECKING:
    from backend.sdk.client import Client

KIB = 1 << 10
MIB = 1 << 20
SIZES = (1 * KIB, 64 * KIB, 1 * MIB, 8 * MIB)
SIZE_WEIGHTS = (40, 30, 20, 10)
READ_SHARE = 0.5
RESTORE_SHARE = 0.1
STORE_EPOCHS = 2
SDK_ACCOUNTS = (3, 4, 5, 6)
"""Dev accounts the --sdk clients pay from (0: CLI, 7: bench/e2e.py, 8: publisher, 9: keeper)."""
REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results" / "load.jsonl"
DEFAULT_PROCESSES = REPO_ROOT / ".devnet" / "processes.json"
sys.path.insert(0, str(REPO_ROOT))


class LoadError(Exception):
    """One failed operation; ``kind`` is what the error table counts."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def size_label(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def content(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# ---------------------------------------------------------------- targets


class Target(Protocol):
    """Where operations go: store(data) -> (blob id, status), read(blob id) -> bytes."""

    def store(self, data: bytes) -> tuple[str, str]: ...

    def read(self, blob_id: str) -> bytes: ...


class BackendTarget:
    """The publisher/aggregator over HTTP; one requests.Session per thread."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    @staticmethod
    def _check(response: requests.Response, operation: str) -> None:
        if response.ok:
            return
        try:
            code = str(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            code = response.text[:80]
        raise LoadError(f"{operation}: HTTP {response.status_code} {code}", response.text[:300])

    def store(self, data: bytes) -> tuple[str, str]:
        try:
            response = self._session().put(
                f"{self.url}/v1/blobs", params={"epochs": STORE_EPOCHS}, data=data, timeout=300
            )
        except requests.RequestException as error:
            raise LoadError(f"store: {type(error).__name__}", str(error)) from None
        self._check(response, "store")
        body = response.json()
        if "alreadyCertified" in body:
            return str(body["alreadyCertified"]["blobId"]), "alreadyCertified"
        return str(body["newlyCreated"]["blobObject"]["blobId"]), "newlyCreated"

    def read(self, blob_id: str) -> bytes:
        try:
            response = self._session().get(f"{self.url}/v1/blobs/{blob_id}", timeout=300)
        except requests.RequestException as error:
            raise LoadError(f"read: {type(error).__name__}", str(error)) from None
        self._check(response, "read")
        return response.content


class SdkTarget:
    """SDK clients straight to the nodes, one per dev account, handed out round-robin."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients = clients
        self._next = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            with self._lock:
                client = self.clients[self._next % len(self.clients)]
                self._next += 1
            self._local.client = client
        return client

    def store(self, data: bytes) -> tuple[str, str]:
        try:
            result = self._client().store(data, epochs=STORE_EPOCHS)
        except Exception as error:  # every failure is a finding, counted by its type
            raise LoadError(f"store: {type(error).__name__}", str(error)) from None
        return str(result.blob_id), result.status

    def read(self, blob_id: str) -> bytes:
        try:
            return self._client().read(blob_id)
        except Exception as error:
            raise LoadError(f"read: {type(error).__name__}", str(error)) from None


# ---------------------------------------------------------------- the run


@dataclass
class Stored:
    blob_id: str
    seed: int
    size: int


@dataclass
class Phase:
    """What one phase (baseline or load) did: latencies and bytes per operation kind."""

    name: str
    clients: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    bytes_moved: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, seconds: float, size: int, status: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.bytes_moved[kind] += size
            if status:
                self.statuses[f"{kind}: {status}"] += 1

    def failed(self, error: LoadError) -> None:
        with self.lock:
            self.errors[error.kind] += 1
            self.error_samples.setdefault(error.kind, str(error)[:300])

    @property
    def operations(self) -> int:
        return sum(len(values) for values in self.latencies.values()) + sum(self.errors.values())


class Pool:
    """Blobs stored so far (from any phase), for reads and re-stores."""

    def __init__(self) -> None:
        self._items: list[Stored] = []
        self._lock = threading.Lock()

    def add(self, item: Stored) -> None:
        with self._lock:
            self._items.append(item)

    def pick(self, rng: random.Random) -> Stored | None:
        with self._lock:
            return rng.choice(self._items) if self._items else None

    def all(self) -> list[Stored]:
        with self._lock:
            return list(self._items)


def verify_all(target: Target, pool: Pool, clients: int) -> tuple[int, dict[str, int]]:
    """Read back every blob stored in the run (after the load): (blobs checked, the ones that
    failed by error kind). A blob that does not come back identical counts as lost."""
    lost: Counter[str] = Counter()
    items = pool.all()
    lock = threading.Lock()

    def check(item: Stored) -> None:
        try:
            if target.read(item.blob_id) != content(item.seed, item.size):
                raise LoadError("verify: bytes differ", item.blob_id)
        except LoadError as error:
            with lock:
                lost[error.kind] += 1

    with ThreadPoolExecutor(clients) as pool_executor:
        list(pool_executor.map(check, items))
    return len(items), dict(lost)


def record_reliability(
    mode: str, clients: int, seconds: float, load: Phase, checked: int, lost: dict[str, int]
) -> None:
    """Rows of the "Load" category in tests/reliability/results.json (docs/reliability.md)."""
    from tests.reliability.scenarios import ScenarioLog

    log = ScenarioLog()
    via = "SDK to the nodes" if mode == "sdk" else "publisher/aggregator HTTP"
    operations = log.scenario(
        "Load", f"{clients} clients x {seconds:.0f} s, mixed 1 KiB-8 MiB, via {via}"
    )
    operations.runs, operations.failures = load.operations, sum(load.errors.values())
    operations.note = "; ".join(f"{kind} x{count}" for kind, count in load.errors.items())
    verified = log.scenario("Load", f"every blob stored under load read back after it ({via})")
    verified.runs, verified.failures = checked, sum(lost.values())
    verified.data_lost = sum(lost.values())
    verified.note = "; ".join(f"{kind} x{count}" for kind, count in lost.items())
    log.save()


def one_operation(target: Target, pool: Pool, phase: Phase, rng: random.Random) -> None:
    existing = pool.pick(rng)
    choice = rng.random()
    try:
        if existing is not None and choice < READ_SHARE:
            kind = f"read {size_label(existing.size)}"
            started = time.perf_counter()
            data = target.read(existing.blob_id)
            elapsed = time.perf_counter() - started
            if data != content(existing.seed, existing.size):
                raise LoadError("read: bytes differ", f"{existing.blob_id} ({len(data)} bytes)")
            phase.ok(kind, elapsed, existing.size)
        elif existing is not None and choice < READ_SHARE + RESTORE_SHARE:
            kind = f"re-store {size_label(existing.size)}"
            data = content(existing.seed, existing.size)
            started = time.perf_counter()
            blob_id, status = target.store(data)
            elapsed = time.perf_counter() - started
            if blob_id != existing.blob_id:
                raise LoadError("re-store: other blob id", f"{blob_id} != {existing.blob_id}")
            phase.ok(kind, elapsed, existing.size, status)
        else:
            size = rng.choices(SIZES, SIZE_WEIGHTS)[0]
            kind = f"store {size_label(size)}"
            seed = rng.getrandbits(63)
            data = content(seed, size)
            started = time.perf_counter()
            blob_id, status = target.store(data)
            elapsed = time.perf_counter() - started
            phase.ok(kind, elapsed, size, status)
            pool.add(Stored(blob_id, seed, size))
    except LoadError as error:
        phase.failed(error)
    except Exception as error:  # a bug of this tool or an unexpected answer: still counted
        phase.failed(LoadError(f"unexpected {type(error).__name__}", traceback.format_exc()))


def run_phase(
    target: Target, pool: Pool, name: str, clients: int, seconds: float, max_ops: int
) -> Phase:
    """`clients` threads doing operations until `seconds` pass or `max_ops` were started."""
    phase = Phase(name, clients)
    deadline = time.monotonic() + seconds
    budget = threading.Semaphore(max_ops)

    def worker(index: int) -> None:
        rng = random.Random(f"{name}-{index}-{time.time_ns()}")
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            one_operation(target, pool, phase, rng)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started
    return phase


# ---------------------------------------------------------------- memory


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children[parent].append(int(entry.name))
    return children


def tree_rss_mib(pid: int, children: dict[int, list[int]], listed: set[int]) -> float | None:
    """RSS of `pid` and its descendants not `listed` themselves (anvil may run under a
    launcher; make up's own children are listed), None if the process is gone."""
    total_kib, alive = 0, False
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        alive = alive or current == pid
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
        stack.extend(child for child in children.get(current, []) if child not in listed)
    return round(total_kib / 1024, 1) if alive else None


class MemorySampler:
    """RSS of each named process once a second, in a thread, until stopped."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes
        self.samples: dict[str, list[tuple[float, float | None]]] = {n: [] for n in processes}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stopped.is_set():
            children = _children_of()
            moment = round(time.monotonic() - self._started, 1)
            listed = set(self.processes.values())
            for name, pid in self.processes.items():
                self.samples[name].append((moment, tree_rss_mib(pid, children, listed)))
            self._stopped.wait(1.0)


def read_processes(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    return {str(row["name"]): int(row["pid"]) for row in json.loads(path.read_text())}


# ---------------------------------------------------------------- report


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def kind_rows(phase: Phase) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for kind in sorted(phase.latencies, key=_kind_order):
        values = phase.latencies[kind]
        rows.append(
            {
                "phase": phase.name,
                "clients": phase.clients,
                "kind": kind,
                "ops": len(values),
                "ops_per_s": round(len(values) / phase.seconds, 2),
                "mib_per_s": round(phase.bytes_moved[kind] / MIB / phase.seconds, 2),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            }
        )
    return rows


def _kind_order(kind: str) -> tuple[str, int]:
    """ "store 64 KiB" -> ("store", 65536): by operation, then by size."""
    operation, number, unit = kind.rsplit(" ", 2)
    return operation, int(number) * (MIB if unit == "MiB" else KIB)


def table(load: Phase, baseline: Phase) -> str:
    base = {str(row["kind"]): row for row in kind_rows(baseline)}
    lines = [
        f"{'kind':<18} {'ops':>5} {'ops/s':>7} {'MiB/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'x base ops/s':>12} {'x base p50':>10}"
    ]
    for row in kind_rows(load):
        reference = base.get(str(row["kind"]))
        ratio_ops = ratio_p50 = "-"
        if reference is not None:
            ratio_ops = f"{float(str(row['ops_per_s'])) / float(str(reference['ops_per_s'])):.2f}"
            ratio_p50 = f"{float(str(row['p50_ms'])) / float(str(reference['p50_ms'])):.2f}"
        lines.append(
            f"{row['kind']:<18} {row['ops']:>5} {row['ops_per_s']:>7} {row['mib_per_s']:>7} "
            f"{row['p50_ms']:>8} {row['p99_ms']:>8} {ratio_ops:>12} {ratio_p50:>10}"
        )
    return "\n".join(lines)


def memory_rows(sampler: MemorySampler) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, samples in sampler.samples.items():
        values = [value for _, value in samples if value is not None]
        if not values:
            continue
        rows.append(
            {
                "process": name,
                "pid": sampler.processes[name],
                "rss_start_mib": values[0],
                "rss_peak_mib": max(values),
                "rss_end_mib": values[-1],
                "samples": len(values),
                "exited": samples[-1][1] is None,
                "series": samples,
            }
        )
    return rows


def local_only(url: str) -> str:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"load: only 127.0.0.1 is contacted, got {url}")
    return url


def make_target(arguments: argparse.Namespace) -> Target:
    if not arguments.sdk:
        url = local_only(arguments.backend).rstrip("/")
        try:
            requests.get(f"{url}/v1/api", timeout=5).raise_for_status()
        except requests.RequestException as error:
            raise SystemExit(
                f"load: no publisher/aggregator answers at {url} ({type(error).__name__}): "
                "start `make up` first, or pass --backend"
            ) from None
        return BackendTarget(url)
    from backend.chain.devnet import dev_accounts
    from backend.chain.errors import ChainError
    from backend.sdk.config import ClientSettings, load_client, resolve_rpc_url

    rpc_url = local_only(resolve_rpc_url(arguments.rpc_url))
    key_dir = Path(arguments.work_dir)
    key_dir.mkdir(parents=True, exist_ok=True)
    clients = []
    for account in SDK_ACCOUNTS:
        key_file = key_dir / f"account-{account}.key"
        key_file.write_text(bytes(dev_accounts()[account].key).hex())
        key_file.chmod(0o600)
        try:
            client = load_client(ClientSettings(rpc_url, key_file, arguments.deployment))
        except ChainError as error:  # ChainUnreachable, DeploymentError
            raise SystemExit(f"load: {error}: start `make up` first, or pass --rpc-url") from None
        for node in client.committee_nodes():
            local_only(node.url)
        clients.append(client)
    return SdkTarget(clients)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-ops", type=int, default=20_000, help="operation budget per phase")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="0: no baseline")
    parser.add_argument("--backend", default="http://127.0.0.1:8080")
    parser.add_argument("--sdk", action="store_true", help="SDK straight to the nodes")
    parser.add_argument("--rpc-url")
    parser.add_argument("--deployment", type=Path)
    parser.add_argument("--processes", type=Path, default=DEFAULT_PROCESSES)
    parser.add_argument("--work-dir", default="/tmp/walrus-load")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--no-verify", action="store_true", help="skip the final read-back")
    parser.add_argument(
        "--record-reliability",
        action="store_true",
        help="add the 'Load' rows to tests/reliability/results.json",
    )
    arguments = parser.parse_args(argv)
    if arguments.clients < 1 or arguments.seconds <= 0 or arguments.max_ops < 1:
        parser.error("--clients, --seconds and --max-ops must be positive")

    from bench.report import Report

    report = Report(RESULTS, save=not arguments.no_save, echo=False)
    emit = report.emit
    target = make_target(arguments)
    processes = read_processes(arguments.processes)
    if not processes:
        print(f"load: no {arguments.processes}: memory is not sampled", file=sys.stderr)
    sampler = MemorySampler(processes)
    sampler.start()
    pool = Pool()
    load_before = os.getloadavg()
    baseline = Phase("baseline", 1)
    if arguments.baseline_seconds > 0:
        baseline = run_phase(
            target, pool, "baseline", 1, arguments.baseline_seconds, arguments.max_ops
        )
    load = run_phase(target, pool, "load", arguments.clients, arguments.seconds, arguments.max_ops)
    sampler.stop()
    load_after = os.getloadavg()
    checked, lost = 0, dict[str, int]()
    if not arguments.no_verify:
        checked, lost = verify_all(target, pool, min(arguments.clients, 8))

    common = {
        "bench": "load",
        "mode": "sdk" if arguments.sdk else "backend",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg_before": [round(value, 2) for value in load_before],
        "loadavg_after": [round(value, 2) for value in load_after],
    }
    for phase in (baseline, load):
        emit(
            common
            | {
                "phase": phase.name,
                "clients": phase.clients,
                "seconds": round(phase.seconds, 1),
                "operations": phase.operations,
                "errors": sum(phase.errors.values()),
                "error_rate": round(sum(phase.errors.values()) / max(1, phase.operations), 4),
                "errors_by_kind": dict(phase.errors),
                "statuses": dict(phase.statuses),
            }
        )
        for row in kind_rows(phase):
            emit(common | row)
    for row in memory_rows(sampler):
        emit(common | {"phase": "memory"} | row)
    verified: dict[str, object] = {"phase": "verify", "blobs": checked}
    emit(common | verified | {"lost": sum(lost.values()), "lost_by_kind": lost})

    for phase in (baseline, load):
        print(
            f"\n{phase.name}: {phase.clients} client(s), {phase.seconds:.1f} s, "
            f"{phase.operations} operations, {sum(phase.errors.values())} errors"
        )
        for kind, count in phase.errors.most_common():
            print(f"  error x{count}  {kind}\n    e.g. {phase.error_samples[kind]}")
        for status, count in sorted(phase.statuses.items()):
            print(f"  {status}: {count}")
    print("\nbaseline phase (1 client):\n")
    print(table(baseline, baseline))
    print("\nload phase (ratios against the 1-client baseline of the same run):\n")
    print(table(load, baseline))
    print(f"\n{'process':<22} {'start MiB':>9} {'peak MiB':>9} {'end MiB':>9}")
    for row in memory_rows(sampler):
        print(
            f"{row['process']:<22} {row['rss_start_mib']:>9} {row['rss_peak_mib']:>9} "
            f"{row['rss_end_mib']:>9}{'  (exited)' if row['exited'] else ''}"
        )
    peaks = [float(str(row["rss_peak_mib"])) for row in memory_rows(sampler)]
    print(f"{'sum of the peaks':<22} {'':>9} {sum(peaks):>9.1f}")
    print(
        f"\nload average before {', '.join(f'{v:.2f}' for v in load_before)}, "
        f"after {', '.join(f'{v:.2f}' for v in load_after)} ({os.cpu_count()} cpus)"
    )
    if not arguments.no_verify:
        print(f"read back after the load: {checked} blobs, {sum(lost.values())} lost {lost}")
    if arguments.record_reliability:
        mode = "sdk" if arguments.sdk else "backend"
        record_reliability(mode, arguments.clients, arguments.seconds, load, checked, lost)
    report.close(completed=True)
    if not arguments.no_save:
        print(f"appended {len(report.lines)} lines to {os.path.relpath(RESULTS)}")
    return 1 if load.errors or baseline.errors or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
