"""Cost of the compressed <-> EIP-2537 point conversions (JSON lines).

Each storage node converts its BLS confirmation signature to EIP-2537 form, and the client
converts every certificate it submits; the contracts store public keys in that form. This
times backend/core/bls.py's integer-arithmetic conversions against the py_ecc path they
replaced (pure-Python FQ2 decompression), interleaved in the same run, and blspy's own
signing and deserialization as a scale.

Usage: python bench/bls.py [--repeat 200] [--rounds 5] [--no-save]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="calls per timing round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per case")
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()

    from py_ecc.bls.point_compression import (
        compress_G1,
        compress_G2,
        decompress_G1,
        decompress_G2,
    )
    from py_ecc.bls.typing import G1Compressed, G2Compressed
    from py_ecc.fields import optimized_bls12_381_FQ as FQ
    from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
    from py_ecc.optimized_bls12_381.optimized_curve import b, b2, is_on_curve, normalize

    from backend.core.bls import BlsPublicKey, BlsSecretKey, BlsSignature
    from bench.report import bench_report

    def py_ecc_g2_to(signature: BlsSignature) -> bytes:
        data = signature.to_bytes()
        z1, z2 = int.from_bytes(data[:48], "big"), int.from_bytes(data[48:], "big")
        x, y = normalize(decompress_G2(G2Compressed((z1, z2))))
        return b"".join(int(c).to_bytes(64, "big") for c in (*x.coeffs, *y.coeffs))

    def py_ecc_g1_to(public_key: BlsPublicKey) -> bytes:
        z = int.from_bytes(public_key.to_bytes(), "big")
        x, y = normalize(decompress_G1(G1Compressed(z)))
        return x.n.to_bytes(64, "big") + y.n.to_bytes(64, "big")

    def py_ecc_g2_from(data: bytes) -> BlsSignature:
        x0, x1, y0, y1 = (int.from_bytes(data[i : i + 64], "big") for i in range(0, 256, 64))
        point = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
        assert is_on_curve(point, b2)
        z1, z2 = compress_G2(point)
        return BlsSignature.from_bytes(z1.to_bytes(48, "big") + z2.to_bytes(48, "big"))

    def py_ecc_g1_from(data: bytes) -> BlsPublicKey:
        x, y = int.from_bytes(data[:64], "big"), int.from_bytes(data[64:], "big")
        point = (FQ(x), FQ(y), FQ.one())
        assert is_on_curve(point, b)
        return BlsPublicKey.from_bytes(compress_G1(point).to_bytes(48, "big"))

    keys = [BlsSecretKey.from_seed(bytes([i + 1]) * 32) for i in range(16)]
    signatures = [key.sign(f"bench {i}".encode()) for i, key in enumerate(keys)]
    public_keys = [key.public_key() for key in keys]
    signature_eips = [s.to_eip2537() for s in signatures]
    key_eips = [k.to_eip2537() for k in public_keys]
    for signature, key, signature_eip, key_eip in zip(
        signatures, public_keys, signature_eips, key_eips, strict=True
    ):  # both paths must agree before their speeds mean anything
        assert py_ecc_g2_to(signature) == signature_eip and py_ecc_g1_to(key) == key_eip
        assert py_ecc_g2_from(signature_eip) == signature and py_ecc_g1_from(key_eip) == key

    count = len(keys)
    cases: dict[str, Callable[[int], object]] = {
        "g2_to_eip2537": lambda i: signatures[i % count].to_eip2537(),
        "g2_to_eip2537_py_ecc": lambda i: py_ecc_g2_to(signatures[i % count]),
        "g1_to_eip2537": lambda i: public_keys[i % count].to_eip2537(),
        "g1_to_eip2537_py_ecc": lambda i: py_ecc_g1_to(public_keys[i % count]),
        "g2_from_eip2537": lambda i: BlsSignature.from_eip2537(signature_eips[i % count]),
        "g2_from_eip2537_py_ecc": lambda i: py_ecc_g2_from(signature_eips[i % count]),
        "g1_from_eip2537": lambda i: BlsPublicKey.from_eip2537(key_eips[i % count]),
        "g1_from_eip2537_py_ecc": lambda i: py_ecc_g1_from(key_eips[i % count]),
        "blspy_sign": lambda i: keys[i % count].sign(b"scale"),
        "blspy_g2_from_bytes": lambda i: BlsSignature.from_bytes(signatures[i % count].to_bytes()),
    }
    per_call_ms: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(arguments.rounds):  # interleaved: every case sees the same machine load
        for name, case in cases.items():
            repeat = max(1, arguments.repeat // 10) if name.startswith("g2_to_eip2537_py") else 0
            calls = repeat or arguments.repeat
            start = time.perf_counter()
            for i in range(calls):
                case(i)
            per_call_ms[name].append((time.perf_counter() - start) * 1000 / calls)

    row: dict[str, object] = {"bench": "bls_eip2537", "rounds": arguments.rounds}
    for name, samples in per_call_ms.items():
        row[f"{name}_ms"] = round(statistics.median(samples), 4)
    for conversion in ("g2_to", "g1_to", "g2_from", "g1_from"):
        new, old = per_call_ms[f"{conversion}_eip2537"], per_call_ms[f"{conversion}_eip2537_py_ecc"]
        row[f"{conversion}_speedup"] = round(statistics.median(old) / statistics.median(new), 1)
    with bench_report("bls", save=not arguments.no_save) as report:
        report.emit(row)


if __name__ == "__main__":
    main()
