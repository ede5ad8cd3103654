"""`walrus keyserver keygen|run|register|list|trust|update-url|deregister`: a Seal key server
holding one X25519 private key, its entry in the on-chain KeyServerRegistry, and the entries
the deployment file trusts (clients encrypt to those by default; docs/seal.md)."""

from __future__ import annotations

import json
import os
from concurrent import futures
from pathlib import Path
from urllib.parse import urlsplit

import click

from backend.api.keyserver.app import create_keyserver_app
from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import Deployment, deployment_path, write_deployment_file
from backend.chain.keyserver_registry import CONTRACT_NAME as KEY_SERVER_REGISTRY
from backend.chain.keyserver_registry import KeyServerRegistryContract, RegisteredKeyServer
from backend.chain.seal_trust import SECTION as SEAL_SECTION
from backend.chain.seal_trust import SealTrust
from backend.cli.client_options import (
    Connection,
    connection_options,
    emit_json,
    user_errors,
    with_user_errors,
)
from backend.core.seal.envelope import X25519KeyPair
from backend.http_server import serve as serve_http
from backend.sdk.config import named_deployment_file, resolve_deployment, resolve_rpc_url
from backend.sdk.seal import KeyServer, fetch_key_servers, key_server_registry

CHECK_TIMEOUT = 5.0
"""Seconds `walrus keyserver list --check` waits for one key server."""


def load_key(path: Path) -> X25519KeyPair:
    """The key pair whose hex private key is in ``path`` (ClickException if unusable)."""
    try:
        private_key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read key server key {path}: {error}") from None
    if len(private_key) != 32:
        raise click.ClickException(f"{path} must hold a 32-byte hex X25519 private key")
    return X25519KeyPair.from_private(private_key)


@click.group("keyserver")
def keyserver() -> None:
    """Seal key servers: release data-key shares to requesters a policy approves."""


@keyserver.command("keygen")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def keygen(out: Path) -> None:
    """Write a new X25519 private key (hex, mode 0600) and print the public key."""
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    key = X25519KeyPair.generate()
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key.private_key.hex() + "\n")
        file.flush()
        os.fsync(file.fileno())
    click.echo(key.public_key.hex())


@keyserver.command("run")
@click.option(
    "--key-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True
)
@click.option("--rpc-url", envvar="WALRUS_RPC_URL", help="Chain JSON-RPC URL.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8300, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--key-server-id",
    type=click.IntRange(min=1),
    help="This server's KeyServerRegistry entry: refuse to start unless it is active and "
    "holds this key (as Seal key servers check their on-chain object).",
)
@click.option(
    "--deployment",
    "deployment_file",
    envvar="WALRUS_DEPLOYMENT",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Deployment JSON naming the KeyServerRegistry (default: deployments/<chain id>.json).",
)
def run(
    key_file: Path,
    rpc_url: str | None,
    host: str,
    port: int,
    threads: int,
    key_server_id: int | None,
    deployment_file: Path | None,
) -> None:
    """Serve /v1/seal/info and /v1/seal/share (docs/seal.md)."""
    key = load_key(key_file)
    url = resolve_rpc_url(rpc_url)
    artifacts = compile_contracts() if key_server_id is not None else None
    try:
        chain = ChainClient.connect(url, error_abis=artifacts.all_abis() if artifacts else ())
    except Exception as error:  # ChainUnreachable and friends
        raise click.ClickException(f"chain at {url} unreachable: {error}") from None
    registered = ""
    if key_server_id is not None and artifacts is not None:
        with user_errors():
            entry = _own_entry(chain, artifacts, deployment_file, key_server_id, key)
        registered = f" (registered as key server {entry.id}, {entry.name}, {entry.url})"
    app = create_keyserver_app(key, chain)
    click.echo(
        f"walrus key server {key.public_key.hex()} for chain {chain.chain_id} "
        f"on http://{host}:{port}{registered}",
        err=True,
    )
    serve_http(app, host=host, port=port, threads=threads, ident="walrus-keyserver")


