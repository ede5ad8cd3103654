"""`walrus serve`: the publisher + aggregator HTTP backend (backend/api) under waitress."""

from __future__ import annotations

import click
import waitress

from backend.api.app import create_app
from backend.cli.client_options import Connection, connection_options, with_user_errors


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=8, show_default=True)
@connection_options
@with_user_errors
def serve(
    host: str,
    port: int,
    threads: int,
    connection: Connection,
    as_json: bool,
) -> None:
    """Serve PUT /v1/blobs (publisher, paying from the wallet) and GET /v1/blobs/<id>."""
    client = connection.client()
    click.echo(f"walrus backend on http://{host}:{port} (API: /v1/api)", err=True)
    waitress.serve(create_app(client), host=host, port=port, threads=threads, ident="walrus")
