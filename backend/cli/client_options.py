"""Options every blob command shares (chain, wallet, deployment, --json) and the translation
of SDK, chain and core errors into one-line `click.ClickException`s (exit 1).

New commands use `@connection_options`: the command gets one ``connection`` argument (a
:class:`Connection`: ``connection.client()`` connects once, on first use) and ``as_json``,
instead of the four connection parameters. `@client_options` + `make_client(...)` is the
older form, kept for the commands that still use it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from backend.chain.errors import ChainError, ContractRevert
from backend.cli.revert_messages import explain_revert
from backend.core.errors import CoreError
from backend.sdk.client import Client, parse_blob_id
from backend.sdk.config import ClientSettings, load_client
from backend.sdk.errors import SdkError

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "Connection",
    "client_options",
    "connection_options",
    "emit_json",
    "make_client",
    "parse_blob_id",
    "with_user_errors",
]

CONNECTION_PARAMETERS = ("rpc_url", "private_key_file", "deployment_file", "node_timeout")


def client_options(command: F) -> F:
    """Adds --rpc-url, --private-key-file, --deployment, --node-timeout and --json."""
    options = [
        click.option(
            "--rpc-url",
            envvar="WALRUS_RPC_URL",
            help="Chain JSON-RPC URL (env WALRUS_RPC_URL; default: the running devnet).",
        ),
        click.option(
            "--private-key-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="File with the wallet's hex private key (or env WALRUS_PRIVATE_KEY; "
            "devnet default: the first anvil account).",
        ),
        click.option(
            "--deployment",
            "deployment_file",
            envvar="WALRUS_DEPLOYMENT",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Deployment JSON (default: deployments/<chain id>.json).",
        ),
        click.option(
            "--node-timeout",
            type=click.FloatRange(min=0.1),
            default=10.0,
            show_default=True,
            help="Seconds to wait for one storage node request.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass
class Connection:
    """Where a command's client comes from; `client()` connects on first use only (so
    commands that fail on their own input never touch the chain)."""

    settings: ClientSettings
    _client: Client | None = field(default=None, repr=False)

    def client(self) -> Client:
        if self._client is None:
            self._client = load_client(self.settings)
        return self._client


def connection_options(command: F) -> F:
    """Like `client_options`, but the command receives ``connection: Connection`` (and
    ``as_json``) instead of the four connection parameters."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rpc_url, key_file, deployment_file, timeout = (
            kwargs.pop(name) for name in CONNECTION_PARAMETERS
        )
        settings = ClientSettings(rpc_url, key_file, deployment_file, timeout)
        return command(*args, connection=Connection(settings), **kwargs)

    return client_options(wrapper)  # type: ignore[return-value]


def make_client(
    rpc_url: str | None,
    private_key_file: Path | None,
    deployment_file: Path | None,
    node_timeout: float,
) -> Client:
    return load_client(ClientSettings(rpc_url, private_key_file, deployment_file, node_timeout))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into a one-line message and exit status 1."""
    try:
        yield
    except ContractRevert as error:
        raise click.ClickException(explain_revert(error)) from None
    except (SdkError, ChainError, CoreError) as error:
        raise click.ClickException(str(error)) from None


def with_user_errors(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))
