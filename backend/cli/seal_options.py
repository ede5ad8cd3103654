"""Seal options of `walrus store` / `walrus read` (a small hook called by backend/cli/blobs.py).

Key servers, first match: ``--key-server URL`` (repeatable; the key each URL answers is
trusted); ``--key-server-id ID`` (repeatable: those KeyServerRegistry entries);
``WALRUS_KEY_SERVERS`` (comma-separated URLs, trusted); every active entry of the
deployment's KeyServerRegistry; for a deployment without the registry, the file an older
`make up` wrote (.devnet/keyservers.json). Registry entries are held to their registered
keys (a server answering another key is refused: KeyServerKeyMismatch).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from backend.chain.compiler import REPO_ROOT, compile_contracts
from backend.core.seal.header import is_sealed
from backend.sdk.client import Client
from backend.sdk.config import resolve_deployment
from backend.sdk.seal import DEFAULT_THRESHOLD, NoKeyServers, SealClient, key_server_registry

F = TypeVar("F", bound=Callable[..., Any])
KEYSERVERS_FILE = REPO_ROOT / ".devnet" / "keyservers.json"
"""Written by `make up`: ``{"urls": [...], "threshold": t}``."""


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

    def explicit_urls(self) -> list[str]:
        """--key-server URLs, else WALRUS_KEY_SERVERS (empty when neither is given)."""
        if self.key_servers:
            return list(self.key_servers)
        from_env = os.environ.get("WALRUS_KEY_SERVERS", "")
        return [url.strip() for url in from_env.split(",") if url.strip()]

    def sealer(self, client: Client) -> SealClient:
        """Explicit URLs, else the on-chain registry, else the devnet file; NoKeyServers when
        there are none."""
        explicit = self.explicit_urls()
        if self.key_servers and self.key_server_ids:
            raise click.ClickException("give --key-server URLs or --key-server-id ids, not both")
        if explicit and not self.key_server_ids:
            return SealClient(client, explicit)
        artifacts = compile_contracts()  # cached: the client was connected with them
        deployment = resolve_deployment(self.deployment_file, client.chain.chain_id, artifacts)
        registry = key_server_registry(client, deployment, artifacts)
        if registry is not None:
            return SealClient.from_registry(client, registry, ids=self.key_server_ids)
        if self.key_server_ids:
            raise NoKeyServers(
                "--key-server-id needs a deployment with a KeyServerRegistry; redeploy"
            )
        urls = [str(url) for url in _devnet_defaults().get("urls", [])]
        if not urls:
            raise NoKeyServers(
                "no key servers: the deployment has no KeyServerRegistry; pass --key-server URL "
                "(or WALRUS_KEY_SERVERS)"
            )
        return SealClient(client, urls)


def _devnet_defaults(path: Path = KEYSERVERS_FILE) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _key_server_option(command: F) -> F:
    with_ids = click.option(
        "--key-server-id",
        "key_server_ids",
        type=click.IntRange(min=1),
        multiple=True,
        help="A key server registered on chain, by id (repeat; walrus keyserver list); "
        "default: every active one.",
    )(command)
    return click.option(
        "--key-server",
        "key_servers",
        multiple=True,
        help="Seal key server URL, its key trusted as answered (repeat; env "
        "WALRUS_KEY_SERVERS, comma-separated); default: the key servers registered on chain.",
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
        click.option("--threshold", type=click.IntRange(1, 255), help="t of the key servers."),
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
    threshold = options.threshold or int(_devnet_defaults().get("threshold", DEFAULT_THRESHOLD))
    return options.sealer(client).seal(
        data, policy=options.policy, identity=identity, threshold=threshold
    )


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
