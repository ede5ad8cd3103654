"""Red Stuff encode / read throughput, peak memory, and two same-run limits (JSON lines).

For each blob size and shard count (and each code that supports it) this prints one JSON
line with:
- encode_mib_s: `encode_blob` (all slivers + metadata + blob id), MiB of unencoded data/s;
- read_default_mib_s: what a reader does with p systematic primary slivers off the wire:
  verify them against the metadata, decode, default consistency check;
- read_strict_mib_s: the same with the strict check (full re-encode, compare blob id);
- read_secondary_mib_s: verify s secondary slivers, decode, default check (the slow path);
- peak_encode_x / peak_read_x: peak traced memory (tracemalloc, numpy included) / blob size;
- rs_1d_mib_s: baseline, one plain RS pass (k = s, m = n) over the same bytes;
- hash_limit_mib_s: SHA-256 speed (one core, this run) x p*s / (2 n^2), the issue's bound
  for hashing every symbol of the n x n matrix twice; pct_of_hash_limit = encode / limit.

Usage: python bench/encoding.py [--sizes 1,16,64] [--shards 10,100,1000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backend.core.decoder import ConsistencyCheck, decode_blob
from backend.core.encoder import encode_blob
from backend.core.encoding_types import MAX_SHARDS, EncodingType
from backend.core.expansion import code_for, extend
from backend.core.merkle import hash_leaves
from backend.core.metadata import VerifiedMetadata
from backend.core.params import EncodingParams
from backend.core.rs import rs_code
from backend.core.slivers import UnverifiedSliver, VerifiedSliver, verify_sliver, verify_slivers

MIB = 1 << 20
VERIFY_RUN_BYTES = 16 * MIB


def best_seconds(action: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def peak_ratio(action: Callable[[], object], size: int) -> float:
    gc.collect()
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return round(peak / max(size, 1), 2)


def sha256_mib_s(data: bytes) -> float:
    seconds = best_seconds(lambda: hashlib.sha256(data).digest(), 3)
    return len(data) / MIB / seconds


def rs_1d_mib_s(data: bytes, encoding_type: EncodingType, n: int, repeat: int) -> float:
    s = EncodingParams(n).s
    width = -(-len(data) // s)
    width += width % 2
    shards = np.zeros(s * width, dtype=np.uint8)
    shards[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    code = rs_code(encoding_type, s, n)
    source = shards.reshape(s, width)
    return len(data) / MIB / best_seconds(lambda: code.encode(source), repeat)


def machine() -> dict[str, object]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def run_one(size_mib: int, n: int, encoding_type: EncodingType, repeat: int) -> dict[str, object]:
    size = size_mib * MIB
    data = np.random.default_rng(size_mib * 1000 + n).bytes(size)
    params = EncodingParams(n)
    encode_s = best_seconds(lambda: encode_blob(data, n, encoding_type), repeat)
    encoded = encode_blob(data, n, encoding_type)
    metadata = encoded.metadata
    wire_primary = [s.to_unverified() for s in encoded.primary_slivers[: params.p]]
    wire_secondary = [s.to_unverified() for s in encoded.secondary_slivers[n - params.s :]]

    def read(wire: list, check: ConsistencyCheck) -> Callable[[], bytes]:  # type: ignore[type-arg]
        def action() -> bytes:
            out = decode_blob(metadata, verify_slivers(metadata, wire), check)
            assert len(out) == size
            return out

        return action

    read_default_s = best_seconds(read(wire_primary, ConsistencyCheck.DEFAULT), repeat)
    read_strict_s = best_seconds(read(wire_primary, ConsistencyCheck.STRICT), 1)
    read_secondary_s = best_seconds(read(wire_secondary, ConsistencyCheck.DEFAULT), 1)
    del encoded
    peak_encode = peak_ratio(lambda: encode_blob(data, n, encoding_type), size)
    peak_read = peak_ratio(read(wire_primary, ConsistencyCheck.DEFAULT), size)
    sha = sha256_mib_s(data)
    hash_limit = sha * params.p * params.s / (2 * n * n)
    encode_mib_s = size_mib / encode_s
    return {
        "bench": "encoding",
        "size_mib": size_mib,
        "n": n,
        "encoding_type": int(encoding_type),
        "code": encoding_type.name,
        "encode_mib_s": round(encode_mib_s, 1),
        "read_default_mib_s": round(size_mib / read_default_s, 1),
        "read_strict_mib_s": round(size_mib / read_strict_s, 1),
        "read_secondary_mib_s": round(size_mib / read_secondary_s, 1),
        "peak_encode_x": peak_encode,
        "peak_read_x": peak_read,
        "rs_1d_mib_s": round(rs_1d_mib_s(data, encoding_type, n, repeat), 1),
        "sha256_mib_s": round(sha, 1),
        "hash_limit_mib_s": round(hash_limit, 1),
        "pct_of_hash_limit": round(100 * encode_mib_s / hash_limit, 1),
        "load_1min": round(os.getloadavg()[0], 2),
        "machine": machine(),
    }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def verify_kind(
    metadata: VerifiedMetadata, slivers: tuple[VerifiedSliver, ...], repeat: int
) -> dict[str, float]:
    """verify_sliver of each sliver from its wire bytes, and hashing the expanded bytes alone.

    Each timed run covers at least `VERIFY_RUN_BYTES` (small slivers: many passes), so that
    one scheduler hiccup on a shared machine does not decide the result.
    """
    wire = [sliver.to_bytes() for sliver in slivers]
    sliver_bytes = sum(sliver.symbols.nbytes for sliver in slivers)
    passes = max(1, VERIFY_RUN_BYTES // sliver_bytes)
    mib = passes * sliver_bytes / MIB
    kind = slivers[0].kind
    code = code_for(metadata.encoding_type, metadata.params, kind)
    expanded = [extend(code, sliver.symbols[np.newaxis])[0] for sliver in slivers]

    def verify_all() -> None:
        for _ in range(passes):
            for raw in wire:
                verify_sliver(metadata, UnverifiedSliver.from_bytes(raw))

    def hash_all() -> None:
        for _ in range(passes):
            for symbols in expanded:
                hash_leaves(symbols)

    verify_all()  # warm-up: code tables, helper thread, heap
    best = hash_s = cpu = float("inf")
    for _ in range(repeat):  # interleaved, so both see the same machine
        gc.collect()
        cpu_start, start = cpu_seconds(), time.perf_counter()
        verify_all()
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, cpu_seconds() - cpu_start)
        hash_s = min(hash_s, best_seconds(hash_all, 1))
    name = kind.name.lower()
    return {
        f"verify_{name}_mib_s": round(mib / best, 1),
        f"cpu_ms_per_mib_{name}": round(1000 * cpu / mib, 3),
        f"hash_limit_{name}_mib_s": round(mib / hash_s, 1),
        f"pct_of_hash_limit_{name}": round(100 * hash_s / best, 1),
    }


def run_verify(
    sliver_kib: int, n: int, encoding_type: EncodingType, repeat: int
) -> dict[str, object]:
    """A blob whose primary slivers are `sliver_kib` KiB; every sliver of it verified."""
    params = EncodingParams(n)
    symbol_size = max(2, (sliver_kib * 1024 // params.s) & ~1)
    size = symbol_size * params.p * params.s
    data = np.random.default_rng(sliver_kib * 1000 + n).bytes(size)
    encoded = encode_blob(data, n, encoding_type)
    row: dict[str, object] = {
        "bench": "encoding_verify",
        "n": n,
        "encoding_type": int(encoding_type),
        "code": encoding_type.name,
        "symbol_size": symbol_size,
        "primary_sliver_kib": round(params.s * symbol_size / 1024, 1),
        "secondary_sliver_kib": round(params.p * symbol_size / 1024, 1),
    }
    for slivers in (encoded.primary_slivers, encoded.secondary_slivers):
        row.update(verify_kind(encoded.metadata, slivers, repeat))
    row["load_1min"] = round(os.getloadavg()[0], 2)
    row["machine"] = machine()
    return row


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/report.py
    from bench.report import bench_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,16,64", help="blob sizes in MiB")
    parser.add_argument("--shards", default="10,100,1000", help="shard counts n")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs, best is kept")
    parser.add_argument("--codes", default="1,2", help="encoding types to run")
    parser.add_argument(
        "--verify-slivers-kib", default="64,1024,8192", help="primary sliver sizes (verify rows)"
    )
    parser.add_argument("--verify-shards", default="4,20", help="shard counts (verify rows)")
    parser.add_argument(
        "--verify-only", action="store_true", help="only the verify rows (leopard, as nodes run)"
    )
    args = parser.parse_args()
    codes = [EncodingType(int(c)) for c in args.codes.split(",")]
    with bench_report("encoding", incremental=True) as report:
        for n in (int(x) for x in args.verify_shards.split(",")):
            for kib in (int(x) for x in args.verify_slivers_kib.split(",")):
                report.emit(run_verify(kib, n, EncodingType.RS_GF65536_LEOPARD, args.repeat))
        if args.verify_only:
            return
        for n in (int(x) for x in args.shards.split(",")):
            for size_mib in (int(x) for x in args.sizes.split(",")):
                for encoding_type in codes:
                    if n > MAX_SHARDS[encoding_type]:
                        continue
                    report.emit(run_one(size_mib, n, encoding_type, args.repeat))


if __name__ == "__main__":
    main()
