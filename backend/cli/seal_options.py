"""Seal options of `walrus store` / `walrus read` (a small hook called by backend/cli/blobs.py).

Key servers, first match: ``--key-server URL`` (repeatable; the key each URL answers is
trusted); ``--key-server-id ID`` (repeatable: those KeyServerRegistry entries);
``WALRUS_KEY_SERVERS`` (comma-separated URLs, trusted); ``WALRUS_KEY_SERVER_IDS``
(comma-separated registry ids); the ids the deployment file trusts (its ``"seal"`` section,
with its threshold). Nothing named: NoKeyServers, never "every registered entry" (the
registry is permissionless; docs/seal.md). Registry entries are held to their registered
keys (a server answering another key is refused: KeyServerKeyMismatch).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from backend.chain.compiler import compile_contracts
from backend.core.seal.header import is_sealed
from backend.sdk.client import Client
from backend.sdk.config import resolve_deployment
from backend.sdk.seal import (
    DEFAULT_THRESHOLD,
    NoKeyServers,
    SealClient,
    key_server_registry,
    key_server_urls_from_env,
)

F = TypeVar("F", bound=Callable[..., Any])
KEY_SERVER_IDS_ENV: Final = "WALRUS_KEY_SERVER_IDS"


@dataclass(frozen=True)
class SealOptions:
    key_servers: tuple[str, ...]
    key_server_ids: tuple[int, ...] = ()
    encrypt: bool = False
    policy: str | None = None
    identity: str | None = None
    threshold: int | None = None
    decrypt: bool = True
    deployment_file: Path | None = None
    """The command's --deployment (None: $WALRUS_DEPLOYMENT or deployments/<chain id>.json)."""

    def sealer(self, client: Client) -> SealClient:
        """The key servers the user named (first match: --key-server, --key-server-id,
        WALRUS_KEY_SERVERS, WALRUS_KEY_SERVER_IDS), else the ones the deployment trusts;
        NoKeyServers when nothing names any. With --threshold, that t."""
        if self.key_servers and self.key_server_ids:
            raise click.ClickException("give --key-server URLs or --key-server-id ids, not both")
        threshold = self.threshold or DEFAULT_THRESHOLD
        if self.key_servers:
            return SealClient(client, list(self.key_servers), threshold=threshold)
        ids = self.key_server_ids
        if not ids:
            urls = key_server_urls_from_env()
            if urls:
                return SealClient(client, urls, threshold=threshold)
            ids = _env_ids()
        artifacts = compile_contracts()  # cached: the client was connected with them
        deployment = resolve_deployment(self.deployment_file, client.chain.chain_id, artifacts)
        if ids:
            registry = key_server_registry(client, deployment, artifacts)
            if registry is None:
                raise NoKeyServers("key server ids need a deployment with a KeyServerRegistry")
            return SealClient.from_registry(client, registry, ids=ids, threshold=threshold)
        trusted = SealClient.from_deployment(client, deployment, artifacts)
        trusted.threshold = self.threshold or trusted.threshold  # the deployment's t
        return trusted


def _env_ids() -> tuple[int, ...]:
    """WALRUS_KEY_SERVER_IDS as registry ids (NoKeyServers naming a bad one)."""
    ids = []
    for item in filter(None, map(str.strip, os.environ.get(KEY_SERVER_IDS_ENV, "").split(","))):
        if not item.isdigit() or int(item) < 1:
            raise NoKeyServers(f"{KEY_SERVER_IDS_ENV}: {item!r} is not a key server id (>= 1)")
        ids.append(int(item))
    return tuple(ids)


def _key_server_option(command: F) -> F:
    with_ids = click.option(
        "--key-server-id",
        "key_server_ids",
        type=click.IntRange(min=1),
        multiple=True,
        help="A key server registered on chain that you trust, by id (repeat; walrus "
        "keyserver list; env WALRUS_KEY_SERVER_IDS, comma-separated); default: the ids the "
        "deployment file trusts.",
    )(command)
    return click.option(
        "--key-server",
        "key_servers",
        multiple=True,
        help="Seal key server URL, its key trusted as answered (repeat; env "
        "WALRUS_KEY_SERVERS, comma-separated); default: the key servers the deployment "
        "file trusts.",
    )(with_ids)


def seal_store_options(command: F) -> F:
    """Adds --encrypt --policy --id --threshold --key-server; passes ``seal: SealOptions``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = SealOptions(
            key_servers=tuple(kwargs.pop("key_servers")),
            key_server_ids=tuple(kwargs.pop("key_server_ids")),
            encrypt=kwargs.pop("encrypt"),
            policy=kwargs.pop("policy"),
            identity=kwargs.pop("seal_id"),
            threshold=kwargs.pop("threshold"),
            deployment_file=kwargs.get("deployment_file"),
        )
        return command(*args, seal=options, **kwargs)

    decorated: Any = wrapper
    for option in (
        click.option(
            "--threshold",
            type=click.IntRange(1, 255),
            help="t of the key servers (default: the deployment's, else 2).",
        ),
        click.option("--id", "seal_id", help="Seal identity: 32 bytes as 64 hex digits."),
        click.option("--policy", help="Policy contract address deciding who may decrypt."),
        click.option("--encrypt", is_flag=True, help="Seal-encrypt before storing."),
    ):
        decorated = option(decorated)
    return _key_server_option(decorated)  # type: ignore[no-any-return]


def seal_read_options(command: F) -> F:
    """Adds --key-server and --no-decrypt; passes ``seal: SealOptions``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = SealOptions(
            key_servers=tuple(kwargs.pop("key_servers")),
            key_server_ids=tuple(kwargs.pop("key_server_ids")),
            decrypt=not kwargs.pop("no_decrypt"),
            deployment_file=kwargs.get("deployment_file"),
        )
        return command(*args, seal=options, **kwargs)

    decorated: Any = click.option(
        "--no-decrypt", is_flag=True, help="Output a Seal blob's ciphertext as stored."
    )(wrapper)
    return _key_server_option(decorated)  # type: ignore[no-any-return]


def encrypt_for_store(data: bytes, client: Client, options: SealOptions) -> bytes:
    """``data`` Seal-encrypted when --encrypt was given (else unchanged)."""
    if not options.encrypt:
        if options.policy or options.identity:
            raise click.ClickException("--policy and --id need --encrypt")
        return data
    if not options.policy or not options.identity:
        raise click.ClickException("--encrypt needs --policy <address> and --id <64 hex digits>")
    try:
        identity = bytes.fromhex(options.identity.removeprefix("0x"))
    except ValueError:
        raise click.ClickException(f"--id {options.identity!r} is not hex") from None
    return options.sealer(client).seal(data, policy=options.policy, identity=identity)


def decrypt_after_read(data: bytes, client: Client, options: SealOptions) -> bytes:
    """``data`` decrypted when it is a Seal blob (unless --no-decrypt)."""
    if not options.decrypt or not is_sealed(data):
        return data
    try:
        sealer = options.sealer(client)
    except NoKeyServers as error:
        raise click.ClickException(
            f"the blob is Seal-encrypted and {error}; or --no-decrypt for the ciphertext"
        ) from None
    return sealer.decrypt(data)
