"""Seal through the `walrus` CLI (subprocesses): deploy an allowlist policy, store
--encrypt, read decrypts for allowed wallets only, shared blobs funded by anyone; key
servers registered on chain (`walrus keyserver register|list|trust`): a default store
--encrypt seals to the ones the deployment file trusts, never to an attacker's entries."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.devnet import Devnet, free_port
from backend.core.seal.envelope import X25519KeyPair
from backend.core.seal.header import parse_header
from tests.contracts.blob_registry_env import fresh_client
from tests.e2e.cli_harness import one_line_error, run, wallet_env, write_deployment
from tests.integration.network import Network
from tests.integration.seal_keyservers import (
    KeyServerProcess,
    attacker_key_servers,
    key_servers_running,
)
from tests.integration.user_client import publish_node_urls

MARKER = b"CLI-SEAL-PLAINTEXT-MARKER-52be"
ID = "c0" * 32


@pytest.fixture(scope="module")
def key_servers(
    anvil: Devnet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[KeyServerProcess]]:
    with key_servers_running(anvil.url, tmp_path_factory.mktemp("cli-keyservers")) as servers:
        yield servers


@pytest.fixture(scope="module")
def envs(
    network: Network,
    artifacts: Artifacts,
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    key_servers: list[KeyServerProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, str], dict[str, str]]:
    """CLI environments of the writer (network user) and of a second wallet."""
    publish_node_urls(network)
    registry = network.env.registry.address
    shared, _ = chain.deploy(
        artifacts.abi("SharedBlob"), artifacts.bytecode("SharedBlob"), registry, wal.address
    )
    key_server_registry, _ = chain.deploy(
        artifacts.abi("KeyServerRegistry"), artifacts.bytecode("KeyServerRegistry")
    )
    directory = tmp_path_factory.mktemp("cli-seal")
    deployment_file = write_deployment(
        network,
        artifacts,
        directory,
        SharedBlob=shared.address,
        KeyServerRegistry=key_server_registry.address,
    )
    reader = fresh_client(chain, wal, client_for, b"cli-seal-reader")
    assert reader.account is not None
    servers = {"WALRUS_KEY_SERVERS": ",".join(server.url for server in key_servers)}
    writer_env = wallet_env(network, deployment_file)
    reader_env = wallet_env(network, deployment_file, bytes(reader.account.key))
    return {**writer_env, **servers}, {**reader_env, **servers}


def ok(result: object) -> str:
    completed = result
    assert completed.returncode == 0, completed.stderr.decode()  # type: ignore[attr-defined]
    return completed.stdout.decode()  # type: ignore[attr-defined, no-any-return]


def test_encrypted_store_and_transparent_read(
    envs: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    writer, reader = envs
    policy = json.loads(ok(run("policy", "deploy", "allowlist", "--json", env=writer)))["address"]
    source = tmp_path / "secret.txt"
    source.write_bytes(MARKER * 50)
    stored = json.loads(
        ok(
            run(
                "store",
                str(source),
                "--encrypt",
                "--policy",
                policy,
                "--id",
                ID,
                "--json",
                env=writer,
            )
        )
    )
    blob = stored["blob_id"]
    assert ok(run("read", "--", blob, env=writer)).encode() == MARKER * 50  # the owner may
    cipher = run("read", "--no-decrypt", "--", blob, env=reader)
    assert cipher.returncode == 0 and MARKER not in cipher.stdout
    assert "AccessDenied" in one_line_error(run("read", "--", blob, env=reader))
    reader_address = Account.from_key(reader["WALRUS_PRIVATE_KEY"]).address
    ok(run("policy", "allowlist", "add", policy, reader_address, env=writer))
    assert ok(run("read", "--", blob, env=reader)).encode() == MARKER * 50


def test_shared_blob_funded_and_extended_by_anyone(
    envs: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    writer, reader = envs
    source = tmp_path / "public.txt"
    source.write_bytes(os.urandom(512))
    token = json.loads(ok(run("store", str(source), "--epochs", "2", "--json", env=writer)))[
        "token_id"
    ]
    ok(run("share-blob", str(token), env=writer))
    assert "NotAuthorized" in one_line_error(run("delete", str(token), env=writer))
    funded = json.loads(
        ok(
            run(
                "fund-shared-blob",
                str(token),
                "--amount",
                str(10**12),
                "--extend-epochs",
                "1",
                "--json",
                env=reader,
            )
        )
    )
    assert funded["extension_cost"] > 0 and funded["funds"] == 10**12 - funded["extension_cost"]


def _sealed_keys(blob: str, env: dict[str, str]) -> list[bytes]:
    cipher = run("read", "--no-decrypt", "--", blob, env=env).stdout
    return [entry.server_public_key for entry in parse_header(cipher).entries]


def test_registered_key_servers_are_used_only_once_trusted_never_an_attackers(
    envs: tuple[dict[str, str], dict[str, str]],
    key_servers: list[KeyServerProcess],
    chain: ChainClient,
    tmp_path: Path,
) -> None:
    writer = {name: value for name, value in envs[0].items() if name != "WALRUS_KEY_SERVERS"}
    for index, server in enumerate(key_servers):
        registered = json.loads(
            ok(
                run(
                    *("keyserver", "register", "--name", f"cli-ks-{index}", "--url", server.url),
                    *("--key-file", str(server.key_file), "--json"),
                    env=writer,
                )
            )
        )
        assert registered["id"] == index + 1 and registered["active"] is True
        assert registered["public_key"] == server.key.public_key.hex()  # derived from the file
    listed = json.loads(ok(run("keyserver", "list", "--json", env=writer)))
    assert [(entry["name"], entry["url"], entry["public_key"]) for entry in listed] == [
        (f"cli-ks-{index}", server.url, server.key.public_key.hex())
        for index, server in enumerate(key_servers)
    ]
    table = ok(run("keyserver", "list", env=writer))
    assert "cli-ks-2  " in table and key_servers[2].key.public_key.hex() in table
    duplicate = run(
        *("keyserver", "register", "--name", "again", "--url", "http://127.0.0.1:1"),
        *("--key-file", str(key_servers[0].key_file)),
        env=writer,
    )
    assert "KeyServerRegistryDuplicateKey" in one_line_error(duplicate)
    not_http = run(
        *("keyserver", "register", "--name", "x", "--url", "ftp://127.0.0.1:1"),
        *("--key-file", str(key_servers[0].key_file)),
        env=writer,
    )
    assert "is not an http:// or https:// URL" in one_line_error(not_http)
    wrong_file = run(  # a key server started as entry 1 with entry 2's key refuses to serve
        *("keyserver", "run", "--key-file", str(key_servers[1].key_file)),
        *("--key-server-id", "1", "--port", str(free_port())),
        env=writer,
    )
    assert "KeyServerKeyMismatch: key server 1 is registered" in one_line_error(wrong_file)
    reader = {name: value for name, value in envs[1].items() if name != "WALRUS_KEY_SERVERS"}
    not_theirs = run("keyserver", "deregister", "1", env=reader)
    assert "KeyServerRegistryNotOperator" in one_line_error(not_theirs)

    policy = json.loads(ok(run("policy", "deploy", "allowlist", "--json", env=writer)))["address"]
    source = tmp_path / "registered.txt"
    source.write_bytes(MARKER * 7)
    encrypt = ("store", str(source), "--encrypt", "--policy", policy, "--id", ID, "--json")

    # registered is not trusted: with no trust list anywhere, no "every active entry"
    untrusted = one_line_error(run(*encrypt, env=writer))
    assert "trusts no key servers: see the registered ones with `walrus keyserver list`" in (
        untrusted
    )
    assert "--key-server-id" in untrusted
    bad_ids = one_line_error(run(*encrypt, env={**writer, "WALRUS_KEY_SERVER_IDS": "1,x"}))
    assert "WALRUS_KEY_SERVER_IDS: 'x' is not a key server id" in bad_ids
    too_many = run("keyserver", "trust", "1", "2", "--threshold", "3", env=writer)
    assert "threshold 3 must be between 1 and the 2 trusted" in one_line_error(too_many)
    unknown = run("keyserver", "trust", "1", "9", env=writer)
    assert "KeyServerRegistryUnknownKeyServer" in one_line_error(unknown)
    assert "seal" not in json.loads(Path(writer["WALRUS_DEPLOYMENT"]).read_text())
    trusted = ok(run("keyserver", "trust", "1", "2", "3", env=writer))
    assert "sealed to key servers 1, 2, 3 by default, 2 of them needed" in trusted
    record = json.loads(Path(writer["WALRUS_DEPLOYMENT"]).read_text())
    assert record["seal"] == {"key_server_ids": [1, 2, 3], "threshold": 2}
    assert "KeyServerRegistry" in record["contracts"]  # the rest of the file is kept

    # an attacker registers t = 2 key servers of their own (ids 4 and 5)
    with attacker_key_servers(chain.chain_id) as theirs:
        for index, attacker in enumerate(theirs):
            key_file = tmp_path / f"evil-{index}.key"
            key_file.write_text(attacker.key.private_key.hex())
            evil = ("--name", f"evil-{index}", "--url", attacker.url, "--key-file", str(key_file))
            ok(run("keyserver", "register", *evil, env=reader))
        trust_column = json.loads(ok(run("keyserver", "list", "--json", env=writer)))
        assert [(entry["id"], entry["trusted"]) for entry in trust_column] == [
            (1, True),
            (2, True),
            (3, True),
            (4, False),
            (5, False),
        ]
        lines = ok(run("keyserver", "list", env=writer)).splitlines()
        assert "TRUSTED" in lines[0] and lines[4].split()[:3] == ["4", "yes", "no"]

        blob = json.loads(ok(run(*encrypt, env=writer)))["blob_id"]  # nothing configured
        assert _sealed_keys(blob, writer) == [server.key.public_key for server in key_servers]
        assert ok(run("read", "--", blob, env=writer)).encode() == MARKER * 7
        assert [server.requests for server in theirs] == [[], []]  # not even /v1/seal/info

        by_env = {**writer, "WALRUS_KEY_SERVER_IDS": "2,1"}  # overrides the deployment
        blob = json.loads(ok(run(*encrypt, env=by_env)))["blob_id"]
        assert _sealed_keys(blob, writer) == [
            key_servers[1].key.public_key,
            key_servers[0].key.public_key,
        ]
        assert [server.requests for server in theirs] == [[], []]

    chosen = ("--key-server-id", "3", "--key-server-id", "2")  # as Seal's key server object ids
    stored = ok(
        run("store", str(source), "--encrypt", "--policy", policy, "--id", ID, *chosen, env=writer)
    )
    blob = stored.rsplit("Blob id: ", 1)[1].strip()
    assert _sealed_keys(blob, writer) == [
        key_servers[2].key.public_key,
        key_servers[1].key.public_key,
    ]

    # list --check asks every active server for its key; dead entries of strangers (the
    # attacker's, stopped now, and one more) are shown but do not fail it: anyone may register
    dead_key = tmp_path / "dead.key"
    dead_key.write_text(X25519KeyPair.generate().private_key.hex())
    dead = ("--name", "dead", "--url", f"http://127.0.0.1:{free_port()}")
    ok(run("keyserver", "register", *dead, "--key-file", str(dead_key), env=writer))
    checked = run("keyserver", "list", "--check", env=writer)
    assert checked.returncode == 0, checked.stderr.decode()
    rows = checked.stdout.decode().splitlines()
    assert [row.rsplit("  ", 1)[1] for row in rows[1:4]] == ["ok", "ok", "ok"]
    assert all("did not answer" in row for row in rows[4:7])
    assert "3 untrusted key server(s) failed the check: 4, 5, 6" in checked.stderr.decode()
    # ...a trusted one that is down fails it (exit 1, one line)
    ok(run("keyserver", "trust", "1", "2", "6", env=writer))
    checked = run("keyserver", "list", "--check", env=writer)
    assert checked.returncode == 1
    assert "1 trusted key server(s) failed the check: 6" in checked.stderr.decode()
    ok(run("keyserver", "trust", "1", "2", "3", env=writer))
