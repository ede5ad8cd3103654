"""`walrus serve`: the publisher + aggregator HTTP backend (backend/api) under waitress, with
the indexer (backend/api/indexer) following the chain in a background thread."""

from __future__ import annotations

import os
from pathlib import Path

import click

from backend.api.app import create_app
from backend.api.frontend import DEPLOYMENT_FILE_KEY
from backend.api.indexer.database import sqlite_url
from backend.api.indexer.errors import IndexerError
from backend.api.indexer.service import EXTENSION_KEY, IndexService, block_hash
from backend.api.publisher import MAX_BLOB_BYTES_KEY
from backend.cli.client_options import Connection, connection_options, with_user_errors
from backend.core.params import max_blob_size
from backend.http_server import serve as serve_http
from backend.sdk.client import Client
from backend.sdk.quilt import QuiltClient


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "walrus" / "backend"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Backend data (the SQLite index). Default: $XDG_DATA_HOME/walrus/backend.",
)
@click.option(
    "--database-url",
    envvar="WALRUS_INDEX_DATABASE_URL",
    help="Index database, e.g. postgresql://user:pw@127.0.0.1:5432/walrus "
    "(env WALRUS_INDEX_DATABASE_URL; default: a SQLite file in --data-dir per chain and "
    "registry).",
)
@click.option("--no-index", is_flag=True, help="Serve without the indexer (/v1/index: 503).")
@click.option(
    "--max-blob-bytes",
    type=click.IntRange(min=0),
    help="Largest PUT /v1/blobs body (default: the largest blob the network's shards can hold).",
)
@connection_options
@with_user_errors
def serve(
    host: str,
    port: int,
    threads: int,
    data_dir: Path | None,
    database_url: str | None,
    no_index: bool,
    max_blob_bytes: int | None,
    connection: Connection,
    as_json: bool,
) -> None:
    """Serve PUT /v1/blobs (publisher, paying from the wallet), GET /v1/blobs/<id> and the
    index GET /v1/index/... (blobs by owner, attribute, expiry; quilt patches)."""
    client = connection.client()
    app = create_app(client)
    body_limit = max_blob_bytes or max_blob_size(client.n_shards)
    app.config[MAX_BLOB_BYTES_KEY] = body_limit
    if connection.settings.deployment_file is not None:  # /v1/deployment lists all of it
        app.config[DEPLOYMENT_FILE_KEY] = str(connection.settings.deployment_file)
    indexer: IndexService | None = None
    if not no_index:
        indexer = _open_index(client, data_dir, database_url)
        app.extensions[EXTENSION_KEY] = indexer
        indexer.start()
    click.echo(f"walrus backend on http://{host}:{port} (API: /v1/api)", err=True)
    try:
        serve_http(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="walrus",
            max_request_body_size=body_limit + 2**20,  # the app answers 413 JSON first
        )
    finally:
        if indexer is not None:
            indexer.stop()


def _open_index(client: Client, data_dir: Path | None, database_url: str | None) -> IndexService:
    """The index service. The default SQLite file is named after the chain id, the registry
    and the deployment block's hash, so a restarted devnet (same id and addresses, other
    blocks) or another test run never shares (or deletes) another chain's index."""
    registry = client.registry
    if database_url is None:
        directory = data_dir or default_data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        start_hash = block_hash(registry, client.events_from_block)
        name = (
            f"index-{client.chain.chain_id}-{registry.address[2:10].lower()}-"
            f"{start_hash[2:10]}.sqlite"
        )
        database_url = sqlite_url(directory / name)
    try:
        return IndexService.open(
            database_url,
            registry,
            client.staking.current_epoch,
            start_block=client.events_from_block,
            quilt_source=QuiltClient(client).list_patches,
        )
    except IndexerError as error:
        raise click.ClickException(str(error)) from None
