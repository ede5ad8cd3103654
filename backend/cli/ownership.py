"""`walrus list-blobs | delete | extend | share | get/set/remove-blob-attribute`: what the
owner of a blob token can do with it."""

from __future__ import annotations

from typing import Any

import click
import requests

from backend.cli.client_options import Connection, connection_options, emit_json, with_user_errors
from backend.core.blob_id import BlobId

TOKEN = click.argument("token_id", type=click.IntRange(min=1))


def answer(as_json: bool, record: dict[str, Any], text: str | None = None) -> None:
    """A command's result: `record` as JSON with --json, else `text` (when there is one)."""
    if as_json:
        emit_json(record)
    elif text is not None:
        click.echo(text)


def rows_from_index(backend_url: str, owner: str) -> list[dict[str, Any]]:
    """Live registrations of `owner` from a backend's index (`GET /v1/index/blobs`, every
    page), in the rows `list-blobs` prints."""
    rows: list[dict[str, Any]] = []
    params = {"owner": owner, "limit": "1000"}
    while True:
        try:
            answer = requests.get(
                f"{backend_url.rstrip('/')}/v1/index/blobs", params=params, timeout=30
            )
        except requests.RequestException as error:
            raise click.ClickException(
                f"backend {backend_url} did not answer ({type(error).__name__}); is walrus "
                "serve running there?"
            ) from None
        try:
            body = answer.json()
        except ValueError:
            raise click.ClickException(
                f"backend {backend_url} answered HTTP {answer.status_code} without JSON; is it "
                "a walrus serve?"
            ) from None
        if answer.status_code != 200:
            message = body.get("error", {}).get("message", answer.reason)
            raise click.ClickException(f"backend {backend_url}: {message}")
        rows += [
            {
                "token_id": blob["tokenId"],
                "blob_id": blob["blobId"],
                "size": blob["size"],
                "certified": blob["certifiedEpoch"] is not None,
                "end_epoch": blob["endEpoch"],
                "deletable": blob["deletable"],
                "attributes": blob["attributes"],
            }
            for blob in body["blobs"]
        ]
        if body["nextCursor"] is None:
            return rows
        params["cursor"] = body["nextCursor"]


@click.command("list-blobs")
@click.option("--owner", help="Address to list (default: the wallet).")
@click.option(
    "--backend",
    "backend_url",
    envvar="WALRUS_BACKEND_URL",
    help="Ask this walrus serve's index (GET /v1/index/blobs, with attributes) instead of "
    "scanning chain logs (env WALRUS_BACKEND_URL).",
)
@connection_options
@with_user_errors
def list_blobs(
    owner: str | None, backend_url: str | None, connection: Connection, as_json: bool
) -> None:
    """List the blob registrations the wallet (or --owner) holds."""
    client = connection.client()
    if backend_url is not None:
        rows = rows_from_index(backend_url, owner or client.chain.address)
    else:
        rows = [
            {
                "token_id": info.token_id,
                "blob_id": str(BlobId(info.blob_id)),
                "size": info.size,
                "certified": info.is_certified,
                "end_epoch": info.end_epoch,
                "deletable": info.deletable,
            }
            for info in client.list_blobs(owner)
        ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No blobs.")
    for row in rows:
        state = "certified" if row["certified"] else "registered"
        kind = "deletable" if row["deletable"] else "permanent"
        click.echo(
            f"token {row['token_id']}  {row['blob_id']}  {row['size']} B  {state}  "
            f"{kind}  until epoch {row['end_epoch']}"
        )


@click.command("delete")
@TOKEN
@connection_options
@with_user_errors
def delete(token_id: int, connection: Connection, as_json: bool) -> None:
    """Delete the deletable blob of TOKEN_ID; unused epochs are refunded."""
    refund = connection.client().delete(token_id)
    answer(
        as_json,
        {"token_id": token_id, "deleted": True, "refund": refund},
        f"Deleted token {token_id}; refunded {refund} FROST.",
    )


@click.command("extend")
@TOKEN
@click.option("--epochs", type=int, required=True, help="Epochs to add.")
@connection_options
@with_user_errors
def extend(token_id: int, epochs: int, connection: Connection, as_json: bool) -> None:
    """Pay for --epochs more epochs of TOKEN_ID's blob."""
    end_epoch = connection.client().extend(token_id, epochs)
    answer(
        as_json,
        {"token_id": token_id, "end_epoch": end_epoch},
        f"Token {token_id} is now stored until epoch {end_epoch}.",
    )


@click.command("share")
@TOKEN
@click.argument("to")
@connection_options
@with_user_errors
def share(token_id: int, to: str, connection: Connection, as_json: bool) -> None:
    """Transfer TOKEN_ID (and the right to delete or extend it) to address TO."""
    connection.client().share(token_id, to)
    answer(as_json, {"token_id": token_id, "owner": to}, f"Token {token_id} now belongs to {to}.")


@click.command("get-blob-attribute")
@TOKEN
@click.argument("key")
@connection_options
@with_user_errors
def get_blob_attribute(token_id: int, key: str, connection: Connection, as_json: bool) -> None:
    """Print attribute KEY of TOKEN_ID (exit 1 if it is not set)."""
    value = connection.client().attribute(token_id, key)
    if as_json:
        emit_json({"token_id": token_id, "key": key, "value": value})
        return
    if value is None:
        raise click.ClickException(f"token {token_id} has no attribute {key!r}")
    click.echo(value)


@click.command("set-blob-attribute")
@TOKEN
@click.argument("key")
@click.argument("value")
@connection_options
@with_user_errors
def set_blob_attribute(
    token_id: int, key: str, value: str, connection: Connection, as_json: bool
) -> None:
    """Set attribute KEY of TOKEN_ID to VALUE."""
    connection.client().set_attribute(token_id, key, value)
    record = {"token_id": token_id, "key": key, "value": value}
    answer(as_json, record, f"Token {token_id}: attribute {key!r} set to {value!r}.")


@click.command("remove-blob-attribute")
@TOKEN
@click.argument("key")
@connection_options
@with_user_errors
def remove_blob_attribute(token_id: int, key: str, connection: Connection, as_json: bool) -> None:
    """Remove attribute KEY of TOKEN_ID."""
    connection.client().remove_attribute(token_id, key)
    record = {"token_id": token_id, "key": key, "removed": True}
    answer(as_json, record, f"Token {token_id}: attribute {key!r} removed.")
