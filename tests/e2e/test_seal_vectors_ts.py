"""The browser's Seal port (frontend/src/seal, TypeScript) against the Python one, under
node: the committed version-1 and version-2 vectors and fresh Python blobs of edge sizes
decrypt in TypeScript from key-server responses (Python encrypts -> TS decrypts), blobs
encrypted in TypeScript decrypt in Python (TS encrypts -> Python decrypts), and altered
bytes are refused as SealTampered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backend.core.seal.envelope import (
    X25519KeyPair,
    decrypt_blob,
    encrypt_blob,
    open_share,
    seal_response,
)
from backend.core.seal.header import parse_header
from tests.integration.network import REPO_ROOT
from tests.unit.test_seal_stream import (
    IDENTITY,
    POLICY,
    V1_BLOB,
    V1_PLAINTEXT,
    V2_BLOB,
    V2_PLAINTEXT,
    VECTOR_SERVERS,
)

FRONTEND = REPO_ROOT / "frontend"
ESBUILD = FRONTEND / "node_modules" / ".bin" / "esbuild"
ENTRY = Path(__file__).with_name("seal_vectors_port.ts")
CHAIN_ID = 31337
SEGMENT = 64


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The port and its @noble dependencies bundled into one node script."""
    if not ESBUILD.is_file() or shutil.which("node") is None:
        raise RuntimeError("node and frontend/node_modules are needed: run scripts/bootstrap")
    bundle = tmp_path_factory.mktemp("seal-port") / "seal_port.mjs"
    subprocess.run(
        [
            str(ESBUILD),
            str(ENTRY),
            "--bundle",
            "--platform=node",
            "--format=esm",
            f"--outfile={bundle}",
            "--log-level=warning",
        ],
        cwd=FRONTEND,
        check=True,
        timeout=120,
    )
    return bundle


def run_port(bundle: Path, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(bundle)],
        input=json.dumps(request).encode(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def decrypt_case(blob: bytes, servers: list[X25519KeyPair]) -> dict[str, Any]:
    """What a browser gets: each key server's share encrypted to a session key."""
    header = parse_header(blob)
    session = X25519KeyPair.generate()
    responses = [
        {
            "server_public": server.public_key.hex(),
            "response": seal_response(
                open_share(header, server), header, server.public_key, session.public_key
            ).hex(),
        }
        for server in servers
    ]
    return {
        "blob": blob.hex(),
        "session_private": session.private_key.hex(),
        "responses": responses,
    }


def python_blob(plaintext: bytes, servers: list[X25519KeyPair]) -> bytes:
    return encrypt_blob(
        plaintext,
        chain_id=CHAIN_ID,
        policy=POLICY,
        identity=IDENTITY,
        server_public_keys=[server.public_key for server in servers],
        threshold=2,
        segment_size=SEGMENT,
    )


SIZES = (0, 1, SEGMENT - 1, SEGMENT, 3 * SEGMENT, 3 * SEGMENT + 5, 70_000)


def test_python_blobs_decrypt_in_typescript(port: Path) -> None:
    servers = [X25519KeyPair.generate() for _ in range(3)]
    fresh = {size: os.urandom(size) for size in SIZES}
    cases = [
        decrypt_case(V1_BLOB, VECTOR_SERVERS[1:]),
        decrypt_case(V2_BLOB, VECTOR_SERVERS[::2]),
        *(decrypt_case(python_blob(data, servers), servers[:2]) for data in fresh.values()),
    ]
    answer = run_port(port, {"decrypt": cases, "encrypt": []})
    expected = [V1_PLAINTEXT, V2_PLAINTEXT, *fresh.values()]
    assert [item.get("plaintext") for item in answer["decrypted"]] == [
        data.hex() for data in expected
    ]


def test_altered_blobs_and_responses_are_refused_in_typescript(port: Path) -> None:
    flipped = bytearray(V2_BLOB)
    flipped[-20] ^= 0x01
    truncated = V2_BLOB[: -(SEGMENT + 16)]  # the last segment dropped
    one_share = decrypt_case(V2_BLOB, VECTOR_SERVERS[:1])
    bad_response = decrypt_case(V2_BLOB, VECTOR_SERVERS[:2])
    tampered = bytearray.fromhex(bad_response["responses"][0]["response"])
    tampered[40] ^= 0x80
    bad_response["responses"][0]["response"] = tampered.hex()
    cases = [
        decrypt_case(bytes(flipped), VECTOR_SERVERS[:2]),
        decrypt_case(truncated, VECTOR_SERVERS[:2]),
        one_share,
        bad_response,
    ]
    errors = [
        item.get("error", "")
        for item in run_port(port, {"decrypt": cases, "encrypt": []})["decrypted"]
    ]
    assert errors[0].startswith("SealTampered") and errors[1].startswith("SealTampered")
    assert "need 2 distinct shares, got 1" in errors[2]
    assert errors[3].startswith("SealTampered: key server response")


def test_typescript_blobs_decrypt_in_python(port: Path) -> None:
    servers = [X25519KeyPair.generate() for _ in range(3)]
    plaintexts = [os.urandom(size) for size in SIZES]
    request = {
        "decrypt": [],
        "encrypt": [
            {
                "plaintext": data.hex(),
                "server_publics": [server.public_key.hex() for server in servers],
                "chain_id": CHAIN_ID,
                "policy": POLICY.hex(),
                "identity": IDENTITY.hex(),
                "threshold": 2,
                "segment_size": SEGMENT,
            }
            for data in plaintexts
        ],
    }
    for data, sealed_hex in zip(plaintexts, run_port(port, request)["sealed"], strict=True):
        sealed = bytes.fromhex(sealed_hex)
        header = parse_header(sealed)
        assert (header.version, header.chain_id, header.policy, header.identity) == (
            2,
            CHAIN_ID,
            POLICY,
            IDENTITY,
        )
        assert (header.threshold, header.segment_size, len(header.entries)) == (2, SEGMENT, 3)
        shares = [open_share(header, server) for server in servers[1:]]
        assert decrypt_blob(sealed, shares) == data
