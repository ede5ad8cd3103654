"""Bad input (issue 13, part 3): hypothesis fuzzing of every wire parser a node, the SDK or
the backend applies to bytes from the network: blob metadata, slivers, recovery symbols,
inconsistency proofs, blob ids, the quilt index and records and quilt patch ids, and the Seal
header. Inputs are random bytes and valid encodings with bits flipped, truncated or extended.

A parser may accept an input or raise a named CoreError subclass; any other exception (an
IndexError, a struct.error, a crash) is a failure, reported with the input."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core.blob_id import BlobId
from backend.core.encoder import encode_blob
from backend.core.errors import CoreError
from backend.core.inconsistency import InconsistencyProof
from backend.core.metadata import UnverifiedMetadata
from backend.core.quilt.layout import (
    QuiltFile,
    build_quilt,
    index_length,
    parse_index,
    parse_record,
    stream_of_blob,
)
from backend.core.quilt.patch_id import QuiltPatchId
from backend.core.recovery_symbols import RecoverySymbol, recovery_symbol
from backend.core.seal.envelope import X25519KeyPair, decrypt_blob, encrypt_blob, open_share
from backend.core.seal.header import VERSION_SINGLE, SealHeader, parse_header
from backend.core.slivers import UnverifiedSliver
from tests.reliability.scenarios import ScenarioLog

CATEGORY = "Bad input (parser fuzzing)"
N_SHARDS = 8
EXAMPLES = int(os.environ.get("WALRUS_FUZZ_EXAMPLES", "40")) * 10

_encoded = encode_blob(os.urandom(3000), N_SHARDS)
_pair = _encoded.sliver_pair(0)
_quilt = build_quilt(
    [QuiltFile("a.txt", b"hello", {"k": "v"}), QuiltFile("b.bin", os.urandom(700))], N_SHARDS
)
_stream = stream_of_blob(_quilt.blob, N_SHARDS)
_index = _stream[: index_length(_stream)]
_first_patch = _quilt.patches[0]
_seal_servers = [X25519KeyPair.generate() for _ in range(3)]
_keys = [server.public_key for server in _seal_servers]
_sealed = encrypt_blob(
    os.urandom(1000),
    chain_id=31337,
    policy=bytes(20),
    identity=bytes(range(32)),
    server_public_keys=_keys,
    threshold=2,
    segment_size=64,  # 16 segments: the STREAM layout, not only the header
)
_seal_shares = [open_share(parse_header(_sealed), server) for server in _seal_servers[:2]]
_v1_fields = {"version": VERSION_SINGLE, "segment_size": 0, "nonce": os.urandom(24)}
_sealed_v1_header = SealHeader(**{**parse_header(_sealed).__dict__, **_v1_fields}).to_bytes()
PARSERS: dict[str, tuple[Callable[[bytes], Any], bytes]] = {
    "blob metadata (UnverifiedMetadata.from_bytes)": (
        UnverifiedMetadata.from_bytes,
        _encoded.metadata.to_bytes(),
    ),
    "sliver (UnverifiedSliver.from_bytes)": (UnverifiedSliver.from_bytes, _pair[0].to_bytes()),
    "recovery symbol (RecoverySymbol.from_bytes)": (
        lambda raw: RecoverySymbol.from_bytes(raw, N_SHARDS),
        recovery_symbol(_pair[1], 3).to_bytes(),
    ),
    "inconsistency proof (InconsistencyProof.from_bytes)": (
        lambda raw: InconsistencyProof.from_bytes(raw, N_SHARDS),
        InconsistencyProof(
            _pair[0].kind.other,
            3,
            tuple(recovery_symbol(pair[0], 3) for pair in map(_encoded.sliver_pair, range(3))),
        ).to_bytes(),
    ),
    "blob id (BlobId.from_base64)": (
        lambda raw: BlobId.from_base64(raw.decode("latin-1")),
        _encoded.blob_id.to_base64().encode(),
    ),
    "quilt index (parse_index)": (parse_index, _index),
    "quilt record (parse_record)": (
        parse_record,
        _stream[_first_patch.start : _first_patch.end],
    ),
    "quilt patch id (QuiltPatchId.parse)": (
        lambda raw: QuiltPatchId.parse(raw.decode("latin-1")),
        str(QuiltPatchId(_encoded.blob_id, _first_patch.start, _first_patch.end)).encode(),
    ),
    "Seal header (parse_header)": (parse_header, _sealed),
    "Seal version-1 header (parse_header)": (parse_header, _sealed_v1_header),
    "Seal blob, segmented (decrypt_blob)": (
        lambda raw: decrypt_blob(raw, _seal_shares),
        _sealed,
    ),
}


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """`valid` with a few bits flipped, cut short or extended, or plain random bytes."""
    choice = draw(st.integers(0, 3))
    if choice == 0 or not valid:
        return draw(st.binary(max_size=2 * len(valid) + 64))
    raw = bytearray(valid)
    if choice == 1:
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, len(raw) - 1))
            raw[position] ^= 1 << draw(st.integers(0, 7))
        return bytes(raw)
    if choice == 2:
        return bytes(raw[: draw(st.integers(0, len(raw) - 1))])
    return bytes(raw) + draw(st.binary(min_size=1, max_size=64))


def fuzz_parser(
    name: str, parse: Callable[[bytes], Any], valid: bytes, scenarios: ScenarioLog
) -> list[str]:
    """Run `parse` on mutations of `valid`; the crashes (not CoreError), as reproductions."""
    scenario = scenarios.scenario(CATEGORY, name)
    crashes: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(raw=mutated(valid))
    def check(raw: bytes) -> None:
        try:
            parse(raw)
        except CoreError:
            pass
        except Exception as error:
            crashes.append(f"{name}: {type(error).__name__}: {error} on {raw[:48].hex()}")
            scenario.run(failed=True)
            return
        scenario.run()

    check()
    scenario.note = "; ".join(crashes[:2])
    return crashes


def test_every_parser_accepts_or_names_the_problem(scenarios: ScenarioLog) -> None:
    crashes: list[str] = []
    for name, (parse, valid) in PARSERS.items():
        parse(valid)  # the valid sample parses: the mutations start from a real encoding
        crashes += fuzz_parser(name, parse, valid, scenarios)
    assert not crashes, crashes[:10]
