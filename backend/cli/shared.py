"""`walrus share-blob | fund-shared-blob | extend-shared-blob`: shared blobs (SharedBlob)."""

from __future__ import annotations

import click

from backend.chain.compiler import compile_contracts
from backend.chain.shared_blob import CONTRACT_NAME, SharedBlobContract
from backend.cli.client_options import Connection, connection_options, emit_json, with_user_errors
from backend.sdk.client import Client
from backend.sdk.config import resolve_deployment


def _shared_blob(connection: Connection) -> tuple[Client, SharedBlobContract]:
    client = connection.client()
    artifacts = compile_contracts()
    deployment = resolve_deployment(
        connection.settings.deployment_file, client.chain.chain_id, artifacts
    )
    contract = client.chain.contract(
        deployment.address(CONTRACT_NAME), artifacts.abi(CONTRACT_NAME)
    )
    return client, SharedBlobContract(client.chain, contract)


@click.command("share-blob")
@click.argument("token_id", type=click.IntRange(min=0))
@connection_options
@with_user_errors
def share_blob(token_id: int, connection: Connection, as_json: bool) -> None:
    """Make TOKEN_ID a shared blob: nobody can delete it any more, anyone may fund it."""
    client, shared = _shared_blob(connection)
    shared.share(client.registry.contract, token_id)
    if as_json:
        emit_json({"token_id": token_id, "shared_blob": shared.address})
    else:
        click.echo(f"Blob token {token_id} is now shared (held by {shared.address}).")


@click.command("fund-shared-blob")
@click.argument("token_id", type=click.IntRange(min=0))
@click.option("--amount", type=click.IntRange(min=1), required=True, help="FROST to add.")
@click.option(
    "--extend-epochs", type=click.IntRange(min=1), help="Also extend by this many epochs."
)
@connection_options
@with_user_errors
def fund_shared_blob(
    token_id: int,
    amount: int,
    extend_epochs: int | None,
    connection: Connection,
    as_json: bool,
) -> None:
    """Add --amount FROST to shared blob TOKEN_ID's funds (anyone may)."""
    client, shared = _shared_blob(connection)
    end_epoch = client.registry.blob_info(token_id).end_epoch
    epoch = client.staking.current_epoch()
    if end_epoch <= epoch:
        # SharedBlob.fund refuses it too (SharedBlobExpired: funds could never be spent);
        # checked here first so that not even the approval is sent
        raise click.ClickException(
            f"shared blob {token_id} expired at epoch {end_epoch} (now {epoch}): its funds "
            "could never be spent, so nothing was sent"
        )
    shared.fund(client.wal, token_id, amount)
    cost = shared.extend(token_id, extend_epochs) if extend_epochs else 0
    result = {"token_id": token_id, "funds": shared.funds(token_id), "extension_cost": cost}
    if as_json:
        emit_json(result)
    else:
        extended = f", extended by {extend_epochs} epochs for {cost} FROST" if cost else ""
        click.echo(f"Funded shared blob {token_id}{extended}; funds now {result['funds']} FROST.")


@click.command("extend-shared-blob")
@click.argument("token_id", type=click.IntRange(min=0))
@click.option("--epochs", type=click.IntRange(min=1), required=True)
@connection_options
@with_user_errors
def extend_shared_blob(token_id: int, epochs: int, connection: Connection, as_json: bool) -> None:
    """Extend shared blob TOKEN_ID by --epochs, paid from its funds (anyone may)."""
    _, shared = _shared_blob(connection)
    cost = shared.extend(token_id, epochs)
    if as_json:
        emit_json({"token_id": token_id, "epochs": epochs, "cost": cost})
    else:
        click.echo(f"Extended shared blob {token_id} by {epochs} epochs for {cost} FROST.")