def _own_entry(
    chain: ChainClient,
    artifacts: Artifacts,
    deployment_file: Path | None,
    key_server_id: int,
    key: X25519KeyPair,
) -> RegisteredKeyServer:
    """Registry entry ``key_server_id``, checked to be active and to hold ``key``."""
    deployment = resolve_deployment(deployment_file, chain.chain_id, artifacts)
    registry = KeyServerRegistryContract.at(
        chain, deployment.address(KEY_SERVER_REGISTRY), artifacts
    )
    entry = registry.key_server(key_server_id)
    if not entry.active:
        raise click.ClickException(f"key server {key_server_id} is deregistered")
    if entry.public_key != key.public_key:
        raise click.ClickException(
            f"KeyServerKeyMismatch: key server {key_server_id} is registered with public key "
            f"{entry.public_key.hex()}, but this key file's is {key.public_key.hex()}"
        )
    return entry


def _registry(connection: Connection) -> KeyServerRegistryContract:
    """The deployment's KeyServerRegistry, as the wallet's account."""
    return _registry_and_deployment(connection)[0]


def _registry_and_deployment(
    connection: Connection,
) -> tuple[KeyServerRegistryContract, Deployment]:
    client = connection.client()
    artifacts = compile_contracts()
    chain_id = client.chain.chain_id
    deployment = resolve_deployment(connection.settings.deployment_file, chain_id, artifacts)
    registry = key_server_registry(client, deployment, artifacts)
    if registry is None:
        raise click.ClickException(
            f"the deployment for chain {chain_id} has no KeyServerRegistry; redeploy "
            "(walrus devnet deploy)"
        )
    return registry, deployment


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException(f"--url {url!r} is not an http:// or https:// URL")
    return url.rstrip("/")


@keyserver.command("register")
@click.option("--name", required=True, help="Display name (1-64 bytes).")
@click.option("--url", required=True, help="Where the key server answers (http[s]://host:port).")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The key server's private key file; only its public key goes on chain.",
)
@connection_options
@with_user_errors
def register(name: str, url: str, key_file: Path, connection: Connection, as_json: bool) -> None:
    """Register a key server on chain, operated by the wallet; prints its id."""
    url = _checked_url(url)
    public_key = load_key(key_file).public_key
    registry = _registry(connection)
    key_server_id = registry.register(name, url, public_key)
    if as_json:
        emit_json(registry.key_server(key_server_id).to_json())
    else:
        click.echo(f"key server {key_server_id} registered: {name} {url} {public_key.hex()}")


@keyserver.command("list")
@click.option(
    "--check",
    is_flag=True,
    help="Ask each active server's /v1/seal/info whether it answers its registered key; "
    "exit 1 if a trusted one does not (any active one, when the deployment trusts none).",
)
@connection_options
@with_user_errors
def list_key_servers(connection: Connection, as_json: bool, check: bool) -> None:
    """The key servers registered on chain (deregistered ones marked inactive; TRUSTED: the
    deployment file trusts it, so `walrus store --encrypt` uses it by default). Anyone may
    register: an entry listed here is not a vetted one."""
    registry, deployment = _registry_and_deployment(connection)
    trusted = set(deployment.seal.key_server_ids if deployment.seal else ())
    servers = registry.all()
    status = _check(registry.client.chain_id, servers) if check else {}
    if as_json:
        emit_json(
            [
                {
                    **server.to_json(),
                    "trusted": server.id in trusted,
                    **({"status": status[server.id]} if check else {}),
                }
                for server in servers
            ]
        )
    elif not servers:
        click.echo("no key servers registered (walrus keyserver register)")
    else:
        head = (
            f"{'ID':>4}  {'ACTIVE':<6}  {'TRUSTED':<7}  {'NAME':<16}  {'URL':<28}  "
            f"{'PUBLIC KEY':<64}  OPERATOR"
        )
        click.echo(head + ("  STATUS" if check else ""))
        for server in servers:
            active = "yes" if server.active else "no"
            trust = "yes" if server.id in trusted else "no"
            click.echo(
                f"{server.id:>4}  {active:<6}  {trust:<7}  {server.name:<16}  {server.url:<28}  "
                f"{server.public_key.hex()}  {server.operator}"
                + (f"  {status[server.id]}" if check else "")
            )
    failed = [id_ for id_, state in status.items() if state not in ("ok", "inactive")]
    # Anyone may register a key server: a stranger's dead entry is shown, not an error. What
    # fails the check is a server this deployment uses (or any, when it trusts none).
    fatal = [id_ for id_ in failed if id_ in trusted or not trusted]
    others = [id_ for id_ in failed if id_ not in fatal]
    if others:
        click.echo(
            f"{len(others)} untrusted key server(s) failed the check: {_ids(others)} "
            "(not used unless named)",
            err=True,
        )
    if fatal:
        which = "trusted" if trusted else "active"
        raise click.ClickException(
            f"{len(fatal)} {which} key server(s) failed the check: {_ids(fatal)}"
        )


