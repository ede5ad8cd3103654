"""`walrus keyserver keygen|run`: a Seal key server holding one X25519 private key."""

from __future__ import annotations

import os
from pathlib import Path

import click
import waitress

from backend.api.keyserver.app import create_keyserver_app
from backend.chain.client import ChainClient
from backend.core.seal.envelope import X25519KeyPair
from backend.sdk.config import resolve_rpc_url


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
def run(key_file: Path, rpc_url: str | None, host: str, port: int, threads: int) -> None:
    """Serve /v1/seal/info and /v1/seal/share (docs/seal.md)."""
    key = load_key(key_file)
    url = resolve_rpc_url(rpc_url)
    try:
        chain = ChainClient.connect(url)
    except Exception as error:  # ChainUnreachable and friends
        raise click.ClickException(f"chain at {url} unreachable: {error}") from None
    app = create_keyserver_app(key, chain)
    click.echo(
        f"walrus key server {key.public_key.hex()} for chain {chain.chain_id} "
        f"on http://{host}:{port}",
        err=True,
    )
    waitress.serve(app, host=host, port=port, threads=threads, ident="walrus-keyserver")