def _ids(ids: list[int]) -> str:
    return ", ".join(str(id_) for id_ in ids)


def _check(chain_id: int, servers: list[RegisteredKeyServer]) -> dict[int, str]:
    """ "ok", "inactive" or why each server is unusable (down, another chain, another key)."""
    active = [server for server in servers if server.active]
    expected = [KeyServer(server.url, server.public_key, server.name) for server in active]
    with futures.ThreadPoolExecutor(max(1, len(active))) as pool:
        answers = fetch_key_servers(expected, chain_id, CHECK_TIMEOUT, pool)
    status = {server.id: "inactive" for server in servers}
    for server, answer in zip(active, answers, strict=True):
        status[server.id] = answer if isinstance(answer, str) else "ok"
    return status


@keyserver.command("trust")
@click.argument("key_server_ids", nargs=-1, required=True, type=click.IntRange(min=1))
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    help="How many of them must release a share (default: a majority).",
)
@connection_options
@with_user_errors
def trust(
    key_server_ids: tuple[int, ...],
    threshold: int | None,
    connection: Connection,
    as_json: bool,
) -> None:
    """Record KEY_SERVER_IDS (registry ids, in sealing order) in the deployment file as the
    key servers `walrus store --encrypt`, the SDK's from_deployment and the web page use by
    default. Each must be an active entry; check them first (walrus keyserver list --check)."""
    registry, deployment = _registry_and_deployment(connection)
    ids = tuple(dict.fromkeys(key_server_ids))
    for entry in map(registry.key_server, ids):
        if not entry.active:
            raise click.ClickException(f"key server {entry.id} ({entry.name}) is deregistered")
    chosen = SealTrust(ids, threshold or len(ids) // 2 + 1)
    path = named_deployment_file(connection.settings.deployment_file) or deployment_path(
        deployment.chain_id
    )
    raw = json.loads(path.read_text())  # keep whatever else the file holds
    raw[SEAL_SECTION] = chosen.to_json()
    write_deployment_file(path, raw)
    if as_json:
        emit_json({"deployment": str(path), **chosen.to_json()})
    else:
        click.echo(
            f"{path}: Seal blobs are sealed to key servers {', '.join(map(str, ids))} by "
            f"default, {chosen.threshold} of them needed to decrypt"
        )


@keyserver.command("update-url")
@click.argument("key_server_id", type=click.IntRange(min=1))
@click.argument("url")
@connection_options
@with_user_errors
def update_url(key_server_id: int, url: str, connection: Connection, as_json: bool) -> None:
    """Move key server KEY_SERVER_ID to URL (its operator's wallet only)."""
    url = _checked_url(url)
    registry = _registry(connection)
    registry.update_url(key_server_id, url)
    if as_json:
        emit_json(registry.key_server(key_server_id).to_json())
    else:
        click.echo(f"key server {key_server_id} now at {url}")


@keyserver.command("deregister")
@click.argument("key_server_id", type=click.IntRange(min=1))
@connection_options
@with_user_errors
def deregister(key_server_id: int, connection: Connection, as_json: bool) -> None:
    """Deregister key server KEY_SERVER_ID for good (its operator's wallet only); clients stop
    encrypting to it. Its public key stays reserved."""
    registry = _registry(connection)
    registry.deregister(key_server_id)
    if as_json:
        emit_json(registry.key_server(key_server_id).to_json())
    else:
        click.echo(f"key server {key_server_id} deregistered")
